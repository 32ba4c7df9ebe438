/* SPDX-License-Identifier: MIT */
/*
 * The timed loop every measurement shares (modes and references alike, so they are
 * measured the same way): a warmup left out of the stats, then round trips timed with one
 * clock read each. Samples are chained (each sample runs from the previous read to this
 * one), so they add up to the loop's wall time: the loop's own overhead (the histogram
 * increment, the loop test, the indirect call) and one timer read are inside every
 * sample. The raw figures keep them; the net ones subtract the null loop's p50, this same
 * loop timing a round trip that does nothing (latency_overhead.h).
 */
#ifndef SIDECAR_BENCH_LATENCY_LOOP_H
#define SIDECAR_BENCH_LATENCY_LOOP_H

#include "latency.h"

/* One round trip: 0, or a nonzero code that stops the loop and is passed back. */
typedef int (*lat_round_trip_fn)(void *ctx);

/* Runs b->warmup round trips (at most b->warmup_max_ns long). *done: how many ran. */
int lat_loop_warmup(const struct lat_budget *b, lat_round_trip_fn fn, void *ctx, uint64_t *done);

/* Runs the measured loop into r (r->hist, the percentiles, rates and CPU times; the
 * caller adds the counters). label names it on the progress line. */
int lat_loop_measure(const struct lat_budget *b, lat_round_trip_fn fn, void *ctx, const char *label,
		     struct lat_result *r);

#endif
