# The helpers every benchmark tool in bench/ shares, one copy each (docs/benchmarks.md):
#   bench_cpu.c      the allowed CPUs, pinning a thread, saving and restoring its affinity
#   bench_cputime.c  the process's CPU time, exactly (per-thread clocks summed)
#   bench_refs.c     the spin and futex references (cache-line and futex ping-pong)
# Plain C with C linkage in their headers, so the C++ harness links the same objects. The
# futex and the clock come from the runtime's header-only helpers (sidecar_os: futex.h).
add_library(sidecar_bench_common STATIC bench_cpu.c bench_cputime.c bench_refs.c)
target_include_directories(sidecar_bench_common PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(sidecar_bench_common PUBLIC sidecar_os Threads::Threads)
