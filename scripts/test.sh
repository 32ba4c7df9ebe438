#!/usr/bin/env bash
# The test suite: install what is needed, build, and run every test (unit, stress, scale,
# bench-smoke). Ends with ctest's summary line. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
cd build
# The long stress run has its own label and is not part of the default suite.
[ $# -eq 0 ] && set -- -LE stress-long
exec ctest --output-on-failure --timeout 900 "$@"
