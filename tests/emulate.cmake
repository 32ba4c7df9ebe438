# The emulation helper (<sidecar/emulate.h>, libsidecar-emulate). Built only where Zydis is
# (runtime/emulate/CMakeLists.txt). The kvm tests exit 77 (skipped) without /dev/kvm.
if(NOT TARGET sidecar_emulate_static)
  return()
endif()
sidecar_test(test_emulate_unit SOURCES emulate/test_emulate_unit.c LABELS unit LIBS sidecar_emulate_static)
# No system call and no allocation per intercept (seccomp strict mode; interposed malloc,
# except under the sanitizers, which own malloc).
sidecar_test(test_emulate_hotpath SOURCES emulate/test_emulate_hotpath.c LABELS unit LIBS sidecar_emulate_static)
if(SIDECAR_SANITIZING)
  target_compile_definitions(test_emulate_hotpath PRIVATE EMU_NO_MALLOC_COUNT)
endif()
sidecar_test(test_emulate_io_kvm SOURCES emulate/test_emulate_io_kvm.c LABELS unit kvm LIBS sidecar_emulate_static)
# The differential test against the processor: 2x10^4 random instructions per CI run, and a
# long run (10^6, another seed) under the stress-long label.
sidecar_test(test_emulate_diff SOURCES emulate/test_emulate_diff.c LABELS unit kvm LIBS sidecar_emulate_static ARGS 20000 1)
add_test(NAME test_emulate_diff_long COMMAND test_emulate_diff 1000000 7)
set_tests_properties(test_emulate_diff_long PROPERTIES LABELS "stress-long;kvm" SKIP_RETURN_CODE 77 TIMEOUT 3600)
if(TARGET sidecar-emulate-bench)
  add_test(NAME sidecar-emulate-bench-smoke COMMAND sidecar-emulate-bench --smoke)
  set_tests_properties(sidecar-emulate-bench-smoke PROPERTIES LABELS "bench-smoke" TIMEOUT 120)
endif()
# The installed tree: pkg-config (sidecar-emulate.pc), static archives, find_package(sidecar-emulate).
if(SIDECAR_SANITIZING)
  add_test(NAME test_emulate_install COMMAND sh -c "echo 'SKIP: sanitizer build'; exit 77")
else()
  add_test(NAME test_emulate_install COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/emulate/install_test.sh
    ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER})
endif()
set_tests_properties(test_emulate_install PROPERTIES LABELS unit SKIP_RETURN_CODE 77 TIMEOUT 300)
