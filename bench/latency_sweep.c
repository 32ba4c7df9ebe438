/* SPDX-License-Identifier: MIT */
/* The pinning tuner (latency_sweep.h). */
#include "latency_sweep.h"

#include "latency_heatmap.h"
#include "latency_json.h"
#include "latency_progress.h"
#include "latency_refs.h"
#include "latency_table.h"
#include "latency_target.h"
#include "latency_vp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIE_BAND 1.05 /* a p50 within 5 % of the best one is a tie */

/* One (client, sidecar) pair. Histograms are freed after the cell: only the figures stay,
 * so the memory is bounded on a many-core machine. */
struct cell {
	int client, sidecar;
	struct lat_result spin;
	struct lat_result modes[LAT_MAX_MODES];
};

static void drop_hist(struct lat_result *r)
{
	lat_result_free(r);
}

static int measure_cell(const struct lat_cfg *sweep_cfg, const char *user_target, struct cell *cell)
{
	struct lat_cfg cell_cfg = *sweep_cfg;
	const struct lat_cfg *cfg = &cell_cfg;
	char target[LAT_TARGET_MAX];
	int rc;

	cell_cfg.client_cpu = cell->client;
	cell_cfg.sidecar_cpu = cell->sidecar;
	if (!lat_target_build(user_target, cell->sidecar, cfg->work_ns, target, sizeof(target))) {
		fprintf(stderr, "sidecar-latency: --target is too long\n");
		return LAT_EXIT_USAGE;
	}
	rc = bench_pin_self(cell->client);
	if (rc) {
		fprintf(stderr, "sidecar-latency: cannot pin the measuring thread to CPU %d: %s\n", cell->client,
			strerror(-rc));
		return LAT_EXIT_FAIL;
	}
	if (lat_result_init(&cell->spin, "spin", true))
		return LAT_EXIT_FAIL;
	rc = lat_measure_spin(cell->client, cell->sidecar, &cfg->budget, &cell->spin);
	drop_hist(&cell->spin);
	if (rc)
		return rc;
	for (int i = 0; i < cfg->nmodes; i++) {
		struct lat_result *r = &cell->modes[i];
		if (lat_result_init(r, sidecar_wait_mode_name(cfg->modes[i]), false))
			return LAT_EXIT_FAIL;
		rc = lat_measure_mode(cfg, target, &cfg->budget, cfg->modes[i], r);
		drop_hist(r);
		if (rc)
			return rc;
	}
	return LAT_EXIT_OK;
}

static const struct cell *cell_at(const struct cell *cells, int n, int client, int sidecar)
{
	return &cells[client * n + sidecar];
}

/* Matrix of one measurement's p50: which = -1 for spin, else the mode index. */
static void print_matrix(const struct lat_cfg *cfg, const struct bench_cpus *cpus, const struct cell *cells, int which)
{
	int n = cpus->n;

	if (which < 0)
		printf("\nspin reference p50 (ns); rows: client CPU, columns: sidecar CPU\n");
	else
		printf("\n%s mode p50 (ns); rows: client CPU, columns: sidecar CPU\n",
		       sidecar_wait_mode_name(cfg->modes[which]));
	printf("%8s", "");
	for (int s = 0; s < n; s++)
		printf(" %9d", cpus->cpu[s]);
	printf("\n");
	for (int c = 0; c < n; c++) {
		printf("%8d", cpus->cpu[c]);
		for (int s = 0; s < n; s++) {
			const struct cell *x = cell_at(cells, n, c, s);
			const struct lat_result *r = which < 0 ? &x->spin : &x->modes[which];
			if (r->skipped)
				printf(" %9s", "-");
			else
				printf(" %9" PRIu64, r->p50_ns);
		}
		printf("\n");
	}
}

/* The index of the mode the recommendation ranks by: POLL, else the first mode, else -1
 * (spin alone). */
static int rank_mode(const struct lat_cfg *cfg)
{
	for (int i = 0; i < cfg->nmodes; i++)
		if (cfg->modes[i] == SIDECAR_WAIT_POLL)
			return i;
	return cfg->nmodes ? 0 : -1;
}

static uint64_t rank_p50(const struct cell *x, int which)
{
	const struct lat_result *r = which < 0 ? &x->spin : &x->modes[which];

	return r->skipped ? UINT64_MAX : r->p50_ns;
}

static const struct cell *pick(const struct bench_cpus *cpus, const struct cell *cells, int which)
{
	int n = cpus->n;
	uint64_t best = UINT64_MAX;
	const struct cell *pick = NULL;

	for (int i = 0; i < n * n; i++)
		if ((n == 1 || cells[i].client != cells[i].sidecar) && rank_p50(&cells[i], which) < best)
			best = rank_p50(&cells[i], which);
	for (int i = 0; i < n * n; i++) {
		const struct cell *x = &cells[i];
		if (n > 1 && x->client == x->sidecar)
			continue;
		if ((double)rank_p50(x, which) > (double)best * TIE_BAND)
			continue;
		if (!pick || x->spin.p50_ns < pick->spin.p50_ns)
			pick = x;
	}
	return pick;
}

