#!/usr/bin/env bash
# The test suite: install what is needed, build, and run every test but the long stress runs
# (tiers check and regress, docs/testing.md), as many at a time as there are CPUs. Ends with
# ctest's summary. Extra arguments go to ctest instead of the default selection, e.g.
# `scripts/test.sh -L check` (the unit tier, seconds) or `scripts/test.sh -L stress-long`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
cd build
[ $# -eq 0 ] && set -- -LE stress-long
exec ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@"
