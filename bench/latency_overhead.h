/* SPDX-License-Identifier: MIT */
/*
 * The timed loop's own per-sample overhead, measured so it can be taken out.
 *
 * Samples are chained (latency_loop.h): each one holds a round trip plus what the loop
 * itself costs per sample, the indirect call, the return-code test, one clock read, the
 * histogram increment and the loop test: tens of ns, which pulls every ratio towards 1 when
 * the round trips are a hundred ns. The null loop is the same loop with a round trip that
 * does nothing (a function that returns 0, called through the same pointer), on the same
 * measuring thread pinned to the same CPU, into the same kind of histogram: its samples are
 * the overhead alone, and its p50 is what the net figures subtract.
 *
 * Limits: the subtraction assumes the overhead adds to the round trip. Out-of-order
 * execution can overlap part of the clock read with the wait for the other CPU's cache line,
 * and the null loop runs with a hot cache and predictable branches, so a net figure is an
 * estimate (floored at 0), most reliable for p50; a net p99 subtracts the p50 overhead, not
 * the overhead's own tail.
 */
#ifndef SIDECAR_BENCH_LATENCY_OVERHEAD_H
#define SIDECAR_BENCH_LATENCY_OVERHEAD_H

#include "latency.h"

/* A --duration budget runs the null loop at most this long: its p50 is stable within
 * milliseconds (millions of samples), and --quick stays a few seconds. */
#define LAT_OVERHEAD_MAX_NS 250000000ull

/* Runs the null loop on the calling (already pinned) thread into r (initialised by the
 * caller, name "null"). LAT_EXIT_OK. */
int lat_measure_overhead(const struct lat_budget *b, struct lat_result *r);

#endif
