/* SPDX-License-Identifier: MIT */
/*
 * One wait mode's measurement: the thread-per-VP loop a VMM runs. A client is opened on
 * the target for this mode alone (so no mode inherits another's state: the seed mode's
 * reader task, an adaptive window), VP cfg->vp is acquired, the mode set, and then
 *
 *     for (;;) { sidecar_vp_run_sync(vp, &intercept); [read the intercept message] }
 *
 * is timed by latency_loop.c on the calling (already pinned) thread.
 */
#ifndef SIDECAR_BENCH_LATENCY_VP_H
#define SIDECAR_BENCH_LATENCY_VP_H

#include "latency.h"

/* "seed", ... -> the mode; false for an unknown name. */
bool lat_mode_parse(const char *name, size_t len, enum sidecar_wait_mode *out);

/* Opens the target and acquires the VP once, so that a bad --target or --vp fails before
 * any measurement. Returns an exit status (after a message). */
int lat_probe_target(const struct lat_cfg *cfg, const char *target);

/*
 * Measures `mode` on cfg->target into r (initialised by the caller, named after the mode).
 * A mode the target does not support (-ENOTSUP) marks r skipped. Returns LAT_EXIT_OK, or
 * LAT_EXIT_USAGE / LAT_EXIT_FAIL after a message naming the problem.
 */
int lat_measure_mode(const struct lat_cfg *cfg, const char *target, const struct lat_budget *b,
		     enum sidecar_wait_mode mode, struct lat_result *r);

#endif
