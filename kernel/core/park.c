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
 * Each pair is Dekker's: each side stores, then a full barrier, then loads the other's
 * variable (sidecar_atomic.h: an RMW or sc_store_mb, then sc_load_seq), so one side's load
 * comes after the other's store and sees it: either the sleeper does not sleep or the
 * signaller signals. The IPI itself is latched (the simulated halt consumes a pending
 * interrupt, as `sti; hlt` does), so a signal sent before the halt is not lost.
 */
#include "kernel.h"

#include "sidecar_poll.h"

/* Does the doorbell show a request not yet served? Acquire: pairs with the VMM's release
 * store of request_seq, so a true answer makes its request visible. */
static inline bool doorbell_rang(struct sidecar_fast_line *fast)
{
	return sc_load_acquire(&fast->request_seq) != fast->done_seq;
}

/* The re-check after announcing PARKED: the load half of the request Dekker pair. */
static inline bool doorbell_rang_sc(struct sidecar_fast_line *fast)
{
	return sc_load_seq(&fast->request_seq) != fast->done_seq;
}

static inline void fault(struct sidecar_kcpu *k, enum sidecar_fault_point where)
{
	if (sc_load_relaxed(&k->faults_on))
		k->host->fault(k, where);
}

/* The poll window to use now, 0 for none. */
static uint64_t poll_window(struct sidecar_kcpu *k, struct sidecar_fast_line *fast, uint32_t features)
{
	if (!(features & SIDECAR_FAST_F_SIDECAR_POLL))
		return 0;
	uint64_t cap = sc_load_relaxed(&fast->sidecar_poll_ns);
	if (cap == 0)
		return 0;
	/* Polling a CPU that the VMM thread shares cannot help: it can only delay it. */
	uint32_t client = sc_load_relaxed(&fast->client_host_cpu);
	if (client != 0 && client == fast->sidecar_host_cpu)
		return 0;
	if (!(features & SIDECAR_FAST_F_ADAPTIVE))
		return cap;
	if (k->poll_ns > cap)
		k->poll_ns = cap;
	return k->poll_ns;
}

/* Keep the advertised host CPU current, writing the shared line only when it changed. */
static void refresh_host_cpu(struct sidecar_kcpu *k, struct sidecar_fast_line *fast)
{
	int host = k->host->host_cpu(k);
	uint32_t v = host < 0 ? 0 : (uint32_t)host + 1;
	if (fast->sidecar_host_cpu != v)
		sc_store_relaxed(&fast->sidecar_host_cpu, v);
}

enum sidecar_park_result sidecar_kernel_park(struct sidecar_kcpu *k, uint8_t *status_out)
{
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);

	for (;;) {
		uint32_t features = sc_load_relaxed(&fast->features);
		bool mailbox = features & SIDECAR_FAST_F_MAILBOX;

		if (mailbox && doorbell_rang(fast))
			return SIDECAR_PARK_FAST;
		/* Acquire: pairs with the driver's CAS that moved the status away from IDLE. */
		uint8_t status = sc_load_acquire(sidecar_kcpu_status(k));
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
			uint64_t now = t0 = sc_now_ns(), last = now;
			uint64_t deadline = now + window;
			unsigned spins = 0;
			while (now < deadline) {
				if (doorbell_rang(fast)) {
					/* Caught inside the window: nothing to adapt (and no clock
					 * read on the request's critical path). */
					sc_stat_inc(&k->stats.polled_requests);
					return SIDECAR_PARK_FAST;
				}
				if (k->host->irq_pending(k))
					break;
				sc_relax();
				if ((++spins & 31) == 0) {
					sc_yield_point();
					now = sc_now_ns();
					if (now - last > SIDECAR_POLL_PREEMPTED_NS) {
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
		sc_fetch_or(&fast->sidecar_flags, SIDECAR_FAST_SIDECAR_PARKED);
		sc_stat_inc(&k->stats.parks);
		fault(k, SIDECAR_FAULT_AFTER_ANNOUNCE);
		features = sc_load_relaxed(&fast->features);
		mailbox = features & SIDECAR_FAST_F_MAILBOX;
		if ((mailbox && doorbell_rang_sc(fast)) || sc_load_seq(sidecar_kcpu_status(k)) != SIDECAR_CPU_IDLE) {
			sc_fetch_and(&fast->sidecar_flags, ~SIDECAR_FAST_SIDECAR_PARKED);
			continue;
		}
		if (!t0 && (features & SIDECAR_FAST_F_ADAPTIVE))
			t0 = sc_now_ns();
		sc_stat_inc(&k->stats.halts);
		k->host->halt(k);
		sc_fetch_and(&fast->sidecar_flags, ~SIDECAR_FAST_SIDECAR_PARKED);
		if (mailbox && (features & SIDECAR_FAST_F_ADAPTIVE))
			k->poll_ns =
				sidecar_poll_adapt(window, sc_now_ns() - t0, sc_load_relaxed(&fast->sidecar_poll_ns));
	}
}

void sidecar_kernel_respond(struct sidecar_kcpu *k, bool fast_request)
{
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);
	struct sidecar_control_page *control = k->control;

	if (fast_request) {
		uint32_t features = sc_load_relaxed(&fast->features);
		if (features & SIDECAR_FAST_F_SUPPRESS) {
			fault(k, SIDECAR_FAULT_BEFORE_SIGNAL);
			/* Dekker with the VMM: our store of done_seq and full barrier
			 * (complete_fast) then this load, against its exchange of SLEEPING then
			 * its re-check of done_seq: one of us sees the other. */
			if (!(sc_load_seq(&fast->client_flags) & SIDECAR_FAST_CLIENT_SLEEPING)) {
				sc_stat_inc(&k->stats.suppressed_signals);
				return;
			}
		}
	}
	/* Upstream raise_attention(): the driver's interrupt handler clears it and scans.
	 * A fast request's completion goes to its VP's owner, not to the scan: leave the
	 * node-wide line alone. */
	if (!fast_request) {
		/* Release: pairs with the handler's exchange that clears it. */
		sc_store_release(&control->needs_attention, 1);
		fault(k, SIDECAR_FAULT_BEFORE_RESPONSE);
	}
	if (sc_load_relaxed(&control->response_vector)) {
		sc_stat_inc(&k->stats.response_signals);
		if (fast_request && k->host->signal_fast_response)
			k->host->signal_fast_response(k);
		else
			k->host->signal_response(k);
	}
}
