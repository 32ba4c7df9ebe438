/* SPDX-License-Identifier: MIT */
/*
 * kill -9 reclaims everything (guest=spin: the killed process leaves runs that would never
 * end by themselves). Three ways to die, each followed by: every node shows no claim, no
 * orphan, no open file; the core's allocations are what they were; a new client acquires
 * and runs every CPU.
 *  - a client with every CPU running (started runs, the seed task sleeping in poll);
 *  - a process in the middle of the driver's RUN of RUN_VP (asleep in the ioctl), with a
 *    started run and a finished-unread one on its other CPUs;
 *  - processes killed at random moments while they run, wait, cancel and issue synchronous
 *    commands on every CPU.
 */
#include "dev_child.h"

#include <pthread.h>

static unsigned cpus[DEV_MAX_CPUS], ncpus;

static void child_client(int pipefd, unsigned arg)
{
	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vp;

	(void)arg;
	for (unsigned i = 0; i < ncpus; i++) {
		if (sidecar_vp_acquire(c, cpus[i], &vp) || sidecar_vp_run(vp))
			_exit(10);
	}
	dev_child_ready(pipefd);
}

static int run_fd;
static unsigned run_cpu;

static void *blocked_run(void *arg)
{
	(void)arg;
	ioctl(run_fd, MSHV_VTL_SIDECAR_RUN, (unsigned long)run_cpu);
	return NULL;
}

static void child_raw(int pipefd, unsigned arg)
{
	int fd = dev_open(0, O_NONBLOCK);
	struct mshv_vtl_sidecar_info info = dev_info(fd);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	unsigned mine[DEV_MAX_CPUS], n = 0;
	pthread_t t;

	(void)arg;
	for (unsigned i = 0; i < ncpus; i++)
		if (cpus[i] < info.base_cpu + info.cpu_count)
			mine[n++] = cpus[i];
	if (n == 0)
		_exit(11);
	for (unsigned i = 0; i < n; i++)
		pages[mine[i] - info.base_cpu].command_page.command =
			i == 0 ? SIDECAR_COMMAND_RUN_VP : (i == 1 ? SIDECAR_COMMAND_NONE : SIDECAR_COMMAND_RUN_VP);
	/* The first CPU: a RUN asleep in the driver. The second: finished, unread. The rest:
	 * started, running. */
	run_fd = fd;
	run_cpu = mine[0];
	if (pthread_create(&t, NULL, blocked_run, NULL))
		_exit(12);
	for (unsigned i = 1; i < n; i++)
		if (dev_ioctl(fd, MSHV_VTL_SIDECAR_START, mine[i]))
			_exit(13);
	/* In place once the driver shows every claim. */
	while (dev_sysfs_num(0, "claims") != n)
		usleep(1000);
	usleep(20000);
	dev_child_ready(pipefd);
}

static void child_churn(int pipefd, unsigned seed)
{
	dev_child_churn(pipefd, seed, cpus, ncpus, false);
}

/* After a kill: nothing left, and every CPU works for a new client. */
static void check_reclaimed(const char *what, long long allocations)
{
	struct sidecar_vp *vp;
	bool intercept;

	if (!dev_wait_quiet(15)) {
		fprintf(stderr, "%s: claims %lld, orphans %lld, open files %lld left\n", what,
			dev_sysfs_num(0, "claims"), dev_sysfs_num(0, "orphans"), dev_sysfs_num(0, "open_files"));
		check_failures++;
	}
	CHECK_EQ(dev_sysfs_num(0, "allocations"), allocations);
	struct sidecar_client *c = dev_client();
	for (unsigned i = 0; i < ncpus; i++) {
		int rc = sidecar_vp_acquire(c, cpus[i], &vp);
		if (rc) {
			fprintf(stderr, "%s: acquire %u: %s\n", what, cpus[i], sidecar_strerror(rc));
			check_failures++;
			continue;
		}
		rc = sidecar_vp_run(vp);
		if (rc) {
			fprintf(stderr, "%s: run %u: %s\n", what, cpus[i], sidecar_strerror(rc));
			check_failures++;
		} else {
			CHECK_EQ(sidecar_vp_cancel(vp), 0);
			CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
		}
		sidecar_vp_release(vp);
	}
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
}

int main(void)
{
	check_watchdog(280);
	dev_require_device();
	dev_require_guest("spin");
	ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	REQUIRE(ncpus >= 2);
	long long allocations = dev_sysfs_num(0, "allocations");
	CHECK(allocations > 0);

	CHECK(dev_child_kill(child_client, 0, 0));
	check_reclaimed("client with every CPU running", allocations);

	CHECK(dev_child_kill(child_raw, 0, 0));
	check_reclaimed("RUN asleep in the driver", allocations);

	for (unsigned i = 0; i < 12; i++) {
		CHECK(dev_child_kill(child_churn, i + 1, 1000u + (i * 7919u) % 50000u));
		check_reclaimed("random moment", allocations);
	}
	return check_report("dev_kill");
}
