/* SPDX-License-Identifier: MIT */
/* The spin and futex references (latency_refs.h). */
#include "latency_refs.h"

#include "latency_cpu.h"
#include "latency_loop.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The spin partner's exit value: never a ping-pong value (those count up from 1 and a
 * 64-bit counter does not get there). */
#define SPIN_STOP UINT64_MAX

struct spin_shared {
	alignas(64) _Atomic uint64_t line; /* the one line both sides bounce */
	char pad[64 - sizeof(uint64_t)];
	bool yield; /* both threads share a CPU */
};

struct futex_shared {
	alignas(64) _Atomic uint32_t word;
	/* The exit request, on its own line: read once per wake-up, never in a spin. */
	alignas(64) _Atomic uint32_t stop;
	alignas(64) _Atomic uint64_t partner_wakes; /* the partner's FUTEX_WAKE calls */
};

struct futex_client {
	struct futex_shared *sh;
	uint32_t next; /* the next (odd) value the client writes */
	uint64_t wakes, sleeps, polled;
};

struct spin_client {
	struct spin_shared *sh;
	uint64_t next;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, NULL, NULL, 0);
}

/* ---- spin -------------------------------------------------------------------------------- */

static void *spin_partner(void *arg)
{
	struct spin_shared *sh = arg;

	for (uint64_t expect = 1;; expect += 2) {
		uint64_t v;
		while ((v = atomic_load_explicit(&sh->line, memory_order_acquire)) != expect) {
			if (v == SPIN_STOP)
				return NULL;
			if (sh->yield)
				sched_yield();
			else
				cpu_relax();
		}
		atomic_store_explicit(&sh->line, expect + 1, memory_order_release);
	}
}

static int spin_round_trip(void *arg)
{
	struct spin_client *x = arg;
	struct spin_shared *sh = x->sh;
	uint64_t v = x->next;

	atomic_store_explicit(&sh->line, v, memory_order_release);
	while (atomic_load_explicit(&sh->line, memory_order_acquire) != v + 1) {
		if (sh->yield)
			sched_yield();
		else
			cpu_relax();
	}
	x->next = v + 2;
	return 0;
}

/* ---- futex ------------------------------------------------------------------------------- */

static void *futex_partner(void *arg)
{
	struct futex_shared *sh = arg;

	/* Unsigned wrap-around is harmless: strict alternation, equality tests only. */
	for (uint32_t expect = 1;; expect += 2) {
		uint32_t v;
		while ((v = atomic_load_explicit(&sh->word, memory_order_acquire)) != expect)
			futex(&sh->word, FUTEX_WAIT_PRIVATE, v);
		if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
			return NULL;
		/* Counted before the store: the client cannot finish its round trip (and read
		 * the counter) before this wake is counted. */
		atomic_fetch_add_explicit(&sh->partner_wakes, 1, memory_order_relaxed);
		atomic_store_explicit(&sh->word, expect + 1, memory_order_release);
		futex(&sh->word, FUTEX_WAKE_PRIVATE, 1);
	}
}

static int futex_round_trip(void *arg)
{
	struct futex_client *x = arg;
	struct futex_shared *sh = x->sh;
	uint32_t v = x->next;
	bool slept = false;

	atomic_store_explicit(&sh->word, v, memory_order_release);
	futex(&sh->word, FUTEX_WAKE_PRIVATE, 1);
	x->wakes++;
	while (atomic_load_explicit(&sh->word, memory_order_acquire) != v + 1) {
		/* 0: it slept (and was woken); EAGAIN: the value changed first. */
		if (futex(&sh->word, FUTEX_WAIT_PRIVATE, v) == 0)
			slept = true;
	}
	if (slept)
		x->sleeps++;
	else
		x->polled++;
	x->next = v + 2;
	return 0;
}

/* ---- shared driver ----------------------------------------------------------------------- */

static int start_partner(pthread_t *t, int cpu, void *(*fn)(void *), void *arg, const char *name)
{
	pthread_attr_t attr;
	int rc;

	pthread_attr_init(&attr);
	rc = lat_pin_attr(&attr, cpu);
	if (rc == 0)
		rc = -pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc)
		fprintf(stderr, "sidecar-latency: %s reference: cannot start the partner thread on CPU %d: %s\n", name,
			cpu, strerror(-rc));
	return rc;
}

int lat_measure_spin(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r)
{
	static struct spin_shared sh;
	struct spin_client x = {.sh = &sh, .next = 1};
	pthread_t t;

	atomic_store(&sh.line, 0);
	sh.yield = client_cpu == partner_cpu;
	if (start_partner(&t, partner_cpu, spin_partner, &sh, "spin"))
		return LAT_EXIT_FAIL;
	lat_loop_warmup(b, spin_round_trip, &x, &r->warmup);
	lat_loop_measure(b, spin_round_trip, &x, sh.yield ? "spin reference (yielding)" : "spin reference", r);
	atomic_store_explicit(&sh.line, SPIN_STOP, memory_order_release);
	pthread_join(t, NULL);

	/* Every completion is found by spinning; nobody signals or sleeps. */
	struct lat_counters c = {.polled = r->iterations};
	lat_result_set_counters(r, &c);
	return LAT_EXIT_OK;
}

int lat_measure_futex(int client_cpu, int partner_cpu, const struct lat_budget *b, struct lat_result *r)
{
	static struct futex_shared sh;
	struct futex_client x = {.sh = &sh, .next = 1};
	pthread_t t;

	(void)client_cpu; /* the caller's thread is already there */
	atomic_store(&sh.word, 0);
	atomic_store(&sh.stop, 0);
	atomic_store(&sh.partner_wakes, 0);
	if (start_partner(&t, partner_cpu, futex_partner, &sh, "futex"))
		return LAT_EXIT_FAIL;
	lat_loop_warmup(b, futex_round_trip, &x, &r->warmup);

	struct futex_client before = x;
	uint64_t pw0 = atomic_load_explicit(&sh.partner_wakes, memory_order_relaxed);
	lat_loop_measure(b, futex_round_trip, &x, "futex reference", r);
	uint64_t pw1 = atomic_load_explicit(&sh.partner_wakes, memory_order_relaxed);

	/* Stop: the flag first, then the value the partner waits for (release: it sees
	 * the flag once it sees the value). */
	atomic_store_explicit(&sh.stop, 1, memory_order_relaxed);
	atomic_store_explicit(&sh.word, x.next, memory_order_release);
	futex(&sh.word, FUTEX_WAKE_PRIVATE, 1);
	pthread_join(t, NULL);

	struct lat_counters c = {
		.request_signals = x.wakes - before.wakes,
		.response_signals = pw1 - pw0,
		.sleeps = x.sleeps - before.sleeps,
		.polled = x.polled - before.polled,
	};
	lat_result_set_counters(r, &c);
	return LAT_EXIT_OK;
}
