/* SPDX-License-Identifier: MIT */
/*
 * The simulated driver: the upstream Linux driver (drivers/hv/mshv_vtl_sidecar.c) per node,
 * over the simulator's shared memory, plus libsidecar's direct (fast-path) extension.
 *
 * Differences from upstream, on purpose (docs/platform.md):
 *  - the start/scan race is closed with a STARTING claim (sim_internal.h);
 *  - two readers cannot both return one finished CPU (ASYNC_STOPPED -> AVAIL is a CAS);
 *  - the response-IPI handler runs on the signalling CPU's thread and knows its source,
 *    which a real IPI does not say: it uses that to deliver a DIRECT VP's completion to
 *    its owner, to feed the lock-free finished bitmap, and to keep poll() precise.
 */
#include "futex.h"
#include "grace.h"
#include "sim_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static uint8_t *status_of(struct sim_node *n, uint32_t index)
{
	return &n->control->cpu_status[index];
}

static bool cas_claim(struct sim_slot *s, uint8_t from, uint8_t to)
{
	return atomic_compare_exchange_strong_explicit(&s->claim, &from, to, memory_order_acq_rel,
						       memory_order_acquire);
}

/* sidecar_claim(): AVAIL -> `to`, or the upstream errors. */
static int claim(struct sim_node *n, uint32_t index, uint8_t to)
{
	uint8_t last = SIM_CLAIM_AVAIL;

	if (atomic_compare_exchange_strong_explicit(&n->slots[index].claim, &last, to, memory_order_acq_rel,
						    memory_order_acquire))
		return 0;
	return last == SIM_CLAIM_REMOVED ? -ENOENT : -EBUSY;
}

static int cpu_index(struct sim_node *n, uint32_t cpu, uint32_t *index)
{
	if (cpu < n->base_cpu || cpu - n->base_cpu >= n->cpu_count)
		return -EINVAL;
	*index = cpu - n->base_cpu;
	return 0;
}

static void event_signal(struct sim_node *n)
{
	uint64_t one = 1;
	ssize_t r = write(n->event_fd, &one, sizeof(one));
	(void)r; /* EAGAIN: the counter is already readable */
}

static void event_drain(struct sim_node *n)
{
	uint64_t v;
	ssize_t r = read(n->event_fd, &v, sizeof(v));
	(void)r;
}

/* ---- the wait queue ------------------------------------------------------------------------ */

void sim_driver_wake_all(struct sim_node *n)
{
	atomic_fetch_add_explicit(&n->wait_seq, 1, memory_order_release);
	sidecar_futex_wake(&n->wait_seq, INT_MAX);
	if (n->event_fd >= 0)
		event_signal(n);
}

/*
 * wait_event(): register as a waiter, read the sequence, test, sleep. Pairs with the
 * handler's fence + load of wait_waiters: if our test missed the handler's state change,
 * its load sees our registration and it bumps wait_seq, failing or waking our futex_wait.
 */
static int sim_driver_wait(struct sim_node *n, bool (*cond)(void *arg), void *arg, uint64_t deadline_ns)
{
	int rc = 0;

	atomic_fetch_add_explicit(&n->wait_waiters, 1, memory_order_seq_cst);
	for (;;) {
		uint32_t seq = atomic_load_explicit(&n->wait_seq, memory_order_seq_cst);
		if (cond(arg))
			break;
		if (atomic_load_explicit(&n->sim->shutting_down, memory_order_acquire)) {
			rc = -ESHUTDOWN;
			break;
		}
		int64_t timeout = -1;
		if (deadline_ns) {
			uint64_t now = sidecar_now_ns();
			if (now >= deadline_ns) {
				rc = -ETIMEDOUT;
				break;
			}
			timeout = (int64_t)(deadline_ns - now);
		}
		sidecar_futex_wait(&n->wait_seq, seq, timeout);
	}
	atomic_fetch_sub_explicit(&n->wait_waiters, 1, memory_order_release);
	return rc;
}

/* ---- finished-CPU reporting ----------------------------------------------------------------- */

static void bitmap_set(struct sim_node *n, uint32_t index)
{
	atomic_fetch_or_explicit(&n->fin_bits[index / 64], 1ull << (index % 64), memory_order_release);
	atomic_fetch_or_explicit(&n->fin_summary, 1ull << (index / 64), memory_order_release);
}

