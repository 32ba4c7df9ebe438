/* SPDX-License-Identifier: MIT */
/*
 * Cancel, release and close on the device in every fast mode (FUTEX, POLL, ADAPTIVE), with
 * a guest that never intercepts (guest=spin): only a stop ends a run, so every wait below
 * returns only because a cancel (stop_seq, and a KICK) worked.
 *  - run, try_wait -EAGAIN, a timed wait -ETIMEDOUT (the VP keeps running), cancel, then a
 *    wait bounded at 10 s returns 0 without an intercept;
 *  - a cancel from another thread ends the owner's wait without timeout (asleep in WAIT);
 *  - synchronous commands under a storm of cancels complete;
 *  - close while the owner sleeps in WAIT on a spinning VP: the wait returns -ESHUTDOWN;
 *  - release of a running VP returns, and the claim is back at once;
 *  - close with every CPU running: every wait returns -ESHUTDOWN, nothing is left;
 *  - raw: RELEASE_DIRECT of a VP whose posted RUN_VP spins, and close of a file whose
 *    DIRECT VPs all spin, stop them and return every claim;
 *  - a release whose CPU another process keeps busy through the line: an orphan after
 *    5 s, which goes back by itself once the CPU is quiet.
 */
#include "dev_cancels.h"

#include <pthread.h>
#include <sys/wait.h>

static struct sidecar_vp *shared_vp;
static int waiter_rc;

static void *waiter(void *arg)
{
	bool intercept;
	(void)arg;
	waiter_rc = sidecar_vp_wait(shared_vp, -1, &intercept);
	return NULL;
}

static void mode_cancel(unsigned *cpus, unsigned ncpus, enum sidecar_wait_mode mode)
{
	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vp;
	bool intercept = true;
	pthread_t t;

	REQUIRE(sidecar_vp_acquire(c, cpus[0], &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	shared_vp = vp;

	/* run / try_wait / timed wait / cancel / wait */
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(sidecar_vp_run(vp), 0);
		CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EAGAIN);
		CHECK_EQ(sidecar_vp_wait(vp, 5000000, &intercept), -ETIMEDOUT);
		uint64_t t0 = dev_now_ns();
		CHECK_EQ(sidecar_vp_cancel(vp), 0);
		CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
		if (i == 0)
			printf("%s: cancel to wait's return %.1f us\n", sidecar_wait_mode_name(mode),
			       (double)(dev_now_ns() - t0) / 1000);
		CHECK(!intercept);
	}

	/* A cancel from another thread ends a wait without timeout. */
	dev_cancel_late(vp, 50000);

	/* Synchronous commands under a storm of cancels. */
	dev_cancel_storm(vp, 0);
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	CHECK(st.cancels >= 15);

	/* Release of a running VP: the claim is back when it returns. */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	sidecar_vp_release(vp);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);

	/* Close while the owner sleeps in the driver on a spinning VP. */
	REQUIRE(sidecar_vp_acquire(c, cpus[0], &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	shared_vp = vp;
	CHECK_EQ(sidecar_vp_run(vp), 0);
	REQUIRE(pthread_create(&t, NULL, waiter, NULL) == 0);
	usleep(100000);
	struct sidecar_vp *vps[DEV_MAX_CPUS];
	for (unsigned i = 1; i < ncpus; i++) {
		REQUIRE(sidecar_vp_acquire(c, cpus[i], &vps[i]) == 0);
		REQUIRE(sidecar_vp_set_wait_mode(vps[i], mode) == 0);
		CHECK_EQ(sidecar_vp_run(vps[i]), 0);
	}
	uint64_t t0 = dev_now_ns();
	sidecar_client_close(c);
	pthread_join(t, NULL);
	printf("%s: close with %u CPUs spinning, one owner asleep: %.1f ms\n", sidecar_wait_mode_name(mode), ncpus,
	       (double)(dev_now_ns() - t0) / 1e6);
	CHECK_EQ(waiter_rc, -ESHUTDOWN);
	sidecar_vp_release(vp);
	for (unsigned i = 1; i < ncpus; i++) {
		CHECK_EQ(sidecar_vp_wait(vps[i], -1, &intercept), -ESHUTDOWN);
		sidecar_vp_release(vps[i]);
	}
	CHECK(dev_wait_quiet(10));
}

/* Posts a RUN_VP through the fast line with the mailbox on, and kicks. */
static uint32_t post_run(int fd, struct sidecar_command_page *cp, unsigned cpu)
{
	struct sidecar_fast_line *fast = sidecar_command_page_fast(cp);
	uint32_t seq = fast->request_seq + 1;

	__atomic_store_n(&fast->features, SIDECAR_FAST_F_MAILBOX, __ATOMIC_RELEASE);
	fast->command = SIDECAR_COMMAND_RUN_VP;
	__atomic_exchange_n(&fast->request_seq, seq, __ATOMIC_SEQ_CST);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu), 0);
	return seq;
}

