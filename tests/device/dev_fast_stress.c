/* SPDX-License-Identifier: MIT */
/*
 * Stress on the device, every sidecar CPU (3 in the VM), all four wait modes: one owner
 * thread per VP doing random sequences of run / wait (with and without timeouts) /
 * try_wait / cancel / run_sync / test / registers / translate / wait-mode switches /
 * release and re-acquire, while another thread cancels VPs at random and reads their
 * statistics, and (with --events) a thread waits on the client's event fd. Runs carry tags
 * the io guest echoes. Load the module with guest=io and some work_ns, so that cancels land
 * in the middle of runs. A watchdog turns any hang into a failure. The engine is the
 * simulator's (tests/support/stress_engine.h, tests/test_stress.c).
 *
 *   dev_fast_stress [--seconds S] [--seed X] [--modes MASK] [--events]
 */
#include "dev_util.h"
#include "../support/stress_engine.h"

#include <poll.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static struct stress st = {.seed = 1, .mode_mask = 0xf};
static unsigned seconds = 10;

static int event_fd = -1;

/* Polls the client's event fd, as an event loop would (the owners collect). */
static void *event_watcher(void *arg)
{
	(void)arg;
	while (!atomic_load(&st.stop)) {
		struct pollfd pfd = {.fd = event_fd, .events = POLLIN};
		if (poll(&pfd, 1, 10) > 0)
			usleep(1000); /* readable until an owner collects: no busy loop */
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bool events = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events"))
			events = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--seconds"))
			seconds = (unsigned)atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
			st.seed = strtoull(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--modes"))
			st.mode_mask = (unsigned)strtoul(argv[++i], NULL, 0) & 0xf;
	}
	if (!st.mode_mask)
		st.mode_mask = 0xf;
	dev_require_device();
	if (strcmp(dev_guest(), "io") != 0)
		SKIP("needs guest=io");
	dev_require_fast();
	st.vp_count = dev_sidecar_cpus(st.vp_cpu, STRESS_MAX_VPS);
	REQUIRE(st.vp_count > 0);
	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(seconds + 120);
	printf("stress: %u vps, %u s, seed %llu, modes 0x%x%s\n", st.vp_count, seconds, (unsigned long long)st.seed,
	       st.mode_mask, events ? ", event fd armed" : "");
	st.client = dev_client();
	REQUIRE(sidecar_client_set_stop_timeout(st.client, 60ll * 1000000000) == 0);
	long long kicks0 = dev_sysfs_sum("kicks"), signals0 = dev_sysfs_sum("fast_signals");
	long long fast0 = dev_sysfs_sum("fast_commands"), supp0 = dev_sysfs_sum("suppressed_signals");

	pthread_t watcher;
	if (events) {
		event_fd = sidecar_client_event_fd(st.client);
		REQUIRE(event_fd >= 0);
		REQUIRE(pthread_create(&watcher, NULL, event_watcher, NULL) == 0);
	}
	stress_run(&st, seconds);
	if (events)
		pthread_join(watcher, NULL);
	sidecar_client_close(st.client);
	long long fast = dev_sysfs_sum("fast_commands") - fast0;
	printf("module: %lld fast commands, %lld kicks, %lld completions signalled, %lld suppressed\n", fast,
	       dev_sysfs_sum("kicks") - kicks0, dev_sysfs_sum("fast_signals") - signals0,
	       dev_sysfs_sum("suppressed_signals") - supp0);
	CHECK(st.total_runs > 0);
	if (st.mode_mask & 0xe)
		CHECK(fast > 0);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_stress");
}
