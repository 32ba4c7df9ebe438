#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ and fuzzes each for SECONDS
# (default 30), starting from a scratch copy of its seed corpus (tests/fuzz/corpus/<target>/,
# never written to). Prints one line of libFuzzer's final stats per target; fails on any
# crash, failed invariant, leak, timeout, out-of-memory or sanitizer report, and then prints
# the report and where the reproducer was saved. docs/fuzzing.md explains the targets.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Environment: SIDECAR_FUZZ_BUILD (build directory, default build-fuzz), SIDECAR_FUZZ_ARGS
# (extra libFuzzer flags, e.g. "-jobs=2 -workers=2").
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
	echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
	exit 2
fi
shift || true
all_targets=(fuzz_command_page fuzz_target_string fuzz_message_decode fuzz_gva_walk)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
	if [ ! -f "tests/fuzz/$t.c" ]; then
		echo "fuzz.sh: unknown target '$t' (${all_targets[*]})" >&2
		exit 2
	fi
done

build=${SIDECAR_FUZZ_BUILD:-build-fuzz}
read -r -a extra_args <<<"${SIDECAR_FUZZ_ARGS:-}"

for tool in clang clang++ cmake; do
	if ! command -v "$tool" >/dev/null; then
		echo "fuzz.sh: $tool not found (scripts/deps.sh installs it)" >&2
		exit 1
	fi
done

start=$SECONDS

# A build directory configured with another compiler cannot switch: start it afresh.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' "$build/CMakeCache.txt"; then
	rm -rf "$build"
fi
mkdir -p "$build"
if ! CC=clang CXX=clang++ cmake -S . -B "$build" -DSIDECAR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSIDECAR_BUILD_BENCH=OFF >"$build/fuzz-configure.log" 2>&1; then
	cat "$build/fuzz-configure.log" >&2
	echo "fuzz.sh: configuring $build failed" >&2
	exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
	tail -n 60 "$build/fuzz-build.log" >&2
	echo "fuzz.sh: building the fuzz targets failed" >&2
	exit 1
fi

work=$build/fuzz-run
rm -rf "$work"
mkdir -p "$work"

# Tokens of the target-string grammar (driver/sim/sim_config.h).
cat >"$work/fuzz_target_string.dict" <<'EOF'
"sim"
"sim:"
"nodes="
"cpus="
"backend="
"synthetic"
"kvm"
"mem="
"pin="
"guest="
"io"
"spin"
"halt"
"work_ns="
"io_port="
"report="
"scan"
"lockfree"
"0x"
","
"+"
"-"
"K"
"M"
"G"
EOF

# Sanitizer reports end the run (the targets are built with -fno-sanitize-recover=all).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:malloc_context_size=30}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The last value of libFuzzer's "stat::NAME: VALUE" lines in a log, or "?".
stat() {
	local v
	v=$(sed -n "s/^stat::$2: *//p" "$1" | tail -n 1)
	echo "${v:-?}"
}

failed=()
echo "fuzz: ${#targets[@]} targets, ${seconds} s each ($build/fuzz-run)"
for t in "${targets[@]}"; do
	dir=$work/$t
	mkdir -p "$dir/corpus" "$dir/artifacts"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp -R "tests/fuzz/corpus/$t/." "$dir/corpus/"
	fi
	args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$dir/artifacts/")
	if [ -f "$work/$t.dict" ]; then
		args+=(-dict="$work/$t.dict")
	fi
	t0=$SECONDS
	rc=0
	# The outer timeout only guards against a libFuzzer that cannot stop (-timeout catches
	# a slow input).
	timeout --signal=KILL $((seconds + 120)) "$build/tests/$t" "${args[@]}" "${extra_args[@]}" "$dir/corpus" \
		>"$dir/log" 2>&1 || rc=$?
	elapsed=$((SECONDS - t0))
	if [ $rc -ne 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: |invariant failed' "$dir/log"; then
		echo "$t: FAILED (exit $rc) after ${elapsed} s; log: $dir/log" >&2
		grep -nE 'ERROR|runtime error:|invariant failed|SUMMARY|Test unit written|deadly signal|timeout|out-of-memory' \
			"$dir/log" | head -n 20 >&2 || true
		echo "--- last lines of the log ---" >&2
		tail -n 40 "$dir/log" >&2
		for a in "$dir"/artifacts/*; do
			[ -e "$a" ] && echo "reproduce: $build/tests/$t $a" >&2
		done
		failed+=("$t")
		continue
	fi
	line=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$dir/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$line")
	printf '%-20s %4d s  %10s execs  %7s exec/s  cov %s  ft %s  corpus %s (+%s)  rss %s MB\n' "$t" "$elapsed" \
		"$(stat "$dir/log" number_of_executed_units)" "$(stat "$dir/log" average_exec_per_sec)" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}" "$(stat "$dir/log" new_units_added)" "$(stat "$dir/log" peak_rss_mb)"
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} ($((SECONDS - start)) s)" >&2
	exit 1
fi
echo "fuzz: no findings ($((SECONDS - start)) s)"
