/* SPDX-License-Identifier: MIT */
/*
 * Cancels from another thread, as dev_cancel.c (the default mode) and dev_fast_cancel.c (each
 * fast mode) check them on a VP whose guest never intercepts (guest=spin): only a stop ends
 * a run, so a wait that returns does because a cancel worked.
 */
#ifndef SIDECAR_TESTS_DEVICE_CANCELS_H
#define SIDECAR_TESTS_DEVICE_CANCELS_H

#include "dev_util.h"

#include <pthread.h>
#include <stdatomic.h>

struct dev_cancels {
	struct sidecar_vp *vp;
	unsigned delay_us; /* before the one cancel */
	int idle_rc;       /* what a cancel of a VP that runs nothing may return besides 0 */
	_Atomic bool stop; /* ends the storm */
};

static inline void *dev_cancels_late(void *arg)
{
	struct dev_cancels *c = arg;

	usleep(c->delay_us);
	CHECK_EQ(sidecar_vp_cancel(c->vp), 0);
	return NULL;
}

static inline void *dev_cancels_storm(void *arg)
{
	struct dev_cancels *c = arg;

	while (!atomic_load(&c->stop)) {
		int rc = sidecar_vp_cancel(c->vp);
		if (rc != 0 && rc != c->idle_rc)
			fprintf(stderr, "cancel: %s\n", sidecar_strerror(rc));
		usleep(200);
	}
	return NULL;
}

/* Five times: a run, and a wait without timeout that a cancel from another thread `delay_us`
 * later ends: 0, no intercept. */
static inline void dev_cancel_late(struct sidecar_vp *vp, unsigned delay_us)
{
	struct dev_cancels c = {.vp = vp, .delay_us = delay_us};
	bool intercept;
	pthread_t t;

	for (int i = 0; i < 5; i++) {
		intercept = true;
		CHECK_EQ(sidecar_vp_run(vp), 0);
		REQUIRE(pthread_create(&t, NULL, dev_cancels_late, &c) == 0);
		CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
		CHECK(!intercept);
		pthread_join(t, NULL);
	}
}

/* Synchronous commands (TEST, GET of RIP) while another thread keeps cancelling (a cancel of
 * one is a STOP of its started command): they complete, none hangs. A cancel that returns
 * neither 0 nor `idle_rc` is printed. */
static inline void dev_cancel_storm(struct sidecar_vp *vp, int idle_rc)
{
	struct dev_cancels c = {.vp = vp, .idle_rc = idle_rc};
	pthread_t t;

	REQUIRE(pthread_create(&t, NULL, dev_cancels_storm, &c) == 0);
	for (int i = 0; i < 200; i++) {
		struct hv_register_assoc r = {.name = HV_X64_REGISTER_RIP};
		CHECK_EQ(sidecar_vp_test(vp), 0);
		CHECK_EQ(sidecar_vp_get_registers(vp, 0, &r, 1), 0);
		CHECK_EQ(r.value.reg64, 0xfff0);
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
}

#endif
