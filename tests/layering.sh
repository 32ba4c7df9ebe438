#!/bin/sh
# No dependency cycles between files: for every library's objects, file A depends on file B
# when A uses a symbol B defines; tsort rejects the graph when it has a cycle.
#   layering.sh <object>...
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for o in "$@"; do
	f=$(basename "$o" .o)
	nm --defined-only -g "$o" | awk -v f="$f" 'NF == 3 {print $3, f}' >>"$tmp/defs"
	nm -u "$o" | awk -v f="$f" 'NF == 2 {print $2, f}' >>"$tmp/uses"
done
sort -o "$tmp/defs" "$tmp/defs"
sort -o "$tmp/uses" "$tmp/uses"
# edges "user definer", self edges dropped; every file also appears alone
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 {print $2, $3}' | sort -u >"$tmp/edges"
for o in "$@"; do f=$(basename "$o" .o); echo "$f $f"; done >>"$tmp/edges"
if ! tsort "$tmp/edges" >/dev/null 2>"$tmp/err"; then
	echo "dependency cycle between files:"; cat "$tmp/err"
	echo "edges (user -> definer):"; awk '$1 != $2' "$tmp/edges"
	exit 1
fi
echo "$# files, $(awk '$1 != $2' "$tmp/edges" | wc -l) dependencies, no cycle"
