/* SPDX-License-Identifier: MIT */
/*
 * The sidecar CPU's signalling policy: how it waits for a request and whether it signals a
 * completion. One place, chosen per CPU by the fast line's `features` (written by the VMM
 * that owns the VP):
 *
 *   features == 0            upstream: halt whenever idle; always send the response IPI.
 *   MAILBOX                  also serve requests posted through the fast line's doorbell.
 *   + SIDECAR_POLL           poll the doorbell for up to sidecar_poll_ns before halting.
 *   + ADAPTIVE               the poll window follows the observed idle times (below).
 *   + SUPPRESS               announce PARKED before halting (the VMM then signals only a
 *                            parked CPU) and send the response IPI only to a VMM that
 *                            announced SLEEPING.
 *
 * The announce / full fence / re-check / sleep sequence, both directions (docs/fast-path.md):
 *
 *   request:  sidecar  flags |= PARKED;   if (doorbell rang) abort; halt
 *             VMM      request_seq = n;   if (flags & PARKED) IPI
 *   response: VMM      flags = SLEEPING;  if (done_seq == n) abort; sleep
 *             sidecar  done_seq = n;      if (flags & SLEEPING) IPI
 *
 * Each pair is Dekker's: every store and load above is seq_cst (on x86 the stores are
 * locked RMWs or xchg, a full barrier), so in the single total order of seq_cst operations
 * one side's load comes after the other's store and sees it: either the sleeper does not
 * sleep or the signaller signals. The IPI itself is latched (the simulated halt consumes a pending interrupt, as
 * `sti; hlt` does), so a signal sent before the halt is not lost.
 */
#include "kernel.h"

#include <stdatomic.h>

/* Adaptive window (KVM halt polling: virt/kvm/kvm_main.c). */
#define POLL_GROW_START_NS 10000u /* first window after a short halt */
#define POLL_GROW_FACTOR 2u
#define POLL_SHRINK_FACTOR 2u
/* A gap this long between two clock reads while polling means the thread lost its CPU:
 * someone else needs it, so polling cannot help (oversubscription, shared host CPU). */
#define POLL_PREEMPTED_NS 50000u

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static inline uint32_t load32(const uint32_t *p, memory_order mo)
{
	return atomic_load_explicit((_Atomic uint32_t *)p, mo);
}

/* Does the doorbell show a request not yet served? Acquire: pairs with the VMM's release
 * store of request_seq, so a true answer makes its request visible. */
static inline bool doorbell_rang(struct sidecar_fast_line *fast)
{
	return load32(&fast->request_seq, memory_order_acquire) != fast->done_seq;
}

/* seq_cst variant for the re-check after announcing PARKED (the load half of Dekker). */
static inline bool doorbell_rang_sc(struct sidecar_fast_line *fast)
{
	return load32(&fast->request_seq, memory_order_seq_cst) != fast->done_seq;
}

static inline uint8_t load_status(struct sidecar_kcpu *k, memory_order mo)
{
	/* Pairs with the driver's release (CAS) that moved the status away from IDLE. */
	return atomic_load_explicit(sidecar_kcpu_status(k), mo);
}

static inline void fault(struct sidecar_kcpu *k, enum sidecar_fault_point where)
{
	if (atomic_load_explicit(&k->faults_on, memory_order_relaxed))
		k->plat->fault(k, where);
}

/* The poll window to use now, 0 for none. */
static uint64_t poll_window(struct sidecar_kcpu *k, struct sidecar_fast_line *fast, uint32_t features)
{
	if (!(features & SIDECAR_FAST_F_SIDECAR_POLL))
		return 0;
	uint64_t cap = load32(&fast->sidecar_poll_ns, memory_order_relaxed);
	if (cap == 0)
		return 0;
	/* Polling a CPU that the VMM thread shares cannot help: it can only delay it. */
	uint32_t client = load32(&fast->client_host_cpu, memory_order_relaxed);
	if (client != 0 && client == fast->sidecar_host_cpu)
		return 0;
	if (!(features & SIDECAR_FAST_F_ADAPTIVE))
		return cap;
	if (k->poll_ns > cap)
		k->poll_ns = cap;
	return k->poll_ns;
}

/* KVM's rule: a halt that a longer poll would have caught grows the window; one longer
 * than the cap shrinks it. `idle_ns` counts from the start of polling to the request. */
static void adapt(struct sidecar_kcpu *k, uint64_t window, uint64_t idle_ns, uint64_t cap)
{
	if (idle_ns <= window)
		return;
	if (idle_ns > cap) {
		k->poll_ns = window / POLL_SHRINK_FACTOR;
	} else if (window < cap) {
		uint64_t grown = window * POLL_GROW_FACTOR;
		if (grown < POLL_GROW_START_NS)
			grown = POLL_GROW_START_NS;
		k->poll_ns = grown > cap ? cap : grown;
	}
}

/* Keep the advertised host CPU current, writing the shared line only when it changed. */
static void refresh_host_cpu(struct sidecar_kcpu *k, struct sidecar_fast_line *fast)
{
	int host = k->plat->host_cpu();
	uint32_t v = host < 0 ? 0 : (uint32_t)host + 1;
	if (fast->sidecar_host_cpu != v)
		atomic_store_explicit((_Atomic uint32_t *)&fast->sidecar_host_cpu, v, memory_order_relaxed);
}

