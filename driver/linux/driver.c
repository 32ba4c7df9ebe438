// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The driver: upstream's mshv_vtl_sidecar per node (claims, START/STOP/RUN, finished-CPU
 * reporting, the response IPI's handler), over sidecar CPUs that are kernel threads of this
 * module (boot.c), plus a release handler.
 *
 * Differences from upstream, on purpose (docs/linux-driver.md):
 *  - the start/scan race is closed with a STARTING claim, the STOP ABA with STOP_POSTING
 *    (sidecar_drv.h);
 *  - a claim names the open file that holds it: a file's release stops and returns every
 *    claim it held (upstream has no release handler and leaks them), read() and poll()
 *    report only the caller's own finished runs, STOP of another file's run is -EBUSY;
 *  - START and RUN of a CPU that is not the sidecar kernel's (the node's base CPU, a gap)
 *    fail with -ENOENT (upstream warns, returns 0 and the run never completes);
 *  - RUN interrupted by a signal waits out its STOP for a bounded time only and returns
 *    -EINTR, never restarted (the command page's command was consumed; its results are in
 *    the page); -ETIMEDOUT when the CPU did not stop in time (the VP stays busy, as an
 *    ORPHAN claim, until it does).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sidecar_drv.h"

#include <linux/jiffies.h>
#include <linux/pagemap.h>
#include <linux/preempt.h>
#include <linux/printk.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

/*
 * How long an interrupted RUN, and a closing file, wait for a stopped CPU to go IDLE. A
 * sidecar CPU answers a STOP within microseconds; this only bounds a broken one.
 */
#define SIDECAR_STOP_TIMEOUT (5 * HZ)

static u8 *status_of(struct sidecar_node *n, u32 index)
{
	return &n->control->cpu_status[index];
}

static bool cpu_idle(struct sidecar_node *n, u32 index)
{
	/*
	 * Acquire: pairs with the core's store-release (sc_store_mb) of IDLE, so the command's
	 * results in the shared pages are complete when the caller (or user space after it)
	 * looks.
	 */
	return smp_load_acquire(status_of(n, index)) == SIDECAR_CPU_IDLE;
}

static int cpu_index(struct sidecar_node *n, unsigned long cpu, u32 *index)
{
	if (cpu < n->base_cpu || cpu - n->base_cpu >= n->cpu_count)
		return -EINVAL;
	*index = (u32)(cpu - n->base_cpu);
	return 0;
}

/* Moves the claim from `from` to `to`; false when it was not `from`. Fully ordered. */
static bool cas_claim(struct sidecar_node *n, u32 index, long from, long to)
{
	return atomic_long_try_cmpxchg(&n->slots[index].claim, &from, to);
}

/* sidecar_start(): IDLE -> RUN and the request IPI. False when the CPU is not IDLE. */
static bool start_cpu(struct sidecar_node *n, u32 index)
{
	u8 idle = SIDECAR_CPU_IDLE;

	if (!n->cpus[index])
		return false;
	/*
	 * Fully ordered: publishes the command page user space wrote before the ioctl; pairs
	 * with the core's acquire load of cpu_status (park.c).
	 */
	if (!sc_cmpxchg(status_of(n, index), &idle, SIDECAR_CPU_RUN))
		return false;
	sidecar_lhost_cpu_ipi(&n->cpus[index]->host);
	return true;
}

/* RUN -> STOP and the request IPI. False when the status was not RUN. */
static bool stop_cpu(struct sidecar_node *n, u32 index, u8 *was)
{
	*was = SIDECAR_CPU_RUN;
	if (!sc_cmpxchg(status_of(n, index), was, SIDECAR_CPU_STOP))
		return false;
	sidecar_lhost_cpu_ipi(&n->cpus[index]->host);
	return true;
}

/* Why a CPU whose claim we hold did not start: it left the sidecar kernel, or is busy. */
static int not_started(struct sidecar_node *n, u32 index)
{
	u8 s = READ_ONCE(*status_of(n, index));

	return s == SIDECAR_CPU_REMOVED || s == SIDECAR_CPU_REMOVE ? -ENOENT : -EBUSY;
}

bool sidecar_node_cpu_idle(struct sidecar_node *n, u32 index)
{
	return cpu_idle(n, index);
}

int sidecar_node_cpu_index(struct sidecar_node *n, unsigned long cpu, u32 *index)
{
	return cpu_index(n, cpu, index);
}