/* The highest ranked p50 among the different-CPU pairs other than the recommended one (the
 * one pair with one CPU): what a bad placement costs, for the plot and for scripts that
 * re-measure both. The recommended pair is left out because the 5 % tie band can make it
 * the highest of a near-tie itself (two CPUs: two pairs, often within a few ns). */
static const struct cell *pick_worst(const struct bench_cpus *cpus, const struct cell *cells, int which,
				     const struct cell *best)
{
	int n = cpus->n;
	const struct cell *worst = NULL;

	for (int i = 0; i < n * n; i++) {
		const struct cell *x = &cells[i];
		if (n > 1 && (x->client == x->sidecar || x == best))
			continue;
		if (rank_p50(x, which) == UINT64_MAX)
			continue;
		if (!worst || rank_p50(x, which) > rank_p50(worst, which))
			worst = x;
	}
	return worst;
}

static int index_of(const struct bench_cpus *cpus, int cpu)
{
	for (int i = 0; i < cpus->n; i++)
		if (cpus->cpu[i] == cpu)
			return i;
	return -1;
}

/* "<name>_p50_ns": rows client CPU, columns sidecar CPU (the order of "cpus"); null where
 * the mode was skipped. */
static void json_matrix(cJSON *sw, const char *name, const struct bench_cpus *cpus, const struct cell *cells, int which)
{
	char key[32];
	int n = cpus->n;

	snprintf(key, sizeof(key), "%s_p50_ns", name);
	cJSON *m = cJSON_AddArrayToObject(sw, key);
	for (int c = 0; c < n; c++) {
		cJSON *row = cJSON_CreateArray();
		for (int s = 0; s < n; s++) {
			uint64_t v = rank_p50(cell_at(cells, n, c, s), which);
			cJSON_AddItemToArray(row, v == UINT64_MAX ? cJSON_CreateNull() : cJSON_CreateNumber((double)v));
		}
		cJSON_AddItemToArray(m, row);
	}
}

static cJSON *json_pair(const struct cell *x, const struct lat_cfg *cfg, int which, const char *rule)
{
	cJSON *o = cJSON_CreateObject();
	char key[32];

	cJSON_AddNumberToObject(o, "client_cpu", x->client);
	cJSON_AddNumberToObject(o, "sidecar_cpu", x->sidecar);
	if (which >= 0) {
		snprintf(key, sizeof(key), "%s_p50_ns", sidecar_wait_mode_name(cfg->modes[which]));
		cJSON_AddNumberToObject(o, key, (double)x->modes[which].p50_ns);
	}
	cJSON_AddNumberToObject(o, "spin_p50_ns", (double)x->spin.p50_ns);
	cJSON_AddStringToObject(o, "rule", rule);
	return o;
}

