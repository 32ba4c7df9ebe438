# The emulation helper (<sidecar/emulate.h>, libsidecar-emulate). Built only where Zydis is
# (runtime/emulate/CMakeLists.txt). The kvm tests skip without /dev/kvm.
if(NOT TARGET sidecar_emulate_static)
  return()
endif()
# The recording device and the message builders (tests/support/emu_util.h): the helper's
# headers only; each test links the helper itself (_emu_libs).
add_library(sidecar_test_emu STATIC support/emu_util.c)
target_include_directories(sidecar_test_emu PRIVATE $<TARGET_PROPERTY:sidecar_emulate_static,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(sidecar_test_emu PUBLIC sidecar_test_support)

# The helper first, then the runtime it calls into (the copy with internals, as the rest of the
# test uses), so that nothing comes from the prelinked libsidecar.a the helper also names.
set(_emu_libs sidecar_emulate_static sidecar_runtime_internal sidecar_test_emu)
sidecar_test(test_emulate_unit SOURCES emulate/test_emulate_unit.c LIBS ${_emu_libs})
# No system call and no allocation per intercept (seccomp strict mode; interposed malloc,
# except under the sanitizers, which own malloc).
sidecar_test(test_emulate_hotpath SOURCES emulate/test_emulate_hotpath.c LIBS ${_emu_libs})
if(SIDECAR_SANITIZING)
  target_compile_definitions(test_emulate_hotpath PRIVATE EMU_NO_MALLOC_COUNT)
endif()
sidecar_test(test_emulate_io_kvm SOURCES emulate/test_emulate_io_kvm.c LABELS kvm LIBS ${_emu_libs})
# The differential test against the processor: 2x10^4 random instructions (tier check), and
# a long run (10^6, another seed, tier stress-long).
sidecar_test(test_emulate_diff SOURCES emulate/test_emulate_diff.c LABELS kvm LIBS ${_emu_libs} ARGS 20000 1)
sidecar_test(test_emulate_diff_long BINARY test_emulate_diff TIER stress-long LABELS kvm ARGS 1000000 7
  TIMEOUT 3600)
if(TARGET sidecar-emulate-bench)
  add_test(NAME sidecar-emulate-bench-smoke COMMAND sidecar-emulate-bench --smoke)
  set_tests_properties(sidecar-emulate-bench-smoke PROPERTIES LABELS "regress;bench-smoke" TIMEOUT 120
    RESOURCE_LOCK cpus)
endif()
# The installed tree: pkg-config (sidecar-emulate.pc), static archives, find_package(sidecar-emulate).
if(SIDECAR_SANITIZING)
  add_test(NAME test_emulate_install COMMAND sh -c "echo 'SKIP: sanitizer build'; exit 77")
else()
  add_test(NAME test_emulate_install COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/emulate/install_test.sh
    ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER})
endif()
set_tests_properties(test_emulate_install PROPERTIES LABELS "regress;install" SKIP_RETURN_CODE 77 TIMEOUT 300)
