# Unit tests (label: unit).
sidecar_test(test_gva_walk SOURCES test_gva_walk.c)
sidecar_test(test_abi_layout SOURCES test_abi_layout.c)
sidecar_test(test_abi_cxx SOURCES test_abi_cxx.cpp)
sidecar_test(test_kernel_commands SOURCES test_kernel_commands.c)
sidecar_test(test_driver SOURCES test_driver.c)
sidecar_test(test_client_api SOURCES test_client_api.c)
sidecar_test(test_sim_scale SOURCES test_sim_scale.c LABELS unit scale TIMEOUT 900)
sidecar_test(test_signal_counts SOURCES test_signal_counts.c)
if(NOT SIDECAR_SANITIZING)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
  sidecar_test(test_no_alloc SOURCES test_no_alloc.c LIBS PkgConfig::JEMALLOC)
endif()
sidecar_test(test_stress SOURCES test_stress.c LABELS stress ARGS --seconds 5)
sidecar_test(test_faults SOURCES test_faults.c TIMEOUT 600)
sidecar_test(test_message SOURCES test_message.c)

# The library again, with the run/wait path's delay points compiled in (test-only).
add_library(sidecar_delay STATIC
  $<TARGET_OBJECTS:sidecar_kernel> $<TARGET_OBJECTS:sidecar_backend_kvm> $<TARGET_OBJECTS:sidecar_driver>
  ../runtime/client.c ../runtime/vp.c ../runtime/vp_wait.c ../runtime/seed.c ../runtime/message.c ../runtime/transport/device.c)
target_compile_definitions(sidecar_delay PUBLIC SIDECAR_DELAY_HOOKS)
target_include_directories(sidecar_delay PUBLIC
  ${PROJECT_SOURCE_DIR}/runtime/include ${PROJECT_SOURCE_DIR}/kernel/core ${PROJECT_SOURCE_DIR}/driver/sim ${PROJECT_SOURCE_DIR}/runtime/os ${PROJECT_SOURCE_DIR}/runtime/transport
  ${PROJECT_SOURCE_DIR}/runtime)
target_link_libraries(sidecar_delay PUBLIC sidecar_abi Threads::Threads)
add_executable(test_delays test_delays.c)
target_link_libraries(test_delays PRIVATE sidecar_delay)
target_include_directories(test_delays PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME test_delays COMMAND test_delays)
set_tests_properties(test_delays PROPERTIES LABELS "stress" SKIP_RETURN_CODE 77 TIMEOUT 1800)
# Minutes of 8 VPs doing random operations in every mode: not in the default run.
sidecar_test(test_stress_long SOURCES test_stress.c LABELS stress-long ARGS --vps 8 --seconds 180 TIMEOUT 900)
sidecar_test(test_device_like SOURCES test_device_like.c)
add_executable(test_races test_races.c)
target_link_libraries(test_races PRIVATE sidecar_delay)
target_include_directories(test_races PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME test_races COMMAND test_races)
set_tests_properties(test_races PROPERTIES LABELS "unit" SKIP_RETURN_CODE 77 TIMEOUT 300)
