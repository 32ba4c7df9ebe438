/* SPDX-License-Identifier: MIT */
/* What machine the numbers come from (the JSON "machine" object, the table's header). */
#ifndef SIDECAR_BENCH_LATENCY_MACHINE_H
#define SIDECAR_BENCH_LATENCY_MACHINE_H

#include "latency.h"

/* Fills m; `allowed` is the count of CPUs this process may use. Never fails: what cannot
 * be read is "unknown". Measures the timer's cost, so call it before the measurements. */
void lat_machine_probe(struct lat_machine *m, int allowed);

#endif
