/* SPDX-License-Identifier: MIT */
/*
 * The run/wait hot path of the fast modes (FUTEX, POLL, ADAPTIVE): post a command through
 * the fast line, wait for its completion by polling and/or sleeping on the VP's state word,
 * and the completion hook the driver's response IPI runs. No lock, no allocation, and a
 * system call only to wake a parked sidecar CPU or to sleep (docs/runtime.md,
 * docs/fast-path.md).
 *
 * The handshakes with the sidecar kernel (kernel/core/park.c has the other halves):
 *
 *   request   we: request_seq = n (xchg); load sidecar_flags;
 *                 kick only if PARKED (SUPPRESS), always otherwise.
 *             it: sidecar_flags |= PARKED (RMW); re-check request_seq; halt.
 *   response  we: client_flags = SLEEPING (xchg); re-check done_seq; sleep.
 *             it: done_seq = n; if SLEEPING, IPI -> rt_fast_notify.
 *   removal   it: sidecar_flags |= LEAVING; a visible request is completed ("cpu removed"
 *                 if it was not served); sidecar_flags |= GONE.
 *             we: after posting, LEAVING: wait for GONE; completed (done_seq) -> posted,
 *                 else nobody will serve it: -ENOENT.
 *
 * Dekker's argument for each pair: both sides store, then a full barrier, then load the
 * other's flag (sidecar_atomic.h), so one load follows the other side's store and sees it;
 * nobody sleeps through a signal it needed. (On x86 the stores are xchg or locked RMWs: full
 * barriers; the loads are plain.)
 */
#include "futex.h"
#include "internal.h"
#include "sidecar_atomic.h"
#include "sidecar_poll.h"

#include <sched.h>

/* Acquire: pairs with the kernel's release store of done_seq, making the command's results
 * (the page, and the intercept/has_error copies in the fast line) visible. */
static inline bool fast_done(const struct sidecar_vp *vp, uint32_t seq)
{
	return sc_load_acquire(&vp->fast->done_seq) == seq;
}