/* Pops one finished CPU, or -1. Lock-free: a word's summary bit is cleared only after the
 * word was seen empty, and re-set if a concurrent report refilled it. */
static int bitmap_pop(struct sim_node *n)
{
	for (;;) {
		uint64_t summary = atomic_load_explicit(&n->fin_summary, memory_order_acquire);
		if (!summary)
			return -1;
		unsigned w = (unsigned)__builtin_ctzll(summary);
		uint64_t bits = atomic_load_explicit(&n->fin_bits[w], memory_order_acquire);
		if (!bits) {
			atomic_fetch_and_explicit(&n->fin_summary, ~(1ull << w), memory_order_seq_cst);
			if (atomic_load_explicit(&n->fin_bits[w], memory_order_seq_cst))
				atomic_fetch_or_explicit(&n->fin_summary, 1ull << w, memory_order_release);
			continue;
		}
		unsigned b = (unsigned)__builtin_ctzll(bits);
		uint64_t old = atomic_fetch_and_explicit(&n->fin_bits[w], ~(1ull << b), memory_order_acq_rel);
		if (old & (1ull << b)) {
			/* The word's last bit: clear its summary bit now (and re-set it if a
			 * report refilled the word), so poll() does not stay readable. */
			if ((old & ~(1ull << b)) == 0) {
				atomic_fetch_and_explicit(&n->fin_summary, ~(1ull << w), memory_order_seq_cst);
				if (atomic_load_explicit(&n->fin_bits[w], memory_order_seq_cst))
					atomic_fetch_or_explicit(&n->fin_summary, 1ull << w, memory_order_release);
			}
			return (int)(w * 64 + b);
		}
	}
}

/*
 * Marks VP `index` finished if its asynchronous run is complete: the one place a run is
 * reported, exactly once, by the CAS ASYNC(_STOPPING) -> ASYNC_STOPPED.
 *
 * The claim is loaded BEFORE the status. START publishes ASYNC only after it moved the
 * status IDLE -> RUN, so a claim of ASYNC followed by a status of IDLE means this run is
 * complete. The other order (upstream's: status, then claim) lets a START slip in between
 * the two loads and a just-started run be reported (the start/scan race in a second form).
 * Callers hold scan_lock (scan) or are the run's only reporters (handler, START's re-check),
 * so the claim cannot go ASYNC -> ... -> ASYNC between our load and our CAS.
 */
static bool mark_finished(struct sim_node *n, uint32_t index)
{
	struct sim_slot *s = &n->slots[index];

	for (;;) {
		uint8_t claim_now = atomic_load_explicit(&s->claim, memory_order_seq_cst);
		if (claim_now != SIM_CLAIM_ASYNC && claim_now != SIM_CLAIM_ASYNC_STOPPING)
			return false;
		if (sc_load_seq(status_of(n, index)) != SIDECAR_CPU_IDLE)
			return false;
		if (cas_claim(s, claim_now, SIM_CLAIM_ASYNC_STOPPED)) {
			atomic_fetch_add_explicit(&n->num_stopped, 1, memory_order_release);
			return true;
		}
		/* A STOP moved ASYNC -> STOP_POSTING under us: the next look returns false,
		 * and that STOP reports the run once it has moved the claim on (sim_stop). */
	}
}

/* Upstream sidecar_scan_vps(): mark ASYNC VPs whose CPU went IDLE as stopped. */
static void scan_vps(struct sim_node *n)
{
	if (!atomic_load_explicit(&n->needs_scan, memory_order_acquire))
		return;
	atomic_exchange_explicit(&n->needs_scan, 0, memory_order_acq_rel);
	pthread_mutex_lock(&n->scan_lock);
	for (uint32_t i = 0; i < n->cpu_count; i++)
		mark_finished(n, i);
	pthread_mutex_unlock(&n->scan_lock);
}

