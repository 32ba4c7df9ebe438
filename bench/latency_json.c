/* SPDX-License-Identifier: MIT */
/* JSON output through cJSON (latency_json.h): never hand-written JSON. */
#include "latency_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void add_num(cJSON *o, const char *key, double v)
{
	if (isnan(v) || isinf(v))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, v);
}

cJSON *lat_json_machine(const struct lat_cfg *cfg, const struct lat_machine *m)
{
	cJSON *o = cJSON_CreateObject();
	const struct lat_budget *b = &cfg->budget;

	cJSON_AddStringToObject(o, "cpu_model", m->cpu_model);
	add_num(o, "nproc", (double)m->nproc);
	add_num(o, "allowed_cpus", m->allowed);
	cJSON_AddStringToObject(o, "kernel", m->kernel);
	cJSON_AddStringToObject(o, "hostname", m->hostname);
	cJSON_AddStringToObject(o, "date", m->date);
	/* A sweep has no one placement: null. */
	add_num(o, "client_cpu", cfg->client_cpu < 0 ? NAN : cfg->client_cpu);
	add_num(o, "sidecar_cpu", cfg->sidecar_cpu < 0 ? NAN : cfg->sidecar_cpu);
	cJSON_AddStringToObject(o, "target", cfg->target);
	add_num(o, "vp", cfg->vp);
	add_num(o, "work_ns", (double)cfg->work_ns);
	cJSON_AddBoolToObject(o, "read_message", cfg->read_message);
	if (b->iterations) {
		add_num(o, "iterations", (double)b->iterations);
		cJSON_AddNullToObject(o, "duration_s");
	} else {
		cJSON_AddNullToObject(o, "iterations");
		add_num(o, "duration_s", (double)b->duration_ns / 1e9);
	}
	add_num(o, "warmup", (double)b->warmup);
	add_num(o, "warmup_max_s", (double)b->warmup_max_ns / 1e9);

	cJSON *t = cJSON_AddObjectToObject(o, "timer");
	cJSON_AddStringToObject(t, "clock", "CLOCK_MONOTONIC");
	cJSON_AddStringToObject(t, "clocksource", m->clocksource);
	add_num(t, "reads_per_round_trip", 1);
	add_num(t, "cost_min_ns", (double)m->timer_min_ns);
	add_num(t, "cost_p50_ns", (double)m->timer_p50_ns);
	/* The raw figures keep the timer read; the net_* ones subtract the whole loop overhead
	 * ("loop_overhead" at the top level). */
	cJSON_AddBoolToObject(t, "subtracted", false);
	cJSON_AddStringToObject(o, "histogram",
				"log-linear: exact below 2048 ns, 3 significant digits above up to 2^43 ns, "
				"samples at or above 2^43 ns counted in overflow; percentiles nearest-rank in "
				"integers, rounded down; no sample dropped");
	cJSON_AddStringToObject(o, "cpu_time",
				"cpu_ns_per_round_trip: the process's CPU time (all threads, the sidecar CPU's "
				"too), summed from the per-thread CPU clocks because CLOCK_PROCESS_CPUTIME_ID lags "
				"by up to a tick for threads running elsewhere (its raw delta: "
				"process_clock_ns_per_round_trip); client_cpu_ns_per_round_trip: "
				"CLOCK_THREAD_CPUTIME_ID of the measuring thread");
	return o;
}

cJSON *lat_json_result(const struct lat_result *r, const struct lat_result *spin, const struct lat_result *fref)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, r->reference ? "name" : "mode", r->name);
	if (r->skipped) {
		cJSON_AddBoolToObject(o, "skipped", true);
		cJSON_AddStringToObject(o, "reason", r->skip_reason);
		return o;
	}
	add_num(o, "iterations", (double)r->iterations);
	add_num(o, "warmup", (double)r->warmup);
	add_num(o, "min_ns", (double)r->min_ns);
	add_num(o, "p50_ns", (double)r->p50_ns);
	add_num(o, "p99_ns", (double)r->p99_ns);
	add_num(o, "p999_ns", (double)r->p999_ns);
	add_num(o, "max_ns", (double)r->max_ns);
	add_num(o, "overflow", (double)r->overflow);
	add_num(o, "mean_ns", r->mean_ns);
	add_num(o, "wall_s", r->wall_s);
	add_num(o, "round_trips_per_s", r->round_trips_per_s);
	add_num(o, "cpu_ns_per_round_trip", r->cpu_ns_per_rt);
	add_num(o, "client_cpu_ns_per_round_trip", r->client_cpu_ns_per_rt);
	add_num(o, "process_clock_ns_per_round_trip", r->process_clock_ns_per_rt);
	add_num(o, "request_signals_per_round_trip", r->request_signals_per_rt);
	add_num(o, "response_signals_per_round_trip", r->response_signals_per_rt);
	add_num(o, "sleeps_per_round_trip", r->sleeps_per_rt);
	add_num(o, "polled_completions_per_round_trip", r->polled_per_rt);
	if (r->has_net) {
		add_num(o, "net_p50_ns", (double)r->net_p50_ns);
		add_num(o, "net_p99_ns", (double)r->net_p99_ns);
	}
	if (spin)
		add_num(o, "vs_spin_p50", lat_result_vs(r, spin));
	if (fref)
		add_num(o, "vs_futex_p50", lat_result_vs(r, fref));
	if (spin && r->has_net)
		add_num(o, "vs_spin_net_p50", lat_result_vs_net(r, spin));
	if (fref && r->has_net)
		add_num(o, "vs_futex_net_p50", lat_result_vs_net(r, fref));
	if (r->message_type) {
		add_num(o, "message_type", r->message_type);
		add_num(o, "message_port", r->message_port);
	}
	return o;
}

