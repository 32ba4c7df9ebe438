/* SPDX-License-Identifier: MIT */
/*
 * Cancel on the device, with a guest that never intercepts (guest=spin): only a stop ends
 * a run, so every wait below returns only because a cancel worked.
 *  - run, try_wait -EAGAIN, wait with a timeout -ETIMEDOUT (the VP keeps running), cancel,
 *    wait: 0 and no intercept;
 *  - a cancel from another thread ends the owner's wait without a timeout;
 *  - synchronous commands (TEST, GET) while another thread keeps cancelling: they complete,
 *    none hangs (a cancel of one is a STOP of its started command);
 *  - release of a running VP and close of a client with every CPU running return, and
 *    leave no claim behind;
 *  - the driver's own path: a raw RUN of RUN_VP sleeps in the driver until a signal turns it
 *    into a STOP; it returns -EINTR, the run ended without an intercept, the VP is free.
 */
#include "dev_cancels.h"

#include <pthread.h>
#include <signal.h>

static struct sidecar_vp *sync_vp;
static int sync_rc;

/* Synchronous commands until one fails (the client closed under it). */
static void *sync_loop(void *arg)
{
	(void)arg;
	for (;;) {
		struct hv_register_assoc r = {.name = HV_X64_REGISTER_RIP};
		sync_rc = sidecar_vp_test(sync_vp);
		if (sync_rc)
			break;
		sync_rc = sidecar_vp_get_registers(sync_vp, 0, &r, 1);
		if (sync_rc)
			break;
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
}

static pthread_t main_thread;

static void *interrupt_later(void *arg)
{
	(void)arg;
	usleep(200000);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

int main(void)
{
	unsigned cpus[DEV_MAX_CPUS];
	struct sidecar_client *c2;
	struct sidecar_vp *vp;
	bool intercept = true;
	pthread_t t;

	check_watchdog(240);
	dev_require_device();
	dev_require_guest("spin");
	unsigned ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	REQUIRE(ncpus > 0);
	struct sidecar_client *c = dev_client();
	REQUIRE(sidecar_vp_acquire(c, cpus[0], &vp) == 0);

	/* run / try_wait / timed wait / cancel / wait */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EAGAIN);
	CHECK_EQ(sidecar_vp_wait(vp, 50000000, &intercept), -ETIMEDOUT);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	CHECK(!intercept);

	/* A cancel from another thread ends a wait without timeout. */
	dev_cancel_late(vp, 100000);

	/* Synchronous commands under a storm of cancels. */
	dev_cancel_storm(vp, -EINVAL);
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	CHECK(st.cancels >= 6);

	/* Close while another thread issues synchronous commands: the thread's command ends
	 * (0, or -ESHUTDOWN once the client is closed), close returns. */
	/* (A VP held in a fast mode is claimed in the driver: another client takes another.) */
	if (ncpus == 1)
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_SEED), 0);
	REQUIRE(sidecar_vp_acquire(c2 = dev_client(), cpus[ncpus > 1], &sync_vp) == 0);
	REQUIRE(pthread_create(&t, NULL, sync_loop, NULL) == 0);
	usleep(100000);
	sidecar_client_close(c2);
	pthread_join(t, NULL);
	CHECK_EQ(sync_rc, -ESHUTDOWN);
	sidecar_vp_release(sync_vp);

	/* Release of a running VP. */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	sidecar_vp_release(vp);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);

	/* Close with every CPU running. */
	struct sidecar_vp *vps[DEV_MAX_CPUS];
	for (unsigned i = 0; i < ncpus; i++) {
		REQUIRE(sidecar_vp_acquire(c, cpus[i], &vps[i]) == 0);
		CHECK_EQ(sidecar_vp_run(vps[i]), 0);
	}
	sidecar_client_close(c);
	for (unsigned i = 0; i < ncpus; i++) {
		CHECK_EQ(sidecar_vp_wait(vps[i], -1, &intercept), -ESHUTDOWN);
		sidecar_vp_release(vps[i]);
	}
	CHECK(dev_wait_quiet(10));

	/* The driver's RUN, interrupted by a signal. */
	int fd = dev_open(0, 0);
	struct mshv_vtl_sidecar_info info = dev_info(fd);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	struct sidecar_command_page *cp = &pages[cpus[0] - info.base_cpu].command_page;
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	cp->command = SIDECAR_COMMAND_RUN_VP;
	cp->request_data[0] = 0xff;
	REQUIRE(pthread_create(&t, NULL, interrupt_later, NULL) == 0);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpus[0]), -EINTR);
	pthread_join(t, NULL);
	CHECK_EQ(cp->request_data[0], 0); /* stopped, no intercept */
	CHECK_EQ(cp->has_error, 0);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);
	cp->command = SIDECAR_COMMAND_NONE;
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpus[0]), 0);
	dev_unmap(pages, &info);
	close(fd);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_cancel");
}
