/* SPDX-License-Identifier: MIT */
/*
 * The two references (bench_refs.h: spin, futex) measured through the timed loop, on the
 * same CPU pair as the modes: the measuring thread on the client CPU, the partner thread on
 * the sidecar CPU. With both on one CPU the spin reference yields while it waits (a pure
 * spin would measure the scheduler's time slice) and its label says so.
 */
#ifndef SIDECAR_BENCH_LATENCY_REFS_H
#define SIDECAR_BENCH_LATENCY_REFS_H

#include "latency.h"

/* Measure into r (initialised by the caller). LAT_EXIT_OK, or LAT_EXIT_FAIL after a
 * message. */
int lat_measure_spin(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r);
int lat_measure_futex(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r);

#endif
