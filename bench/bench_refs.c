/* SPDX-License-Identifier: MIT */
/* The spin and futex references (bench_refs.h). */
#include "bench_refs.h"

#include "bench_cpu.h"
#include "futex.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The spin partner's exit value: never a ping-pong value (those count up from 1 and a
 * 64-bit counter does not get there). */
#define SPIN_STOP UINT64_MAX

struct bench_ref {
	/* The one line both sides bounce (spin: `line`, futex: `word`). */
	alignas(64) _Atomic uint64_t line;
	_Atomic uint32_t word;
	/* The futex exit request, on its own line: read once per wake-up, never in a spin. */
	alignas(64) _Atomic uint32_t stop;
	alignas(64) _Atomic uint64_t partner_wakes; /* the futex partner's FUTEX_WAKE calls */
	/* Set before the partner starts, read-only after: both sides read them in their
	 * loops, so nothing written in a round trip may share their line. */
	alignas(64) enum bench_ref_kind kind;
	bool yield;
	/* The client's side, touched by the client thread only. */
	alignas(64) uint64_t next; /* the next (odd) value the client writes */
	uint64_t wakes, sleeps, polled;
	pthread_t partner;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* ---- spin -------------------------------------------------------------------------------- */

static void *spin_partner(void *arg)
{
	struct bench_ref *r = arg;

	for (uint64_t expect = 1;; expect += 2) {
		uint64_t v;
		while ((v = atomic_load_explicit(&r->line, memory_order_acquire)) != expect) {
			if (v == SPIN_STOP)
				return NULL;
			if (r->yield)
				sched_yield();
			else
				cpu_relax();
		}
		atomic_store_explicit(&r->line, expect + 1, memory_order_release);
	}
}

static void spin_round_trip(struct bench_ref *r)
{
	uint64_t v = r->next;

	atomic_store_explicit(&r->line, v, memory_order_release);
	while (atomic_load_explicit(&r->line, memory_order_acquire) != v + 1) {
		if (r->yield)
			sched_yield();
		else
			cpu_relax();
	}
	r->next = v + 2;
	r->polled++;
}

/* ---- futex ------------------------------------------------------------------------------- */

static void *futex_partner(void *arg)
{
	struct bench_ref *r = arg;

	/* Unsigned wrap-around is harmless: strict alternation, equality tests only. */
	for (uint32_t expect = 1;; expect += 2) {
		uint32_t v;
		while ((v = atomic_load_explicit(&r->word, memory_order_acquire)) != expect)
			sidecar_futex_wait(&r->word, v, -1);
		if (atomic_load_explicit(&r->stop, memory_order_relaxed))
			return NULL;
		/* Counted before the store: the client cannot finish its round trip (and read
		 * the counter) before this wake is counted. */
		atomic_fetch_add_explicit(&r->partner_wakes, 1, memory_order_relaxed);
		atomic_store_explicit(&r->word, expect + 1, memory_order_release);
		sidecar_futex_wake(&r->word, 1);
	}
}

static void futex_round_trip(struct bench_ref *r)
{
	uint32_t v = (uint32_t)r->next;
	bool slept = false;

	atomic_store_explicit(&r->word, v, memory_order_release);
	sidecar_futex_wake(&r->word, 1);
	r->wakes++;
	while (atomic_load_explicit(&r->word, memory_order_acquire) != v + 1) {
		/* 0: it slept (and was woken); -EAGAIN: the value changed first. */
		if (sidecar_futex_wait(&r->word, v, -1) == 0)
			slept = true;
	}
	if (slept)
		r->sleeps++;
	else
		r->polled++;
	r->next = v + 2;
}

/* ---- both -------------------------------------------------------------------------------- */

int bench_ref_start(enum bench_ref_kind kind, int partner_cpu, bool yield, struct bench_ref **out)
{
	size_t size = (sizeof(struct bench_ref) + 63) & ~(size_t)63;
	struct bench_ref *r = aligned_alloc(64, size);
	pthread_attr_t attr;
	int rc = 0;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	memset(r, 0, size);
	atomic_init(&r->line, 0);
	atomic_init(&r->word, 0);
	atomic_init(&r->stop, 0);
	atomic_init(&r->partner_wakes, 0);
	r->kind = kind;
	r->yield = yield;
	r->next = 1;

	pthread_attr_init(&attr);
	if (partner_cpu >= 0)
		rc = bench_pin_attr(&attr, partner_cpu);
	if (rc == 0)
		rc = -pthread_create(&r->partner, &attr, kind == BENCH_REF_SPIN ? spin_partner : futex_partner, r);
	pthread_attr_destroy(&attr);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int bench_ref_round_trip(void *ref)
{
	struct bench_ref *r = ref;

	if (r->kind == BENCH_REF_SPIN)
		spin_round_trip(r);
	else
		futex_round_trip(r);
	return 0;
}

void bench_ref_get_counts(const struct bench_ref *r, struct bench_ref_counts *out)
{
	out->request_signals = r->wakes;
	out->response_signals = atomic_load_explicit(&r->partner_wakes, memory_order_relaxed);
	out->sleeps = r->sleeps;
	out->polled = r->polled;
}

void bench_ref_stop(struct bench_ref *r)
{
	if (!r)
		return;
	if (r->kind == BENCH_REF_SPIN) {
		atomic_store_explicit(&r->line, SPIN_STOP, memory_order_release);
	} else {
		/* The flag first, then the value the partner waits for (release: it sees the
		 * flag once it sees the value). */
		atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
		atomic_store_explicit(&r->word, (uint32_t)r->next, memory_order_release);
		sidecar_futex_wake(&r->word, 1);
	}
	pthread_join(r->partner, NULL);
	free(r);
}
