/* SPDX-License-Identifier: MIT */
/*
 * Where sidecar-bench's single-VP benchmarks run (docs/benchmarks.md "Harness"): the
 * benchmark (VMM) thread on client_cpu, the sidecar CPU's thread (and the references'
 * partner) on sidecar_cpu. Pinning itself is bench_cpu.h, shared with sidecar-latency.
 */
#ifndef SIDECAR_BENCH_HARNESS_PLACEMENT_H
#define SIDECAR_BENCH_HARNESS_PLACEMENT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* pinned is false when the process may use only one CPU (then nothing is pinned: a pure
 * spin would only measure the scheduler's time slice). */
struct hs_placement {
	bool pinned;
	int client_cpu;
	int sidecar_cpu;
	int allowed_cpus; /* CPUs this process may run on */
};

/* Picks the first two allowed CPUs, unless client_cpu / sidecar_cpu (>= 0) say otherwise.
 * Returns 0, -EINVAL (a CPU this process may not use) or another negative errno. Call once,
 * before any benchmark. */
int hs_placement_init(int client_cpu, int sidecar_cpu);
const struct hs_placement *hs_placement_get(void);

#ifdef __cplusplus
}
#endif

#endif