enum sidecar_park_result sidecar_kernel_park(struct sidecar_kcpu *k, uint8_t *status_out)
{
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);
	_Atomic uint32_t *flags = (_Atomic uint32_t *)&fast->sidecar_flags;

	for (;;) {
		uint32_t features = load32(&fast->features, memory_order_relaxed);
		bool mailbox = features & SIDECAR_FAST_F_MAILBOX;

		if (mailbox && doorbell_rang(fast))
			return SIDECAR_PARK_FAST;
		uint8_t status = load_status(k, memory_order_acquire);
		if (status != SIDECAR_CPU_IDLE) {
			*status_out = status;
			return SIDECAR_PARK_STATUS;
		}

		uint64_t t0 = 0, window = 0;
		if (mailbox) {
			refresh_host_cpu(k, fast);
			window = poll_window(k, fast, features);
		}
		if (window) {
			/* Poll the doorbell (our own line until the VMM writes it) and the
			 * interrupt latch; the shared control page is read only when an
			 * interrupt says something changed there. */
			uint64_t now = t0 = k->plat->now_ns(), last = now;
			uint64_t deadline = now + window;
			unsigned spins = 0;
			while (now < deadline) {
				if (doorbell_rang(fast)) {
					/* Caught inside the window: nothing to adapt (and no clock
					 * read on the request's critical path). */
					kstat_inc(&k->stats.polled_requests);
					return SIDECAR_PARK_FAST;
				}
				if (k->plat->irq_pending(k))
					break;
				cpu_relax();
				if ((++spins & 31) == 0) {
					now = k->plat->now_ns();
					if (now - last > POLL_PREEMPTED_NS) {
						k->poll_ns = 0;
						break;
					}
					last = now;
				}
			}
			/* Out of window, or an interrupt is pending: the halt below consumes
			 * a pending interrupt at once, and the loop re-checks the status. */
		}

		/* Halt, announcing it first. The announcement is made whatever the policy:
		 * a VMM that switches to SUPPRESS while this CPU is halted must see that it
		 * has to signal. Dekker with seq_cst operations: our RMW then our loads of
		 * request_seq and cpu_status, against the VMM's exchange of request_seq then
		 * its load of sidecar_flags (and the driver's CAS of the status, which always
		 * signals). */
		fault(k, SIDECAR_FAULT_BEFORE_PARK);
		atomic_fetch_or_explicit(flags, SIDECAR_FAST_SIDECAR_PARKED, memory_order_seq_cst);
		fault(k, SIDECAR_FAULT_AFTER_ANNOUNCE);
		features = load32(&fast->features, memory_order_relaxed);
		mailbox = features & SIDECAR_FAST_F_MAILBOX;
		if ((mailbox && doorbell_rang_sc(fast)) || load_status(k, memory_order_seq_cst) != SIDECAR_CPU_IDLE) {
			atomic_fetch_and_explicit(flags, ~SIDECAR_FAST_SIDECAR_PARKED, memory_order_relaxed);
			continue;
		}
		if (!t0 && (features & SIDECAR_FAST_F_ADAPTIVE))
			t0 = k->plat->now_ns();
		kstat_inc(&k->stats.halts);
		k->plat->halt(k);
		atomic_fetch_and_explicit(flags, ~SIDECAR_FAST_SIDECAR_PARKED, memory_order_relaxed);
		if (mailbox && (features & SIDECAR_FAST_F_ADAPTIVE))
			adapt(k, window, k->plat->now_ns() - t0, load32(&fast->sidecar_poll_ns, memory_order_relaxed));
	}
}

void sidecar_kernel_respond(struct sidecar_kcpu *k, bool fast_request)
{
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);
	struct sidecar_control_page *control = k->control;

	if (fast_request) {
		uint32_t features = load32(&fast->features, memory_order_relaxed);
		if (features & SIDECAR_FAST_F_SUPPRESS) {
			fault(k, SIDECAR_FAULT_BEFORE_SIGNAL);
			/* Dekker with the VMM: our seq_cst store of done_seq (complete_fast)
			 * then this seq_cst load, against its seq_cst exchange of SLEEPING
			 * then its seq_cst re-check of done_seq: one of us sees the other. */
			if (!(load32(&fast->client_flags, memory_order_seq_cst) & SIDECAR_FAST_CLIENT_SLEEPING)) {
				kstat_inc(&k->stats.suppressed_signals);
				return;
			}
		}
	}
	/* Upstream raise_attention(): the driver's interrupt handler clears it and scans.
	 * A fast request's completion goes to its VP's owner, not to the scan: leave the
	 * node-wide line alone. */
	if (!fast_request) {
		atomic_store_explicit((_Atomic uint32_t *)&control->needs_attention, 1, memory_order_release);
		fault(k, SIDECAR_FAULT_BEFORE_RESPONSE);
	}
	if (atomic_load_explicit((_Atomic uint32_t *)&control->response_vector, memory_order_relaxed)) {
		kstat_inc(&k->stats.response_signals);
		k->plat->signal_response(k);
	}
}
