/* SPDX-License-Identifier: MIT */
/* The CDF plot through gnuplot (latency_plot.h). */
#include "latency_plot.h"

#include "latency_gnuplot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cdf_writer {
	FILE *f;
	uint64_t count;
	double below; /* fraction of samples in the buckets before this one */
};

static void write_point(uint64_t value_ns, double fraction, void *ctx)
{
	struct cdf_writer *w = ctx;

	/* x, fraction <= x (CDF), fraction >= x (tail) */
	fprintf(w->f, "%" PRIu64 " %.9g %.9g\n", value_ns, fraction, 1.0 - w->below);
	w->below = fraction;
}

static void write_series(FILE *f, const struct lat_result *r)
{
	struct cdf_writer w = {.f = f, .count = r->hist.count};

	fprintf(f, "# %s%s\n", r->name, r->reference ? " (reference)" : "");
	lat_hist_cdf(&r->hist, write_point, &w);
	fprintf(f, "\n\n"); /* gnuplot: the next index */
}

static void series_title(char *buf, size_t len, const struct lat_result *r)
{
	char p50[32], p999[32];

	lat_human_ns(p50, sizeof(p50), r->p50_ns);
	lat_human_ns(p999, sizeof(p999), r->p999_ns);
	snprintf(buf, len, "%s%s: p50 %s, p99.9 %s", r->reference ? "reference " : "mode ", r->name, p50, p999);
}

/* Fixed colours per series, so plots from different runs compare at a glance. */
static const char *series_color(const struct lat_result *r)
{
	static const struct {
		const char *name;
		bool reference;
		const char *rgb;
	} colors[] = {
		{"spin", true, "#000000"},   {"futex", true, "#808080"}, {"seed", false, "#d62728"},
		{"futex", false, "#ff7f0e"}, {"poll", false, "#1f77b4"}, {"adaptive", false, "#2ca02c"},
	};

	for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
		if (colors[i].reference == r->reference && strcmp(colors[i].name, r->name) == 0)
			return colors[i].rgb;
	return "#9467bd";
}

/* One panel: `using` picks the CDF or the tail column. */
static void plot_cmd(FILE *gp, const char *data, const struct lat_result **series, int n, const char *using)
{
	char title[128];

	fprintf(gp, "plot ");
	for (int i = 0; i < n; i++) {
		series_title(title, sizeof(title), series[i]);
		fprintf(gp, "%s'%s' index %d using %s with steps lw 2 dt %d lc rgb '%s' title \"%s\"",
			i ? ", \\\n     " : "", data, i, using, series[i]->reference ? 2 : 1, series_color(series[i]),
			title);
	}
	fprintf(gp, "\n");
}

int lat_plot_run(const struct lat_run *run, const char *png)
{
	const struct lat_result *series[2 + LAT_MAX_MODES];
	char data[] = "/tmp/sidecar-latency-cdf-XXXXXX";
	char model[160], target[LAT_TARGET_MAX];
	const struct lat_cfg *cfg = &run->cfg;
	int n = 0, ret = LAT_EXIT_FAIL;

	if (!lat_gnuplot_available(png))
		return LAT_EXIT_FAIL;
	for (int i = 0; i < run->nrefs; i++)
		if (!run->refs[i].skipped && run->refs[i].hist.count)
			series[n++] = &run->refs[i];
	for (int i = 0; i < run->nmodes; i++)
		if (!run->modes[i].skipped && run->modes[i].hist.count)
			series[n++] = &run->modes[i];
	if (!n) {
		fprintf(stderr, "sidecar-latency: --plot %s: nothing was measured\n", png);
		return LAT_EXIT_FAIL;
	}

	FILE *df = lat_gnuplot_data_create(data);
	if (!df)
		return LAT_EXIT_FAIL;
	for (int i = 0; i < n; i++)
		write_series(df, series[i]);
	if (fclose(df)) {
		fprintf(stderr, "sidecar-latency: --plot: writing %s failed: %s\n", data, strerror(errno));
		goto out;
	}

	lat_gnuplot_sanitize(model, sizeof(model), run->machine.cpu_model);
	lat_gnuplot_sanitize(target, sizeof(target), cfg->target);
	FILE *gp = lat_gnuplot_open(png, 1500, 650);
	if (!gp)
		goto out;
	fprintf(gp,
		"set multiplot layout 1,2 title \"sidecar-latency: run -> intercept -> run round trips on %s (%s)\\n"
		"client CPU %d, sidecar CPU %d, target %s; %s %" PRIu64 "%s per series; dashed: references\"\n",
		model, run->machine.hostname, cfg->client_cpu, cfg->sidecar_cpu, target,
		cfg->budget.iterations ? "round trips:" : "seconds:",
		cfg->budget.iterations ? cfg->budget.iterations : cfg->budget.duration_ns / 1000000000u,
		cfg->budget.iterations ? "" : " s");
	fprintf(gp, "set logscale x\nset grid xtics mxtics ytics\nset mxtics 10\n"
		    "set xtics ('10 ns' 10, '100 ns' 100, '1 us' 1e3, '10 us' 1e4, '100 us' 1e5, '1 ms' 1e6, "
		    "'10 ms' 1e7, '100 ms' 1e8, '1 s' 1e9, '10 s' 1e10)\n"
		    "set xlabel 'round trip (log scale)'\n");
	fprintf(gp, "set title 'CDF'\nset ylabel 'fraction of round trips <= x'\nset yrange [0:1]\n"
		    "set key right center box opaque\n");
	plot_cmd(gp, data, series, n, "1:2");
	/* The tail panel shares the CDF panel's colours and legend. */
	fprintf(gp, "set title 'tail (p99 at 0.01, p99.9 at 0.001; legend on the left)'\nset ylabel 'fraction of round "
		    "trips >= x (log scale)'\n"
		    "set logscale y\nset yrange [*:1]\nset format y '%%g'\nunset key\n");
	plot_cmd(gp, data, series, n, "1:3");
	fprintf(gp, "unset multiplot\n");
	ret = lat_gnuplot_close(gp, png);
out:
	unlink(data);
	return ret;
}
