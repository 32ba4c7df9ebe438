/* SPDX-License-Identifier: MIT */
/* The table (latency_table.h). */
#include "latency_table.h"

#include <inttypes.h>
#include <math.h>

#define ROW_FMT "%-5s %-9s %9s %9s %9s %9s %9s %10s %9s %9s %9s %7s %7s %8s %7s %7s %8s\n"

static void budget_line(FILE *f, const struct lat_cfg *cfg)
{
	const struct lat_budget *b = &cfg->budget;

	if (b->iterations)
		fprintf(f, "budget:    %" PRIu64 " measured round trips per row", b->iterations);
	else
		fprintf(f, "budget:    %.3g s of round trips per row", (double)b->duration_ns / 1e9);
	fprintf(f, ", after a warmup of up to %" PRIu64 " round trips", b->warmup);
	if (b->warmup_max_ns)
		fprintf(f, " (or %.3g s)", (double)b->warmup_max_ns / 1e9);
	fprintf(f, " left out of the stats; no sample is dropped\n");
}

void lat_table_header(FILE *f, const struct lat_cfg *cfg, const struct lat_machine *m)
{
	fprintf(f, "sidecar-latency: run -> intercept -> run round trips of a thread-per-VP loop "
		   "(sidecar_vp_run_sync)\n");
	fprintf(f, "machine:   %s, %ld CPUs online (%d allowed), Linux %s, %s, %s\n", m->cpu_model, m->nproc,
		m->allowed, m->kernel, m->hostname, m->date);
	if (cfg->client_cpu < 0)
		fprintf(f, "placement: every ordered pair of allowed CPUs (--pin-sweep)\n");
	else if (cfg->client_cpu == cfg->sidecar_cpu)
		fprintf(f, "placement: client (measuring) thread and sidecar CPU both on CPU %d: they share it\n",
			cfg->client_cpu);
	else
		fprintf(f,
			"placement: client (measuring) thread on CPU %d, sidecar CPU (and reference partner) on CPU "
			"%d\n",
			cfg->client_cpu, cfg->sidecar_cpu);
	fprintf(f, "target:    %s, VP %u, guest work %" PRIu64 " ns per run%s\n", cfg->target, cfg->vp, cfg->work_ns,
		cfg->read_message ? ", each round trip reads the intercept message" : "");
	budget_line(f, cfg);
	fprintf(f,
		"timer:     clock_gettime(CLOCK_MONOTONIC) via %s, one read per round trip, in every sample (its "
		"cost: min %" PRIu64 " ns, p50 %" PRIu64 " ns); %s\n",
		m->clocksource, m->timer_min_ns, m->timer_p50_ns,
		cfg->client_cpu < 0
			? "the sweep's figures are raw, the loop's overhead included"
			: "the raw figures keep the loop's overhead, the net ones subtract the null loop's p50");
	fprintf(f, "histogram: exact ns below 2048 ns, 3 significant digits above up to 2^43 ns, beyond that "
		   "counted as overflow (percentiles: nearest rank in integers, rounded down)\n");
}

static void ns(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "%" PRIu64, v);
}

static void fixed(char *buf, size_t len, double v, int prec)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", prec, v);
}

