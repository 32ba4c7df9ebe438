#!/bin/sh
# Runs a program and compares its standard output with a file, byte for byte.
#   check_output.sh <expected file> <program> [arguments...]
# Exit 77 (skipped) when the program does; a difference is shown with cmp and od.
set -u
expected=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" >"$out"
rc=$?
[ "$rc" -eq 77 ] && exit 77
if [ "$rc" -ne 0 ]; then
	echo "check_output: $* exited $rc" >&2
	exit 1
fi
if ! cmp "$expected" "$out"; then
	echo "--- expected" >&2
	od -c "$expected" >&2
	echo "--- got" >&2
	od -c "$out" >&2
	exit 1
fi
echo "check_output: $(wc -c <"$out") bytes as expected"