/* Upstream sidecar_scan_next_stopped(). */
static int scan_next_stopped(struct sim_node *n)
{
	scan_vps(n);
	if (atomic_load_explicit(&n->num_stopped, memory_order_acquire) == 0)
		return -1;
	for (uint32_t i = 0; i < n->cpu_count; i++) {
		/* A plain load first, as upstream reads the states: a locked CAS on every slot
		 * would make the baseline's scan slower than upstream's. */
		if (atomic_load_explicit(&n->slots[i].claim, memory_order_relaxed) != SIM_CLAIM_ASYNC_STOPPED)
			continue;
		if (cas_claim(&n->slots[i], SIM_CLAIM_ASYNC_STOPPED, SIM_CLAIM_AVAIL)) {
			atomic_fetch_sub_explicit(&n->num_stopped, 1, memory_order_release);
			return (int)i;
		}
	}
	return -1;
}

static int next_finished(struct sim_node *n)
{
	if (n->sim->cfg.report == SIDECAR_SIM_REPORT_SCAN)
		return scan_next_stopped(n);
	int i = bitmap_pop(n);
	if (i >= 0) {
		/* Only a run marked finished gets a bit, once. */
		if (!cas_claim(&n->slots[i], SIM_CLAIM_ASYNC_STOPPED, SIM_CLAIM_AVAIL))
			return -1;
		atomic_fetch_sub_explicit(&n->num_stopped, 1, memory_order_release);
	}
	return i;
}

static bool finished_pending(struct sim_node *n)
{
	if (n->sim->cfg.report == SIDECAR_SIM_REPORT_SCAN)
		return atomic_load(&n->num_stopped) || atomic_load(&n->needs_scan);
	return atomic_load(&n->fin_summary) != 0;
}

/* VP `index` may have finished an asynchronous run: make it findable and poll() readable.
 * The scan finds it (upstream); the lock-free path marks it here, with the source CPU the
 * simulated IPI carries, and sets its bit only if this call did the marking. */
static void report_finished(struct sim_node *n, uint32_t index)
{
	atomic_fetch_add_explicit(&n->reports_begun, 1, memory_order_seq_cst);
	if (n->sim->cfg.report == SIDECAR_SIM_REPORT_LOCKFREE) {
		if (mark_finished(n, index))
			bitmap_set(n, index);
	} else {
		atomic_store_explicit(&n->needs_scan, 1, memory_order_seq_cst);
	}
	event_signal(n);
	atomic_fetch_add_explicit(&n->reports_done, 1, memory_order_seq_cst);
}

/*
 * Make the fd readable iff a finished CPU is pending: wait out reports in flight, drain, and
 * re-signal what is still pending. A report in flight is a few instructions and one eventfd
 * write; a grace period would cost far more than that on every read of the seed's hot path,
 * so this is not liburcu's job: it is a bounded wait. A reporter preempted for longer than
 * the bound only leaves the fd readable with nothing pending (a reader then gets EAGAIN);
 * nothing is ever lost.
 */
#define SETTLE_SPINS 256
#define SETTLE_NS 10000000u /* 10 ms */

static void settle_event(struct sim_node *n)
{
	uint64_t deadline = 0;

	for (unsigned spins = 0; atomic_load_explicit(&n->reports_done, memory_order_seq_cst) !=
				 atomic_load_explicit(&n->reports_begun, memory_order_seq_cst);
	     spins++) {
		if (spins < SETTLE_SPINS) {
			sc_relax();
			continue;
		}
		uint64_t now = sidecar_now_ns();
		if (!deadline)
			deadline = now + SETTLE_NS;
		else if (now > deadline)
			break; /* see above: at worst a spurious readable */
		sched_yield();
	}
	event_drain(n);
	if (finished_pending(n))
		event_signal(n);
}

/* ---- the response-IPI handler -------------------------------------------------------------- */

