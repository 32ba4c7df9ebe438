/* SPDX-License-Identifier: MIT */
/*
 * Round trips under random delays, for tests/test_delays.c (the simulator) and
 * tests/device/dev_fast_delays.c (the device): a delay (mostly none; sometimes a short spin,
 * a yield or a real sleep) at every delay point of the client's run/wait path (the library's
 * delay hook, runtime/internal.h: RT_DELAY), counted per point, and round trips of one VP in
 * one wait mode with a thread cancelling at random. Poll windows are short so that both sides
 * often sleep; every wait has a 30 s bound, and a timeout (a lost wake-up) is a failure. Each
 * run carries a tag (RAX, echoed by the io guest), so a completion delivered to the wrong run
 * is caught.
 *
 *	client->delay_ctx = NULL;
 *	client->delay_hook = delays_client_hook;
 *	delays_round_trips(client, cpu, SIDECAR_WAIT_POLL, n);
 *	for (int i = 0; i < RT_DELAY_POINTS; i++)
 *		CHECK(delays_client[i] > 0);
 *
 * Header-only, as check.h: the device programs are compiled alone (scripts/vm-test.sh).
 */
#ifndef SIDECAR_TESTS_DELAYS_H
#define SIDECAR_TESTS_DELAYS_H

#include "../check.h"
#include "internal.h" /* runtime/: the client's delay hook */

#include <sidecar/client.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* The random sequence's seed (each thread's sequence mixes in an address of its own). */
static uint64_t delays_seed = 1;
static _Thread_local uint64_t delays_rng;

/* The delays injected so far at each client-side point, and the points' names. */
static _Atomic uint64_t delays_client[RT_DELAY_POINTS];
static const char *const delays_client_names[RT_DELAY_POINTS] = {"post-claimed",   "post-rung",  "wait-waiter",
								 "wait-announced", "wait-woken", "hook-before-cas",
								 "collect",        "cancel"};

static inline uint64_t delays_rnd(void)
{
	if (!delays_rng)
		delays_rng = delays_seed * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&delays_rng;
	delays_rng ^= delays_rng >> 12;
	delays_rng ^= delays_rng << 25;
	delays_rng ^= delays_rng >> 27;
	return delays_rng * 0x2545f4914f6cdd1dull;
}

/* Mostly nothing; sometimes a short spin, a yield, or a real sleep. Whether it delayed. */
static inline bool delays_random(void)
{
	uint64_t r = delays_rnd() % 1000;

	if (r < 700)
		return false;
	if (r < 930) {
		for (uint64_t i = delays_rnd() % 400; i > 0; i--)
			__builtin_ia32_pause();
	} else if (r < 990) {
		sched_yield();
	} else {
		usleep((useconds_t)(1 + delays_rnd() % 50));
	}
	return true;
}

/* The client's delay hook (struct sidecar_client: delay_hook, with delay_ctx NULL). */
static inline void delays_client_hook(void *ctx, enum rt_delay_point point)
{
	(void)ctx;
	if (delays_random())
		atomic_fetch_add_explicit(&delays_client[point], 1, memory_order_relaxed);
}

/* Prints " name=count" for every client-side point. */
static inline void delays_client_print(void)
{
	for (int i = 0; i < RT_DELAY_POINTS; i++)
		printf(" %s=%llu", delays_client_names[i], (unsigned long long)delays_client[i]);
}

/* The VP is set before the thread starts and released after it is joined. */
struct delays_canceller {
	struct sidecar_vp *vp;
	_Atomic bool stop;
};

/* Cancels whatever runs, now and then, until `stop`. */
static inline void *delays_cancel_loop(void *arg)
{
	struct delays_canceller *c = arg;

	while (!atomic_load(&c->stop)) {
		CHECK_EQ(sidecar_vp_cancel(c->vp), 0);
		usleep((useconds_t)(delays_rnd() % 300));
	}
	return NULL;
}

static inline uint64_t delays_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* `n` round trips of `cpu`'s VP in `mode` (poll windows of 2 us), with a canceller; prints
 * what they did. */
static inline void delays_round_trips(struct sidecar_client *c, unsigned cpu, enum sidecar_wait_mode mode, uint64_t n)
{
	struct sidecar_vp *vp;
	pthread_t t;
	uint64_t intercepts = 0, tag = (uint64_t)mode << 40;

	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	if (mode == SIDECAR_WAIT_POLL || mode == SIDECAR_WAIT_ADAPTIVE)
		REQUIRE(sidecar_vp_set_poll_ns(vp, 2000, 2000) == 0);
	struct delays_canceller canc = {.vp = vp};
	REQUIRE(pthread_create(&t, NULL, delays_cancel_loop, &canc) == 0);
	uint64_t t0 = delays_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		bool intercept = false;
		sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = ++tag;
		int rc = sidecar_vp_run(vp);
		if (rc) {
			CHECK_EQ(rc, 0);
			break;
		}
		rc = sidecar_vp_wait(vp, 30000000000ll, &intercept);
		if (rc) {
			fprintf(stderr, "%s: round trip %llu: %s\n", sidecar_wait_mode_name(mode),
				(unsigned long long)i, sidecar_strerror(rc));
			CHECK_EQ(rc, 0); /* -ETIMEDOUT here is a lost wake-up */
			break;
		}
		if (intercept) {
			const struct hv_x64_io_port_intercept_message *io =
				(const void *)sidecar_vp_intercept_message(vp)->payload;
			CHECK_EQ(io->rax, tag);
			intercepts++;
		}
	}
	atomic_store(&canc.stop, true);
	pthread_join(t, NULL);
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	printf("%-8s %8llu round trips in %5llu ms: %llu intercepts, %llu cancels, %llu sleeps, %llu polled, "
	       "%llu request / %llu response signals\n",
	       sidecar_wait_mode_name(mode), (unsigned long long)n,
	       (unsigned long long)((delays_now_ns() - t0) / 1000000), (unsigned long long)intercepts,
	       (unsigned long long)st.cancels, (unsigned long long)st.sleeps, (unsigned long long)st.polled_completions,
	       (unsigned long long)st.request_signals, (unsigned long long)st.response_signals);
	sidecar_vp_release(vp);
}

#endif
