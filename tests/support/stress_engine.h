/* SPDX-License-Identifier: MIT */
/*
 * The random-operations stress engine of tests/test_stress.c (the simulator) and
 * tests/device/dev_fast_stress.c (the device): one owner thread per VP doing random
 * sequences of run / wait (with and without timeouts) / try_wait / cancel / run_sync / test /
 * registers / translate / wait-mode switches / release and re-acquire, while a canceller
 * thread cancels VPs at random and reads their statistics. Each run carries a tag in RAX
 * that the io guest echoes in its intercept message: a run collected with another run's
 * results is a failure, as is any result the operation does not allow.
 *
 *	static struct stress st = {.vp_count = 2, .vp_cpu = {1, 2}, .seed = 1, .mode_mask = 0xf};
 *	st.client = ...;
 *	stress_run(&st, seconds);
 *	CHECK(st.total_runs > 0);
 *
 * Header-only, as check.h: the device programs are compiled alone (scripts/vm-test.sh).
 */
#ifndef SIDECAR_TESTS_STRESS_ENGINE_H
#define SIDECAR_TESTS_STRESS_ENGINE_H

#include "../check.h"

#include <sidecar/client.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define STRESS_MAX_VPS 64

struct stress;

/* An owner thread's argument: its engine and its VP's slot. */
struct stress_owner {
	struct stress *st;
	unsigned slot;
};

struct stress {
	/* Set by the caller before stress_run(). */
	struct sidecar_client *client;
	unsigned vp_count;               /* 1 to STRESS_MAX_VPS */
	unsigned vp_cpu[STRESS_MAX_VPS]; /* each slot's CPU */
	uint64_t seed;
	unsigned mode_mask; /* the wait modes used: bit per enum sidecar_wait_mode, not 0 */

	/* Set by stress_run(); `stop` rises when the time is up. */
	_Atomic bool stop;
	_Atomic uint64_t total_ops, total_runs, total_cancelled;
	/*
	 * Each slot's accessor, for the canceller. An owner may release its accessor at any
	 * moment, so the two sides hand over through a Dekker pair per slot: the canceller raises
	 * `busy` then loads the accessor; the owner clears the accessor then waits for `busy` to
	 * drop (all seq_cst). Either the canceller sees NULL or the owner waits.
	 */
	_Atomic(struct sidecar_vp *) held[STRESS_MAX_VPS];
	_Atomic uint32_t busy[STRESS_MAX_VPS];
	struct stress_owner owners[STRESS_MAX_VPS];
};

/* A check that `rc` is one of the values listed. */
#define STRESS_EXPECT_RC(rc, ...)                                                                 \
	do {                                                                                      \
		int ok_ = 0, r_ = (rc), allowed_[] = {__VA_ARGS__};                               \
		for (size_t i_ = 0; i_ < sizeof(allowed_) / sizeof(allowed_[0]); i_++)            \
			ok_ |= r_ == allowed_[i_];                                                \
		if (!ok_) {                                                                       \
			fprintf(stderr, "%s:%d: unexpected rc %d (%s)\n", __FILE__, __LINE__, r_, \
				sidecar_strerror(r_));                                            \
			check_failures++;                                                         \
		}                                                                                 \
	} while (0)

static inline uint64_t stress_rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static inline void stress_tag(struct sidecar_vp *vp, uint64_t *s)
{
	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = stress_rnd(s) | 1;
}

static inline void stress_check_tag(struct sidecar_vp *vp, bool intercept)
{
	if (!intercept)
		return;
	const struct hv_x64_io_port_intercept_message *io = (const void *)sidecar_vp_intercept_message(vp)->payload;
	uint64_t want = sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX];
	if (io->rax != want) {
		fprintf(stderr, "cpu %u (%s): run collected with another run's results (%llx != %llx)\n",
			sidecar_vp_cpu(vp), sidecar_wait_mode_name(sidecar_vp_get_wait_mode(vp)),
			(unsigned long long)io->rax, (unsigned long long)want);
		check_failures++;
	}
}

