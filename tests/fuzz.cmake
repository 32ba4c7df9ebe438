# libFuzzer targets (tests/fuzz/, docs/fuzzing.md), one per file, each with a seed corpus in
# tests/fuzz/corpus/<target>/.
#
# SIDECAR_FUZZ=ON (clang): real libFuzzer binaries. The library sources a target exercises
# are compiled into it with -fsanitize=fuzzer,address,undefined, so that coverage reaches
# the code under test (the library targets themselves are built without the fuzzer's
# instrumentation). scripts/fuzz.sh builds and runs them; ctest runs each once over its corpus.
#
# SIDECAR_FUZZ=OFF (the default, any compiler): each target is a replay executable
# (tests/fuzz/replay_main.c) that feeds its seed corpus, and a few deterministic mutations of
# it, to LLVMFuzzerTestOneInput: a check-tier test in every build, sanitizer builds included.

set(SIDECAR_FUZZ_TARGETS fuzz_command_page fuzz_target_string fuzz_message_decode fuzz_gva_walk)

# The library sources each target exercises (compiled in when fuzzing). fuzz_command_page
# builds the kernel core from its source list in both modes, with its own environment
# (tests/fuzz/host/sidecar_env.h: the fuzzer's clock).
set(SIDECAR_FUZZ_LIB_fuzz_command_page ${SIDECAR_KERNEL_CORE_SOURCES} ${PROJECT_SOURCE_DIR}/runtime/message.c)
set(SIDECAR_FUZZ_LIB_fuzz_target_string ${PROJECT_SOURCE_DIR}/driver/sim/config.c)
set(SIDECAR_FUZZ_LIB_fuzz_message_decode ${PROJECT_SOURCE_DIR}/runtime/message.c)
set(SIDECAR_FUZZ_LIB_fuzz_gva_walk ${PROJECT_SOURCE_DIR}/kernel/core/gva_walk.c ${PROJECT_SOURCE_DIR}/runtime/message.c)

# Include directories of a fuzz target built from sources: the core's environment first.
function(sidecar_fuzz_includes t)
  if(t STREQUAL "fuzz_command_page")
    set(env ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/host)
  else()
    set(env ${PROJECT_SOURCE_DIR}/kernel/hosts/user)
  endif()
  target_include_directories(${t} PRIVATE ${env}
    ${PROJECT_SOURCE_DIR}/kernel/core ${PROJECT_SOURCE_DIR}/driver/sim ${PROJECT_SOURCE_DIR}/runtime
    ${PROJECT_SOURCE_DIR}/runtime/include ${PROJECT_SOURCE_DIR}/runtime/os ${PROJECT_SOURCE_DIR}/abi/include
    ${PROJECT_SOURCE_DIR}/abi/internal)
endfunction()

if(SIDECAR_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SIDECAR_FUZZ needs clang (libFuzzer): configure with CC=clang CXX=clang++")
  endif()
  if(SIDECAR_SANITIZE_THREAD)
    message(FATAL_ERROR "SIDECAR_FUZZ cannot be combined with SIDECAR_SANITIZE_THREAD")
  endif()
  set(SIDECAR_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer -g)
  foreach(t IN LISTS SIDECAR_FUZZ_TARGETS)
    add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${t}.c ${SIDECAR_FUZZ_LIB_${t}})
    sidecar_fuzz_includes(${t})
    target_compile_options(${t} PRIVATE ${SIDECAR_FUZZ_FLAGS})
    target_link_options(${t} PRIVATE -fsanitize=fuzzer,address,undefined)
    # Each corpus input once (-runs=0: load the corpus, no fuzzing).
    add_test(NAME ${t} COMMAND ${t} -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${t})
    set_tests_properties(${t} PROPERTIES LABELS "check;fuzz" TIMEOUT 120)
  endforeach()
else()
  foreach(t IN LISTS SIDECAR_FUZZ_TARGETS)
    if(t STREQUAL "fuzz_command_page")
      add_executable(${t} fuzz/${t}.c fuzz/replay_main.c ${SIDECAR_FUZZ_LIB_${t}})
      sidecar_fuzz_includes(${t})
    else()
      add_executable(${t} fuzz/${t}.c fuzz/replay_main.c)
      target_link_libraries(${t} PRIVATE sidecar_internal Threads::Threads)
    endif()
    add_test(NAME ${t} COMMAND ${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${t})
    set_tests_properties(${t} PROPERTIES LABELS "check;fuzz" TIMEOUT 300)
  endforeach()
endif()