static int write_json(const struct lat_cfg *cfg, const struct bench_cpus *cpus, const struct lat_machine *m,
		      const struct cell *cells, const struct cell *best, const struct cell *worst, int which,
		      const char *path)
{
	cJSON *root = cJSON_CreateObject();
	int n = cpus->n;

	cJSON_AddItemToObject(root, "machine", lat_json_machine(cfg, m));
	cJSON *sw = cJSON_AddObjectToObject(root, "sweep");
	cJSON *cl = cJSON_AddArrayToObject(sw, "cpus");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(cl, cJSON_CreateNumber(cpus->cpu[i]));
	cJSON *ml = cJSON_AddArrayToObject(sw, "modes");
	for (int i = 0; i < cfg->nmodes; i++)
		cJSON_AddItemToArray(ml, cJSON_CreateString(sidecar_wait_mode_name(cfg->modes[i])));
	cJSON_AddStringToObject(sw, "rank_mode", which >= 0 ? sidecar_wait_mode_name(cfg->modes[which]) : "spin");
	cJSON_AddStringToObject(sw, "matrix_layout",
				"*_p50_ns[i][j]: client CPU cpus[i], sidecar CPU cpus[j]; null: not measured");
	json_matrix(sw, "spin", cpus, cells, -1);
	for (int i = 0; i < cfg->nmodes; i++)
		json_matrix(sw, sidecar_wait_mode_name(cfg->modes[i]), cpus, cells, i);
	cJSON *arr = cJSON_AddArrayToObject(sw, "cells");
	for (int i = 0; i < n * n; i++) {
		const struct cell *x = &cells[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "client_cpu", x->client);
		cJSON_AddNumberToObject(o, "sidecar_cpu", x->sidecar);
		cJSON_AddItemToObject(o, "spin", lat_json_result(&x->spin, NULL, NULL));
		for (int j = 0; j < cfg->nmodes; j++)
			cJSON_AddItemToObject(o, x->modes[j].name, lat_json_result(&x->modes[j], &x->spin, NULL));
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(sw, "recommended",
			      json_pair(best, cfg, which,
					"lowest rank_mode p50 among different-CPU pairs; within 5 % is a tie, "
					"broken by the lower spin p50"));
	if (worst)
		cJSON_AddItemToObject(sw, "worst",
				      json_pair(worst, cfg, which,
						"highest rank_mode p50 among the different-CPU pairs other than "
						"the recommended one"));
	return lat_json_write(root, path);
}

static int plot(const struct lat_cfg *cfg, const struct bench_cpus *cpus, const struct lat_machine *m,
		const struct cell *cells, const struct cell *best, const struct cell *worst, int which, const char *png)
{
	int n = cpus->n;
	uint64_t *p50 = calloc((size_t)n * (size_t)n, sizeof(*p50));
	char what[32];

	if (!p50) {
		fprintf(stderr, "sidecar-latency: --plot: out of memory\n");
		return LAT_EXIT_FAIL;
	}
	for (int i = 0; i < n * n; i++)
		p50[i] = rank_p50(&cells[i], which);
	snprintf(what, sizeof(what), "%s p50", which >= 0 ? sidecar_wait_mode_name(cfg->modes[which]) : "spin");
	struct lat_heatmap hm = {
		.what = what,
		.n = n,
		.cpus = cpus->cpu,
		.p50 = p50,
		.best_row = index_of(cpus, best->client),
		.best_col = index_of(cpus, best->sidecar),
		.worst_row = worst ? index_of(cpus, worst->client) : -1,
		.worst_col = worst ? index_of(cpus, worst->sidecar) : -1,
		.cfg = cfg,
		.machine = m,
	};
	int ret = lat_plot_heatmap(&hm, png);
	free(p50);
	return ret;
}

int lat_sweep_run(const struct lat_cfg *cfg, const char *user_target, const struct bench_cpus *cpus,
		  const struct lat_machine *m, const char *json, const char *png)
{
	int n = cpus->n, cells_n = n * n, ret = LAT_EXIT_OK;
	const struct lat_budget *b = &cfg->budget;
	struct cell *cells = calloc((size_t)cells_n, sizeof(*cells));

	if (!cells) {
		fprintf(stderr, "sidecar-latency: --pin-sweep: out of memory\n");
		return LAT_EXIT_FAIL;
	}
	lat_table_header(stdout, cfg, m);
	printf("sweep:     %d CPU pairs x (spin reference", cells_n);
	for (int i = 0; i < cfg->nmodes; i++)
		printf(", %s", sidecar_wait_mode_name(cfg->modes[i]));
	printf(")");
	if (!b->iterations) {
		double per = (double)(b->duration_ns + b->warmup_max_ns) / 1e9;
		printf(", about %.0f s in all", per * cells_n * (1 + cfg->nmodes) + 0.5);
	}
	printf("\n");
	fflush(stdout);

	for (int c = 0; c < n; c++) {
		for (int s = 0; s < n; s++) {
			struct cell *x = &cells[c * n + s];
			x->client = cpus->cpu[c];
			x->sidecar = cpus->cpu[s];
			if (lat_progress_enabled())
				fprintf(stderr, "sidecar-latency: sweep [%d/%d] client CPU %d, sidecar CPU %d\n",
					c * n + s + 1, cells_n, x->client, x->sidecar);
			ret = measure_cell(cfg, user_target, x);
			if (ret)
				goto out;
		}
	}

	print_matrix(cfg, cpus, cells, -1);
	for (int i = 0; i < cfg->nmodes; i++)
		print_matrix(cfg, cpus, cells, i);

	int which = rank_mode(cfg);
	const struct cell *best = pick(cpus, cells, which);
	const struct cell *worst = pick_worst(cpus, cells, which, best);
	printf("\nrecommended placement: --client-cpu %d --sidecar-cpu %d", best->client, best->sidecar);
	if (which >= 0)
		printf(" (%s p50 %" PRIu64 " ns", best->modes[which].name, best->modes[which].p50_ns);
	else
		printf(" (");
	printf("%sspin p50 %" PRIu64 " ns)\n", which >= 0 ? ", " : "", best->spin.p50_ns);
	if (n == 1)
		printf("  (only one CPU is allowed: the client thread and the sidecar CPU must share it)\n");
	else
		printf("  rule: the lowest %s p50 among different-CPU pairs; within 5 %% counts as a tie, broken by "
		       "the lower spin p50\n",
		       which >= 0 ? best->modes[which].name : "spin");
	if (worst && n > 1)
		printf("worst placement:       --client-cpu %d --sidecar-cpu %d (%s p50 %" PRIu64 " ns)\n",
		       worst->client, worst->sidecar, which >= 0 ? worst->modes[which].name : "spin",
		       rank_p50(worst, which));
	if (json)
		ret = write_json(cfg, cpus, m, cells, best, worst, which, json);
	if (png) {
		int prc = plot(cfg, cpus, m, cells, best, worst, which, png);
		if (prc)
			ret = prc;
	}
out:
	free(cells);
	return ret;
}
