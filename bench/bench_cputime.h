/* SPDX-License-Identifier: MIT */
/*
 * The process's CPU time, exactly, for every benchmark tool in bench/ (sidecar-latency's
 * cpu ns/rt, sidecar-bench's scaling counters). CLOCK_PROCESS_CPUTIME_ID adds up each
 * thread's run time as last accounted, and a thread running on another CPU (the sidecar
 * CPU's poll loop, the spin partner) is accounted only at its next tick or context switch:
 * over a measured loop of a few milliseconds it is off by up to a tick at each end (seen
 * here: 2.9 to 7.0 ms for 6 ms of two spinning threads). A thread's own CPU clock read
 * through its clockid is brought up to date by the kernel (task_sched_runtime), so the sum
 * over /proc/self/task of the per-thread clocks is exact. Snapshots are taken outside the
 * timed loop; a thread that exits between two snapshots is missing from the second (its
 * time is lost, never double counted).
 */
#ifndef SIDECAR_BENCH_CPUTIME_H
#define SIDECAR_BENCH_CPUTIME_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Enough for 64 VPs (a VMM thread and a sidecar CPU thread each) and the rest. */
#define BENCH_CPUTIME_MAX_THREADS 256

struct bench_cputime {
	int n;
	pid_t tid[BENCH_CPUTIME_MAX_THREADS];
	uint64_t ns[BENCH_CPUTIME_MAX_THREADS];
	uint64_t process_clock_ns; /* CLOCK_PROCESS_CPUTIME_ID, for comparison */
	int overflow;              /* threads beyond the array (then: the process clock) */
};

void bench_cputime_snapshot(struct bench_cputime *s);
/* CPU ns the process used between a and b: per-thread sums, or the process clock's
 * delta if there were more threads than the snapshot holds. */
uint64_t bench_cputime_delta(const struct bench_cputime *a, const struct bench_cputime *b);

/* One clock in ns (CLOCK_THREAD_CPUTIME_ID, CLOCK_PROCESS_CPUTIME_ID, ...). */
uint64_t bench_clock_ns(clockid_t id);

#ifdef __cplusplus
}
#endif

#endif
