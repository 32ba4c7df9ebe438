#!/bin/sh
# case_table.sh <program> <case>...: the program lists exactly these cases, in this order (the
# names tests/CMakeLists.txt read from its source and registered, one ctest test each).
set -u
prog=$1
shift
listed=$("$prog" --list) || { echo "$prog --list failed"; exit 1; }
expected=$(printf '%s\n' "$@")
if [ "$listed" != "$expected" ]; then
	echo "$prog: the cases registered with ctest (read from the source) differ from its --list:"
	printf '%s\n' "$expected" >"${TMPDIR:-/tmp}/case_table.$$.expected"
	printf '%s\n' "$listed" | diff -u "${TMPDIR:-/tmp}/case_table.$$.expected" - | tail -n +3
	rm -f "${TMPDIR:-/tmp}/case_table.$$.expected"
	echo "(one CHECK_CASE or CHECK_CASE_ARG per entry, names of [a-z0-9_]: tests/check.h)"
	exit 1
fi
echo "$(basename "$prog"): $# cases, as registered"
