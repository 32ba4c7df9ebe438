/* SPDX-License-Identifier: MIT */
/* The sweep's heatmap through gnuplot (latency_heatmap.h). */
#include "latency_heatmap.h"

#include "latency_gnuplot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CELL_MAX_PX 110
#define CELL_MIN_PX 14
#define GRID_PX 900     /* the matrix's side when cells are neither at the max nor the min */
#define LABEL_MIN_PX 30 /* smaller cells get no printed value (it would not fit) */

/* A cell's text: the p50 in ns up to 99999, then with a unit, short enough for a cell. */
static void cell_text(char *buf, size_t len, uint64_t v)
{
	if (v < 100000)
		snprintf(buf, len, "%" PRIu64, v);
	else if (v < 100000000)
		snprintf(buf, len, "%.0fu", (double)v / 1e3);
	else
		snprintf(buf, len, "%.0fm", (double)v / 1e6);
}

/* x y value label: x the sidecar CPU's index, y the client CPU's; NaN where not measured
 * (gnuplot leaves it blank). */
static int write_data(FILE *f, const struct lat_heatmap *hm)
{
	for (int r = 0; r < hm->n; r++) {
		for (int c = 0; c < hm->n; c++) {
			uint64_t v = hm->p50[r * hm->n + c];
			char text[32];
			if (v == UINT64_MAX) {
				fprintf(f, "%d %d NaN \"\"\n", c, r);
				continue;
			}
			cell_text(text, sizeof(text), v);
			/* log scale: a 0 would be off the scale; 1 ns is the floor. */
			fprintf(f, "%d %d %" PRIu64 " \"%s\"\n", c, r, v ? v : 1, text);
		}
		fprintf(f, "\n"); /* gnuplot: the next scan line */
	}
	return ferror(f) ? -EIO : 0;
}

/* The colour scale's range: the different-CPU cells (the placements worth choosing between),
 * unless there is only one CPU. Same-CPU cells, often far slower, are clipped to the end of
 * the scale; their printed value stays exact. */
static void range(const struct lat_heatmap *hm, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (int i = 0; i < hm->n * hm->n; i++) {
		uint64_t v = hm->p50[i];
		if (v == UINT64_MAX || (hm->n > 1 && i / hm->n == i % hm->n))
			continue;
		if (v < *lo)
			*lo = v;
		if (v > *hi)
			*hi = v;
	}
	if (*lo == 0)
		*lo = 1; /* log scale */
}

/* Colour bar tics at 1, 2 and 5 times the powers of ten inside [lo, hi], and the ends. */
static void log_tics(FILE *gp, uint64_t lo, uint64_t hi)
{
	static const int steps[] = {1, 2, 5};
	bool first = true;

	fprintf(gp, "set cbtics (");
	for (uint64_t p = 1; p <= hi && p <= UINT64_MAX / 10; p *= 10)
		for (int i = 0; i < 3; i++) {
			uint64_t v = p * (uint64_t)steps[i];
			if (v > lo && v < hi) {
				fprintf(gp, "%s'%" PRIu64 "' %" PRIu64, first ? "" : ", ", v, v);
				first = false;
			}
		}
	fprintf(gp, "%s'%" PRIu64 "' %" PRIu64 ", '%" PRIu64 "' %" PRIu64 ")\n", first ? "" : ", ", lo, lo, hi, hi);
}

static void tics(FILE *gp, const char *axis, const struct lat_heatmap *hm)
{
	fprintf(gp, "set %s (", axis);
	for (int i = 0; i < hm->n; i++)
		fprintf(gp, "%s'%d' %d", i ? ", " : "", hm->cpus[i], i);
	fprintf(gp, ")\n");
}

/* A box around one cell: solid, or dashed with dashes that fit the cell. */
static void box(FILE *gp, int id, int row, int col, int cell_px, bool dashed)
{
	int lw = cell_px >= 40 ? 4 : 2;

	fprintf(gp, "set object %d rect from %g,%g to %g,%g front fillstyle empty border lc rgb '#000000' lw %d", id,
		col - 0.5, row - 0.5, col + 0.5, row + 0.5, lw);
	if (dashed)
		fprintf(gp, " dashtype (%d,%d)", cell_px >= 40 ? 4 : 1, cell_px >= 40 ? 3 : 1);
	fprintf(gp, "\n");
}