/* The response IPI's handler, registered on every CPU of the node at probe. */
static void sim_driver_isr(struct sidecar_uhost_cpu *h)
{
	struct sim_cpu *c = sim_cpu_of(h);
	struct sim_node *n = c->node;
	uint32_t index = c->host.k.node_cpu_index;
	struct sim_slot *s = &n->slots[index];

	/* A DIRECT owner's hook, inside a read-side section: release_direct unpublishes it and
	 * waits a grace period, after which its owner may be freed. Acquire: pairs with the
	 * release that published it. */
	sidecar_grace_read_lock();
	const struct sidecar_drv_notify *nt = atomic_load_explicit(&s->notify, memory_order_acquire);
	if (nt)
		nt->fn(nt->ctx);
	sidecar_grace_read_unlock();

	if (!nt) {
		/*
		 * Upstream mshv_vtl_sidecar_isr() clears needs_attention, sets needs_scan and
		 * wakes the readers whenever the line was set. Here the fd is signalled only
		 * for a finished asynchronous run (poll is precise), so the report must not
		 * depend on the node-wide line: the handler of another CPU (a synchronous RUN
		 * finishing at the same moment) may have cleared it, and a report gated on it
		 * would be lost. The simulated IPI carries its source: report that CPU's run if
		 * it is one. The line is still cleared.
		 */
		if (sc_load_relaxed(&n->control->needs_attention))
			sc_xchg(&n->control->needs_attention, 0); /* pairs with the kernel's release */
		/* seq_cst: Dekker with START, which stores ASYNC then loads the status, against
		 * the kernel's seq_cst store of IDLE (this thread) then this load. One of us
		 * sees the other; a claim still STARTING here means START reports the run. */
		uint8_t claim_now = atomic_load_explicit(&s->claim, memory_order_seq_cst);
		if (claim_now == SIM_CLAIM_ASYNC || claim_now == SIM_CLAIM_ASYNC_STOPPING)
			report_finished(n, index);
	}
	/* The wait queue, Dekker with seq_cst operations: what the waiters test (the status,
	 * stored seq_cst by the kernel before signalling; needs_scan; the bitmap) precedes
	 * this load, and a waiter registers before testing (sim_driver_wait). */
	if (atomic_load_explicit(&n->wait_waiters, memory_order_seq_cst)) {
		atomic_fetch_add_explicit(&n->wait_seq, 1, memory_order_release);
		sidecar_futex_wake(&n->wait_seq, INT_MAX);
	}
}

/* ---- probe / remove ------------------------------------------------------------------------- */

int sim_driver_probe(struct sim_node *n)
{
	n->slots = calloc(n->cpu_count, sizeof(*n->slots));
	if (!n->slots)
		return -ENOMEM;
	n->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (n->event_fd < 0)
		return -errno;
	pthread_mutex_init(&n->scan_lock, NULL);
	for (uint32_t i = 0; i < n->cpu_count; i++) {
		n->cpus[i].host.response = sim_driver_isr;
		/* Linux's CPUs cannot be claimed. Upstream's claims start AVAIL for every CPU
		 * (its base CPU included), which strict=upstream keeps. */
		if (n->cpus[i].linux_cpu && !n->sim->cfg.strict_upstream)
			atomic_init(&n->slots[i].claim, SIM_CLAIM_REMOVED);
	}
	n->control->response_cpu = 0;
	sc_store_release(&n->control->response_vector, 0xf3);
	return 0;
}

/* After shutdown: no CPU runs, but a thread woken from a driver wait may still be on its
 * way out of an operation, so this runs at destroy time, not at shutdown. */
void sim_driver_remove(struct sim_node *n)
{
	if (n->event_fd >= 0) {
		close(n->event_fd);
		n->event_fd = -1;
		pthread_mutex_destroy(&n->scan_lock);
	}
}

/* ---- the ioctls ------------------------------------------------------------------------------- */

static struct sim_node *node_of(struct sidecar_drv_node *node)
{
	return (struct sim_node *)node;
}

static bool shutting_down(struct sim_node *n)
{
	return atomic_load_explicit(&n->sim->shutting_down, memory_order_acquire);
}

/* The claim every request begins with: CPU `cpu` of the node moves from AVAIL to `to`
 * (its index in `*index`). -EINVAL (not the node's), -ESHUTDOWN, -ENOENT (removed), -EBUSY. */
static int claim_cpu(struct sim_node *n, uint32_t cpu, uint8_t to, uint32_t *index)
{
	int rc = cpu_index(n, cpu, index);

	if (rc)
		return rc;
	if (shutting_down(n))
		return -ESHUTDOWN;
	return claim(n, *index, to);
}

/* What upstream's driver WARNs about, under strict=upstream (where this driver would have
 * refused): counted, and printed as the kernel would. */
static void upstream_warn(struct sim_node *n, uint32_t index, const char *what, unsigned value)
{
	atomic_fetch_add_explicit(&n->sim->warnings, 1, memory_order_relaxed);
	fprintf(stderr, "sidecar sim (strict=upstream): WARN: cpu %u: %s %u\n", n->base_cpu + index, what, value);
}