/*
 * An orphan's command is over once its CPU is IDLE (nobody can start another on it) and,
 * for one a DIRECT claim left, the CPU answered the quiet barrier of its release (it is
 * halted with the line's features zeroed): give the claim back. True when the caller should
 * look at the claim again.
 */
bool sidecar_node_reclaim_orphan(struct sidecar_node *n, u32 index, long orphan)
{
	struct sidecar_slot *s = &n->slots[index];

	/* Acquire: pairs with the fully ordered CAS that made it an orphan (direct_orphan). */
	if (atomic_long_read_acquire(&s->claim) != orphan)
		return true;
	if (!cpu_idle(n, index) || !sidecar_direct_synced(n, index))
		return false;
	/* Still the orphan (the CAS below checks): nobody else touches the line. */
	if (READ_ONCE(s->direct_orphan))
		sidecar_direct_settle_line(n, index);
	if (cas_claim(n, index, orphan, SIDECAR_CLAIM_AVAIL)) {
		WRITE_ONCE(s->direct_orphan, false);
		atomic_dec(&n->orphans);
	}
	return true;
}

/* sidecar_claim(): AVAIL -> owner:state, or the upstream errors. */
int sidecar_node_claim(struct sidecar_node *n, u32 index, u64 owner, unsigned int state)
{
	atomic_long_t *c = &n->slots[index].claim;

	for (;;) {
		long old = SIDECAR_CLAIM_AVAIL;

		if (atomic_long_try_cmpxchg(c, &old, sidecar_claim_word(owner, state)))
			return 0;
		if (old == SIDECAR_CLAIM_REMOVED)
			return -ENOENT;
		if (sidecar_claim_state(old) != SIDECAR_CLAIM_ORPHAN ||
		    !sidecar_node_reclaim_orphan(n, index, old))
			return -EBUSY;
	}
}

/* ---- the ioctls -------------------------------------------------------------------------- */

int sidecar_node_start(struct sidecar_file *f, unsigned long cpu)
{
	struct sidecar_node *n = f->node;
	u32 i;
	int rc = cpu_index(n, cpu, &i);

	if (rc)
		return rc;
	/*
	 * No preemption between the claim and ASYNC: a STOP of ours that finds STARTING waits
	 * for us by spinning.
	 */
	preempt_disable();
	rc = sidecar_node_claim(n, i, f->id, SIDECAR_CLAIM_STARTING);
	if (rc) {
		preempt_enable();
		return rc;
	}
	if (!start_cpu(n, i)) {
		cas_claim(n, i, sidecar_claim_word(f->id, SIDECAR_CLAIM_STARTING),
			  SIDECAR_CLAIM_AVAIL);
		preempt_enable();
		return not_started(n, i);
	}
	/*
	 * Fully ordered: the status RUN is visible before ASYNC, so a reader that loads the
	 * claim, then the status (mark_finished) cannot take the IDLE from before this run for
	 * its end.
	 */
	cas_claim(n, i, sidecar_claim_word(f->id, SIDECAR_CLAIM_STARTING),
		  sidecar_claim_word(f->id, SIDECAR_CLAIM_ASYNC));
	preempt_enable();
	/*
	 * The run may be over already: its response woke the readers while the claim said
	 * STARTING, which they ignore. Full barrier (the CAS) then this load, against the core's
	 * store of IDLE (a full barrier after it) then its response IPI: we see IDLE, or the
	 * response comes after ASYNC and wakes them.
	 */
	if (READ_ONCE(*status_of(n, i)) == SIDECAR_CPU_IDLE)
		wake_up_all(&n->wq);
	return 0;
}