/* Waits for the VP's current run to end, whatever the mode. */
static inline void stress_finish(struct sidecar_vp *vp, uint64_t *s)
{
	bool intercept = false;
	int rc;

	switch (stress_rnd(s) % 3) {
	case 0:
		STRESS_EXPECT_RC(sidecar_vp_wait(vp, -1, &intercept), 0);
		break;
	case 1:
		while ((rc = sidecar_vp_wait(vp, (int64_t)(stress_rnd(s) % 50000), &intercept)) == -ETIMEDOUT)
			;
		STRESS_EXPECT_RC(rc, 0);
		break;
	default:
		while ((rc = sidecar_vp_try_wait(vp, &intercept)) == -EAGAIN)
			sched_yield();
		STRESS_EXPECT_RC(rc, 0);
		break;
	}
	stress_check_tag(vp, intercept);
}

/* Takes the slot's accessor away from the canceller (see struct stress). */
static inline void stress_unpublish(struct stress *st, unsigned slot)
{
	atomic_store(&st->held[slot], NULL);
	while (atomic_load(&st->busy[slot]))
		sched_yield();
}

/* A fresh VP starts in ADAPTIVE: when the mask leaves it out, in the first mode of the mask. */
static inline void stress_first_mode(struct stress *st, struct sidecar_vp *vp)
{
	if (!(st->mode_mask & (1u << SIDECAR_WAIT_ADAPTIVE)))
		REQUIRE(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)__builtin_ctz(st->mode_mask)) == 0);
}

/* Release while running (it is cancelled and waited), then re-acquire. */
static inline void stress_reacquire(struct stress *st, unsigned slot, struct sidecar_vp **vp, uint64_t *s)
{
	if (stress_rnd(s) & 1) {
		STRESS_EXPECT_RC(sidecar_vp_run(*vp), 0);
		atomic_fetch_add(&st->total_runs, 1);
	}
	stress_unpublish(st, slot);
	enum sidecar_wait_mode was = sidecar_vp_get_wait_mode(*vp);
	sidecar_vp_release(*vp);
	int arc = sidecar_vp_acquire(st->client, st->vp_cpu[slot], vp);
	if (arc) {
		/* Diagnose: does the CPU become free later (a release that returned early), or
		 * never (an abandoned VP)? */
		int later = arc, tries = 0;
		while (later == -EBUSY && tries++ < 500) {
			usleep(10000);
			later = sidecar_vp_acquire(st->client, st->vp_cpu[slot], vp);
		}
		fprintf(stderr, "re-acquire of cpu %u (released in mode %d): %s; after %d x 10 ms: %s\n",
			st->vp_cpu[slot], (int)was, sidecar_strerror(arc), tries, sidecar_strerror(later));
	}
	REQUIRE(arc == 0);
	stress_first_mode(st, *vp);
	atomic_store(&st->held[slot], *vp);
}

