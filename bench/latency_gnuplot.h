/* SPDX-License-Identifier: MIT */
/*
 * What every sidecar-latency plot shares (the CDFs, latency_plot.h; the sweep's heatmap,
 * latency_heatmap.h): finding gnuplot, starting it with a PNG terminal, checking how it
 * ended, and making text safe for a gnuplot string.
 */
#ifndef SIDECAR_BENCH_LATENCY_GNUPLOT_H
#define SIDECAR_BENCH_LATENCY_GNUPLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Whether gnuplot is in $PATH; if not, a message naming --plot `png` and the package. */
bool lat_gnuplot_available(const char *png);
/* Creates the data file from the mkstemp() template `path` (rewritten with the name) and
 * opens it for writing; NULL, with a message and nothing left behind, on failure. */
FILE *lat_gnuplot_data_create(char *path);
/* popen("gnuplot") set up to write `png` (pngcairo when gnuplot has it, else png) at
 * width x height pixels, text not "enhanced" (target strings have '_'). NULL after a
 * message. */
FILE *lat_gnuplot_open(const char *png, int width, int height);
/* pclose and its status: LAT_EXIT_OK, or LAT_EXIT_FAIL after a message. */
int lat_gnuplot_close(FILE *gp, const char *png);
/* Text for a gnuplot string (single- or double-quoted): no quotes, backslashes or
 * newlines. */
void lat_gnuplot_sanitize(char *dst, size_t len, const char *src);
/* A latency for a label: ns, us or ms with 3 significant digits ("181 ns", "45.2 us"). */
void lat_human_ns(char *buf, size_t len, uint64_t v);

#endif
