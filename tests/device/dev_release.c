/* SPDX-License-Identifier: MIT */
/*
 * Giving VPs back, with any guest (io: runs end at once and wait unread; spin: runs go on
 * until stopped):
 *  - release of every VP while its run was started and never waited returns, and the
 *    driver holds no claim afterwards;
 *  - close of a client whose VPs all run, then release of the accessors;
 *  - a second client can then take and run every CPU;
 *  - two clients at once: while one runs a CPU, the other's run of it is -EBUSY, and works
 *    once the first is done; a VP held in a fast mode cannot be taken by another client;
 *  - the driver alone: a file closed while holding started runs (finished-unread or still
 *    running) gives every claim back (its release handler).
 */
#include "dev_util.h"

static unsigned cpus[DEV_MAX_CPUS], ncpus;
static bool spin;

/* Runs `vp` once to its end: an intercept, or (spin) a cancel. */
static void run_once(struct sidecar_vp *vp)
{
	bool intercept;

	CHECK_EQ(sidecar_vp_run(vp), 0);
	if (spin)
		CHECK_EQ(sidecar_vp_cancel(vp), 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	CHECK_EQ(intercept, !spin);
}

int main(void)
{
	struct sidecar_vp *vps[DEV_MAX_CPUS], *other;

	check_watchdog(240);
	dev_require_device();
	spin = strcmp(dev_guest(), "spin") == 0;
	ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	REQUIRE(ncpus > 0);

	/* Release of started VPs. */
	struct sidecar_client *c = dev_client();
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < ncpus; i++) {
			REQUIRE(sidecar_vp_acquire(c, cpus[i], &vps[i]) == 0);
			CHECK_EQ(sidecar_vp_run(vps[i]), 0);
		}
		for (unsigned i = 0; i < ncpus; i++)
			sidecar_vp_release(vps[i]);
		CHECK_EQ(dev_sysfs_num(0, "claims"), 0);
	}

	/* Close with everything running, then release. */
	for (unsigned i = 0; i < ncpus; i++) {
		REQUIRE(sidecar_vp_acquire(c, cpus[i], &vps[i]) == 0);
		CHECK_EQ(sidecar_vp_run(vps[i]), 0);
	}
	sidecar_client_close(c);
	for (unsigned i = 0; i < ncpus; i++)
		sidecar_vp_release(vps[i]);
	CHECK(dev_wait_quiet(10));

	/* A new client takes every CPU. */
	c = dev_client();
	for (unsigned i = 0; i < ncpus; i++) {
		REQUIRE(sidecar_vp_acquire(c, cpus[i], &vps[i]) == 0);
		run_once(vps[i]);
	}

	/* Two clients on one CPU. An accessor in a fast mode holds its VP in the driver (a
	 * DIRECT claim): another client cannot take it, and one in SEED mode cannot start it. */
	if (spin) {
		struct sidecar_client *c2 = dev_client();
		bool intercept;
		if (sidecar_vp_get_wait_mode(vps[0]) != SIDECAR_WAIT_SEED) {
			CHECK_EQ(sidecar_vp_acquire(c2, cpus[0], &other), -EBUSY);
			CHECK_EQ(sidecar_vp_set_wait_mode(vps[0], SIDECAR_WAIT_SEED), 0);
			REQUIRE(sidecar_vp_acquire(c2, cpus[0], &other) == 0);
			CHECK(sidecar_vp_get_wait_mode(other) != SIDECAR_WAIT_SEED);
			CHECK_EQ(sidecar_vp_run(vps[0]), -EBUSY);
			CHECK_EQ(sidecar_vp_set_wait_mode(vps[0], SIDECAR_WAIT_FUTEX), -EBUSY);
			run_once(other);
			CHECK_EQ(sidecar_vp_set_wait_mode(other, SIDECAR_WAIT_SEED), 0);
			sidecar_vp_release(other);
		}
		REQUIRE(sidecar_vp_acquire(c2, cpus[0], &other) == 0);
		CHECK_EQ(sidecar_vp_set_wait_mode(other, SIDECAR_WAIT_SEED), 0);
		CHECK_EQ(sidecar_vp_run(vps[0]), 0);
		CHECK_EQ(sidecar_vp_run(other), -EBUSY);
		CHECK_EQ(sidecar_vp_test(other), -EBUSY);
		CHECK_EQ(sidecar_vp_cancel(vps[0]), 0);
		CHECK_EQ(sidecar_vp_wait(vps[0], -1, &intercept), 0);
		run_once(other);
		sidecar_vp_release(other);
		sidecar_client_close(c2);
	}
	for (unsigned i = 0; i < ncpus; i++)
		sidecar_vp_release(vps[i]);
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));

	/* The driver's release handler. */
	for (unsigned node = 0; node < dev_node_count(); node++) {
		int fd = dev_open(node, O_NONBLOCK);
		struct mshv_vtl_sidecar_info info = dev_info(fd);
		struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
		unsigned started = 0;
		for (unsigned cpu = info.base_cpu; cpu < info.base_cpu + info.cpu_count; cpu++) {
			if (!dev_is_sidecar_cpu(node, cpu))
				continue;
			pages[cpu - info.base_cpu].command_page.command = SIDECAR_COMMAND_RUN_VP;
			CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpu), 0);
			started++;
		}
		CHECK_EQ(dev_sysfs_num(node, "claims"), started);
		dev_unmap(pages, &info);
		close(fd);
		CHECK_EQ(dev_sysfs_num(node, "claims"), 0);
		CHECK_EQ(dev_sysfs_num(node, "orphans"), 0);
	}
	CHECK(dev_wait_quiet(10));
	return check_report("dev_release");
}
