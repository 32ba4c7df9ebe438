/* SPDX-License-Identifier: MIT */
/*
 * --plot FILE.png: the latency CDF of every reference and mode (x: round trip in ns, log
 * scale; y: fraction of round trips at or below x), and beside it the tail (fraction at
 * or above x, log scale) where p99.9 and the outliers show. The histograms go to a
 * temporary data file; gnuplot (popen) draws them.
 */
#ifndef SIDECAR_BENCH_LATENCY_PLOT_H
#define SIDECAR_BENCH_LATENCY_PLOT_H

#include "latency.h"

/* LAT_EXIT_OK, or LAT_EXIT_FAIL after a message (gnuplot missing or failing). */
int lat_plot_run(const struct lat_run *run, const char *png);

#endif
