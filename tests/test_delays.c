/* SPDX-License-Identifier: MIT */
/*
 * The fast path with random delays injected at each step of the real code: on the client
 * side at every delay point of the run/wait path (runtime/internal.h: RT_DELAY), on the
 * sidecar side at every fault point of the kernel loop
 * (before taking a command, before publishing a completion, before parking, after
 * announcing PARKED, before the response decision), plus a thread cancelling at random.
 * Poll windows are short so that both sides often go to sleep, which is where a lost
 * wake-up would show: every wait has a 30 s bound, and a timeout is a failure. Each run
 * carries a tag (RAX, echoed by the io guest) so a completion delivered to the wrong run
 * is caught. 10^6 round trips in all (10^5 under sanitizers), shared by the modes (one case
 * each), with a watchdog.
 *
 *   test_delays [--case round_trips.MODE] [--round-trips N] [--seed X]
 */
#include "sim_util.h"

#include <pthread.h>
#include <sched.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DEFAULT_ROUND_TRIPS 100000ull
#else
#define DEFAULT_ROUND_TRIPS 1000000ull
#endif

static uint64_t total_round_trips = DEFAULT_ROUND_TRIPS;
static uint64_t base_seed = 1;
static _Atomic uint64_t client_delays[RT_DELAY_POINTS], kernel_delays[8];
static _Thread_local uint64_t rng;

static uint64_t rnd(void)
{
	if (!rng)
		rng = base_seed * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&rng;
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* Mostly nothing; sometimes a short spin, a yield, or a real sleep. */
static bool random_delay(void)
{
	uint64_t r = rnd() % 1000;

	if (r < 700)
		return false;
	if (r < 930) {
		for (uint64_t i = rnd() % 400; i > 0; i--)
			__builtin_ia32_pause();
	} else if (r < 990) {
		sched_yield();
	} else {
		usleep((useconds_t)(1 + rnd() % 50));
	}
	return true;
}

static void client_hook(void *ctx, enum rt_delay_point point)
{
	(void)ctx;
	if (random_delay())
		atomic_fetch_add_explicit(&client_delays[point], 1, memory_order_relaxed);
}

static void kernel_hook(void *ctx, struct sidecar_sim *sim, uint32_t cpu, enum sidecar_fault_point where)
{
	(void)ctx;
	(void)sim;
	(void)cpu;
	if (random_delay())
		atomic_fetch_add_explicit(&kernel_delays[where], 1, memory_order_relaxed);
}

struct canceller {
	_Atomic(struct sidecar_vp *) vp;
	_Atomic uint32_t busy;
	_Atomic bool stop;
};

/* Cancels whatever runs, now and then. The owner unpublishes the VP (and waits for `busy`)
 * before it changes anything the canceller must not race with. */
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

static void unpublish(struct canceller *c)
{
	atomic_store(&c->vp, NULL);
	while (atomic_load(&c->busy))
		sched_yield();
}

static void run_mode(struct sidecar_client *c, enum sidecar_wait_mode mode, uint64_t n)
{
	struct sidecar_vp *vp;
	struct canceller canc = {0};
	pthread_t t;
	uint64_t intercepts = 0, tag = 0x1000;

	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	if (mode == SIDECAR_WAIT_POLL || mode == SIDECAR_WAIT_ADAPTIVE)
		REQUIRE(sidecar_vp_set_poll_ns(vp, 2000, 2000) == 0);
	atomic_store(&canc.vp, vp);
	REQUIRE(pthread_create(&t, NULL, cancel_loop, &canc) == 0);
	uint64_t t0 = ms_now();
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
	unpublish(&canc);
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	printf("%-8s %8llu round trips in %5llu ms: %llu intercepts, %llu cancels, %llu sleeps, %llu polled, "
	       "%llu request / %llu response signals\n",
	       sidecar_wait_mode_name(mode), (unsigned long long)n, (unsigned long long)(ms_now() - t0),
	       (unsigned long long)intercepts, (unsigned long long)st.cancels, (unsigned long long)st.sleeps,
	       (unsigned long long)st.polled_completions, (unsigned long long)st.request_signals,
	       (unsigned long long)st.response_signals);
	sidecar_vp_release(vp);
}

static struct sidecar_sim *sim;
static struct sidecar_client *client;

/* Each case's simulator and client, with the hooks; the counts from zero. */
static void setup(void)
{
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		atomic_store(&client_delays[i], 0);
	for (int i = 0; i < 8; i++)
		atomic_store(&kernel_delays[i], 0);
	sim = sim_open("sim:cpus=1");
	client = sim_client(sim);
	client->delay_ctx = NULL;
	client->delay_hook = client_hook;
	sidecar_sim_set_fault_hook(sim, kernel_hook, NULL);
}

static void teardown(void)
{
	sidecar_client_close(client);
	sidecar_sim_destroy(sim);
}

/* A mode, its share of the round trips (in percent: most of the budget where the protocol is
 * subtle, signal suppression both ways), and the delay points its round trips pass. */
struct share {
	enum sidecar_wait_mode mode;
	unsigned percent;
	bool client;     /* every client-side point (the fast modes) */
	bool suppresses; /* the response decision (before-signal): the polling modes */
};

static void test_round_trips(const void *arg)
{
	const struct share *sh = arg;
	static const char *const cnames[] = {"post-claimed", "post-rung",       "wait-waiter", "wait-announced",
					     "wait-woken",   "hook-before-cas", "collect",     "cancel"};
	static const char *const knames[] = {"before-command", "before-complete", "before-park", "before-signal",
					     "after-announce"};

	run_mode(client, sh->mode, total_round_trips * sh->percent / 100);
	printf("delays injected:");
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		printf(" %s=%llu", cnames[i], (unsigned long long)client_delays[i]);
	for (int i = 0; i < 5; i++)
		printf(" %s=%llu", knames[i], (unsigned long long)kernel_delays[i]);
	printf("\n");
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		CHECK(!sh->client || client_delays[i] > 0);
	for (int i = 0; i < 5; i++)
		CHECK(kernel_delays[i] > 0 || (i == SIDECAR_FAULT_BEFORE_SIGNAL && !sh->suppresses));
}

static int option(int argc, char **argv, int i)
{
	if (i + 1 >= argc)
		return 0;
	if (!strcmp(argv[i], "--round-trips"))
		total_round_trips = strtoull(argv[i + 1], NULL, 0);
	else if (!strcmp(argv[i], "--seed"))
		base_seed = strtoull(argv[i + 1], NULL, 0);
	else
		return 0;
	return 2;
}

static const struct check_case cases[] = {
	CHECK_CASE_ARG(round_trips, poll, (&(const struct share){SIDECAR_WAIT_POLL, 40, true, true})),
	CHECK_CASE_ARG(round_trips, adaptive, (&(const struct share){SIDECAR_WAIT_ADAPTIVE, 40, true, true})),
	CHECK_CASE_ARG(round_trips, futex, (&(const struct share){SIDECAR_WAIT_FUTEX, 15, true, false})),
	CHECK_CASE_ARG(round_trips, seed, (&(const struct share){SIDECAR_WAIT_SEED, 5, false, false})),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_delays",
						 CHECK_CASES(cases),
						 .watchdog_s = 1200,
						 .setup = setup,
						 .teardown = teardown,
						 .option = option,
						 .usage = "[--round-trips N] [--seed X]"};
	return check_main(argc, argv, &suite);
}