int lat_plot_heatmap(const struct lat_heatmap *hm, const char *png)
{
	char data[] = "/tmp/sidecar-latency-heatmap-XXXXXX";
	char model[160], target[LAT_TARGET_MAX], best[32], worst[32];
	int ret = LAT_EXIT_FAIL, n = hm->n;
	uint64_t lo, hi;

	if (!lat_gnuplot_available(png))
		return LAT_EXIT_FAIL;
	range(hm, &lo, &hi);
	if (lo == UINT64_MAX || hi == 0) {
		fprintf(stderr, "sidecar-latency: --plot %s: no cell was measured\n", png);
		return LAT_EXIT_FAIL;
	}

	FILE *df = lat_gnuplot_data_create(data);
	if (!df)
		return LAT_EXIT_FAIL;
	int wrc = write_data(df, hm);
	if (fclose(df) || wrc) {
		fprintf(stderr, "sidecar-latency: --plot: writing %s failed\n", data);
		goto out;
	}

	int cell = GRID_PX / n;
	if (cell > CELL_MAX_PX)
		cell = CELL_MAX_PX;
	if (cell < CELL_MIN_PX)
		cell = CELL_MIN_PX;
	int width = 260 + cell * n, height = 230 + cell * n;
	if (width < 900)
		width = 900; /* room for the title */
	if (height < 520)
		height = 520;
	FILE *gp = lat_gnuplot_open(png, width, height);
	if (!gp)
		goto out;

	lat_gnuplot_sanitize(model, sizeof(model), hm->machine->cpu_model);
	lat_gnuplot_sanitize(target, sizeof(target), hm->cfg->target);
	lat_human_ns(best, sizeof(best), hm->p50[hm->best_row * n + hm->best_col]);
	fprintf(gp,
		"set title \"sidecar-latency --pin-sweep: %s (ns) of the run -> intercept -> run round trip\\n"
		"%s (%s), target %s\\n"
		"solid box: recommended, client CPU %d, sidecar CPU %d (%s)",
		hm->what, model, hm->machine->hostname, target, hm->cpus[hm->best_row], hm->cpus[hm->best_col], best);
	if (hm->worst_row >= 0) {
		lat_human_ns(worst, sizeof(worst), hm->p50[hm->worst_row * n + hm->worst_col]);
		fprintf(gp, "; dashed box: worst, client CPU %d, sidecar CPU %d (%s)", hm->cpus[hm->worst_row],
			hm->cpus[hm->worst_col], worst);
	}
	if (n > 1)
		fprintf(gp, "\\ncolours span the different-CPU pairs; the same-CPU diagonal is clipped to them");
	fprintf(gp, "\"\n");
	fprintf(gp, "set xlabel 'sidecar CPU'\nset ylabel 'client (measuring) CPU'\nset x2label ''\n");
	/* Row 0 at the top, as in a printed matrix. */
	fprintf(gp, "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n", n - 0.5, n - 0.5);
	fprintf(gp, "set size ratio -1\nset tics out nomirror\nunset key\n");
	tics(gp, "xtics", hm);
	tics(gp, "ytics", hm);
	if (n > 32)
		fprintf(gp, "set xtics rotate by 90 font ',7'\nset ytics font ',7'\n");
	/* Green (fast) to yellow to red (slow): light enough for black text everywhere. */
	fprintf(gp, "set palette defined (0 '#1a9850', 0.5 '#fee08b', 1 '#d73027')\n");
	bool log = hi >= 4 * lo;
	fprintf(gp, "set cblabel '%s (ns%s)' offset 2,0\n", hm->what, log ? ", log scale" : "");
	if (log) {
		fprintf(gp, "set logscale cb\n");
		log_tics(gp, lo, hi);
	}
	if (lo == hi)
		fprintf(gp, "set cbrange [%" PRIu64 ":%" PRIu64 "]\n", lo - 1, hi + 1);
	else
		fprintf(gp, "set cbrange [%" PRIu64 ":%" PRIu64 "]\n", lo, hi);
	box(gp, 1, hm->best_row, hm->best_col, cell, false);
	if (hm->worst_row >= 0 && (hm->worst_row != hm->best_row || hm->worst_col != hm->best_col))
		box(gp, 2, hm->worst_row, hm->worst_col, cell, true);
	fprintf(gp, "plot '%s' using 1:2:3 with image", data);
	if (cell >= LABEL_MIN_PX)
		fprintf(gp, ", '' using 1:2:4 with labels font ',%d' tc rgb '#000000'", cell >= 60 ? 10 : 8);
	fprintf(gp, "\n");
	ret = lat_gnuplot_close(gp, png);
out:
	unlink(data);
	return ret;
}