static inline void stat_inc(_Atomic uint64_t *s)
{
	atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* ---- completion bookkeeping ----------------------------------------------------------- */

/* The command `seq` finished and we saw it ourselves: RUNNING[|WAITER](seq) -> STOPPED, or
 * FINISHED(seq) -> STOPPED if the hook got there first. */
/* The completion hook that moved the VP to FINISHED may still be counting it for the event
 * fd (rt_fast_finish): let it finish, so that our uncount finds its count and the fd never
 * stays readable for a VP we collected. It has a few instructions left (and one
 * non-blocking eventfd call); a hook thread preempted for longer than the bound only leaves
 * the fd readable until it settles it itself. Acquire: pairs with the hook's release. */
static void wait_hook(struct sidecar_vp *vp)
{
	uint64_t deadline = 0;

	for (unsigned spins = 0; atomic_load_explicit(&vp->hook_busy, memory_order_acquire); spins++) {
		if (spins < 256) {
			sc_relax();
			continue;
		}
		uint64_t now = sidecar_now_ns();
		if (!deadline)
			deadline = now + 10000000; /* 10 ms */
		else if (now > deadline)
			return;
		sched_yield();
	}
}

static int collect(struct sidecar_vp *vp, uint32_t seq)
{
	RT_DELAY(vp->client, RT_DELAY_COLLECT);
	uint32_t st = vp_state_collect(&vp->state, seq);
	if (!st)
		return -ESHUTDOWN;
	if ((st & VP_STATE_MASK) == VP_FINISHED &&
	    atomic_load_explicit(&vp->client->event_armed, memory_order_relaxed)) {
		wait_hook(vp);
		rt_event_finished(vp, -1);
	}
	return 0;
}

/* Completion hook: the driver's response IPI for this VP, on the sidecar CPU's thread. */
void rt_fast_notify(void *ctx)
{
	struct sidecar_vp *vp = ctx;

	atomic_fetch_add_explicit(&vp->st_response_signals, 1, memory_order_relaxed);
	rt_fast_finish(vp);
}

void rt_fast_finish(struct sidecar_vp *vp)
{
	/* Acquire: pairs with the kernel's release of done_seq (the command's results). */
	uint32_t done = sc_load_acquire(&vp->fast->done_seq);

	/* With an event loop armed, announce the counting to come (seq_cst, before the CAS:
	 * an owner that collects what the CAS finished sees it, collect()). */
	bool armed = atomic_load_explicit(&vp->client->event_armed, memory_order_relaxed);
	if (armed)
		atomic_fetch_add_explicit(&vp->hook_busy, 1, memory_order_seq_cst);
	RT_DELAY(vp->client, RT_DELAY_HOOK_BEFORE_CAS);
	uint32_t st = vp_state_finish(&vp->state, done);
	if (st)
		rt_event_finished(vp, +1);
	if (armed)
		atomic_fetch_sub_explicit(&vp->hook_busy, 1, memory_order_release); /* pairs with wait_hook */
	if (st & VP_WAITER)
		sidecar_futex_wake(&vp->state, 1);
}

/* ---- post --------------------------------------------------------------------------------- */

static void publish_host_cpu(struct sidecar_vp *vp)
{
	int cpu = sched_getcpu();
	uint32_t v = cpu < 0 ? 0 : (uint32_t)cpu + 1;
	if (v != vp->host_cpu_hint) {
		vp->host_cpu_hint = v;
		sc_store_relaxed(&vp->fast->client_host_cpu, v);
	}
}

int rt_fast_post(struct sidecar_vp *vp, uint32_t command)
{
	struct sidecar_fast_line *fast = vp->fast;
	int rc = vp_state_post(&vp->state, vp->seq);
	if (rc)
		return rc;
	uint32_t seq = ++vp->seq;
	RT_DELAY(vp->client, RT_DELAY_POST_CLAIMED);

	/* The line's stores right before the doorbell, none earlier: a store would take the
	 * line from the polling sidecar CPU early, which can read it back before the doorbell. */
	if (command & SIDECAR_FAST_COMMAND_COMPLETE_IO)
		sc_store_relaxed(&fast->io_in_value, vp->io_value);
	sc_store_relaxed(&fast->command, command);
	/* An event loop does not wait here: ask the sidecar for the completion IPI. */
	if ((vp->features & SIDECAR_FAST_F_SUPPRESS) &&
	    atomic_load_explicit(&vp->client->event_armed, memory_order_relaxed))
		sc_store_relaxed(&fast->client_flags, SIDECAR_FAST_CLIENT_SLEEPING);

	/* The doorbell. Release: publishes the command page and the fields above to the
	 * kernel's acquire load of request_seq. The exchange is also the full barrier before
	 * the load of sidecar_flags (pairs with the kernel's PARKED and LEAVING announcements). */
	sc_xchg(&fast->request_seq, seq);
	RT_DELAY(vp->client, RT_DELAY_POST_RUNG);
	uint32_t flags = sc_load_seq(&fast->sidecar_flags);
	if (flags & SIDECAR_FAST_SIDECAR_LEAVING) {
		/* The CPU is leaving. Wait for the end of its last check (a few instructions,
		 * unless it is preempted), then done_seq tells whether it completed this
		 * request (served it, or failed it with "cpu removed"): then it is posted,
		 * and the wait collects it. Else nobody ever will. */
		while (!(sc_load_seq(&fast->sidecar_flags) & SIDECAR_FAST_SIDECAR_GONE))
			sched_yield();
		if (sc_load_acquire(&fast->done_seq) == seq)
			return 0;
		/* Not completed, so no hook can have finished it (a hook finishes done_seq only). */
		uint32_t running = vp_word(seq, VP_RUNNING);
		atomic_compare_exchange_strong_explicit(&vp->state, &running, vp_word(seq, VP_STOPPED),
							memory_order_relaxed, memory_order_relaxed);
		return -ENOENT;
	}
	if (!(vp->features & SIDECAR_FAST_F_SUPPRESS) || (flags & SIDECAR_FAST_SIDECAR_PARKED)) {
		atomic_fetch_add_explicit(&vp->st_request_signals, 1, memory_order_relaxed);
		vp->ops->kick(vp->drv_node, vp->cpu);
	} /* else it polls the doorbell, or is busy and will look before it parks */
	/* Our host CPU, for the sidecar's next choice of a poll window (park.c): after the
	 * doorbell, so that the lookup (a few ns) runs while the sidecar CPU serves the
	 * request, not before it. */
	if (vp->features & SIDECAR_FAST_F_SIDECAR_POLL)
		publish_host_cpu(vp);
	return 0;
}

/* ---- wait ---------------------------------------------------------------------------------- */

/* The window to poll now: 0 when polling cannot help. */
static uint64_t poll_window(struct sidecar_vp *vp)
{
	if (vp_mode(vp) == SIDECAR_WAIT_FUTEX)
		return 0;
	uint64_t w = vp_mode(vp) == SIDECAR_WAIT_POLL ? vp->poll_cap_ns : vp->poll_ns;
	if (w && vp_mode(vp) == SIDECAR_WAIT_ADAPTIVE) {
		/* Sharing a host CPU with the sidecar CPU, we could only delay it. */
		uint32_t side = sc_load_relaxed(&vp->fast->sidecar_host_cpu);
		if (side && side == vp->host_cpu_hint)
			return 0;
	}
	return w;
}

static void clear_sleeping(struct sidecar_vp *vp)
{
	if ((vp->features & SIDECAR_FAST_F_SUPPRESS) &&
	    !atomic_load_explicit(&vp->client->event_armed, memory_order_relaxed))
		sc_store_relaxed(&vp->fast->client_flags, 0);
}

/* Sleep on the state word until the command finishes, the deadline passes or the client
 * closes. */
static int sleep_until_done(struct sidecar_vp *vp, uint32_t seq, uint64_t deadline)
{
	uint32_t running = vp_word(seq, VP_RUNNING);
	uint32_t waiting = running | VP_WAITER;
	uint32_t st = running;
	int rc;

	if (!atomic_compare_exchange_strong_explicit(&vp->state, &st, waiting, memory_order_relaxed,
						     memory_order_relaxed)) {
		if (st & VP_DEAD)
			return -ESHUTDOWN;
		if ((st & ~VP_WAITER) != running)
			return collect(vp, seq); /* FINISHED already */
	}
	RT_DELAY(vp->client, RT_DELAY_WAIT_WAITER);
	if (vp->features & SIDECAR_FAST_F_SUPPRESS) {
		/* Announce, then re-check (below): the seq_cst pair with the kernel's store
		 * of done_seq and load of client_flags. */
		sc_xchg(&vp->fast->client_flags, SIDECAR_FAST_CLIENT_SLEEPING);
	}
	RT_DELAY(vp->client, RT_DELAY_WAIT_ANNOUNCED);
	bool slept = false;
	for (;;) {
		/* seq_cst: the load half of the response Dekker pair (kernel/core/park.c). */
		if (sc_load_seq(&vp->fast->done_seq) == seq) {
			rc = collect(vp, seq);
			break;
		}
		int64_t timeout = -1;
		if (deadline) {
			uint64_t now = sidecar_now_ns();
			if (now >= deadline) {
				/* Give the WAITER bit back; the command keeps running. */
				uint32_t w = waiting;
				atomic_compare_exchange_strong_explicit(&vp->state, &w, running, memory_order_relaxed,
									memory_order_relaxed);
				rc = (w & VP_DEAD) ? -ESHUTDOWN : -ETIMEDOUT;
				if (rc == -ETIMEDOUT && (w & VP_STATE_MASK) == VP_FINISHED)
					rc = collect(vp, seq);
				break;
			}
			timeout = (int64_t)(deadline - now);
		}
		if (!slept) {
			slept = true;
			stat_inc(&vp->st_sleeps);
		}
		if (vp->kernel_wait) {
			/* The driver cannot run the hook here: it wakes our sleep in it when
			 * done_seq reaches seq (the same Dekker pair: it tests done_seq after
			 * queueing us). close() ends it with `wake`. */
			int w = vp->ops->wait_done(vp->drv_node, vp->cpu, seq, timeout);
			if (w > 0) {
				atomic_fetch_add_explicit(&vp->st_response_signals, 1, memory_order_relaxed);
			} else if (w < 0 && w != -EINTR && w != -ETIMEDOUT) {
				/* The driver refused the sleep: give the WAITER bit back (the
				 * command keeps running) rather than spin on the refusal. */
				uint32_t x = waiting;
				atomic_compare_exchange_strong_explicit(&vp->state, &x, running, memory_order_relaxed,
									memory_order_relaxed);
				rc = (x & VP_DEAD) ? -ESHUTDOWN : w;
				if (rc == w && (x & VP_STATE_MASK) == VP_FINISHED)
					rc = collect(vp, seq);
				break;
			}
		} else {
			sidecar_futex_wait(&vp->state, waiting, timeout);
		}
		RT_DELAY(vp->client, RT_DELAY_WAIT_WOKEN);
		st = atomic_load_explicit(&vp->state, memory_order_acquire);
		if (st & VP_DEAD) {
			rc = -ESHUTDOWN;
			break;
		}
		if ((st & VP_STATE_MASK) == VP_FINISHED) {
			rc = collect(vp, seq);
			break;
		}
	}
	clear_sleeping(vp);
	return rc;
}

int rt_fast_wait(struct sidecar_vp *vp, int64_t timeout_ns)
{
	uint32_t seq = vp->seq;
	uint32_t st = atomic_load_explicit(&vp->state, memory_order_relaxed);

	if (st & VP_DEAD)
		return -ESHUTDOWN;
	if ((st & VP_STATE_MASK) == VP_STOPPED)
		return -EINVAL; /* nothing to wait for */
	if (fast_done(vp, seq)) {
		stat_inc(&vp->st_polled);
		return collect(vp, seq);
	}

	uint64_t window = poll_window(vp);
	uint64_t start = 0, deadline = 0, now = 0;
	if (window || timeout_ns >= 0 || vp_mode(vp) == SIDECAR_WAIT_ADAPTIVE)
		start = now = sidecar_now_ns();
	if (timeout_ns >= 0)
		deadline = start + (uint64_t)timeout_ns;
	if (window) {
		uint64_t until = start + window, last = start;
		if (deadline && deadline < until)
			until = deadline;
		for (unsigned spins = 1;; spins++) {
			if (fast_done(vp, seq)) {
				stat_inc(&vp->st_polled);
				return collect(vp, seq);
			}
			sc_relax();
			if ((spins & 31) == 0) {
				if (atomic_load_explicit(&vp->state, memory_order_relaxed) & VP_DEAD)
					return -ESHUTDOWN;
				now = sidecar_now_ns();
				if (now - last > SIDECAR_POLL_PREEMPTED_NS) {
					/* We lost the CPU while polling: someone else needs it. */
					if (vp_mode(vp) == SIDECAR_WAIT_ADAPTIVE)
						vp->poll_ns = 0;
					break;
				}
				last = now;
				if (now >= until)
					break;
			}
		}
	}
	if (deadline && now >= deadline)
		return fast_done(vp, seq) ? collect(vp, seq) : -ETIMEDOUT;
	int rc = sleep_until_done(vp, seq, deadline);
	if (vp_mode(vp) == SIDECAR_WAIT_ADAPTIVE && rc == 0)
		vp->poll_ns = sidecar_poll_adapt(window, sidecar_now_ns() - start, vp->poll_cap_ns);
	return rc;
}

int rt_fast_try(struct sidecar_vp *vp)
{
	uint32_t st = atomic_load_explicit(&vp->state, memory_order_acquire);

	if (st & VP_DEAD)
		return -ESHUTDOWN;
	switch (st & VP_STATE_MASK) {
	case VP_STOPPED:
		return -EINVAL;
	case VP_FINISHED:
		return collect(vp, vp->seq);
	default:
		if (fast_done(vp, vp->seq)) {
			stat_inc(&vp->st_polled);
			return collect(vp, vp->seq);
		}
		return -EAGAIN;
	}
}

/* stop_seq only moves forward: a canceller that read an older sequence and stores late must
 * not overwrite a newer cancel (two cancellers, or a stale one). The CAS is fully ordered
 * (at least release is needed): it orders the stop after what the caller did; the kernel polls it (relaxed), and the kick that
 * follows makes a backend that does not poll (KVM) look. */
void rt_fast_stop_seq(struct sidecar_vp *vp, uint32_t seq)
{
	uint32_t *stop = &vp->fast->stop_seq;
	uint32_t old = sc_load_relaxed(stop);

	while ((int32_t)(seq - old) > 0 && !sc_cmpxchg(stop, &old, seq))
		;
}

/* Any thread. The sequence in the state word names the command to stop: a cancel racing
 * with the next post cannot stop that next command. */
int rt_fast_cancel(struct sidecar_vp *vp)
{
	uint32_t st = atomic_load_explicit(&vp->state, memory_order_acquire);

	if (st & VP_DEAD)
		return -ESHUTDOWN;
	if ((st & VP_STATE_MASK) != VP_RUNNING)
		return 0;
	uint32_t seq = vp_word_seq(st);
	uint32_t full = sc_load_acquire(&vp->fast->request_seq);
	if ((full & VP_SEQ_MASK) != seq) {
		/* The owner moved the word to RUNNING and has not rung the doorbell yet: the
		 * command it is posting is the next one. */
		if (((full + 1) & VP_SEQ_MASK) != seq)
			return 0; /* the word moved on: nothing of ours runs */
		full++;
	}
	RT_DELAY(vp->client, RT_DELAY_CANCEL);
	rt_fast_stop_seq(vp, full);
	atomic_fetch_add_explicit(&vp->st_cancels, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&vp->st_request_signals, 1, memory_order_relaxed);
	vp->ops->kick(vp->drv_node, vp->cpu);
	return 0;
}

bool rt_fast_quiesce(struct sidecar_vp *vp, uint64_t timeout_ns)
{
	uint64_t deadline = sidecar_now_ns() + timeout_ns;
	uint32_t posted = sc_load_acquire(&vp->fast->request_seq);

	while (sc_load_acquire(&vp->fast->done_seq) != posted) {
		if (sidecar_now_ns() > deadline)
			return false;
		if (sc_load_acquire(&vp->fast->sidecar_flags) & SIDECAR_FAST_SIDECAR_GONE)
			return true;
		sched_yield();
	}
	return true;
}
