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
 * each), with a watchdog. The client side and the round trips are the device's too
 * (tests/support/delays.h, tests/device/dev_fast_delays.c).
 *
 *   test_delays [--case round_trips.MODE] [--round-trips N] [--seed X]
 */
#include "sim_util.h"
#include "delays.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DEFAULT_ROUND_TRIPS 100000ull
#else
#define DEFAULT_ROUND_TRIPS 1000000ull
#endif

static uint64_t total_round_trips = DEFAULT_ROUND_TRIPS;
static _Atomic uint64_t kernel_delays[8];

static void kernel_hook(void *ctx, struct sidecar_sim *sim, uint32_t cpu, enum sidecar_fault_point where)
{
	(void)ctx;
	(void)sim;
	(void)cpu;
	if (delays_random())
		atomic_fetch_add_explicit(&kernel_delays[where], 1, memory_order_relaxed);
}

static struct sidecar_sim *sim;
static struct sidecar_client *client;

/* Each case's simulator and client, with the hooks; the counts from zero. */
static void setup(void)
{
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		atomic_store(&delays_client[i], 0);
	for (int i = 0; i < 8; i++)
		atomic_store(&kernel_delays[i], 0);
	sim = sim_open("sim:cpus=1");
	client = sim_client(sim);
	client->delay_ctx = NULL;
	client->delay_hook = delays_client_hook;
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
	static const char *const knames[] = {"before-command", "before-complete", "before-park", "before-signal",
					     "after-announce"};

	delays_round_trips(client, 1, sh->mode, total_round_trips * sh->percent / 100);
	printf("delays injected:");
	delays_client_print();
	for (int i = 0; i < 5; i++)
		printf(" %s=%llu", knames[i], (unsigned long long)kernel_delays[i]);
	printf("\n");
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		CHECK(!sh->client || delays_client[i] > 0);
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
		delays_seed = strtoull(argv[i + 1], NULL, 0);
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
