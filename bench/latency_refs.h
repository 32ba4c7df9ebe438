/* SPDX-License-Identifier: MIT */
/*
 * The two references every latency is a ratio to (SPEC section 5), measured on the same
 * CPU pair as the modes: the measuring thread on the client CPU, a partner thread on the
 * sidecar CPU.
 *
 *   spin   cache-line ping-pong: one 64-byte aligned line; each side waits for the other's
 *          value, then writes its own. The floor for any polled handoff between the CPUs.
 *   futex  futex ping-pong: each side stores, FUTEX_WAKE, then FUTEX_WAIT until the other's
 *          value. The floor for a handoff where both sides sleep.
 *
 * With both threads on one CPU a pure spin would measure the scheduler's time slice
 * (milliseconds), so there the spinning side yields while it waits (reported as such).
 */
#ifndef SIDECAR_BENCH_LATENCY_REFS_H
#define SIDECAR_BENCH_LATENCY_REFS_H

#include "latency.h"

/* Measure into r (initialised by the caller). LAT_EXIT_OK, or LAT_EXIT_FAIL after a
 * message. */
int lat_measure_spin(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r);
int lat_measure_futex(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r);

#endif
