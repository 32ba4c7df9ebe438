#!/usr/bin/env bash
# The main job: install what is needed, build, and run sidecar-latency on the embedded
# simulator in its quick mode (all wait modes and both references; well under a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
exec build/bench/sidecar-latency --quick "$@"
