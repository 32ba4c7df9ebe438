# The unit programs of the runtime, the simulator and the kernel core: tier check, unless a
# program is about faults, races or load (regress) or takes minutes (stress-long).
sidecar_test(test_gva_walk SOURCES test_gva_walk.c)
sidecar_test(test_abi_layout SOURCES test_abi_layout.c)
sidecar_test(test_abi_cxx SOURCES test_abi_cxx.cpp)
sidecar_test(test_kernel_commands SOURCES test_kernel_commands.c)
sidecar_test(test_driver SOURCES test_driver.c)
sidecar_test(test_client_api SOURCES test_client_api.c)
sidecar_test(test_message SOURCES test_message.c)
sidecar_test(test_io_exit SOURCES test_io_exit.c)
sidecar_test(test_device_like SOURCES test_device_like.c)
sidecar_test(test_signal_counts SOURCES test_signal_counts.c)
sidecar_test(test_sim_scale SOURCES test_sim_scale.c LABELS scale TIMEOUT 900)
if(NOT SIDECAR_SANITIZING)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
  sidecar_test(test_no_alloc SOURCES test_no_alloc.c LIBS PkgConfig::JEMALLOC)
endif()
if(SIDECAR_BUILD_BENCH)
  # sidecar-latency's histogram (bench/latency_hist.c).
  sidecar_test(test_latency_hist SOURCES test_latency_hist.c ${PROJECT_SOURCE_DIR}/bench/latency_hist.c)
  target_include_directories(test_latency_hist PRIVATE ${PROJECT_SOURCE_DIR}/bench)
endif()

# Fault injection, the model's races made deterministic, random delays on the fast path,
# and load: tier regress.
sidecar_test(test_faults SOURCES test_faults.c TIER regress LABELS faults TIMEOUT 600)
sidecar_test(test_races SOURCES test_races.c TIER regress LABELS races)
sidecar_test(test_delays SOURCES test_delays.c TIER regress LABELS stress TIMEOUT 1800)
# Alone: with another test loading the cores it finds the fd readable with nothing left to
# collect (runtime/event.c: a collector's settle can return while another thread's settle of
# the fd is still in flight; docs/testing.md, "Running alone").
sidecar_test(test_event_loop SOURCES test_event_loop.c TIER regress LABELS stress TIMEOUT 900 SERIAL)
# Its 5 s of random operations are meant to load both cores: alone.
sidecar_test(test_stress SOURCES test_stress.c TIER regress LABELS stress ARGS --seconds 5 SERIAL)
# Minutes of 8 VPs doing random operations in every mode: not in the default run.
sidecar_test(test_stress_long BINARY test_stress TIER stress-long ARGS --vps 8 --seconds 180 TIMEOUT 900 SERIAL)
