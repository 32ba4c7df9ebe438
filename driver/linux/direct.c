// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libsidecar's extension of the driver (<sidecar/uapi.h>; docs/abi.md, "Extension 3";
 * docs/linux-driver.md, "The fast path"): a VMM holds a VP DIRECT for as long as it likes,
 * posts commands through the fast line of its command page (the sidecar kernel core serves
 * them, kernel/core/park.c and dispatch.c), wakes a parked sidecar CPU with KICK and sleeps
 * in WAIT until the CPU signals the completion.
 *
 * The completion signal. The core signals a fast completion only to a client that announced
 * SLEEPING in the fast line (or to every one without SUPPRESS); here the sidecar CPU is a
 * Linux thread, so its signal_fast_response (sidecar_node_cpu_fast_response) wakes the VP's
 * wait queue itself, and signals the VP's eventfd when one is set: one wake-up, straight from
 * the CPU that completed the command to the thread that waits, with no interrupt to the
 * node's base CPU in between. A client that does not sleep costs nothing: no signal is sent.
 *
 * Giving a DIRECT claim back (RELEASE_DIRECT, or the file's release: close, exit, kill -9):
 * the line's features go to 0 (the upstream policy: the CPU serves no more doorbells), what
 * it runs is stopped (stop_seq), and the CPU is asked for a quiet barrier: an echo it
 * answers only from its halt, with the interrupt latch set so that a polling CPU halts. Once
 * answered, the CPU is halted and every later look at the line sees features 0, so nothing
 * of the old owner's runs on it any more; a request it never served is then marked done
 * (settle_line) and the claim returns to AVAIL. A CPU that does not answer in time leaves an
 * ORPHAN claim, reclaimed (driver.c) once it has answered.
 *
 * ECHO is the latency reference of this path: the same request IPI wakes the same halted
 * thread, which answers at once with the same completion signal (the wait queue, or the
 * eventfd), without the core's command dispatch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sidecar_drv.h"

#include <linux/delay.h>
#include <linux/eventfd.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>

static_assert(SIDECAR_FAULT_BEFORE_RESPONSE + 1 == SIDECAR_DRV_FAULT_POINTS);

/* The flags of a CPU that left (or is leaving): never those of one that takes a claim. */
#define SIDECAR_FAST_LEFT (SIDECAR_FAST_SIDECAR_LEAVING | SIDECAR_FAST_SIDECAR_GONE)

/* How long RELEASE_DIRECT waits for the CPU to be quiet (a STOP takes microseconds). */
#define SIDECAR_DIRECT_TIMEOUT (5 * HZ)

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define sidecar_eventfd_signal(ctx) eventfd_signal(ctx)
#else
#define sidecar_eventfd_signal(ctx) eventfd_signal((ctx), 1)
#endif

static struct sidecar_fast_line *fast_of(struct sidecar_node *n, u32 i)
{
	struct sidecar_vp_shared_pages *pages = (struct sidecar_vp_shared_pages *)n->shmem + i;

	return sidecar_command_page_fast(&pages->command_page);
}

void sidecar_slot_init(struct sidecar_slot *s)
{
	init_waitqueue_head(&s->wq);
	RCU_INIT_POINTER(s->efd, NULL);
	atomic_set(&s->echo_req, 0);
	atomic_long_set(&s->kicks, 0);
}

/*
 * The caller's DIRECT claim on `cpu`: 0 and the slot's index; -EINVAL for a bad CPU or one
 * nobody holds, -ENOENT for a CPU that is not the sidecar kernel's, -EBUSY when another
 * file (or another kind of claim) holds it.
 */
static int owned(struct sidecar_file *f, unsigned long cpu, u32 *index)
{
	struct sidecar_node *n = f->node;
	long w;
	int rc = sidecar_node_cpu_index(n, cpu, index);

	if (rc)
		return rc;
	w = atomic_long_read(&n->slots[*index].claim);
	if (w == sidecar_claim_word(f->id, SIDECAR_CLAIM_DIRECT))
		return 0;
	if (w == SIDECAR_CLAIM_REMOVED)
		return -ENOENT;
	return w == SIDECAR_CLAIM_AVAIL ? -EINVAL : -EBUSY;
}

long sidecar_fast_info(struct sidecar_file *f, void __user *arg)
{
	struct mshv_vtl_sidecar_fast_info info = {
		.version = MSHV_VTL_SIDECAR_FAST_VERSION,
		.caps = MSHV_VTL_SIDECAR_CAP_DIRECT | MSHV_VTL_SIDECAR_CAP_WAIT |
			MSHV_VTL_SIDECAR_CAP_EVENTFD | MSHV_VTL_SIDECAR_CAP_ECHO,
		.features = SIDECAR_KERNEL_FAST_CAPS,
	};

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

int sidecar_direct_claim(struct sidecar_file *f, unsigned long cpu)
{
	struct sidecar_node *n = f->node;
	struct sidecar_fast_line *fast;
	u32 i;
	int rc = sidecar_node_cpu_index(n, cpu, &i);

	if (rc)
		return rc;
	rc = sidecar_node_claim(n, i, f->id, SIDECAR_CLAIM_DIRECT);
	if (rc)
		return rc;
	/* A WAKE of the previous owner does not end our first WAIT. */
	WRITE_ONCE(n->slots[i].wake, 0);
	/*
	 * The page is user-writable: what the kernel wrote into the line may have been
	 * scribbled over by any process that maps the node. Put back what is fixed (the caps,
	 * no LEAVING or GONE on a CPU that runs: a removed one fails the claim above), and
	 * kick the CPU once, so that it goes round its park loop and announces PARKED afresh
	 * before it halts again: a client then signals it when it must.
	 */
	fast = fast_of(n, i);
	WRITE_ONCE(fast->sidecar_caps, SIDECAR_KERNEL_FAST_CAPS);
	if (READ_ONCE(fast->sidecar_flags) & SIDECAR_FAST_LEFT)
		sc_fetch_and(&fast->sidecar_flags, ~SIDECAR_FAST_LEFT);
	sidecar_lhost_cpu_ipi(&n->cpus[i]->host);
	return 0;
}

/* ---- giving a claim back ----------------------------------------------------------------- */

bool sidecar_direct_synced(struct sidecar_node *n, u32 i)
{
	struct sidecar_slot *s = &n->slots[i];

	/* Acquire: pairs with the echo handler's store-release of echo_done. */
	return (s32)(smp_load_acquire(&s->echo_done) - READ_ONCE(s->quiet_seq)) >= 0;
}

void sidecar_direct_settle_line(struct sidecar_node *n, u32 i)
{
	struct sidecar_fast_line *fast = fast_of(n, i);
	u32 posted = READ_ONCE(fast->request_seq);

	/*
	 * The CPU is quiet and serves no doorbell (features 0): a request it never took is
	 * marked done, so the next owner finds the line idle.
	 */
	if (READ_ONCE(fast->done_seq) != posted)
		/* Release, as the core's: pairs with the acquire loads of done_seq. */
		smp_store_release(&fast->done_seq, posted);
}

/* The line back to the upstream policy, its command stopped, and the quiet barrier asked. */
static void quiesce_begin(struct sidecar_node *n, u32 i)
{
	struct sidecar_slot *s = &n->slots[i];
	struct sidecar_fast_line *fast = fast_of(n, i);
	u32 posted;

	/*
	 * The CPU serves no more doorbells from its next look at the line on. The full barrier
	 * (smp_store_mb) orders it before the barrier request below, whose answer the CPU
	 * gives from its halt: every look at the line after that answer sees features 0.
	 */
	smp_store_mb(fast->features, 0);
	WRITE_ONCE(fast->client_flags, 0);
	posted = READ_ONCE(fast->request_seq);
	if (posted != READ_ONCE(fast->done_seq))
		WRITE_ONCE(fast->stop_seq, posted); /* the core polls it (kcpu_should_stop) */
	WRITE_ONCE(s->echo_signal, MSHV_VTL_SIDECAR_ECHO_WAITQ);
	/* Fully ordered (atomic_inc_return): the stores above come before the request. */
	WRITE_ONCE(s->quiet_seq, (u32)atomic_inc_return(&s->echo_req));
	sidecar_lhost_cpu_echo(&n->cpus[i]->host, true);
}

/*
 * Replaces the VP's eventfd with `ctx` (NULL: none) if `owner` still holds the VP DIRECT, and
 * puts the one it had; false, with nothing changed, when `owner` does not hold it.
 */
static bool replace_eventfd(struct sidecar_node *n, u32 i, u64 owner, struct eventfd_ctx *ctx)
{
	struct sidecar_slot *s = &n->slots[i];
	struct eventfd_ctx *old;

	mutex_lock(&n->direct_lock);
	if (atomic_long_read(&s->claim) != sidecar_claim_word(owner, SIDECAR_CLAIM_DIRECT)) {
		mutex_unlock(&n->direct_lock);
		return false;
	}
	old = rcu_replace_pointer(s->efd, ctx, lockdep_is_held(&n->direct_lock));
	mutex_unlock(&n->direct_lock);
	if (old) {
		/* The CPU signals it inside an RCU read-side section: wait that out. */
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
	return true;
}

static bool release_wait(struct sidecar_node *n, u32 i, u64 owner, unsigned long deadline)
{
	long left = (long)(deadline - jiffies);
	bool quiet;

	/* Woken by the echo handler's wake of the slot's queue. */
	quiet = wait_event_timeout(n->slots[i].wq, sidecar_direct_synced(n, i),
				   left > 0 ? left : 1) != 0;
	replace_eventfd(n, i, owner, NULL); /* the eventfd goes too */
	return quiet;
}

bool sidecar_direct_release_wait(struct sidecar_node *n, u32 i, unsigned long deadline)
{
	return release_wait(n, i, sidecar_claim_owner(atomic_long_read(&n->slots[i].claim)),
			    deadline);
}

bool sidecar_direct_release_begin(struct sidecar_file *f)
{
	struct sidecar_node *n = f->node;
	long direct = sidecar_claim_word(f->id, SIDECAR_CLAIM_DIRECT);
	bool held = false;
	u32 i;

	for (i = 0; i < n->cpu_count; i++) {
		if (atomic_long_read(&n->slots[i].claim) != direct)
			continue;
		quiesce_begin(n, i);
		held = true;
	}
	return held;
}

int sidecar_direct_release(struct sidecar_file *f, unsigned long cpu)
{
	struct sidecar_node *n = f->node;
	long direct = sidecar_claim_word(f->id, SIDECAR_CLAIM_DIRECT);
	struct sidecar_slot *s;
	u32 i;
	int rc = owned(f, cpu, &i);

	if (rc)
		return rc;
	s = &n->slots[i];
	quiesce_begin(n, i);
	if (release_wait(n, i, f->id, jiffies + SIDECAR_DIRECT_TIMEOUT) &&
	    sidecar_node_cpu_idle(n, i)) {
		sidecar_direct_settle_line(n, i);
		return atomic_long_try_cmpxchg(&s->claim, &direct, SIDECAR_CLAIM_AVAIL) ? 0
											: -EINVAL;
	}
	WRITE_ONCE(s->direct_orphan, true);
	/* Fully ordered: direct_orphan is visible to whoever sees the orphan. */
	if (!atomic_long_try_cmpxchg(&s->claim, &direct,
				     sidecar_claim_word(f->id, SIDECAR_CLAIM_ORPHAN)))
		return -EINVAL;
	atomic_inc(&n->orphans);
	pr_warn("cpu %lu did not stop: its claim is reclaimed once it does\n", cpu);
	/*
	 * It may have answered since: the CAS above then this look, against the echo
	 * handler's store of the answer then its look at the orphan; one of us reclaims it.
	 */
	sidecar_node_reclaim_orphan(n, i, sidecar_claim_word(f->id, SIDECAR_CLAIM_ORPHAN));
	return atomic_long_read(&s->claim) == SIDECAR_CLAIM_AVAIL ? 0 : -ETIMEDOUT;
}

/* ---- kick, wait, wake, eventfd, echo -------------------------------------------------------- */

int sidecar_direct_kick(struct sidecar_file *f, unsigned long cpu)
{
	struct sidecar_node *n = f->node;
	u32 i;
	int rc = owned(f, cpu, &i);

	if (rc)
		return rc;
	atomic_long_inc(&n->slots[i].kicks);
	/* The latch, then the IPI: the caller's doorbell is ordered before it. */
	sidecar_lhost_cpu_ipi(&n->cpus[i]->host);
	return 0;
}

static bool wait_cond(struct sidecar_slot *s, struct sidecar_fast_line *fast, u32 seq, bool echo)
{
	/*
	 * Acquire: pairs with the core's store of done_seq (sc_store_mb, a release and a full
	 * barrier) or the echo handler's store-release of echo_done, so the command's results
	 * are visible to the caller when WAIT returns.
	 */
	u32 done = echo ? smp_load_acquire(&s->echo_done) : smp_load_acquire(&fast->done_seq);

	return done == seq || READ_ONCE(s->wake);
}

/* Sleeps until wait_cond(): 0, -ETIME (the timeout, unless < 0), -ERESTARTSYS (a signal). */
static long sleep_until(struct sidecar_slot *s, struct sidecar_fast_line *fast, u32 seq, bool echo,
			s64 timeout_ns)
{
	if (timeout_ns < 0)
		return wait_event_interruptible(s->wq, wait_cond(s, fast, seq, echo));
	return wait_event_interruptible_hrtimeout(s->wq, wait_cond(s, fast, seq, echo),
						  ns_to_ktime(timeout_ns));
}

long sidecar_direct_wait(struct sidecar_file *f, void __user *arg)
{
	struct sidecar_node *n = f->node;
	struct mshv_vtl_sidecar_wait w;
	struct sidecar_fast_line *fast;
	struct sidecar_slot *s;
	bool echo, slept = false;
	u32 i;
	long rc;

	if (copy_from_user(&w, arg, sizeof(w)))
		return -EFAULT;
	if ((w.flags & ~MSHV_VTL_SIDECAR_WAIT_ECHO) || w.reserved)
		return -EINVAL;
	rc = owned(f, w.cpu, &i);
	if (rc)
		return rc;
	s = &n->slots[i];
	fast = fast_of(n, i);
	echo = w.flags & MSHV_VTL_SIDECAR_WAIT_ECHO;
	/*
	 * The wait queue's own pairing: the sleeper queues itself and sets its state (a full
	 * barrier) before it tests the condition; the CPU stores done_seq (a full barrier after
	 * it) before wq_has_sleeper(). Either the test sees done_seq or the CPU wakes us.
	 */
	if (!wait_cond(s, fast, w.seq, echo)) {
		rc = sleep_until(s, fast, w.seq, echo, w.timeout_ns);
		/* Not restarted: the caller looks at the line and decides (its own deadline). */
		if (rc == -ERESTARTSYS)
			return -EINTR;
		if (rc == -ETIME)
			return -ETIMEDOUT;
		slept = true;
	}
	if (READ_ONCE(s->wake) && xchg(&s->wake, 0))
		return 0;
	return slept;
}

int sidecar_direct_wake(struct sidecar_file *f, unsigned long cpu)
{
	struct sidecar_node *n = f->node;
	struct sidecar_slot *s;
	u32 i;
	int rc = owned(f, cpu, &i);

	if (rc)
		return rc;
	s = &n->slots[i];
	WRITE_ONCE(s->wake, 1);
	/* Its full barrier orders the store above before the look at the queue (as WAIT's). */
	if (wq_has_sleeper(&s->wq))
		wake_up(&s->wq);
	return 0;
}

int sidecar_direct_set_eventfd(struct sidecar_file *f, void __user *arg)
{
	struct sidecar_node *n = f->node;
	struct mshv_vtl_sidecar_eventfd e;
	struct eventfd_ctx *ctx = NULL;
	u32 i;
	int rc;

	if (copy_from_user(&e, arg, sizeof(e)))
		return -EFAULT;
	if (e.fd < -1)
		return -EBADF;
	rc = owned(f, e.cpu, &i);
	if (rc)
		return rc;
	if (e.fd >= 0) {
		ctx = eventfd_ctx_fdget(e.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	if (!replace_eventfd(n, i, f->id, ctx)) {
		/* Released by another thread of ours meanwhile. */
		if (ctx)
			eventfd_ctx_put(ctx);
		return -EINVAL;
	}
	return 0;
}

long sidecar_direct_echo(struct sidecar_file *f, void __user *arg)
{
	struct sidecar_node *n = f->node;
	struct mshv_vtl_sidecar_echo e;
	struct sidecar_slot *s;
	u32 i;
	int rc;

	if (copy_from_user(&e, arg, sizeof(e)))
		return -EFAULT;
	if (e.reserved || e.signal > MSHV_VTL_SIDECAR_ECHO_EVENTFD)
		return -EINVAL;
	rc = owned(f, e.cpu, &i);
	if (rc)
		return rc;
	s = &n->slots[i];
	WRITE_ONCE(s->echo_signal, e.signal);
	/* Fully ordered: the signal above is visible to the handler that sees this request. */
	e.seq = (u32)atomic_inc_return(&s->echo_req);
	sidecar_lhost_cpu_echo(&n->cpus[i]->host, false);
	return copy_to_user(arg, &e, sizeof(e)) ? -EFAULT : 0;
}

/* ---- the sidecar CPU's side (its own thread, process context) ------------------------------ */

static struct sidecar_node *sc_node_of(struct sidecar_lhost_cpu *c)
{
	return container_of(c, struct sidecar_cpu, host)->node;
}

static struct sidecar_slot *slot_of(struct sidecar_lhost_cpu *c)
{
	struct sidecar_cpu *sc = container_of(c, struct sidecar_cpu, host);

	return &sc->node->slots[c->k.node_cpu_index];
}

static void signal_eventfd(struct sidecar_slot *s)
{
	struct eventfd_ctx *efd;

	/* replace_eventfd() waits a grace period before it puts the context. */
	rcu_read_lock();
	efd = rcu_dereference(s->efd);
	if (efd)
		sidecar_eventfd_signal(efd);
	rcu_read_unlock();
}

/* The core's signal_fast_response: the completion of a fast request, to its VP's owner. */
void sidecar_node_cpu_fast_response(struct sidecar_lhost_cpu *c)
{
	struct sidecar_slot *s = slot_of(c);

	WRITE_ONCE(s->fast_signals, s->fast_signals + 1);
	/*
	 * The owner's condition, done_seq, was stored with a full barrier after it (the core's
	 * complete_fast); wq_has_sleeper()'s barrier pairs with the one in the sleeper's
	 * prepare_to_wait (WAIT): either its test sees done_seq or we see it queued.
	 */
	if (wq_has_sleeper(&s->wq))
		wake_up(&s->wq);
	signal_eventfd(s);
}

/* An echo request, served from the halt loop (sidecar_lhost_cpu_echo). */
void sidecar_node_cpu_echo(struct sidecar_lhost_cpu *c)
{
	struct sidecar_slot *s = slot_of(c);

	/*
	 * The halt's xchg of the echo latch pairs with the requester's fully ordered
	 * atomic_inc_return before it set the latch: this read sees the request. Release:
	 * pairs with the acquire loads of echo_done (WAIT, sidecar_direct_synced).
	 */
	smp_store_release(&s->echo_done, (u32)atomic_read(&s->echo_req));
	/* Its full barrier orders the store above before the look at the queue (as WAIT's). */
	if (wq_has_sleeper(&s->wq))
		wake_up(&s->wq);
	if (READ_ONCE(s->echo_signal) == MSHV_VTL_SIDECAR_ECHO_EVENTFD)
		signal_eventfd(s);
	/*
	 * The late answer to the quiet barrier of a release that timed out: the orphan it left
	 * goes back now, not at the next claim (a claimer racing with us: one CAS wins). The
	 * barrier in wq_has_sleeper() orders the answer above before this look; the releaser
	 * makes the orphan, then looks at the answer (sidecar_node_reclaim_orphan).
	 */
	if (READ_ONCE(s->direct_orphan)) {
		long w = atomic_long_read(&s->claim);

		if (sidecar_claim_state(w) == SIDECAR_CLAIM_ORPHAN)
			sidecar_node_reclaim_orphan(sc_node_of(c), c->k.node_cpu_index, w);
	}
}

/* ---- delays at the core's fault points (the fault_delays parameter) ------------------------ */

static unsigned int sidecar_fault_per_mille;

void sidecar_set_fault_delays(struct sidecar_platform *p, unsigned int per_mille)
{
	u32 i, j;

	WRITE_ONCE(sidecar_fault_per_mille, per_mille);
	for (i = 0; p && i < p->node_count; i++) {
		struct sidecar_node *n = p->nodes[i];

		for (j = 0; j < n->cpu_count; j++)
			if (n->cpus[j])
				WRITE_ONCE(n->cpus[j]->host.k.faults_on, per_mille != 0);
	}
}

/*
 * At a fault point, on the sidecar CPU's thread (process context, nothing held): mostly
 * nothing; sometimes a short spin, sometimes a real sleep. The delay-race tests turn it on.
 */
void sidecar_node_cpu_fault(struct sidecar_lhost_cpu *c, enum sidecar_fault_point where)
{
	struct sidecar_node *n = container_of(c, struct sidecar_cpu, host)->node;
	u32 r = get_random_u32();

	if (r % 1000 >= READ_ONCE(sidecar_fault_per_mille))
		return;
	r /= 1000;
	if (r % 10 < 8)
		ndelay(r % 4000);
	else
		usleep_range(1, 1 + r % 50);
	if ((unsigned int)where < SIDECAR_DRV_FAULT_POINTS)
		atomic_long_inc(&n->delays[where]);
}