/* One VP's owner: random operations until `stop`. */
static inline void *stress_owner(void *arg)
{
	struct stress_owner *o = arg;
	struct stress *st = o->st;
	unsigned slot = o->slot;
	uint64_t s = st->seed * 0x9e3779b97f4a7c15ull + slot + 1;
	struct sidecar_vp *vp;
	struct hv_register_assoc regs[40];
	struct hv_translate_virtual_address_ex_output_x64 out;
	bool intercept;

	REQUIRE(sidecar_vp_acquire(st->client, st->vp_cpu[slot], &vp) == 0);
	atomic_store(&st->held[slot], vp);
	stress_first_mode(st, vp);
	while (!atomic_load(&st->stop)) {
		atomic_fetch_add(&st->total_ops, 1);
		switch (stress_rnd(&s) % 12) {
		case 0:
		case 1:
		case 2:
			stress_tag(vp, &s);
			STRESS_EXPECT_RC(sidecar_vp_run(vp), 0);
			atomic_fetch_add(&st->total_runs, 1);
			stress_finish(vp, &s);
			break;
		case 3:
			stress_tag(vp, &s);
			STRESS_EXPECT_RC(sidecar_vp_run(vp), 0);
			atomic_fetch_add(&st->total_runs, 1);
			STRESS_EXPECT_RC(sidecar_vp_run(vp), -EBUSY);
			STRESS_EXPECT_RC(sidecar_vp_cancel(vp), 0);
			atomic_fetch_add(&st->total_cancelled, 1);
			stress_finish(vp, &s);
			break;
		case 4:
			stress_tag(vp, &s);
			STRESS_EXPECT_RC(sidecar_vp_run_sync(vp, &intercept), 0);
			stress_check_tag(vp, intercept);
			atomic_fetch_add(&st->total_runs, 1);
			break;
		case 5:
			STRESS_EXPECT_RC(sidecar_vp_test(vp), 0);
			break;
		case 6: {
			size_t n = 1 + stress_rnd(&s) % 40;
			for (size_t i = 0; i < n; i++) {
				regs[i].name = HV_X64_REGISTER_R8 + (uint32_t)(i % 8);
				regs[i].value.reg64 = stress_rnd(&s);
			}
			STRESS_EXPECT_RC(sidecar_vp_set_registers(vp, 0, regs, n), 0);
			STRESS_EXPECT_RC(sidecar_vp_get_registers(vp, 0, regs, n), 0);
			break;
		}
		case 7:
			STRESS_EXPECT_RC(
				sidecar_vp_translate_gva(vp, stress_rnd(&s) % 64, HV_TRANSLATE_GVA_VALIDATE_READ, &out),
				0);
			break;
		case 8:
		case 9: {
			unsigned m;
			do
				m = (unsigned)(stress_rnd(&s) % 4);
			while (!(st->mode_mask & (1u << m)));
			STRESS_EXPECT_RC(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)m), 0);
			break;
		}
		case 10:
			stress_reacquire(st, slot, &vp, &s);
			break;
		default:
			STRESS_EXPECT_RC(sidecar_vp_try_wait(vp, &intercept), -EINVAL); /* nothing running */
			break;
		}
	}
	stress_unpublish(st, slot);
	sidecar_vp_release(vp);
	return NULL;
}

/* Cancels and reads statistics of VPs owned by other threads, until `stop`. */
static inline void *stress_canceller(void *arg)
{
	struct stress *st = arg;
	uint64_t s = st->seed ^ 0xabcdef;

	while (!atomic_load(&st->stop)) {
		unsigned slot = (unsigned)(stress_rnd(&s) % st->vp_count);
		atomic_store(&st->busy[slot], 1);
		struct sidecar_vp *vp = atomic_load(&st->held[slot]);
		if (vp) {
			struct sidecar_vp_stats stats;
			sidecar_vp_get_stats(vp, &stats);
			STRESS_EXPECT_RC(sidecar_vp_cancel(vp), 0);
		}
		atomic_store(&st->busy[slot], 0);
		struct timespec ts = {0, (long)(stress_rnd(&s) % 200000)};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The owners and the canceller on st->client for `seconds`; returns once they are joined,
 * with the totals printed. */
static inline void stress_run(struct stress *st, unsigned seconds)
{
	pthread_t owners[STRESS_MAX_VPS], cancel_thread;

	for (unsigned i = 0; i < st->vp_count; i++) {
		st->owners[i] = (struct stress_owner){st, i};
		REQUIRE(pthread_create(&owners[i], NULL, stress_owner, &st->owners[i]) == 0);
	}
	REQUIRE(pthread_create(&cancel_thread, NULL, stress_canceller, st) == 0);
	sleep(seconds);
	atomic_store(&st->stop, true);
	for (unsigned i = 0; i < st->vp_count; i++)
		pthread_join(owners[i], NULL);
	pthread_join(cancel_thread, NULL);
	printf("stress: %llu operations, %llu runs, %llu cancelled runs\n", (unsigned long long)st->total_ops,
	       (unsigned long long)st->total_runs, (unsigned long long)st->total_cancelled);
}

#endif
