/* SPDX-License-Identifier: MIT */
/* The client's event fd: readable while any VP has finished and not been collected. */
#include "internal.h"
#include "sidecar_atomic.h"

#include <sched.h>
#include <unistd.h>

static bool seed_finished(const struct rt_seed_slot *slot)
{
	return atomic_load(&((struct rt_seed_slot *)slot)->state) == SEED_FINISHED;
}

static bool vp_finished(struct sidecar_vp *vp)
{
	if (vp_mode(vp) == SIDECAR_WAIT_SEED)
		return seed_finished(vp->seed);
	return (atomic_load(&vp->state) & VP_STATE_MASK) == VP_FINISHED;
}

/* Where a VP's "counted" mark lives: its seed slot in SEED mode (the node task reports a
 * seed run through the slot), the accessor otherwise. */
static _Atomic bool *counted_of(struct sidecar_vp *vp)
{
	return vp_mode(vp) == SIDECAR_WAIT_SEED ? &vp->seed->ev_counted : &vp->ev_counted;
}

/*
 * The count and the fd, without a lock (the completion hook runs on the sidecar CPU and must
 * not block):
 *
 *   ev_finished  how many VPs are counted (ev_counted set): the VPs in FINISHED that their
 *                owner has not collected, give or take a transition in flight;
 *   the fd       readable iff ev_finished > 0, once every transition has settled.
 *
 * Counting. Whoever moves a VP into FINISHED (the hook, the seed task) or sees it there
 * (arming) sets ev_counted with an exchange and, if it was clear, adds one; then re-checks
 * that the VP is still FINISHED and, if it is not (its owner collected it in between), takes
 * the count back the same way. The collector, after its own transition out of FINISHED,
 * clears ev_counted with an exchange and, if it was set, subtracts one. Every exchange and
 * re-check is seq_cst, so whichever of a counter and a collector comes second sees the
 * other's work: a VP ends counted iff it ends FINISHED.
 *
 * A hook that finished a VP counts it after its CAS; were the owner to collect the VP in
 * between, the count would appear for a VP already collected and be taken back by the
 * hook's re-check a moment later: the fd readable for nothing, briefly. So the hook
 * announces itself (hook_busy) before its CAS while an event loop is armed, and the owner,
 * collecting a VP from FINISHED, waits for it (a few instructions: runtime/vp_wait.c,
 * wait_hook); the seed task counts under the slot's lock, which its collector takes too.
 * What remains is the arming itself racing a completion (counted by the arming scan and
 * taken back on its re-check), once per client.
 *
 * Settling the fd. After changing the count, a thread marks the fd dirty and tries to become
 * the settler (an exchange on ev_busy). The settler, while the fd is dirty, clears the mark,
 * reads the count and writes or drains the eventfd to match it (ev_level is what it last
 * made the fd); then it lets go and looks at the mark again. A thread that cannot become the
 * settler just leaves: the settler sees its mark, or, if it already let go, the mark is seen
 * by its own second look at it. The completion hook never waits for anybody. The owner
 * collecting a VP (and arming) waits for a settler at work, a few instructions and one
 * non-blocking eventfd call, and then settles itself; if another settler took its mark
 * first, it waits until that settler lets go, since the mark is cleared before the fd is
 * made to match. So when sidecar_vp_wait or try_wait returns, the fd already says whether
 * anything else is left to collect.
 */
/* One settler's turn, entered holding ev_busy: make the fd match the count while anybody
 * marks it dirty, then let go. */
static void settle_turn(struct sidecar_client *c)
{
	while (atomic_exchange_explicit(&c->ev_dirty, 0, memory_order_seq_cst)) {
		bool want = atomic_load_explicit(&c->ev_finished, memory_order_seq_cst) != 0;
		if (want == c->ev_level)
			continue;
		uint64_t v = 1;
		ssize_t r = want ? write(c->event_fd, &v, sizeof(v)) : read(c->event_fd, &v, sizeof(v));
		(void)r; /* EAGAIN: the counter is already where we want it */
		c->ev_level = want;
	}
	/* Release: our ev_level is the next settler's; pairs with the acquire exchange or load
	 * of ev_busy by the next settler or a waiter. */
	atomic_store_explicit(&c->ev_busy, 0, memory_order_release);
}

void rt_event_settle(struct sidecar_client *c, bool wait)
{
	atomic_store_explicit(&c->ev_dirty, 1, memory_order_seq_cst);
	for (unsigned spins = 0;;) {
		if (!atomic_load_explicit(&c->ev_dirty, memory_order_seq_cst)) {
			/* Our mark was taken. A waiter also waits for whoever took it to finish its
			 * eventfd call: the mark is cleared before the fd is made to match. Acquire:
			 * pairs with the release that ends a settler's turn. */
			if (!wait || !atomic_load_explicit(&c->ev_busy, memory_order_acquire))
				return;
		} else if (!atomic_exchange_explicit(&c->ev_busy, 1, memory_order_seq_cst)) {
			settle_turn(c);
			continue;
		} else if (!wait) {
			return; /* the settler will see our mark */
		}
		if (++spins % 64)
			sc_relax();
		else
			sched_yield(); /* the settler lost its CPU */
	}
}

static bool count(struct sidecar_client *c, _Atomic bool *counted)
{
	if (atomic_exchange_explicit(counted, true, memory_order_seq_cst))
		return false;
	atomic_fetch_add_explicit(&c->ev_finished, 1, memory_order_seq_cst);
	return true;
}

static bool uncount(struct sidecar_client *c, _Atomic bool *counted)
{
	if (!atomic_exchange_explicit(counted, false, memory_order_seq_cst))
		return false;
	atomic_fetch_sub_explicit(&c->ev_finished, 1, memory_order_seq_cst);
	return true;
}

/* Counts `vp` if it is FINISHED, for as long as it stays so. */
bool rt_event_count_if_finished(struct sidecar_vp *vp)
{
	_Atomic bool *counted = counted_of(vp);

	if (!vp_finished(vp) || !count(vp->client, counted))
		return false;
	if (!vp_finished(vp))
		uncount(vp->client,
			counted); /* collected meanwhile: its collector may have found nothing to take back */
	return true;
}

void rt_event_seed_finished(struct sidecar_client *c, struct rt_seed_slot *slot)
{
	if (!atomic_load_explicit(&c->event_armed, memory_order_seq_cst))
		return;
	if (!seed_finished(slot) || !count(c, &slot->ev_counted))
		return;
	if (!seed_finished(slot))
		uncount(c, &slot->ev_counted);
	rt_event_settle(c, false);
}

void rt_event_finished(struct sidecar_vp *vp, int delta)
{
	struct sidecar_client *c = vp->client;

	/* seq_cst: pairs with the exchange of event_armed in sidecar_client_event_fd (the
	 * caller's transition came before, also seq_cst). */
	if (!atomic_load_explicit(&c->event_armed, memory_order_seq_cst))
		return;
	if (delta > 0 ? rt_event_count_if_finished(vp) : uncount(c, counted_of(vp)))
		rt_event_settle(c, delta < 0);
}
