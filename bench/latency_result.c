/* SPDX-License-Identifier: MIT */
/* Results: from a histogram to the reported figures, lookups and the fast-path ratios. */
#include "latency.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int lat_result_init(struct lat_result *r, const char *name, bool reference)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->reference = reference;
	return lat_hist_init(&r->hist);
}

void lat_result_free(struct lat_result *r)
{
	lat_hist_free(&r->hist);
}

void lat_result_skip(struct lat_result *r, const char *reason)
{
	r->skipped = true;
	snprintf(r->skip_reason, sizeof(r->skip_reason), "%s", reason);
}

void lat_result_finish(struct lat_result *r, uint64_t cpu_ns, uint64_t client_cpu_ns)
{
	const struct lat_hist *h = &r->hist;
	double n = (double)(h->count ? h->count : 1);

	r->iterations = h->count;
	r->min_ns = h->count ? h->min : 0;
	r->max_ns = h->max;
	r->p50_ns = lat_hist_percentile(h, LAT_PCM_P50);
	r->p99_ns = lat_hist_percentile(h, LAT_PCM_P99);
	r->p999_ns = lat_hist_percentile(h, LAT_PCM_P999);
	r->overflow = lat_hist_overflow(h);
	r->mean_ns = (double)h->sum / n;
	r->round_trips_per_s = r->wall_s > 0 ? (double)h->count / r->wall_s : 0;
	r->cpu_ns_per_rt = (double)cpu_ns / n;
	r->client_cpu_ns_per_rt = (double)client_cpu_ns / n;
}

void lat_result_set_counters(struct lat_result *r, const struct lat_counters *c)
{
	double n = (double)(r->iterations ? r->iterations : 1);

	r->request_signals_per_rt = (double)c->request_signals / n;
	r->response_signals_per_rt = (double)c->response_signals / n;
	r->sleeps_per_rt = (double)c->sleeps / n;
	r->polled_per_rt = (double)c->polled / n;
}

void lat_result_set_net(struct lat_result *r, uint64_t overhead_ns)
{
	r->net_p50_ns = r->p50_ns > overhead_ns ? r->p50_ns - overhead_ns : 0;
	r->net_p99_ns = r->p99_ns > overhead_ns ? r->p99_ns - overhead_ns : 0;
	r->has_net = true;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

double lat_result_vs(const struct lat_result *r, const struct lat_result *ref)
{
	if (!ref || ref->skipped || r->skipped)
		return NAN;
	return ratio((double)r->p50_ns, (double)ref->p50_ns);
}

double lat_result_vs_net(const struct lat_result *r, const struct lat_result *ref)
{
	if (!ref || ref->skipped || r->skipped || !r->has_net || !ref->has_net)
		return NAN;
	return ratio((double)r->net_p50_ns, (double)ref->net_p50_ns);
}

static const struct lat_result *find(const struct lat_result *rs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!rs[i].skipped && strcmp(rs[i].name, name) == 0)
			return &rs[i];
	return NULL;
}

const struct lat_result *lat_run_ref(const struct lat_run *run, const char *name)
{
	return find(run->refs, run->nrefs, name);
}

const struct lat_result *lat_run_mode(const struct lat_run *run, const char *name)
{
	return find(run->modes, run->nmodes, name);
}

void lat_run_ratios(const struct lat_run *run, struct lat_ratios *out)
{
	const struct lat_result *spin = lat_run_ref(run, "spin"), *fref = lat_run_ref(run, "futex");
	const struct lat_result *poll = lat_run_mode(run, "poll"), *adaptive = lat_run_mode(run, "adaptive");
	const struct lat_result *futex = lat_run_mode(run, "futex");

	out->poll_vs_spin_p50 = poll ? lat_result_vs(poll, spin) : NAN;
	out->adaptive_vs_poll_p50 = adaptive ? lat_result_vs(adaptive, poll) : NAN;
	out->futex_vs_futex_ref_p50 = futex ? lat_result_vs(futex, fref) : NAN;
	out->adaptive_vs_futex_client_cpu =
		adaptive && futex ? ratio(adaptive->client_cpu_ns_per_rt, futex->client_cpu_ns_per_rt) : NAN;
	out->poll_vs_spin_net_p50 = poll ? lat_result_vs_net(poll, spin) : NAN;
	out->adaptive_vs_poll_net_p50 = adaptive ? lat_result_vs_net(adaptive, poll) : NAN;
	out->futex_vs_futex_ref_net_p50 = futex ? lat_result_vs_net(futex, fref) : NAN;
	const struct lat_result *kwait = lat_run_ref(run, "kwait");
	out->futex_vs_kwait_ref_p50 = futex && kwait ? lat_result_vs(futex, kwait) : NAN;
	out->futex_vs_kwait_ref_net_p50 = futex && kwait ? lat_result_vs_net(futex, kwait) : NAN;
}

void lat_run_set_net(struct lat_run *run)
{
	if (!run->has_overhead)
		return;
	for (int i = 0; i < run->nrefs; i++)
		if (!run->refs[i].skipped)
			lat_result_set_net(&run->refs[i], run->overhead.p50_ns);
	for (int i = 0; i < run->nmodes; i++)
		if (!run->modes[i].skipped)
			lat_result_set_net(&run->modes[i], run->overhead.p50_ns);
}

void lat_run_free(struct lat_run *run)
{
	if (run->has_overhead)
		lat_result_free(&run->overhead);
	run->has_overhead = false;
	for (int i = 0; i < run->nrefs; i++)
		lat_result_free(&run->refs[i]);
	for (int i = 0; i < run->nmodes; i++)
		lat_result_free(&run->modes[i]);
	run->nrefs = run->nmodes = 0;
}
