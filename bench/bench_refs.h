/* SPDX-License-Identifier: MIT */
/*
 * The two references every latency is a ratio to, one implementation for every tool in
 * bench/ (sidecar-latency's `ref` rows, sidecar-bench's `ref/` benchmarks): the caller's
 * thread against a partner thread, normally on the sidecar CPU's host CPU.
 *
 *   spin   cache-line ping-pong: one 64-byte aligned line; each side waits for the other's
 *          value, then writes its own. The floor for any polled handoff between the CPUs.
 *   futex  futex ping-pong: each side stores, FUTEX_WAKE, then FUTEX_WAIT until the other's
 *          value. The floor for a handoff where both sides sleep.
 *
 * With both threads on one CPU a pure spin would measure the scheduler's time slice
 * (milliseconds), so with `yield` the spinning side calls sched_yield while it waits. Plain
 * C with C linkage: the C++ harness calls it through this header.
 */
#ifndef SIDECAR_BENCH_REFS_H
#define SIDECAR_BENCH_REFS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum bench_ref_kind {
	BENCH_REF_SPIN,
	BENCH_REF_FUTEX,
};

/* Since the start, as sidecar_vp_get_stats counts them for a mode: the client's wakes
 * (request signals), the partner's (response signals), the client's waits that slept and
 * those that found the answer without sleeping (polled). Spin: every round trip is polled. */
struct bench_ref_counts {
	uint64_t request_signals, response_signals, sleeps, polled;
};

struct bench_ref;

/* Starts the partner thread on partner_cpu (< 0: wherever the scheduler puts it). yield:
 * spin waits call sched_yield instead of a pause (both sides share a CPU). 0 or -errno. */
int bench_ref_start(enum bench_ref_kind kind, int partner_cpu, bool yield, struct bench_ref **out);
/* One round trip from the calling thread (the same thread every time). Always 0: the
 * signature is a timed loop's callback, `ref` a struct bench_ref. */
int bench_ref_round_trip(void *ref);
void bench_ref_get_counts(const struct bench_ref *r, struct bench_ref_counts *out);
/* Stops and joins the partner, frees r. NULL is a no-op. */
void bench_ref_stop(struct bench_ref *r);

#ifdef __cplusplus
}
#endif

#endif
