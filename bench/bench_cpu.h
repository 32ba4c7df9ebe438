/* SPDX-License-Identifier: MIT */
/*
 * CPU placement for every benchmark tool in bench/ (sidecar-latency and sidecar-bench): the
 * CPUs this process may use, and pinning a thread to one of them. CPU sets are sized for the
 * machine (CPU_ALLOC), so nothing here stops at 1024 CPUs. Plain C with C linkage, so the
 * C++ harness calls the same code.
 */
#ifndef SIDECAR_BENCH_CPU_H
#define SIDECAR_BENCH_CPU_H

#include <pthread.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bench_cpus {
	int n;
	int *cpu; /* ascending */
};

/* The calling thread's allowed CPUs (call before pinning it). 0 or -errno. */
int bench_cpus_allowed(struct bench_cpus *out);
void bench_cpus_free(struct bench_cpus *cpus);
bool bench_cpus_has(const struct bench_cpus *cpus, int cpu);

/* Pins thread t (or the calling thread) to `cpu`. 0 or -errno. */
int bench_pin_thread(pthread_t t, int cpu);
int bench_pin_self(int cpu);
/* Lets thread t run on every CPU in cpus again. 0 or -errno. */
int bench_unpin_thread(pthread_t t, const struct bench_cpus *cpus);
/* Sets attr so that the thread it creates starts on `cpu` only. 0 or -errno. */
int bench_pin_attr(pthread_attr_t *attr, int cpu);

/* The calling thread's affinity, saved and restored: a benchmark that pins the main thread
 * puts it back for the next one. NULL when it cannot be read; restore(NULL) is a no-op, and
 * restore frees what save returned. */
struct bench_affinity;
struct bench_affinity *bench_affinity_save(void);
void bench_affinity_restore(struct bench_affinity *a);

#ifdef __cplusplus
}
#endif

#endif
