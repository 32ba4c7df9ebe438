/* SPDX-License-Identifier: MIT */
/*
 * Stress: several VPs, one owner thread each, doing random sequences of run / wait (with
 * and without timeouts) / try_wait / cancel / run_sync / test / registers / translate /
 * wait-mode switches / release and re-acquire, while other threads cancel VPs at random
 * and read their statistics. Guests do some work per run (work_ns) so that cancels land in
 * the middle of runs. A watchdog turns any hang into a failure; ThreadSanitizer runs it in
 * CI. The engine (tests/support/stress_engine.h) is also the device's
 * (tests/device/dev_fast_stress.c).
 *
 *   test_stress [--vps N] [--seconds S] [--seed X] [--target T] [--modes MASK]
 */
#include "check.h"
#include "stress_engine.h"

#include <sidecar/client.h>

#include <stdint.h>
#include <stdlib.h>

static struct stress st = {.vp_count = 4, .seed = 1, .mode_mask = 0xf};
static unsigned seconds = 5;
static const char *target;

static void test_random_operations(void)
{
	char buf[128];

	if (!st.mode_mask)
		st.mode_mask = 0xf;
	if (st.vp_count < 1 || st.vp_count > STRESS_MAX_VPS)
		st.vp_count = 4;
	if (!target) {
		snprintf(buf, sizeof(buf), "sim:cpus=%u,work_ns=20000", st.vp_count);
		target = buf;
	}
	check_watchdog(seconds + 120);
	printf("stress: %u vps, %u s, seed %llu, target %s\n", st.vp_count, seconds, (unsigned long long)st.seed,
	       target);
	REQUIRE(sidecar_client_open(target, &st.client) == 0);
	/* Under a sanitizer on an oversubscribed machine a stop can take long: give release a
	 * generous bound, so that a slow stop is not mistaken for a stuck one. */
	REQUIRE(sidecar_client_set_stop_timeout(st.client, 120ll * 1000000000) == 0);
	for (unsigned i = 0; i < st.vp_count; i++)
		st.vp_cpu[i] = i + 1; /* CPU 0 is Linux's */
	stress_run(&st, seconds);
	sidecar_client_close(st.client);
	CHECK(st.total_runs > 0);
}

static int option(int argc, char **argv, int i)
{
	if (i + 1 >= argc)
		return 0;
	if (!strcmp(argv[i], "--vps"))
		st.vp_count = (unsigned)atoi(argv[i + 1]);
	else if (!strcmp(argv[i], "--seconds"))
		seconds = (unsigned)atoi(argv[i + 1]);
	else if (!strcmp(argv[i], "--seed"))
		st.seed = strtoull(argv[i + 1], NULL, 0);
	else if (!strcmp(argv[i], "--target"))
		target = argv[i + 1];
	else if (!strcmp(argv[i], "--modes"))
		st.mode_mask = (unsigned)strtoul(argv[i + 1], NULL, 0) & 0xf;
	else
		return 0;
	return 2;
}

static const struct check_case cases[] = {
	CHECK_CASE(random_operations),
};

int main(int argc, char **argv)
{
	/* The case sets its own watchdog: --seconds and two minutes. */
	static const struct check_suite suite = {
		"test_stress", CHECK_CASES(cases), .option = option,
		.usage = "[--vps N] [--seconds S] [--seed X] [--target T] [--modes MASK]"};
	return check_main(argc, argv, &suite);
}