/* Stops F's asynchronous run on slot `i` (the STOP ioctl and release). */
static int stop_slot(struct sidecar_node *n, u32 i, u64 owner)
{
	long async = sidecar_claim_word(owner, SIDECAR_CLAIM_ASYNC);
	bool posted;
	u8 was;

	for (;;) {
		long old = async;

		if (atomic_long_try_cmpxchg(&n->slots[i].claim, &old,
					    sidecar_claim_word(owner, SIDECAR_CLAIM_STOP_POSTING)))
			break;
		if (old == SIDECAR_CLAIM_REMOVED)
			return -ENOENT;
		if (sidecar_claim_owner(old) != owner)
			return old == SIDECAR_CLAIM_AVAIL ? -EINVAL : -EBUSY;
		switch (sidecar_claim_state(old)) {
		case SIDECAR_CLAIM_STARTING:
			cpu_relax(); /* our START, between its two steps (preemption off there) */
			continue;
		case SIDECAR_CLAIM_STOP_POSTING:
		case SIDECAR_CLAIM_ASYNC_STOPPING:
		case SIDECAR_CLAIM_ASYNC_STOPPED:
			return 0; /* upstream: a no-op on a stopping or stopped VP */
		default:
			return -EINVAL; /* SYNC, ORPHAN: not an asynchronous run */
		}
	}
	/*
	 * The run is pinned (STOP_POSTING: it cannot be marked finished, read and followed by
	 * another START), so this status is the claimed run's own.
	 */
	posted = stop_cpu(n, i, &was);
	/*
	 * Unpin, then wake the readers if the run is over already: their look while the claim
	 * said STOP_POSTING found nothing. Fully ordered CAS then the status load, against the
	 * core's store of IDLE then its response IPI (which wakes them after this CAS).
	 */
	cas_claim(n, i, sidecar_claim_word(owner, SIDECAR_CLAIM_STOP_POSTING),
		  sidecar_claim_word(owner, SIDECAR_CLAIM_ASYNC_STOPPING));
	if (READ_ONCE(*status_of(n, i)) == SIDECAR_CPU_IDLE)
		wake_up_all(&n->wq);
	return posted || was == SIDECAR_CPU_IDLE || was == SIDECAR_CPU_STOP ? 0 : -EIO;
}

int sidecar_node_stop(struct sidecar_file *f, unsigned long cpu)
{
	u32 i;
	int rc = cpu_index(f->node, cpu, &i);

	return rc ? rc : stop_slot(f->node, i, f->id);
}

int sidecar_node_run(struct sidecar_file *f, unsigned long cpu)
{
	struct sidecar_node *n = f->node;
	long sync;
	u32 i;
	u8 was;
	int rc = cpu_index(n, cpu, &i);

	if (rc)
		return rc;
	rc = sidecar_node_claim(n, i, f->id, SIDECAR_CLAIM_SYNC);
	if (rc)
		return rc;
	sync = sidecar_claim_word(f->id, SIDECAR_CLAIM_SYNC);
	if (!start_cpu(n, i)) {
		cas_claim(n, i, sync, SIDECAR_CLAIM_AVAIL);
		return not_started(n, i);
	}
	/*
	 * Woken by the response IPI's handler; the condition's acquire load pairs with the
	 * core's release store of IDLE.
	 */
	rc = wait_event_interruptible(n->wq, cpu_idle(n, i));
	if (rc) {
		/*
		 * As upstream: a signal turns the request into a STOP, waited out. Bounded and
		 * killable here: a CPU that does not answer keeps the claim as an orphan.
		 */
		stop_cpu(n, i, &was);
		wait_event_killable_timeout(n->wq, cpu_idle(n, i), SIDECAR_STOP_TIMEOUT);
		if (!cpu_idle(n, i) &&
		    cas_claim(n, i, sync, sidecar_claim_word(f->id, SIDECAR_CLAIM_ORPHAN))) {
			atomic_inc(&n->orphans);
			return -ETIMEDOUT;
		}
		rc = -EINTR;
	}
	cas_claim(n, i, sync, SIDECAR_CLAIM_AVAIL);
	return rc;
}

/* ---- finished-CPU reporting ------------------------------------------------------------- */

/*
 * Marks F's run on slot `i` finished if it is complete: ASYNC(_STOPPING) -> ASYNC_STOPPED,
 * once per run. The claim is loaded BEFORE the status (acquire orders the two): START
 * publishes ASYNC only after it moved the status IDLE -> RUN, so ASYNC then IDLE means this
 * run is over. scan_lock held: the claim cannot go ASYNC -> ... -> ASYNC between our load and
 * our CAS, because marking and returning (pop_finished) both take it.
 */
static void mark_finished(struct sidecar_node *n, u32 i, u64 owner)
{
	atomic_long_t *c = &n->slots[i].claim;

	for (;;) {
		long w = atomic_long_read_acquire(c);
		unsigned int state = sidecar_claim_state(w);

		if (sidecar_claim_owner(w) != owner ||
		    (state != SIDECAR_CLAIM_ASYNC && state != SIDECAR_CLAIM_ASYNC_STOPPING))
			return;
		if (!cpu_idle(n, i))
			return;
		if (atomic_long_try_cmpxchg(c, &w,
					    sidecar_claim_word(owner, SIDECAR_CLAIM_ASYNC_STOPPED)))
			return;
		/* A STOP moved ASYNC -> STOP_POSTING under us: it wakes the readers once done. */
	}
}

