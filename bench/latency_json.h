/* SPDX-License-Identifier: MIT */
/*
 * --json FILE: the shape docs/benchmarks.md describes, built with cJSON.
 *
 *   {"machine": {...}, "loop_overhead": {"name": "null", "p50_ns", ..., "method"},
 *    "references": [{"name": "spin", ...}, {"name": "futex", ...}],
 *    "results": [{"mode": "poll", "iterations": N, "min_ns", ..., "net_p50_ns", ...}],
 *    "skipped": [...], "ratios": {...}}
 */
#ifndef SIDECAR_BENCH_LATENCY_JSON_H
#define SIDECAR_BENCH_LATENCY_JSON_H

#include "latency.h"

#include <cjson/cJSON.h>

/* The "machine" object: the machine and where/how it was measured. */
cJSON *lat_json_machine(const struct lat_cfg *cfg, const struct lat_machine *m);
/* One measurement's object: "name" (references) or "mode" (modes) and every figure.
 * spin / fref (may be NULL) add the vs_spin_p50 / vs_futex_p50 ratios (and their _net_
 * twins when r has net figures). */
cJSON *lat_json_result(const struct lat_result *r, const struct lat_result *spin, const struct lat_result *fref);
/* Writes root to path (pretty-printed) and frees it. LAT_EXIT_OK or LAT_EXIT_FAIL. */
int lat_json_write(cJSON *root, const char *path);
int lat_json_write_run(const struct lat_run *run, const char *path);

#endif
