/* SPDX-License-Identifier: MIT */
/*
 * A guest that spins for long (guest=spin, argv[1] seconds, default 12) keeps its sidecar
 * CPU's kernel thread busy in the kernel all that time, on every sidecar CPU at once: the
 * thread must let the scheduler and RCU in (sc_yield_point), or the kernel reports a soft
 * lockup or an RCU stall. The VM boots with short thresholds (watchdog_thresh,
 * rcu_cpu_stall_timeout) below the spin's length, and its runner fails this step on any
 * such report. Here: every run keeps going until cancelled, and ends on the cancel.
 */
#include "dev_util.h"

int main(int argc, char **argv)
{
	unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 12;
	unsigned cpus[DEV_MAX_CPUS];
	struct sidecar_vp *vps[DEV_MAX_CPUS];
	bool intercept = true;

	check_watchdog(seconds + 120);
	dev_require_device();
	dev_require_guest("spin");
	unsigned ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	REQUIRE(ncpus > 0);
	struct sidecar_client *c = dev_client();
	for (unsigned i = 0; i < ncpus; i++) {
		REQUIRE(sidecar_vp_acquire(c, cpus[i], &vps[i]) == 0);
		CHECK_EQ(sidecar_vp_run(vps[i]), 0);
	}
	uint64_t end = dev_now_ns() + (uint64_t)seconds * 1000000000u;
	while (dev_now_ns() < end) {
		for (unsigned i = 0; i < ncpus; i++)
			CHECK_EQ(sidecar_vp_try_wait(vps[i], &intercept), -EAGAIN);
		sleep(1);
	}
	for (unsigned i = 0; i < ncpus; i++) {
		CHECK_EQ(sidecar_vp_cancel(vps[i]), 0);
		CHECK_EQ(sidecar_vp_wait(vps[i], -1, &intercept), 0);
		CHECK(!intercept);
		sidecar_vp_release(vps[i]);
	}
	sidecar_client_close(c);
	printf("dev_long_spin: %u sidecar CPUs spun for %u s\n", ncpus, seconds);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_long_spin");
}
