/* SPDX-License-Identifier: MIT */
/*
 * The fast path on the device with random delays at each step of the real code, as
 * tests/test_delays.c does in the simulator: on the client side at every delay point of
 * runtime/vp_wait.c (the library's delay hook, set through its private header), on the
 * sidecar side at every fault point of the kernel core (the module's fault_delays parameter:
 * a spin or a sleep at 30% of the points), plus a thread cancelling at random. Poll windows
 * are short so that both sides often sleep, where a lost wake-up would show: every wait has
 * a 30 s bound, and a timeout is a failure. Each run carries a tag (RAX, echoed by the io
 * guest) so a completion delivered to the wrong run is caught. What the simulator's
 * deterministic race tests (tests/test_races.c) force with its hooks has no equivalent
 * here; random delays on both sides are what reaches the kernel.
 *
 *   dev_fast_delays [ROUND_TRIPS]   (default 20000)
 */
#include "dev_util.h"

#include "internal.h" /* runtime/: the client's delay hook */

#include <pthread.h>
#include <sched.h>

static _Atomic uint64_t client_delays[RT_DELAY_POINTS];
static _Thread_local uint64_t rng;

static uint64_t rnd(void)
{
	if (!rng)
		rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&rng;
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void client_hook(void *ctx, enum rt_delay_point point)
{
	uint64_t r = rnd() % 1000;

	(void)ctx;
	if (r < 700)
		return;
	if (r < 930) {
		for (uint64_t i = rnd() % 400; i > 0; i--)
			__builtin_ia32_pause();
	} else if (r < 990) {
		sched_yield();
	} else {
		usleep((useconds_t)(1 + rnd() % 50));
	}
	atomic_fetch_add_explicit(&client_delays[point], 1, memory_order_relaxed);
}

struct canceller {
	_Atomic(struct sidecar_vp *) vp;
	_Atomic uint32_t busy;
	_Atomic bool stop;
};

static void *cancel_loop(void *arg)
{
	struct canceller *c = arg;

	while (!atomic_load(&c->stop)) {
		atomic_store(&c->busy, 1);
		struct sidecar_vp *vp = atomic_load(&c->vp);
		if (vp)
			CHECK_EQ(sidecar_vp_cancel(vp), 0);
		atomic_store(&c->busy, 0);
		usleep((useconds_t)(rnd() % 300));
	}
	return NULL;
}

static void run_mode(struct sidecar_client *c, unsigned cpu, enum sidecar_wait_mode mode, uint64_t n)
{
	struct sidecar_vp *vp;
	struct canceller canc = {0};
	pthread_t t;
	uint64_t intercepts = 0, tag = (uint64_t)mode << 40;

	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	if (mode == SIDECAR_WAIT_POLL || mode == SIDECAR_WAIT_ADAPTIVE)
		REQUIRE(sidecar_vp_set_poll_ns(vp, 2000, 2000) == 0);
	atomic_store(&canc.vp, vp);
	REQUIRE(pthread_create(&t, NULL, cancel_loop, &canc) == 0);
	uint64_t t0 = dev_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		bool intercept = false;
		sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = ++tag;
		int rc = sidecar_vp_run(vp);
		if (rc) {
			CHECK_EQ(rc, 0);
			break;
		}
		rc = sidecar_vp_wait(vp, 30000000000ll, &intercept);
		if (rc) {
			fprintf(stderr, "%s: round trip %llu: %s\n", sidecar_wait_mode_name(mode),
				(unsigned long long)i, sidecar_strerror(rc));
			CHECK_EQ(rc, 0); /* -ETIMEDOUT here is a lost wake-up */
			break;
		}
		if (intercept) {
			const struct hv_x64_io_port_intercept_message *io =
				(const void *)sidecar_vp_intercept_message(vp)->payload;
			CHECK_EQ(io->rax, tag);
			intercepts++;
		}
	}
	atomic_store(&canc.stop, true);
	pthread_join(t, NULL);
	atomic_store(&canc.vp, NULL);
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	printf("%-8s %6llu round trips in %5llu ms: %llu intercepts, %llu cancels, %llu sleeps, %llu polled, "
	       "%llu request / %llu response signals\n",
	       sidecar_wait_mode_name(mode), (unsigned long long)n, (unsigned long long)((dev_now_ns() - t0) / 1000000),
	       (unsigned long long)intercepts, (unsigned long long)st.cancels, (unsigned long long)st.sleeps,
	       (unsigned long long)st.polled_completions, (unsigned long long)st.request_signals,
	       (unsigned long long)st.response_signals);
	sidecar_vp_release(vp);
}

int main(int argc, char **argv)
{
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000;
	char before[128], after[128];

	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(600);
	dev_require_device();
	if (strcmp(dev_guest(), "io") != 0)
		SKIP("needs guest=io");
	dev_require_fast();
	unsigned cpu = dev_first_sidecar_cpu();
	REQUIRE(dev_sysfs_read(0, "fault_delays", before, sizeof(before)));
	REQUIRE(dev_param_write("fault_delays", "300"));
	struct sidecar_client *c = dev_client();
	c->delay_ctx = NULL;
	c->delay_hook = client_hook;

	/* Most of the budget where the protocol is subtle (signal suppression both ways). */
	run_mode(c, cpu, SIDECAR_WAIT_POLL, total * 40 / 100);
	run_mode(c, cpu, SIDECAR_WAIT_ADAPTIVE, total * 40 / 100);
	run_mode(c, cpu, SIDECAR_WAIT_FUTEX, total * 15 / 100);
	run_mode(c, cpu, SIDECAR_WAIT_SEED, total * 5 / 100);
	sidecar_client_close(c);
	REQUIRE(dev_param_write("fault_delays", "0"));

	static const char *const cnames[] = {"post-claimed", "post-rung",       "wait-waiter", "wait-announced",
					     "wait-woken",   "hook-before-cas", "collect",     "cancel"};
	printf("client delays:");
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		printf(" %s=%llu", cnames[i], (unsigned long long)client_delays[i]);
	REQUIRE(dev_sysfs_read(0, "fault_delays", after, sizeof(after)));
	printf("\nkernel delays (before-command before-complete before-park before-signal after-announce "
	       "before-response): before %s, after %s\n",
	       before, after);
	long long b[6], a[6];
	REQUIRE(sscanf(before, "%lld %lld %lld %lld %lld %lld", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == 6);
	REQUIRE(sscanf(after, "%lld %lld %lld %lld %lld %lld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]) == 6);
	for (int i = 0; i < 6; i++)
		CHECK(a[i] > b[i]);
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		if (i != RT_DELAY_HOOK_BEFORE_CAS) /* the hook runs in the simulator's driver only */
			CHECK(client_delays[i] > 0);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_delays");
}
