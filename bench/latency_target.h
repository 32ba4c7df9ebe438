/* SPDX-License-Identifier: MIT */
/*
 * The target string a measurement opens: the user's (--target, default "sim:cpus=1") with
 * the placement and the work added for the simulator: ",pin=<sidecar CPU>" and
 * ",work_ns=<N>", each only where the user's string does not already say it.
 */
#ifndef SIDECAR_BENCH_LATENCY_TARGET_H
#define SIDECAR_BENCH_LATENCY_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAT_DEFAULT_TARGET "sim:cpus=1"

/* "sim" or "sim:...": the embedded simulator, which takes pin= and work_ns=. */
bool lat_target_is_sim(const char *target);
/* Whether a sim target sets `key`. */
bool lat_target_has(const char *target, const char *key);
/* guest=spin: a guest that never intercepts, so a run never ends by itself. */
bool lat_target_never_intercepts(const char *target);
/* The first host CPU of a sim target's pin= list (the one VP 0 runs on), or -1. */
int lat_target_pin_cpu(const char *target);
/* Writes the target to open. sidecar_cpu < 0: add no pin. false: it does not fit. */
bool lat_target_build(const char *user, int sidecar_cpu, uint64_t work_ns, char *out, size_t len);

#endif
