/* SPDX-License-Identifier: MIT */
/* The spin and futex references through the timed loop (latency_refs.h). */
#include "latency_refs.h"

#include "bench_refs.h"
#include "latency_loop.h"

#include <stdio.h>
#include <string.h>

static int measure(enum bench_ref_kind kind, int client_cpu, int partner_cpu, const struct lat_budget *b,
		   struct lat_result *r)
{
	const char *name = kind == BENCH_REF_SPIN ? "spin" : "futex";
	bool yield = kind == BENCH_REF_SPIN && client_cpu == partner_cpu;
	struct bench_ref_counts c0, c1;
	struct bench_ref *ref;
	int rc;

	/* The caller's thread is already on client_cpu; the partner starts on partner_cpu. */
	rc = bench_ref_start(kind, partner_cpu, yield, &ref);
	if (rc) {
		fprintf(stderr, "sidecar-latency: %s reference: cannot start the partner thread on CPU %d: %s\n", name,
			partner_cpu, strerror(-rc));
		return LAT_EXIT_FAIL;
	}
	lat_loop_warmup(b, bench_ref_round_trip, ref, &r->warmup);
	bench_ref_get_counts(ref, &c0);
	const char *label = "futex reference";
	if (kind == BENCH_REF_SPIN)
		label = yield ? "spin reference (yielding)" : "spin reference";
	lat_loop_measure(b, bench_ref_round_trip, ref, label, r);
	bench_ref_get_counts(ref, &c1);
	bench_ref_stop(ref);

	struct lat_counters c = {
		.request_signals = c1.request_signals - c0.request_signals,
		.response_signals = c1.response_signals - c0.response_signals,
		.sleeps = c1.sleeps - c0.sleeps,
		.polled = c1.polled - c0.polled,
	};
	lat_result_set_counters(r, &c);
	return LAT_EXIT_OK;
}

int lat_measure_spin(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r)
{
	return measure(BENCH_REF_SPIN, client_cpu, partner_cpu, b, r);
}

int lat_measure_futex(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r)
{
	return measure(BENCH_REF_FUTEX, client_cpu, partner_cpu, b, r);
}
