/* SPDX-License-Identifier: MIT */
/*
 * The kernel path's references, on target "device" with a driver that offers ECHO
 * (<sidecar/uapi.h>): the measuring thread against the sidecar CPU's own kernel thread, with
 * the wake primitives the fast path uses there and nothing of the protocol around them.
 *
 *   kwait   ECHO (a request IPI wakes the halted thread, which answers as a completion
 *           would: a wake-up of the VP's wait queue), then WAIT on the answer: the matching
 *           reference of FUTEX mode on the device (KICK + WAIT per round trip);
 *   kevent  the same, answered through an eventfd (eventfd_signal) and a blocking read():
 *           the other mechanism a driver could have chosen (docs/abi.md compares them).
 *
 * The VP is claimed DIRECT through a file of its own for the measurement (its line's
 * features left 0: the thread halts at once), and given back after.
 */
#ifndef SIDECAR_BENCH_LATENCY_KREF_H
#define SIDECAR_BENCH_LATENCY_KREF_H

#include "latency.h"

enum lat_kref_kind {
	LAT_KREF_WAIT,
	LAT_KREF_EVENTFD,
};

/* Measure into r (initialised by the caller, named "kwait" or "kevent"). LAT_EXIT_OK (r may be
 * skipped, with its reason, where the device or its ECHO is missing), or LAT_EXIT_FAIL after
 * a message. */
int lat_measure_kref(enum lat_kref_kind kind, const struct lat_cfg *cfg, struct lat_result *r);

#endif