/* sidecar_start(): IDLE -> RUN and the request IPI. False when the CPU is not IDLE. Under
 * strict=upstream it is upstream's: a CPU that is not IDLE gets a warning, the IPI, and the
 * caller carries on as if the run started (it never completes). */
static bool start_cpu(struct sim_node *n, uint32_t index)
{
	uint8_t idle = SIDECAR_CPU_IDLE;

	/* Fully ordered; at least release: publishes the command page the caller wrote, and
	 * pairs with the kernel's acquire load of cpu_status. */
	if (!sc_cmpxchg(status_of(n, index), &idle, SIDECAR_CPU_RUN)) {
		if (!n->sim->cfg.strict_upstream)
			return false;
		upstream_warn(n, index, "unexpected cpu status", idle);
	}
	if (!n->cpus[index].linux_cpu)
		sidecar_uhost_cpu_ipi(&n->cpus[index].host);
	return true;
}

int sim_drv_start(struct sidecar_drv_node *node, uint32_t cpu)
{
	struct sim_node *n = node_of(node);
	uint32_t i;
	int rc = claim_cpu(n, cpu, SIM_CLAIM_STARTING, &i);

	if (rc)
		return rc;
	sidecar_sim_start_fn hook = atomic_load_explicit(&n->sim->start_fn, memory_order_acquire);
	if (hook)
		hook(atomic_load_explicit(&n->sim->start_ctx, memory_order_relaxed), cpu);
	if (!start_cpu(n, i)) {
		atomic_store_explicit(&n->slots[i].claim, SIM_CLAIM_AVAIL, memory_order_release);
		return sc_load_seq(status_of(n, i)) == SIDECAR_CPU_REMOVED ? -ENOENT : -EBUSY;
	}
	atomic_store_explicit(&n->slots[i].claim, SIM_CLAIM_ASYNC, memory_order_seq_cst);
	/* If the command already finished, its handler saw STARTING and reported nothing. */
	if (sc_load_seq(status_of(n, i)) == SIDECAR_CPU_IDLE)
		report_finished(n, i);
	return 0;
}

int sim_drv_stop(struct sidecar_drv_node *node, uint32_t cpu)
{
	struct sim_node *n = node_of(node);
	uint32_t i;
	int rc = cpu_index(n, cpu, &i);

	if (rc)
		return rc;
	for (;;) {
		uint8_t state = SIM_CLAIM_ASYNC;
		if (atomic_compare_exchange_strong(&n->slots[i].claim, &state, SIM_CLAIM_STOP_POSTING))
			break;
		switch (state) {
		case SIM_CLAIM_STARTING:
			sched_yield(); /* START is between its two steps */
			continue;
		case SIM_CLAIM_STOP_POSTING:
		case SIM_CLAIM_ASYNC_STOPPING:
		case SIM_CLAIM_ASYNC_STOPPED:
			return 0;
		default: /* AVAIL, SYNC, DIRECT, REMOVED */
			return -EINVAL;
		}
	}
	sidecar_sim_start_fn hook = atomic_load_explicit(&n->sim->stop_fn, memory_order_acquire);
	if (hook)
		hook(atomic_load_explicit(&n->sim->stop_ctx, memory_order_relaxed), cpu);
	/* The run is pinned (STOP_POSTING: it cannot be marked finished, read and followed by
	 * another START), so this status is the claimed run's own. */
	uint8_t status = SIDECAR_CPU_RUN;
	bool posted = sc_cmpxchg(status_of(n, i), &status, SIDECAR_CPU_STOP);
	if (posted)
		sidecar_uhost_cpu_ipi(&n->cpus[i].host);
	/* Unpin, then report the run if it is already over: a report attempted while the claim
	 * was STOP_POSTING marked nothing. Dekker with seq_cst operations: this store then the
	 * status load, against the kernel's store of IDLE then the handler's load of the claim
	 * (sim_driver_isr); at least one of us sees the run over and ASYNC_STOPPING. */
	atomic_store_explicit(&n->slots[i].claim, SIM_CLAIM_ASYNC_STOPPING, memory_order_seq_cst);
	if (sc_load_seq(status_of(n, i)) == SIDECAR_CPU_IDLE)
		report_finished(n, i);
	if (posted || status == SIDECAR_CPU_IDLE)
		return 0;
	/* STOP: shutdown's own stop got there first (upstream warns and fails). */
	if (status == SIDECAR_CPU_STOP && !n->sim->cfg.strict_upstream)
		return 0;
	if (n->sim->cfg.strict_upstream)
		upstream_warn(n, i, "unexpected cpu status", status);
	return -EIO;
}