/*
 * Upstream sidecar_scan_vps() + sidecar_scan_next_stopped(), for F's runs: mark, then return
 * the first finished one to AVAIL and write its CPU number to `out`. The copy is made under
 * the lock without faulting (a fault could wait on user space for ever, e.g. userfaultfd);
 * on a fault nothing is consumed and the caller faults the page in and tries again.
 */
static int pop_finished(struct sidecar_file *f, u32 __user *out)
{
	struct sidecar_node *n = f->node;
	long stopped = sidecar_claim_word(f->id, SIDECAR_CLAIM_ASYNC_STOPPED);
	int rc = -EAGAIN;
	u32 i;

	if (mutex_lock_interruptible(&n->scan_lock))
		return -ERESTARTSYS;
	for (i = 0; i < n->cpu_count; i++)
		mark_finished(n, i, f->id);
	for (i = 0; i < n->cpu_count; i++) {
		u32 cpu = n->base_cpu + i;

		if (atomic_long_read(&n->slots[i].claim) != stopped)
			continue;
		if (copy_to_user_nofault(out, &cpu, sizeof(cpu))) {
			rc = -EFAULT;
			break;
		}
		/* Only F's reads move F's STOPPED claims, all under scan_lock: still ours. */
		cas_claim(n, i, stopped, SIDECAR_CLAIM_AVAIL);
		rc = 0;
		break;
	}
	mutex_unlock(&n->scan_lock);
	return rc;
}

int sidecar_node_read(struct sidecar_file *f, u32 __user *out, bool nonblock)
{
	struct sidecar_node *n = f->node;
	int faults = 0;
	int rc;

	for (;;) {
		rc = pop_finished(f, out);
		if (rc == -EFAULT) {
			/* Bring the page in (this may sleep) and try again, a few times. */
			if (++faults > 3 || fault_in_writeable((char __user *)out, sizeof(*out)))
				return -EFAULT;
			continue;
		}
		if (rc != -EAGAIN || nonblock)
			return rc;
		rc = wait_event_interruptible(n->wq, sidecar_node_pending(f));
		if (rc)
			return rc;
	}
}

/*
 * poll(): is one of F's runs finished and not yet read? Lock-free and exact (the claim is
 * loaded before the status, as in mark_finished).
 */
bool sidecar_node_pending(struct sidecar_file *f)
{
	struct sidecar_node *n = f->node;
	u32 i;

	for (i = 0; i < n->cpu_count; i++) {
		long w = atomic_long_read_acquire(&n->slots[i].claim);
		unsigned int state = sidecar_claim_state(w);

		if (sidecar_claim_owner(w) != f->id)
			continue;
		if (state == SIDECAR_CLAIM_ASYNC_STOPPED)
			return true;
		if ((state == SIDECAR_CLAIM_ASYNC || state == SIDECAR_CLAIM_ASYNC_STOPPING) &&
		    cpu_idle(n, i))
			return true;
	}
	return false;
}

/* ---- the response IPI ------------------------------------------------------------------- */

/* The response IPI's handler, on the node's base CPU (hard interrupt context). */
void sidecar_node_response(struct sidecar_lhost_ipi *ipi)
{
	struct sidecar_node *n = container_of(ipi, struct sidecar_node, response);

	/*
	 * Upstream mshv_vtl_sidecar_isr() clears the line and wakes the readers. The exchange
	 * pairs with the core's store-release of needs_attention (park.c). Readers find their
	 * runs by scanning, so nothing depends on which CPU raised it.
	 */
	if (READ_ONCE(n->control->needs_attention))
		xchg(&n->control->needs_attention, 0);
	/*
	 * What the woken test (a status, the claims) was written before the IPI was sent; the
	 * wait queue's lock orders it against a waiter that is about to sleep.
	 */
	wake_up_all(&n->wq);
}

/* The core's signal_response on a sidecar CPU: the IPI to the base CPU. */
void sidecar_node_cpu_response(struct sidecar_lhost_cpu *c)
{
	struct sidecar_node *n = container_of(c, struct sidecar_cpu, host)->node;

	sidecar_lhost_ipi_send(&n->response, n->base_cpu);
}

