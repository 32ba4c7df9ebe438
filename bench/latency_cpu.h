/* SPDX-License-Identifier: MIT */
/* CPU placement: the CPUs this process may use, and pinning threads to one of them. */
#ifndef SIDECAR_BENCH_LATENCY_CPU_H
#define SIDECAR_BENCH_LATENCY_CPU_H

#include <pthread.h>
#include <stdbool.h>

struct lat_cpus {
	int n;
	int *cpu; /* ascending */
};

/* The calling thread's allowed CPUs (call before pinning it). 0 or -errno. */
int lat_cpus_allowed(struct lat_cpus *out);
void lat_cpus_free(struct lat_cpus *cpus);
bool lat_cpus_has(const struct lat_cpus *cpus, int cpu);

/* Pins thread t to `cpu`. 0 or -errno. */
int lat_pin_thread(pthread_t t, int cpu);
/* Lets thread t run on every CPU in cpus again. 0 or -errno. */
int lat_unpin_thread(pthread_t t, const struct lat_cpus *cpus);
/* Sets attr so that the thread it creates starts on `cpu` only. 0 or -errno. */
int lat_pin_attr(pthread_attr_t *attr, int cpu);

#endif
