/* SPDX-License-Identifier: MIT */
/*
 * --pin-sweep --plot FILE.png: the sweep as a heatmap, in the style of the core-to-core
 * latency tools. Rows: client (measuring) CPU, top to bottom; columns: sidecar CPU, left to
 * right; colour: the ranked mode's p50 (POLL unless --mode leaves it out), log scale when
 * the cells span a factor of 4 or more; the value printed in each cell (while the cells are
 * big enough to read); the recommended pair boxed in a solid line, the worst of the other
 * different-CPU pairs in a dashed one. Cells not measured (a mode the target lacks) stay blank.
 */
#ifndef SIDECAR_BENCH_LATENCY_HEATMAP_H
#define SIDECAR_BENCH_LATENCY_HEATMAP_H

#include "latency.h"

#include <stdint.h>

struct lat_heatmap {
	const char *what; /* "poll p50", for the title and the colour bar */
	int n;
	const int *cpus;          /* n CPU numbers: the rows' and the columns' labels */
	const uint64_t *p50;      /* n * n, [client index * n + sidecar index]; UINT64_MAX: none */
	int best_row, best_col;   /* the recommended pair (indices) */
	int worst_row, worst_col; /* the worst pair, or -1 */
	const struct lat_cfg *cfg;
	const struct lat_machine *machine;
};

/* LAT_EXIT_OK, or LAT_EXIT_FAIL after a message (gnuplot missing or failing). */
int lat_plot_heatmap(const struct lat_heatmap *hm, const char *png);

#endif
