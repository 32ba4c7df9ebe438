/* SPDX-License-Identifier: MIT */
/*
 * kill -9 reclaims DIRECT claims (guest=spin: the killed process leaves fast runs that would
 * never end by themselves). Ways to die, each followed by: no claim, no DIRECT claim, no
 * orphan, no open file; the core's allocations as they were; a new client runs every CPU in
 * every wait mode:
 *  - a client in each fast mode with every CPU running;
 *  - a client whose owner threads sleep in WAIT on spinning VPs, with the event fd armed (the
 *    driver holds an eventfd of the process);
 *  - a raw process holding DIRECT claims with posted runs spinning, and one asleep in WAIT;
 *  - processes killed at random moments while they run, wait, cancel, switch modes and issue
 *    synchronous commands on every CPU.
 */
#include "dev_child.h"

#include <pthread.h>

static unsigned cpus[DEV_MAX_CPUS], ncpus;

/* Every CPU running in wait mode `mode`. */
static void child_running(int pipefd, unsigned mode)
{
	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vp;

	for (unsigned i = 0; i < ncpus; i++)
		if (sidecar_vp_acquire(c, cpus[i], &vp) || sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)mode) ||
		    sidecar_vp_run(vp))
			_exit(10);
	dev_child_ready(pipefd);
}

static void *sleeper(void *arg)
{
	bool intercept;
	sidecar_vp_wait(arg, -1, &intercept);
	return NULL;
}

static void child_asleep(int pipefd, unsigned arg)
{
	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vp;
	pthread_t t;

	(void)arg;
	if (sidecar_client_event_fd(c) < 0)
		_exit(11);
	for (unsigned i = 0; i < ncpus; i++) {
		if (sidecar_vp_acquire(c, cpus[i], &vp) ||
		    sidecar_vp_set_wait_mode(vp, i % 2 ? SIDECAR_WAIT_FUTEX : SIDECAR_WAIT_POLL) || sidecar_vp_run(vp))
			_exit(12);
		pthread_create(&t, NULL, sleeper, vp);
	}
	usleep(100000); /* POLL's window is 1 ms: everyone sleeps in WAIT by now */
	dev_child_ready(pipefd);
}

static void child_raw(int pipefd, unsigned arg)
{
	int fd = dev_open(0, 0);
	struct mshv_vtl_sidecar_info info = dev_info(fd);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	uint32_t seq = 0;
	unsigned last = 0;

	(void)arg;
	for (unsigned i = 0; i < ncpus; i++) {
		if (cpus[i] >= info.base_cpu + info.cpu_count)
			continue;
		struct sidecar_command_page *cp = &pages[cpus[i] - info.base_cpu].command_page;
		struct sidecar_fast_line *fast = sidecar_command_page_fast(cp);
		if (dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpus[i]))
			_exit(13);
		__atomic_store_n(&fast->features, SIDECAR_FAST_F_MAILBOX | SIDECAR_FAST_F_SUPPRESS, __ATOMIC_RELEASE);
		fast->client_flags = SIDECAR_FAST_CLIENT_SLEEPING;
		fast->command = SIDECAR_COMMAND_RUN_VP;
		seq = fast->request_seq + 1;
		__atomic_exchange_n(&fast->request_seq, seq, __ATOMIC_SEQ_CST);
		dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpus[i]);
		last = cpus[i];
	}
	int p = pipefd;
	ssize_t r = write(p, "r", 1);
	(void)r;
	/* Asleep in WAIT for the last one, which never completes. */
	struct mshv_vtl_sidecar_wait w = {.cpu = last, .seq = seq, .timeout_ns = -1};
	for (;;)
		ioctl(fd, MSHV_VTL_SIDECAR_WAIT, &w);
}

static void child_churn(int pipefd, unsigned seed)
{
	dev_child_churn(pipefd, seed, cpus, ncpus, true);
}

static void check_reclaimed(const char *what, long long allocations)
{
	struct sidecar_vp *vp;
	bool intercept;

	if (!dev_wait_quiet(15) || dev_sysfs_sum("direct_claims") != 0) {
		fprintf(stderr, "%s: claims %lld (direct %lld), orphans %lld, open files %lld left\n", what,
			dev_sysfs_sum("claims"), dev_sysfs_sum("direct_claims"), dev_sysfs_sum("orphans"),
			dev_sysfs_sum("open_files"));
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
		for (size_t m = 0; m < 4; m++) {
			CHECK_EQ(sidecar_vp_set_wait_mode(vp, dev_all_modes[m]), 0);
			rc = sidecar_vp_run(vp);
			if (rc) {
				fprintf(stderr, "%s: run %u (%s): %s\n", what, cpus[i],
					sidecar_wait_mode_name(dev_all_modes[m]), sidecar_strerror(rc));
				check_failures++;
				continue;
			}
			CHECK_EQ(sidecar_vp_cancel(vp), 0);
			CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
		}
		sidecar_vp_release(vp);
	}
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(280);
	dev_require_device();
	dev_require_guest("spin");
	dev_require_fast();
	ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	REQUIRE(ncpus >= 2);
	long long allocations = dev_sysfs_num(0, "allocations");
	CHECK(allocations > 0);

	for (size_t m = 0; m < 3; m++) {
		CHECK(dev_child_kill(child_running, dev_all_modes[m], 0));
		check_reclaimed(sidecar_wait_mode_name(dev_all_modes[m]), allocations);
	}
	CHECK(dev_child_kill(child_asleep, 0, 0));
	check_reclaimed("owners asleep in WAIT, event fd armed", allocations);
	CHECK(dev_child_kill(child_raw, 0, 20000));
	check_reclaimed("raw DIRECT claims, asleep in WAIT", allocations);
	for (unsigned i = 0; i < 12; i++) {
		CHECK(dev_child_kill(child_churn, i + 1, 1000u + (i * 7919u) % 50000u));
		check_reclaimed("random moment", allocations);
	}
	printf("every kill reclaimed\n");
	return check_report("dev_fast_kill");
}
