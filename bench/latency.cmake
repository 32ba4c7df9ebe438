# sidecar-latency: the main job (docs/benchmarks.md). Installed.
# Needs cJSON (pkg-config libcjson; Debian: libcjson-dev) for --json.

pkg_check_modules(SIDECAR_CJSON IMPORTED_TARGET libcjson)
if(NOT SIDECAR_CJSON_FOUND)
  message(WARNING "libcjson not found (pkg-config libcjson; Debian: libcjson-dev): sidecar-latency is not built")
  return()
endif()

add_executable(sidecar-latency
  sidecar_latency.c
  latency_hist.c
  latency_json.c
  latency_loop.c
  latency_machine.c
  latency_overhead.c
  latency_gnuplot.c
  latency_heatmap.c
  latency_kref.c
  latency_plot.c
  latency_progress.c
  latency_refs.c
  latency_result.c
  latency_sweep.c
  latency_table.c
  latency_target.c
  latency_timer.c
  latency_vp.c)
set_target_properties(sidecar-latency PROPERTIES OUTPUT_NAME sidecar-latency)
# The public API only: the tool measures what a VMM linking libsidecar gets. Besides it, the
# bench helpers (common.cmake) and the runtime's header-only futex and clock (sidecar_os).
target_link_libraries(sidecar-latency PRIVATE sidecar_static sidecar_bench_common sidecar_os
  PkgConfig::SIDECAR_CJSON Threads::Threads m)
install(TARGETS sidecar-latency RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

if(NOT BUILD_TESTING)
  return()
endif()

# ---- bench-smoke: every mode, tiny budgets, JSON shape checked; no timing assertions ----
add_executable(sidecar-latency-check latency_check.c)
target_include_directories(sidecar-latency-check PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(sidecar-latency-check PRIVATE PkgConfig::SIDECAR_CJSON)

set(_lat_dir ${CMAKE_CURRENT_BINARY_DIR}/latency-smoke)
file(MAKE_DIRECTORY ${_lat_dir})

# sidecar_latency_smoke(<name> [PNG <file>] CHECK <checker args...> ARGS <tool args...>): runs
# the tool (fixture setup), then the checker on its JSON. PNG: the tool also gets --plot
# <file>, removed first so that a stale one cannot pass, and the checker checks it.
function(sidecar_latency_smoke name)
  cmake_parse_arguments(S "" "PNG" "ARGS;CHECK" ${ARGN})
  set(json ${_lat_dir}/${name}.json)
  if(S_PNG)
    add_test(NAME latency_${name}
      COMMAND sh -c [[rm -f "$1" && shift && exec "$@"]] sh ${S_PNG}
              $<TARGET_FILE:sidecar-latency> ${S_ARGS} --json ${json} --plot ${S_PNG})
    list(APPEND S_CHECK --png ${S_PNG})
  else()
    add_test(NAME latency_${name} COMMAND sidecar-latency ${S_ARGS} --json ${json})
  endif()
  add_test(NAME latency_${name}_json COMMAND sidecar-latency-check ${json} ${S_CHECK})
  # The tool pins its threads: one pinning benchmark at a time (RESOURCE_LOCK cpus).
  set_tests_properties(latency_${name} PROPERTIES LABELS "regress;bench-smoke" SKIP_RETURN_CODE 77 TIMEOUT 120
    FIXTURES_SETUP latency_${name} RESOURCE_LOCK cpus)
  set_tests_properties(latency_${name}_json PROPERTIES LABELS "regress;bench-smoke" SKIP_RETURN_CODE 77 TIMEOUT 60
    FIXTURES_REQUIRED latency_${name})
endfunction()

sidecar_latency_smoke(all_modes
  ARGS --mode all --iterations 300 --warmup 30
  CHECK --modes seed,futex,poll,adaptive --iterations 300)
sidecar_latency_smoke(read_message
  ARGS --mode seed,futex,poll,adaptive --iterations 100 --warmup 0 --read-message --work-ns 2000
  CHECK --modes seed,futex,poll,adaptive --iterations 100)
sidecar_latency_smoke(duration
  ARGS --mode adaptive,poll --duration 100ms
  CHECK --modes adaptive,poll)
sidecar_latency_smoke(pin_sweep
  ARGS --pin-sweep --iterations 50 --warmup 5
  CHECK --sweep --modes poll,futex)

find_program(SIDECAR_GNUPLOT gnuplot)
if(SIDECAR_GNUPLOT)
  sidecar_latency_smoke(plot PNG ${_lat_dir}/plot.png
    ARGS --mode poll,adaptive --iterations 200
    CHECK --modes poll,adaptive)
  # The sweep's heatmap: a PNG, and the JSON's p50 matrices n x n over the swept CPUs.
  sidecar_latency_smoke(pin_sweep_plot PNG ${_lat_dir}/pin_sweep.png
    ARGS --pin-sweep --iterations 30 --warmup 3
    CHECK --sweep --modes poll,futex)
endif()

# Bad options and values: a message and exit status 2, every time.
add_test(NAME latency_usage COMMAND sh -c [[
tool=$1
t() {
  "$tool" "$@" >/dev/null 2>&1
  rc=$?
  if [ "$rc" -ne 2 ]; then echo "sidecar-latency $*: exit $rc, expected 2"; exit 1; fi
}
t --mode bogus
t --mode poll,poll
t --mode poll,
t --iterations 0
t --iterations x
t --duration -1
t --duration 5parsecs
t --iterations 5 --duration 1
t --client-cpu 99999
t --sidecar-cpu 4095 --iterations 1
t --target sim:bogus=1 --iterations 1
t --target sim:cpus=1 --vp 7 --iterations 1
t --vp 0 --iterations 1
t --work-ns 1 --target sim:work_ns=2
t --target sim:guest=spin
t --pin-sweep --quick
t --pin-sweep --plot
t --pin-sweep --client-cpu 0
t --no-such-option
t --json
t extra
"$tool" --help >/dev/null || { echo "--help failed"; exit 1; }
echo "sidecar-latency usage errors: ok"
]] sh $<TARGET_FILE:sidecar-latency>)
set_tests_properties(latency_usage PROPERTIES LABELS "regress;bench-smoke" SKIP_RETURN_CODE 77 TIMEOUT 60)
