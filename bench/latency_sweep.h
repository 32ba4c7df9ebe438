/* SPDX-License-Identifier: MIT */
/*
 * --pin-sweep: the pinning tuner. For every ordered pair (client CPU, sidecar CPU) of the
 * allowed CPUs, same-CPU pairs included, a short measurement of the spin reference and of
 * each sweep mode (POLL and FUTEX unless --mode says otherwise); then a matrix per
 * measurement (p50, rows: client CPU, columns: sidecar CPU) and the recommended placement:
 * the lowest POLL p50 among different-CPU pairs, pairs within 5 % of it counting as a tie
 * that the lower spin p50 breaks; and the worst of the other different-CPU pairs. --json
 * carries the p50 matrices, --plot draws the ranked one as a heatmap (latency_heatmap.h).
 * Restrict the CPUs with taskset to bound a big machine.
 */
#ifndef SIDECAR_BENCH_LATENCY_SWEEP_H
#define SIDECAR_BENCH_LATENCY_SWEEP_H

#include "bench_cpu.h"
#include "latency.h"

/* cfg: the budget per measurement, the modes, work and VP; user_target: --target before
 * the pin is added; json, png: NULL or where to write. Returns an exit status. */
int lat_sweep_run(const struct lat_cfg *cfg, const char *user_target, const struct bench_cpus *cpus,
		  const struct lat_machine *m, const char *json, const char *png);

#endif