struct idle_arg {
	struct sim_node *n;
	uint32_t index;
	const _Atomic uint32_t *cancel;
	bool stopped;
	int rc;
};

static bool cpu_idle_or_cancelled(void *p)
{
	struct idle_arg *a = p;
	uint8_t status = sc_load_seq(status_of(a->n, a->index));

	if (status == SIDECAR_CPU_IDLE)
		return true;
	if (!a->stopped && a->cancel && atomic_load_explicit(a->cancel, memory_order_acquire)) {
		/* As a signal does upstream: turn the request into a STOP and wait it out.
		 * Upstream posts the STOP without an IPI (the CPU sees it at its next look);
		 * this driver sends one, so a VP that never exits by itself stops too. */
		if (status == SIDECAR_CPU_RUN) {
			if (sc_cmpxchg(status_of(a->n, a->index), &status, SIDECAR_CPU_STOP) &&
			    !a->n->sim->cfg.strict_upstream)
				sidecar_uhost_cpu_ipi(&a->n->cpus[a->index].host);
		} else if (status != SIDECAR_CPU_STOP) {
			/* A CPU that was never IDLE (upstream started it anyway). */
			upstream_warn(a->n, a->index, "unexpected cpu status", status);
			a->rc = -EIO;
			return true;
		}
		a->stopped = true;
	}
	return false;
}

int sim_drv_run(struct sidecar_drv_node *node, uint32_t cpu, const _Atomic uint32_t *cancel)
{
	struct sim_node *n = node_of(node);
	uint32_t i;
	int rc = claim_cpu(n, cpu, SIM_CLAIM_SYNC, &i);

	if (rc)
		return rc;
	if (!start_cpu(n, i)) {
		atomic_store_explicit(&n->slots[i].claim, SIM_CLAIM_AVAIL, memory_order_release);
		return sc_load_seq(status_of(n, i)) == SIDECAR_CPU_REMOVED ? -ENOENT : -EBUSY;
	}
	struct idle_arg arg = {.n = n, .index = i, .cancel = cancel};
	rc = sim_driver_wait(n, cpu_idle_or_cancelled, &arg, 0);
	if (rc == 0) {
		atomic_store_explicit(&n->slots[i].claim, SIM_CLAIM_AVAIL, memory_order_release);
		rc = arg.rc;
	}
	return rc;
}

int sim_drv_read(struct sidecar_drv_node *node, uint32_t *cpu, bool nonblock)
{
	struct sim_node *n = node_of(node);

	for (;;) {
		if (shutting_down(n))
			return -ESHUTDOWN;
		int i = next_finished(n);
		settle_event(n);
		if (i >= 0) {
			*cpu = n->base_cpu + (uint32_t)i;
			return 0;
		}
		if (nonblock)
			return -EAGAIN;
		struct sim_node *arg = n;
		int rc = sim_driver_wait(n, (bool (*)(void *))finished_pending, arg, 0);
		if (rc)
			return rc;
	}
}

void sim_drv_interrupt(struct sidecar_drv_node *node)
{
	struct sim_node *n = node_of(node);

	atomic_fetch_add_explicit(&n->wait_seq, 1, memory_order_release);
	sidecar_futex_wake(&n->wait_seq, INT_MAX);
}

int sim_drv_poll_fd(struct sidecar_drv_node *node)
{
	return node_of(node)->event_fd;
}

/* ---- the direct extension ---------------------------------------------------------------------- */

int sim_drv_claim_direct(struct sidecar_drv_node *node, uint32_t cpu, const struct sidecar_drv_notify *nt)
{
	struct sim_node *n = node_of(node);
	uint32_t i;
	int rc = claim_cpu(n, cpu, SIM_CLAIM_DIRECT, &i);

	if (rc)
		return rc;
	if (sc_load_seq(status_of(n, i)) == SIDECAR_CPU_REMOVED) {
		atomic_store(&n->slots[i].claim, SIM_CLAIM_AVAIL);
		return -ENOENT;
	}
	atomic_store_explicit(&n->slots[i].notify, nt, memory_order_release);
	return 0;
}

