/* SPDX-License-Identifier: MIT */
/* The report on stdout: what was measured where, one row per reference and per mode,
 * then the fast-path ratios. */
#ifndef SIDECAR_BENCH_LATENCY_TABLE_H
#define SIDECAR_BENCH_LATENCY_TABLE_H

#include "latency.h"

#include <stdio.h>

/* The lines before the table: machine, placement, target, budget, timer, histogram. */
void lat_table_header(FILE *f, const struct lat_cfg *cfg, const struct lat_machine *m);
void lat_table_print(FILE *f, const struct lat_run *run);

#endif
