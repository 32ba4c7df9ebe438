#!/usr/bin/env bash
# Formats the C and C++ sources with .clang-format; --check only reports (non-zero exit on a
# difference).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' | grep -v '^tests/fuzz/corpus/')
if [ "${1:-}" = "--check" ]; then
	clang-format --dry-run --Werror "${files[@]}"
	echo "format: ${#files[@]} files clean"
else
	clang-format -i "${files[@]}"
fi