void sim_drv_release_direct(struct sidecar_drv_node *node, uint32_t cpu, bool keep_claim)
{
	struct sim_node *n = node_of(node);
	uint32_t i;

	if (cpu_index(n, cpu, &i))
		return;
	struct sim_slot *s = &n->slots[i];
	/* Unpublish, then a grace period: no handler runs the hook after it. */
	atomic_store_explicit(&s->notify, NULL, memory_order_release);
	sidecar_grace_wait();
	if (!keep_claim)
		cas_claim(s, SIM_CLAIM_DIRECT, SIM_CLAIM_AVAIL); /* fails when it was hot-removed */
}

void sim_drv_kick(struct sidecar_drv_node *node, uint32_t cpu)
{
	struct sim_node *n = node_of(node);
	uint32_t i;

	if (!cpu_index(n, cpu, &i))
		sidecar_uhost_cpu_ipi(&n->cpus[i].host);
}

/* ---- hot remove --------------------------------------------------------------------------------- */

static bool cpu_removed(void *p)
{
	struct idle_arg *a = p;
	return sc_load_seq(status_of(a->n, a->index)) == SIDECAR_CPU_REMOVED;
}

int sidecar_sim_hot_remove(struct sidecar_sim *sim, uint32_t cpu, int64_t timeout_ns)
{
	uint32_t i;
	struct sim_node *n = sim_node_of_cpu(sim, cpu, &i);

	if (!n)
		return -EINVAL;
	struct sim_slot *s = &n->slots[i];
	uint8_t was = SIM_CLAIM_AVAIL;
	if (!cas_claim(s, SIM_CLAIM_AVAIL, SIM_CLAIM_REMOVED)) {
		was = SIM_CLAIM_DIRECT;
		if (!cas_claim(s, SIM_CLAIM_DIRECT, SIM_CLAIM_REMOVED))
			return atomic_load(&s->claim) == SIM_CLAIM_REMOVED ? -ENOENT : -EBUSY;
	}
	uint8_t idle = SIDECAR_CPU_IDLE;
	if (!sc_cmpxchg(status_of(n, i), &idle, SIDECAR_CPU_REMOVE)) {
		atomic_store(&s->claim, was);
		return -EBUSY;
	}
	sidecar_uhost_cpu_ipi(&n->cpus[i].host);
	struct idle_arg arg = {.n = n, .index = i};
	int rc = sim_driver_wait(n, cpu_removed, &arg, timeout_ns < 0 ? 0 : sidecar_now_ns() + (uint64_t)timeout_ns);
	if (rc)
		return rc;
	/* The status is REMOVED: the thread is on its way out (bounded, as the CPU's last steps
	 * take no lock and wait for nothing). */
	sidecar_uhost_cpu_join(&n->cpus[i].host, -1);
	return 0;
}

/* ---- the ops table ------------------------------------------------------------------------------ */

uint32_t sim_drv_node_count(struct sidecar_drv *drv)
{
	return ((struct sidecar_sim *)drv)->node_count;
}

struct sidecar_drv_node *sim_drv_node(struct sidecar_drv *drv, uint32_t index)
{
	struct sidecar_sim *sim = (struct sidecar_sim *)drv;
	return index < sim->node_count ? (struct sidecar_drv_node *)&sim->nodes[index] : NULL;
}

void sim_drv_node_info(struct sidecar_drv_node *node, struct sidecar_drv_node_info *out)
{
	struct sim_node *n = node_of(node);

	out->base_cpu = n->base_cpu;
	out->cpu_count = n->cpu_count;
	out->per_cpu_shmem = SIDECAR_PER_VP_SHMEM_PAGES * SIDECAR_PAGE_SIZE;
	out->shmem = n->shmem;
	out->shmem_size = n->shmem_size;
}

int sim_drv_guest_memory(struct sidecar_drv *drv, void **base, size_t *size)
{
	struct sidecar_sim *sim = (struct sidecar_sim *)drv;
	*base = sim->guest_mem;
	*size = sim->cfg.mem;
	return 0;
}
