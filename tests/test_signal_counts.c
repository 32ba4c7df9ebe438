/* SPDX-License-Identifier: MIT */
/*
 * FUTEX mode signals exactly once each way per round trip, the sidecar CPU halting instead
 * of polling: one request IPI, one response IPI (to the waiter),
 * counted on both sides (the VP's statistics and the sidecar CPU's). SEED mode likewise
 * signals once each way (upstream always does). Counts, not times: deterministic.
 */
#include "sim_util.h"

static void test_counts(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	const unsigned n = 2000;
	struct sidecar_sim *sim = sim_open("sim:cpus=1");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp;
	struct sidecar_vp_stats a, b;
	struct sidecar_sim_cpu_stats ca, cb;
	bool intercept;

	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0); /* settle */
	sidecar_vp_get_stats(vp, &a);
	REQUIRE(sidecar_sim_cpu_stats(sim, 1, &ca) == 0);
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
	sidecar_vp_get_stats(vp, &b);
	REQUIRE(sidecar_sim_cpu_stats(sim, 1, &cb) == 0);

	CHECK_EQ(b.runs - a.runs, n);
	CHECK_EQ(b.intercepts - a.intercepts, n);
	CHECK_EQ(b.request_signals - a.request_signals, n);
	CHECK_EQ(cb.request_signals - ca.request_signals, n);
	CHECK_EQ(cb.response_signals - ca.response_signals, n);
	/* It never polls; it halts at most once per request (the next request can be posted
	 * before it gets round to halting: the IPI is then latched, and still counted once). */
	CHECK(cb.halts - ca.halts <= n);
	CHECK_EQ(cb.polled_requests - ca.polled_requests, 0);
	CHECK_EQ(b.response_signals - a.response_signals, n);
	printf("%s: %u round trips, %llu request and %llu response signals, %llu sleeps\n",
	       sidecar_wait_mode_name(mode), n, (unsigned long long)(b.request_signals - a.request_signals),
	       (unsigned long long)(cb.response_signals - ca.response_signals),
	       (unsigned long long)(b.sleeps - a.sleeps));
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

static const struct check_case cases[] = {
	CHECK_CASE_ARG(counts, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(counts, seed, WAIT_MODE(SEED)),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_signal_counts", CHECK_CASES(cases), .watchdog_s = 120};
	return check_main(argc, argv, &suite);
}