/* ---- release ------------------------------------------------------------------------------ */

/* Every CPU F holds is IDLE. */
static bool file_quiet(struct sidecar_file *f)
{
	struct sidecar_node *n = f->node;
	u32 i;

	for (i = 0; i < n->cpu_count; i++)
		if (sidecar_claim_owner(atomic_long_read(&n->slots[i].claim)) == f->id &&
		    !cpu_idle(n, i))
			return false;
	return true;
}

/*
 * The file's last reference is gone (close, exit, kill -9): stop every asynchronous run it
 * started and every command its DIRECT claims posted, wait a bounded time for its CPUs to
 * go quiet (IDLE; for a DIRECT claim also halted with the line's features zeroed,
 * direct.c), and give every claim back. A CPU that did not stop in time keeps an ORPHAN
 * claim, reclaimed by the next claim of the VP once it is quiet. No ioctl of F runs any more
 * (it would hold a reference), so F's claims are ASYNC*, DIRECT, or ORPHAN left by an
 * interrupted RUN or a RELEASE_DIRECT that timed out.
 */
void sidecar_node_release_file(struct sidecar_file *f)
{
	struct sidecar_node *n = f->node;
	unsigned long deadline = jiffies + SIDECAR_STOP_TIMEOUT;
	long orphan_word = sidecar_claim_word(f->id, SIDECAR_CLAIM_ORPHAN);
	bool held = false;
	u32 i;

	for (i = 0; i < n->cpu_count; i++) {
		long w = atomic_long_read(&n->slots[i].claim);

		if (sidecar_claim_owner(w) != f->id)
			continue;
		held = true;
		if (sidecar_claim_state(w) == SIDECAR_CLAIM_ASYNC)
			stop_slot(n, i, f->id);
	}
	/* Every DIRECT claim's stop and quiet barrier go out together, then are waited for. */
	if (sidecar_direct_release_begin(f))
		held = true;
	if (!held)
		return;
	wait_event_timeout(n->wq, file_quiet(f), SIDECAR_STOP_TIMEOUT);
	for (i = 0; i < n->cpu_count; i++) {
		long w = atomic_long_read(&n->slots[i].claim);

		if (w == sidecar_claim_word(f->id, SIDECAR_CLAIM_DIRECT))
			sidecar_direct_release_wait(n, i, deadline);
	}
	for (i = 0; i < n->cpu_count; i++) {
		struct sidecar_slot *s = &n->slots[i];

		for (;;) {
			long w = atomic_long_read(&s->claim);
			unsigned int state = sidecar_claim_state(w);
			bool orphan = state == SIDECAR_CLAIM_ORPHAN;
			bool direct = state == SIDECAR_CLAIM_DIRECT ||
				      (orphan && READ_ONCE(s->direct_orphan));

			if (sidecar_claim_owner(w) != f->id)
				break;
			if (cpu_idle(n, i) && sidecar_direct_synced(n, i)) {
				/* Ours and quiet: nobody else touches the line. */
				if (direct)
					sidecar_direct_settle_line(n, i);
				if (cas_claim(n, i, w, SIDECAR_CLAIM_AVAIL)) {
					if (orphan)
						atomic_dec(&n->orphans);
					WRITE_ONCE(s->direct_orphan, false);
					break;
				}
				continue;
			}
			if (orphan)
				break;
			WRITE_ONCE(s->direct_orphan, direct);
			if (cas_claim(n, i, w, orphan_word)) {
				atomic_inc(&n->orphans);
				pr_warn("cpu %u did not stop: its claim is reclaimed once it does\n",
					n->base_cpu + i);
				/*
				 * The CPU may have answered the quiet barrier since: the fully
				 * ordered CAS then this look, against the echo handler's store
				 * of the answer then its look at the orphan (direct.c).
				 */
				if (direct)
					sidecar_node_reclaim_orphan(n, i, orphan_word);
				break;
			}
		}
	}
}

/* Claims held (not AVAIL, not REMOVED): for sysfs. */
u32 sidecar_node_claims(struct sidecar_node *n)
{
	u32 i, held = 0;

	for (i = 0; i < n->cpu_count; i++) {
		long w = atomic_long_read(&n->slots[i].claim);

		if (w != SIDECAR_CLAIM_AVAIL && w != SIDECAR_CLAIM_REMOVED)
			held++;
	}
	return held;
}
