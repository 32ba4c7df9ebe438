# The google-benchmark harness and the whole-process timings (docs/benchmarks.md, "Harness"
# and "Whole-process timings (hyperfine)"). Not installed: developer tools.
#
#   sidecar-bench            google-benchmark (Debian: libbenchmark-dev): commands, round
#                            trips, the state word alone, scaling, finished-CPU reporting
#   sidecar-line-budget      the cache lines a VMM's round trip moves, against the spin
#                            reference (docs/fast-path.md, "Cache-line budget")
#   sidecar-boot-first-run   boot N simulated CPUs to a first run (for hyperfine)
#   bench/hyperfine/run.sh   hyperfine over the two programs, markdown tables out

# ---- sidecar-line-budget: the cache lines a round trip moves, by experiment ----
add_executable(sidecar-line-budget line_budget.c)
target_link_libraries(sidecar-line-budget PRIVATE sidecar_static sidecar_bench_common sidecar_os Threads::Threads)
if(BUILD_TESTING)
  # Smoke: every variant runs and the table prints; no timing assertion.
  add_test(NAME line_budget_smoke COMMAND sidecar-line-budget --round-trips 200 --rounds 1)
  set_tests_properties(line_budget_smoke PROPERTIES LABELS "regress;bench-smoke" TIMEOUT 60
    PASS_REGULAR_EXPRESSION "vmm +[0-9.]+")
endif()

# ---- sidecar-boot-first-run: public API only, no extra dependency ----
add_executable(sidecar-boot-first-run boot_first_run.c)
target_link_libraries(sidecar-boot-first-run PRIVATE sidecar_static Threads::Threads)

if(BUILD_TESTING)
  # The hyperfine script in its smoke mode: the boot program once for 64 CPUs, then
  # `hyperfine --runs 2` on it (skipped, 77, when hyperfine is not installed).
  add_test(NAME hyperfine_smoke
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/hyperfine/run.sh --smoke ${PROJECT_BINARY_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/hyperfine-smoke)
  set_tests_properties(hyperfine_smoke PROPERTIES LABELS "regress;bench-smoke" SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

# ---- sidecar-bench: google-benchmark (its CMake package, else pkg-config) ----
find_package(benchmark CONFIG QUIET)
if(TARGET benchmark::benchmark)
  set(_sidecar_gbench benchmark::benchmark)
else()
  pkg_check_modules(SIDECAR_GBENCH IMPORTED_TARGET benchmark)
  if(NOT SIDECAR_GBENCH_FOUND)
    message(WARNING "google-benchmark not found (Debian: libbenchmark-dev): sidecar-bench is not built")
    return()
  endif()
  set(_sidecar_gbench PkgConfig::SIDECAR_GBENCH)
endif()

# The C++ files see the public API and harness_support.h only; harness_support.c is the C
# half that includes the internal headers (C11 _Atomic, not C++).
add_executable(sidecar-bench
  harness_main.cpp
  harness_api.cpp
  harness_placement.c
  harness_refs.cpp
  harness_state.cpp
  harness_report.cpp
  harness_support.c)
target_link_libraries(sidecar-bench PRIVATE sidecar_internal sidecar_bench_common ${_sidecar_gbench} Threads::Threads)

if(NOT BUILD_TESTING)
  return()
endif()

# ---- bench-smoke: every benchmark, a millisecond each; JSON out; no timing assertions ----
# The run boots two 4032-CPU simulators (report/); the rest is one-CPU simulators and the
# scaling runs (up to 8 nodes; scaling_work/ with 1 ms of guest work per run). About 10 s on
# 2 cores. sidecar-bench exits 1 if any
# benchmark reported an error, so a broken benchmark fails the test.
set(_bench_dir ${CMAKE_CURRENT_BINARY_DIR}/harness-smoke)
file(MAKE_DIRECTORY ${_bench_dir})
add_test(NAME sidecar_bench_smoke
  COMMAND sidecar-bench --benchmark_min_time=0.001
          "--benchmark_filter=^(state|ref|command|run_sync|scaling|scaling_work|report)/"
          --benchmark_out=${_bench_dir}/harness-smoke.json --benchmark_out_format=json)
# It pins its threads: one pinning benchmark at a time (RESOURCE_LOCK cpus).
set_tests_properties(sidecar_bench_smoke PROPERTIES LABELS "regress;bench-smoke" TIMEOUT 300 RESOURCE_LOCK cpus)

# The JSON is google-benchmark's own; check that it parses and names every group.
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_FOUND)
  add_test(NAME sidecar_bench_smoke_json
    COMMAND ${Python3_EXECUTABLE} -c [==[
import json, sys
d = json.load(open(sys.argv[1]))
names = [b["name"] for b in d["benchmarks"]]
for group in ("state/", "ref/", "command/", "run_sync/", "scaling/", "scaling_work/", "report/scan/",
              "report/lockfree/"):
    if not any(n.startswith(group) for n in names):
        sys.exit("no %s benchmark in %s" % (group, sys.argv[1]))
bad = [b["name"] for b in d["benchmarks"] if b.get("error_occurred")]
if bad:
    sys.exit("errors: %s" % bad)
# The scaling counters, CPU per round trip included (scripts/many-core.sh reads them).
for b in d["benchmarks"]:
    if b["name"].startswith("scaling"):
        for c in ("round_trips_per_s", "per_vp_ns", "cpu_ns_per_rt", "client_cpu_ns_per_rt"):
            if not isinstance(b.get(c), (int, float)) or b[c] < 0:
                sys.exit("%s: counter %s missing or negative" % (b["name"], c))
print("sidecar-bench JSON: %d benchmarks, ok" % len(names))
]==] ${_bench_dir}/harness-smoke.json)
  set_tests_properties(sidecar_bench_smoke_json PROPERTIES LABELS "regress;bench-smoke" TIMEOUT 60
    DEPENDS sidecar_bench_smoke)
  # The JSON check needs the run first (a fixture, so `ctest -R _json` runs both).
  set_tests_properties(sidecar_bench_smoke PROPERTIES FIXTURES_SETUP sidecar_bench_json)
  set_tests_properties(sidecar_bench_smoke_json PROPERTIES FIXTURES_REQUIRED sidecar_bench_json)
endif()

# Bad options: status 2 and a message.
add_test(NAME sidecar_bench_usage COMMAND sh -c [[
"$1" --no-such-option >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || { echo "sidecar-bench --no-such-option: exit $rc, expected 2"; exit 1; }
"$1" --client-cpu=x >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || { echo "sidecar-bench --client-cpu=x: exit $rc, expected 2"; exit 1; }
for bad in --scaling-vps=0 --scaling-vps=1,1 --scaling-vps=2, --scaling-vps=129 --scaling-work-ns=x \
           --scaling-work-ns=-1; do
  "$1" "$bad" >/dev/null 2>&1; rc=$?
  [ "$rc" -eq 2 ] || { echo "sidecar-bench $bad: exit $rc, expected 2"; exit 1; }
done
echo "sidecar-bench usage errors: ok"
]] sh $<TARGET_FILE:sidecar-bench>)
set_tests_properties(sidecar_bench_usage PROPERTIES LABELS "regress;bench-smoke" TIMEOUT 60)