int lat_json_write(cJSON *root, const char *path)
{
	char *text = cJSON_Print(root);
	int ret = LAT_EXIT_FAIL;

	cJSON_Delete(root);
	if (!text) {
		fprintf(stderr, "sidecar-latency: --json %s: out of memory\n", path);
		return LAT_EXIT_FAIL;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "sidecar-latency: --json %s: %s\n", path, strerror(errno));
		goto out;
	}
	bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
	if (fclose(f) || !ok) {
		fprintf(stderr, "sidecar-latency: --json %s: write failed: %s\n", path, strerror(errno));
		goto out;
	}
	ret = LAT_EXIT_OK;
out:
	cJSON_free(text);
	return ret;
}

int lat_json_write_run(const struct lat_run *run, const char *path)
{
	const struct lat_result *spin = lat_run_ref(run, "spin"), *fref = lat_run_ref(run, "futex");
	cJSON *root = cJSON_CreateObject();
	struct lat_ratios q;

	cJSON_AddItemToObject(root, "machine", lat_json_machine(&run->cfg, &run->machine));
	if (run->has_overhead) {
		cJSON *ov = lat_json_result(&run->overhead, NULL, NULL);
		cJSON_AddStringToObject(ov, "method",
					"null round trip: the same timed loop, thread, CPU and histogram with a "
					"round trip that returns at once; its p50_ns is subtracted from every "
					"p50_ns and p99_ns to give net_p50_ns and net_p99_ns (floored at 0)");
		cJSON_AddItemToObject(root, "loop_overhead", ov);
	}
	cJSON *refs = cJSON_AddArrayToObject(root, "references");
	for (int i = 0; i < run->nrefs; i++)
		cJSON_AddItemToArray(refs, lat_json_result(&run->refs[i], spin, fref));
	/* Skipped modes go to their own list: every "results" entry has every figure. */
	cJSON *results = cJSON_AddArrayToObject(root, "results");
	cJSON *skipped = cJSON_AddArrayToObject(root, "skipped");
	for (int i = 0; i < run->nmodes; i++)
		cJSON_AddItemToArray(run->modes[i].skipped ? skipped : results,
				     lat_json_result(&run->modes[i], spin, fref));

	lat_run_ratios(run, &q);
	cJSON *r = cJSON_AddObjectToObject(root, "ratios");
	add_num(r, "poll_vs_spin_p50", q.poll_vs_spin_p50);
	add_num(r, "adaptive_vs_poll_p50", q.adaptive_vs_poll_p50);
	add_num(r, "futex_vs_futex_ref_p50", q.futex_vs_futex_ref_p50);
	add_num(r, "adaptive_vs_futex_client_cpu", q.adaptive_vs_futex_client_cpu);
	add_num(r, "poll_vs_spin_net_p50", q.poll_vs_spin_net_p50);
	add_num(r, "adaptive_vs_poll_net_p50", q.adaptive_vs_poll_net_p50);
	add_num(r, "futex_vs_futex_ref_net_p50", q.futex_vs_futex_ref_net_p50);
	if (!isnan(q.futex_vs_kwait_ref_p50)) {
		add_num(r, "futex_vs_kwait_ref_p50", q.futex_vs_kwait_ref_p50);
		add_num(r, "futex_vs_kwait_ref_net_p50", q.futex_vs_kwait_ref_net_p50);
	}
	return lat_json_write(root, path);
}
