#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need (docs/dependencies.md
# says why each is there). Idempotent: quiet, and touches nothing, when all are present.
set -euo pipefail

packages=(
	build-essential cmake pkg-config git ca-certificates # the build
	clang llvm lld libclang-rt-14-dev                   # sanitizers, libFuzzer
	clang-format                                        # the format check
	libjemalloc-dev                                     # the zero-allocation proof
	libcjson-dev                                        # sidecar-latency's JSON
	libbenchmark-dev                                    # the google-benchmark harness
	hyperfine                                           # whole-process timings
	gnuplot-nox                                         # sidecar-latency --plot
	spin                                                # the Promela model check
	libzydis-dev                                        # x86 decoding (kvm backend, emulation helper)
	liburcu-dev                                         # grace periods (the simulator)
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
