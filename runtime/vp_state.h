/* SPDX-License-Identifier: MIT */
/*
 * The per-VP state word and its transitions, the one copy that both the runtime
 * (runtime/vp_wait.c) and the benchmark of the state word alone (bench/harness_support.c)
 * run: a benchmark of these functions measures the shipped code.
 */
#ifndef SIDECAR_RUNTIME_VP_STATE_H
#define SIDECAR_RUNTIME_VP_STATE_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The per-VP state word (fast modes: FUTEX, POLL, ADAPTIVE). One 32-bit atomic, also the
 * futex the waiter sleeps on:
 *
 *   bits 0..1  STOPPED | RUNNING | FINISHED
 *   bit  2     WAITER: the owner sleeps (or is about to) on this word
 *   bit  3     DEAD: the client was closed
 *   bits 8..31 the low 24 bits of the sequence of the command in flight (or last run)
 *
 * Legal transitions (s = sequence):
 *   STOPPED(s)          -> RUNNING(s+1)          owner posts a command (vp_post)
 *   RUNNING(s)          -> RUNNING|WAITER(s)     owner is about to sleep
 *   RUNNING|WAITER(s)   -> RUNNING(s)            owner's wait timed out
 *   RUNNING[|WAITER](s) -> FINISHED(s)           completion hook, only if s == done_seq;
 *                                                futex wake iff WAITER was set
 *   RUNNING[|WAITER](s) -> STOPPED(s)            owner saw done_seq == s itself (polling)
 *   FINISHED(s)         -> STOPPED(s)            owner collects
 *   RUNNING(s)          -> STOPPED(s)            owner's post failed (the CPU is gone)
 *   any                 -> any|DEAD              close; then a futex wake
 * Every transition is a CAS (or fetch_or for DEAD). The sequence in the word makes a late
 * completion hook harmless: it can only finish the command it was raised for.
 */
#define VP_STOPPED 0u
#define VP_RUNNING 1u
#define VP_FINISHED 2u
#define VP_STATE_MASK 3u
#define VP_WAITER (1u << 2)
#define VP_DEAD (1u << 3)
#define VP_SEQ_SHIFT 8
#define VP_SEQ_MASK 0xffffffu

static inline uint32_t vp_word(uint32_t seq, uint32_t state)
{
	return ((seq & VP_SEQ_MASK) << VP_SEQ_SHIFT) | state;
}

static inline uint32_t vp_word_seq(uint32_t w)
{
	return w >> VP_SEQ_SHIFT;
}

/* STOPPED(s) -> RUNNING(s + 1): the owner posts a command. Relaxed: the doorbell that
 * follows publishes the command. 0, -EBUSY (not stopped), -ESHUTDOWN (closed). */
static inline int vp_state_post(_Atomic uint32_t *state, uint32_t seq)
{
	uint32_t st = atomic_load_explicit(state, memory_order_relaxed);

	if (st & VP_DEAD)
		return -ESHUTDOWN;
	if ((st & VP_STATE_MASK) != VP_STOPPED)
		return -EBUSY;
	if (!atomic_compare_exchange_strong_explicit(state, &st, vp_word(seq + 1, VP_RUNNING), memory_order_relaxed,
						     memory_order_relaxed))
		return (st & VP_DEAD) ? -ESHUTDOWN : -EBUSY;
	return 0;
}

/* RUNNING[|WAITER](s) -> FINISHED(s), only if s is `done` (the completed sequence): the
 * completion hook. Returns the word it replaced (test it for VP_WAITER: then the owner
 * sleeps and needs a futex wake), or 0 when the word holds another command or state (a late
 * IPI after the owner collected by polling, or after it posted the next command). seq_cst:
 * orders the CAS before the caller's load of event_armed (runtime/event.c). */
static inline uint32_t vp_state_finish(_Atomic uint32_t *state, uint32_t done)
{
	uint32_t st = atomic_load_explicit(state, memory_order_relaxed);

	for (;;) {
		if ((st & VP_STATE_MASK) != VP_RUNNING || vp_word_seq(st) != (done & VP_SEQ_MASK))
			return 0;
		uint32_t fin = (st & ~(VP_STATE_MASK | VP_WAITER)) | VP_FINISHED;
		if (atomic_compare_exchange_weak_explicit(state, &st, fin, memory_order_seq_cst, memory_order_relaxed))
			return st;
	}
}

/* RUNNING[|WAITER](seq) or FINISHED(seq) -> STOPPED(seq): the owner collects the command it
 * saw complete. Acquire: the results were published by done_seq (or by the hook's CAS, which
 * itself follows the hook's acquire of done_seq). Returns the word it replaced, or 0 with
 * the client closed (DEAD). */
static inline uint32_t vp_state_collect(_Atomic uint32_t *state, uint32_t seq)
{
	uint32_t st = atomic_load_explicit(state, memory_order_relaxed);

	for (;;) {
		if (st & VP_DEAD)
			return 0;
		if (atomic_compare_exchange_weak_explicit(state, &st, vp_word(seq, VP_STOPPED), memory_order_acquire,
							  memory_order_relaxed))
			return st;
	}
}

#endif /* SIDECAR_RUNTIME_VP_STATE_H */