int main(void)
{
	unsigned cpus[DEV_MAX_CPUS];

	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(240);
	dev_require_device();
	dev_require_guest("spin");
	dev_require_fast();
	unsigned ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	REQUIRE(ncpus > 0);

	for (size_t i = 0; i < 3; i++)
		mode_cancel(cpus, ncpus, dev_all_modes[i]);

	/* Raw: RELEASE_DIRECT stops a spinning fast run and returns the claim. */
	int fd = dev_open(0, 0);
	struct mshv_vtl_sidecar_info info = dev_info(fd);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	unsigned local = 0;
	for (unsigned i = 0; i < ncpus; i++)
		local += cpus[i] < info.base_cpu + info.cpu_count;
	struct sidecar_command_page *cp = &pages[cpus[0] - info.base_cpu].command_page;
	struct sidecar_fast_line *fast = sidecar_command_page_fast(cp);
	REQUIRE(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpus[0]) == 0);
	uint32_t seq = post_run(fd, cp, cpus[0]);
	usleep(50000);
	CHECK(__atomic_load_n(&fast->done_seq, __ATOMIC_ACQUIRE) != seq); /* it spins */
	uint64_t t0 = dev_now_ns();
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpus[0]), 0);
	printf("RELEASE_DIRECT of a spinning fast run: %.1f us\n", (double)(dev_now_ns() - t0) / 1000);
	CHECK_EQ(__atomic_load_n(&fast->done_seq, __ATOMIC_ACQUIRE), seq);
	CHECK_EQ(cp->request_data[0], 0); /* stopped, no intercept */
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);

	/* Close of a file whose DIRECT VPs all spin. */
	int other = dev_open(0, 0);
	for (unsigned i = 0; i < ncpus; i++) {
		if (cpus[i] >= info.base_cpu + info.cpu_count)
			continue;
		REQUIRE(dev_ioctl(other, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpus[i]) == 0);
		post_run(other, &pages[cpus[i] - info.base_cpu].command_page, cpus[i]);
	}
	usleep(50000);
	CHECK_EQ(dev_sysfs_num(0, "direct_claims"), local);
	t0 = dev_now_ns();
	close(other);
	printf("close of a file with %u spinning DIRECT VPs: %.1f us\n", local, (double)(dev_now_ns() - t0) / 1000);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);
	CHECK_EQ(dev_sysfs_num(0, "orphans"), 0);
	for (unsigned i = 0; i < ncpus; i++) {
		if (cpus[i] >= info.base_cpu + info.cpu_count)
			continue;
		struct sidecar_fast_line *f = sidecar_command_page_fast(&pages[cpus[i] - info.base_cpu].command_page);
		CHECK_EQ(f->done_seq, f->request_seq);
		CHECK_EQ(f->features, 0);
	}
	/* A release whose CPU stays busy: another process keeps a spinning run posted through
	 * the line (the page is user-writable: it puts the features back and rings ahead of
	 * the CPU), so the quiet barrier goes unanswered: RELEASE_DIRECT gives up after 5 s
	 * and leaves an orphan. Once the runs stop, the CPU halts, answers, and the orphan goes
	 * back by itself. (If the CPU slipped into a halt anyway, the release just works.) */
	REQUIRE(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpus[0]) == 0);
	int go[2];
	REQUIRE(pipe(go) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char b;
		close(go[1]); /* the parent's close is the signal to go */
		fast->command = SIDECAR_COMMAND_RUN_VP;
		for (uint64_t end = dev_now_ns() + 7000000000ull; dev_now_ns() < end;) {
			if (__atomic_load_n(&fast->features, __ATOMIC_RELAXED) != SIDECAR_FAST_F_MAILBOX)
				__atomic_store_n(&fast->features, SIDECAR_FAST_F_MAILBOX, __ATOMIC_RELEASE);
			uint32_t done = __atomic_load_n(&fast->done_seq, __ATOMIC_ACQUIRE);
			if (__atomic_load_n(&fast->request_seq, __ATOMIC_RELAXED) != done + 2)
				__atomic_exchange_n(&fast->request_seq, done + 2, __ATOMIC_SEQ_CST);
		}
		/* Stop what runs: the CPU completes it and halts. */
		__atomic_store_n(&fast->stop_seq, __atomic_load_n(&fast->request_seq, __ATOMIC_RELAXED),
				 __ATOMIC_SEQ_CST);
		if (read(go[0], &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	usleep(200000);
	/* The CPU halted before the other process rang: wake it, it then serves the runs. */
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpus[0]), 0);
	usleep(100000);
	CHECK(__atomic_load_n(&fast->done_seq, __ATOMIC_ACQUIRE) !=
	      __atomic_load_n(&fast->request_seq, __ATOMIC_ACQUIRE));
	t0 = dev_now_ns();
	int rc = dev_ioctl(fd, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpus[0]);
	printf("RELEASE_DIRECT of a CPU kept busy by another process: %s after %.1f ms\n", sidecar_strerror(rc),
	       (double)(dev_now_ns() - t0) / 1e6);
	CHECK(rc == -ETIMEDOUT || rc == 0);
	if (rc == -ETIMEDOUT) {
		CHECK_EQ(dev_sysfs_num(0, "orphans"), 1);
		CHECK_EQ(dev_sysfs_num(0, "claims"), 1);
		CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpus[0]), -EBUSY); /* not quiet yet */
	}
	close(go[1]);
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* No claim needed to get it back: the CPU's answer reclaims the orphan. */
	for (int tries = 0; tries < 1000 && (dev_sysfs_num(0, "orphans") || dev_sysfs_num(0, "claims")); tries++)
		usleep(10000);
	CHECK_EQ(dev_sysfs_num(0, "orphans"), 0);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);
	__atomic_store_n(&fast->features, 0, __ATOMIC_RELEASE);
	REQUIRE(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpus[0]) == 0);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpus[0]), 0);

	dev_unmap(pages, &info);
	close(fd);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_cancel");
}