/* A ratio with about 3 significant digits, however small or large. */
static void ratio_cell(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (v >= 0.1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.2g", v);
}

static void row(FILE *f, const struct lat_result *r, const struct lat_result *spin, const struct lat_result *fref)
{
	char it[24], mn[24], p50[24], p99[24], p999[24], mx[24], rate[24], cpu[24], thr[24];
	char req[16], resp[16], slp[16], pol[16], vs[16], vf[16];
	const char *kind = r->null_loop ? "loop" : r->reference ? "ref" : "mode";

	if (r->skipped) {
		fprintf(f, "%-5s %-9s skipped: %s\n", kind, r->name, r->skip_reason);
		return;
	}
	snprintf(it, sizeof(it), "%" PRIu64, r->iterations);
	ns(mn, sizeof(mn), r->min_ns);
	ns(p50, sizeof(p50), r->p50_ns);
	ns(p99, sizeof(p99), r->p99_ns);
	ns(p999, sizeof(p999), r->p999_ns);
	ns(mx, sizeof(mx), r->max_ns);
	fixed(rate, sizeof(rate), r->round_trips_per_s, 0);
	fixed(cpu, sizeof(cpu), r->cpu_ns_per_rt, 0);
	fixed(thr, sizeof(thr), r->client_cpu_ns_per_rt, 0);
	fixed(req, sizeof(req), r->request_signals_per_rt, 2);
	fixed(resp, sizeof(resp), r->response_signals_per_rt, 2);
	fixed(slp, sizeof(slp), r->sleeps_per_rt, 2);
	fixed(pol, sizeof(pol), r->polled_per_rt, 2);
	ratio_cell(vs, sizeof(vs), r->null_loop ? NAN : lat_result_vs(r, spin));
	ratio_cell(vf, sizeof(vf), r->null_loop ? NAN : lat_result_vs(r, fref));
	fprintf(f, ROW_FMT, kind, r->name, it, mn, p50, p99, p999, mx, rate, cpu, thr, req, resp, slp, pol, vs, vf);
}

static void ratio_line(FILE *f, const char *what, double raw, double net)
{
	char a[16], b[16];

	if (isnan(raw) && isnan(net))
		return;
	ratio_cell(a, sizeof(a), raw);
	ratio_cell(b, sizeof(b), net);
	fprintf(f, "  %-46s %8s %8s\n", what, a, b);
}

#define NET_FMT "%-5s %-9s %9s %9s %9s %9s %8s %8s %8s %8s\n"

/* The net figures beside the raw ones they come from (latency_overhead.h). */
static void net_table(FILE *f, const struct lat_run *run, const struct lat_result *spin, const struct lat_result *fref)
{
	const struct lat_result *rows[LAT_MAX_REFS + LAT_MAX_MODES];
	int n = 0;

	for (int i = 0; i < run->nrefs; i++)
		rows[n++] = &run->refs[i];
	for (int i = 0; i < run->nmodes; i++)
		rows[n++] = &run->modes[i];
	fprintf(f,
		"\nnet of the loop's own overhead: the null loop (a round trip that does nothing, same loop, "
		"same thread) has p50 %" PRIu64 " ns; net = raw - %" PRIu64 " ns, floored at 0\n",
		run->overhead.p50_ns, run->overhead.p50_ns);
	fprintf(f, NET_FMT, "kind", "name", "p50 ns", "net p50", "p99 ns", "net p99", "x spin", "net", "x futex",
		"net");
	for (int i = 0; i < n; i++) {
		const struct lat_result *r = rows[i];
		char p50[24], np50[24], p99[24], np99[24], vs[16], vsn[16], vf[16], vfn[16];
		if (r->skipped || !r->has_net)
			continue;
		ns(p50, sizeof(p50), r->p50_ns);
		ns(np50, sizeof(np50), r->net_p50_ns);
		ns(p99, sizeof(p99), r->p99_ns);
		ns(np99, sizeof(np99), r->net_p99_ns);
		ratio_cell(vs, sizeof(vs), lat_result_vs(r, spin));
		ratio_cell(vsn, sizeof(vsn), lat_result_vs_net(r, spin));
		ratio_cell(vf, sizeof(vf), lat_result_vs(r, fref));
		ratio_cell(vfn, sizeof(vfn), lat_result_vs_net(r, fref));
		fprintf(f, NET_FMT, r->reference ? "ref" : "mode", r->name, p50, np50, p99, np99, vs, vsn, vf, vfn);
	}
}

/* Samples beyond the histogram's last bucket (2^43 ns, 2.4 hours): none, or where. */
static void overflow_line(FILE *f, const struct lat_run *run)
{
	const struct lat_result *rows[1 + LAT_MAX_REFS + LAT_MAX_MODES];
	int n = 0, any = 0;

	if (run->has_overhead)
		rows[n++] = &run->overhead;
	for (int i = 0; i < run->nrefs; i++)
		rows[n++] = &run->refs[i];
	for (int i = 0; i < run->nmodes; i++)
		rows[n++] = &run->modes[i];
	fprintf(f, "\nhistogram overflow (samples at or above 2^43 ns, in the stats as 2^43 ns):");
	for (int i = 0; i < n; i++) {
		if (rows[i]->skipped || !rows[i]->overflow)
			continue;
		fprintf(f, "%s %s %" PRIu64, any++ ? "," : "", rows[i]->name, rows[i]->overflow);
	}
	fprintf(f, "%s\n", any ? "" : " none");
}

void lat_table_print(FILE *f, const struct lat_run *run)
{
	const struct lat_result *spin = lat_run_ref(run, "spin"), *fref = lat_run_ref(run, "futex");
	struct lat_ratios q;

	fprintf(f, "\n" ROW_FMT, "kind", "name", "iters", "min ns", "p50 ns", "p99 ns", "p99.9 ns", "max ns", "rt/s",
		"cpu ns/rt", "thr ns/rt", "req/rt", "resp/rt", "sleep/rt", "poll/rt", "x spin", "x futex");
	if (run->has_overhead)
		row(f, &run->overhead, spin, fref);
	for (int i = 0; i < run->nrefs; i++)
		row(f, &run->refs[i], spin, fref);
	for (int i = 0; i < run->nmodes; i++)
		row(f, &run->modes[i], spin, fref);
	fprintf(f, "\ncpu ns/rt: process CPU time per round trip, every thread (the sidecar CPU's and the reference\n"
		   "partner's too); thr ns/rt: the measuring thread's. req/resp: signals (IPIs, futex wakes) to and\n"
		   "from the sidecar CPU; sleep: waits that slept; poll: completions found by polling; all per round\n"
		   "trip. x spin, x futex: p50 over that reference's p50. loop null: the null loop, the loop's own\n"
		   "per-sample overhead (no round trip).\n");
	overflow_line(f, run);
	if (run->has_overhead)
		net_table(f, run, spin, fref);

	if (run->cfg.read_message) {
		fprintf(f, "\nintercept messages read (the last one per mode):");
		for (int i = 0; i < run->nmodes; i++) {
			const struct lat_result *r = &run->modes[i];
			if (r->skipped)
				continue;
			fprintf(f, " %s: type %#x", r->name, (unsigned int)r->message_type);
			if (r->message_type == HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT)
				fprintf(f, " port %#x", (unsigned int)r->message_port);
			fprintf(f, "%s", i + 1 < run->nmodes ? ";" : "");
		}
		fputc('\n', f);
	}

	lat_run_ratios(run, &q);
	if (isnan(q.poll_vs_spin_p50) && isnan(q.adaptive_vs_poll_p50) && isnan(q.futex_vs_futex_ref_p50) &&
	    isnan(q.adaptive_vs_futex_client_cpu))
		return;
	fprintf(f, "\nfast-path ratios:%39s %8s\n", "raw", "net");
	ratio_line(f, "poll / spin reference, p50", q.poll_vs_spin_p50, q.poll_vs_spin_net_p50);
	ratio_line(f, "adaptive / poll, p50", q.adaptive_vs_poll_p50, q.adaptive_vs_poll_net_p50);
	ratio_line(f, "futex / futex reference, p50", q.futex_vs_futex_ref_p50, q.futex_vs_futex_ref_net_p50);
	if (!isnan(q.futex_vs_kwait_ref_p50))
		ratio_line(f, "futex / kernel wait reference, p50", q.futex_vs_kwait_ref_p50,
			   q.futex_vs_kwait_ref_net_p50);
	ratio_line(f, "adaptive / futex, client CPU per round trip", q.adaptive_vs_futex_client_cpu, NAN);
}
