/* SPDX-License-Identifier: MIT */
/*
 * Signal suppression on the device, counted on both sides: the module's counters in sysfs
 * (fast_commands, kicks, parks, polled_requests, fast_signals, suppressed_signals, halts)
 * and the client's sidecar_vp_get_stats, over N round trips of one VP (io guest, no guest
 * work, nothing else running on the node). Counts, not times; every assertion below is an
 * invariant of the protocol:
 *
 *   FUTEX     exactly one request signal (kick) and one completion signal per round trip;
 *             the sidecar CPU never polls; it halts at most once per request.
 *   POLL,     every completion is either signalled or suppressed; a completion is
 *   ADAPTIVE  signalled only to a client that announced SLEEPING, and the client announces
 *             only in a wait that polling did not end (fast_signals <= N - polled); a kick
 *             goes only to a CPU that announced PARKED (kicks <= parks), and the client's
 *             count of its kicks is the module's. With 1 s windows (POLL) both sides poll:
 *             some completions are suppressed and some requests are caught by polling.
 *   SEED      upstream: one request and one response signal per round trip.
 *
 * The client runs on the node's base CPU (Linux's), so that the two sides are on two CPUs.
 *
 *   dev_fast_counts [N]   (default 2000)
 */
#include "dev_util.h"

#include <sched.h>
#include <string.h>

static const char *const attrs[] = {"fast_commands",      "kicks", "parks",        "polled_requests", "fast_signals",
				    "suppressed_signals", "halts", "request_ipis", "response_signals"};
enum { FAST_COMMANDS, KICKS, PARKS, POLLED_REQUESTS, FAST_SIGNALS, SUPPRESSED, HALTS, REQUEST_IPIS, RESPONSES, NATTRS };

static void snap(long long *v)
{
	for (int i = 0; i < NATTRS; i++) {
		v[i] = dev_sysfs_num(0, attrs[i]);
		REQUIRE(v[i] >= 0);
	}
}

static void count_mode(struct sidecar_client *c, unsigned cpu, enum sidecar_wait_mode mode, unsigned n)
{
	struct sidecar_vp *vp;
	struct sidecar_vp_stats a, b;
	long long k0[NATTRS], k1[NATTRS], d[NATTRS];
	bool intercept;

	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	if (mode == SIDECAR_WAIT_POLL)
		REQUIRE(sidecar_vp_set_poll_ns(vp, 1000000000, 1000000000) == 0);
	for (int i = 0; i < 20; i++) /* settle (ADAPTIVE's windows) */
		REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
	sidecar_vp_get_stats(vp, &a);
	snap(k0);
	for (unsigned i = 0; i < n; i++) {
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		CHECK(intercept);
	}
	snap(k1);
	sidecar_vp_get_stats(vp, &b);
	for (int i = 0; i < NATTRS; i++)
		d[i] = k1[i] - k0[i];
	uint64_t req = b.request_signals - a.request_signals, resp = b.response_signals - a.response_signals;
	uint64_t polled = b.polled_completions - a.polled_completions, sleeps = b.sleeps - a.sleeps;

	printf("%-8s %u round trips: module: %lld kicks, %lld parks, %lld halts, %lld requests polled, %lld "
	       "completions signalled, %lld suppressed; client: %llu request / %llu response signals, %llu polled, "
	       "%llu sleeps; signals per round trip %.4f request, %.4f response\n",
	       sidecar_wait_mode_name(mode), n, d[KICKS], d[PARKS], d[HALTS], d[POLLED_REQUESTS], d[FAST_SIGNALS],
	       d[SUPPRESSED], (unsigned long long)req, (unsigned long long)resp, (unsigned long long)polled,
	       (unsigned long long)sleeps, mode == SIDECAR_WAIT_SEED ? (double)req / n : (double)d[KICKS] / n,
	       mode == SIDECAR_WAIT_SEED ? (double)d[RESPONSES] / n : (double)d[FAST_SIGNALS] / n);
	CHECK_EQ(b.runs - a.runs, n);
	CHECK_EQ(b.intercepts - a.intercepts, n);

	switch (mode) {
	case SIDECAR_WAIT_SEED:
		CHECK_EQ(d[FAST_COMMANDS], 0);
		CHECK_EQ(req, n);
		CHECK_EQ(resp, n);
		CHECK_EQ(d[RESPONSES], n);
		CHECK(d[REQUEST_IPIS] >= n);
		CHECK_EQ(d[KICKS], 0);
		break;
	case SIDECAR_WAIT_FUTEX:
		CHECK_EQ(d[FAST_COMMANDS], n);
		CHECK_EQ(req, n);
		CHECK_EQ(d[KICKS], n);
		CHECK_EQ(d[FAST_SIGNALS], n);
		CHECK_EQ(d[SUPPRESSED], 0);
		CHECK_EQ(d[POLLED_REQUESTS], 0);
		CHECK(d[HALTS] <= n);
		CHECK(resp <= n); /* a completion before the client slept wakes nobody */
		break;
	default:
		CHECK_EQ(d[FAST_COMMANDS], n);
		CHECK_EQ(d[FAST_SIGNALS] + d[SUPPRESSED], n);
		CHECK(d[FAST_SIGNALS] <= (long long)(n - polled));
		CHECK_EQ(d[KICKS], req);
		/* A kick only for a parked CPU; the first may wake a park from before the
		 * snapshot (reading it can outlast the CPU's poll window under TCG). */
		CHECK(d[KICKS] <= d[PARKS] + 1);
		CHECK(resp <= (uint64_t)d[FAST_SIGNALS]);
		if (mode == SIDECAR_WAIT_POLL) {
			CHECK(d[SUPPRESSED] > 0);
			CHECK(d[POLLED_REQUESTS] > 0);
			CHECK(polled > 0);
		}
		break;
	}
	sidecar_vp_release(vp);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 2000;

	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(300);
	dev_require_device();
	if (strcmp(dev_guest(), "io") != 0)
		SKIP("needs guest=io");
	dev_require_fast();
	unsigned cpu = dev_first_sidecar_cpu();
	struct sidecar_client *c = dev_client();
	/* On Linux's own CPU (the node's base CPU): a VMM thread that the scheduler puts on
	 * the sidecar CPU's host CPU makes it stop polling, rightly (one host CPU for both),
	 * and the POLL expectations below are for two CPUs. */
	int base = sidecar_client_base_cpu(c, cpu);
	if (base >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(base, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			printf("  (not pinned to cpu %d: %s)\n", base, strerror(errno));
	}

	for (size_t i = 0; i < sizeof(dev_all_modes) / sizeof(dev_all_modes[0]); i++)
		count_mode(c, cpu, dev_all_modes[i], n);
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_counts");
}
