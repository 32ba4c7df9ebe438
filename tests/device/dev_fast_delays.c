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
 * here; random delays on both sides are what reaches the kernel. The client side and the
 * round trips are the simulator's (tests/support/delays.h).
 *
 *   dev_fast_delays [ROUND_TRIPS]   (default 20000)
 */
#include "dev_util.h"
#include "../support/delays.h"

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
	c->delay_hook = delays_client_hook;

	/* Most of the budget where the protocol is subtle (signal suppression both ways). */
	delays_round_trips(c, cpu, SIDECAR_WAIT_POLL, total * 40 / 100);
	delays_round_trips(c, cpu, SIDECAR_WAIT_ADAPTIVE, total * 40 / 100);
	delays_round_trips(c, cpu, SIDECAR_WAIT_FUTEX, total * 15 / 100);
	delays_round_trips(c, cpu, SIDECAR_WAIT_SEED, total * 5 / 100);
	sidecar_client_close(c);
	REQUIRE(dev_param_write("fault_delays", "0"));

	printf("client delays:");
	delays_client_print();
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
			CHECK(delays_client[i] > 0);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_delays");
}
