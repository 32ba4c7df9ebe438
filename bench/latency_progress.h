/* SPDX-License-Identifier: MIT */
/*
 * The progress line on stderr for long measurements: on when stderr is a terminal (or
 * with --progress), and silent for the first second of each measurement so short runs
 * print nothing. It is printed between two round trips, and that pause is left out of
 * the samples and the rate (latency_loop.c).
 */
#ifndef SIDECAR_BENCH_LATENCY_PROGRESS_H
#define SIDECAR_BENCH_LATENCY_PROGRESS_H

#include "latency.h"

#include <stdbool.h>
#include <stdint.h>

struct lat_progress {
	const char *label;
	uint64_t start_ns;
	uint64_t next_ns;     /* UINT64_MAX: off */
	uint64_t total;       /* round trips, or 0 ... */
	uint64_t duration_ns; /* ... for a timed measurement */
	bool tty;
	bool printed;
};

/* force: print even when stderr is not a terminal (one line per update). */
void lat_progress_configure(bool force);
/* Whether progress is printed at all (the pin sweep's per-cell lines). */
bool lat_progress_enabled(void);
void lat_progress_begin(struct lat_progress *p, const char *label, const struct lat_budget *b, uint64_t now);
void lat_progress_tick(struct lat_progress *p, uint64_t now, uint64_t done);
void lat_progress_end(struct lat_progress *p);

#endif
