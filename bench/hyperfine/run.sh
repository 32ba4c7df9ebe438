#!/bin/sh
# Whole-process timings with hyperfine (docs/benchmarks.md, "Whole-process timings
# (hyperfine)"):
#   boot.md           sidecar-boot-first-run: boot 1, 64, 256 and 1024 (8 nodes x 128)
#                     simulated CPUs, run VP 0 once, shut everything down
#   latency-quick.md  sidecar-latency --quick (the main job's quick mode)
# each also as hyperfine JSON beside it.
#
#   bench/hyperfine/run.sh [--smoke] [BUILD_DIR [OUT_DIR]]
#
# BUILD_DIR: the CMake build to time (default: $SIDECAR_BUILD_DIR, else build); the programs
# are looked up in BUILD_DIR/bench. OUT_DIR: where the tables go (default BUILD_DIR/hyperfine).
# Run counts: $HYPERFINE_BOOT_ARGS (default "--warmup 3 --min-runs 20") and
# $HYPERFINE_LATENCY_ARGS (default "--warmup 1 --runs 5").
#
# --smoke (the bench-smoke ctest): the boot program once for 64 CPUs, then
# `hyperfine --runs 2` on it; exit 77 (skipped) when hyperfine is not installed.
set -eu

smoke=0
if [ "${1:-}" = "--smoke" ]; then
	smoke=1
	shift
fi
case "${1:-}" in
-h | --help)
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
-*)
	echo "run.sh: unknown option $1 (--help)" >&2
	exit 2
	;;
esac
build=${1:-${SIDECAR_BUILD_DIR:-build}}
out=${2:-$build/hyperfine}

find_program() {
	for p in "$build/bench/$1" "$build/$1"; do
		if [ -x "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

boot=$(find_program sidecar-boot-first-run) || {
	echo "run.sh: no sidecar-boot-first-run under $build (build it: cmake --build $build)" >&2
	exit 1
}
mkdir -p "$out"

if [ "$smoke" = 1 ]; then
	"$boot" --cpus 64 || {
		echo "run.sh: $boot --cpus 64 failed" >&2
		exit 1
	}
	echo "run.sh: $boot --cpus 64: ok"
	if ! command -v hyperfine >/dev/null 2>&1; then
		echo "run.sh: hyperfine is not installed: skipped"
		exit 77
	fi
	hyperfine -N --style basic --runs 2 -n "boot 64 cpus" "$boot --cpus 64" \
		--export-markdown "$out/boot-smoke.md"
	[ -s "$out/boot-smoke.md" ] || {
		echo "run.sh: no markdown written" >&2
		exit 1
	}
	cat "$out/boot-smoke.md"
	exit 0
fi

command -v hyperfine >/dev/null 2>&1 || {
	echo "run.sh: hyperfine is not installed (Debian: apt-get install hyperfine)" >&2
	exit 1
}

# -N: no shell in between, so a millisecond-scale boot is not mostly a shell's start-up.
# shellcheck disable=SC2086 # the *_ARGS are word lists on purpose
hyperfine -N --style basic ${HYPERFINE_BOOT_ARGS:---warmup 3 --min-runs 20} \
	-n "1 cpu" "$boot --cpus 1" \
	-n "64 cpus" "$boot --cpus 64" \
	-n "256 cpus" "$boot --cpus 256" \
	-n "1024 cpus (8 nodes x 128)" "$boot --nodes 8 --cpus 128" \
	--export-markdown "$out/boot.md" --export-json "$out/boot.json"

if latency=$(find_program sidecar-latency); then
	# shellcheck disable=SC2086
	hyperfine -N --style basic ${HYPERFINE_LATENCY_ARGS:---warmup 1 --runs 5} \
		-n "sidecar-latency --quick" "$latency --quick" \
		--export-markdown "$out/latency-quick.md" --export-json "$out/latency-quick.json"
else
	echo "run.sh: no sidecar-latency under $build (needs libcjson): latency-quick.md not written" >&2
fi
echo "run.sh: tables in $out"
