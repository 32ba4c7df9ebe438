/* SPDX-License-Identifier: MIT */
/*
 * The adaptive poll window, one rule for both sides of the fast path: the sidecar CPU
 * polling its doorbell before it halts (kernel/core/park.c) and the VMM thread polling for
 * the completion before it sleeps (runtime/vp_wait.c).
 *
 * It is KVM's halt-polling rule (virt/kvm/kvm_main.c, kvm_vcpu_halt with
 * grow_halt_poll_ns/shrink_halt_poll_ns) with KVM's default constants: a wait that a longer
 * poll would have caught (idle longer than the window, shorter than the cap) grows the
 * window, doubling it and starting at 10 us; a wait longer than the cap halves it, and a
 * window that falls below the starting value becomes 0 (do not poll). A wait the window
 * caught leaves it alone.
 */
#ifndef SIDECAR_POLL_H
#define SIDECAR_POLL_H

#define SIDECAR_POLL_GROW_START_NS 10000u /* KVM's halt_poll_ns_grow_start */
#define SIDECAR_POLL_GROW 2u              /* halt_poll_ns_grow */
#define SIDECAR_POLL_SHRINK 2u            /* halt_poll_ns_shrink */
/* A gap this long between two clock reads while polling means the poller lost its CPU:
 * someone else needs it (oversubscription, a shared host CPU), so polling cannot help and
 * the window drops to 0. */
#define SIDECAR_POLL_PREEMPTED_NS 50000u

/* The next window after a wait of `idle_ns` with window `window` and cap `cap`. */
static inline uint64_t sidecar_poll_adapt(uint64_t window, uint64_t idle_ns, uint64_t cap)
{
	uint64_t next;

	if (idle_ns <= window)
		return window;
	if (idle_ns > cap) {
		next = window / SIDECAR_POLL_SHRINK;
		return next < SIDECAR_POLL_GROW_START_NS ? 0 : next;
	}
	next = window * SIDECAR_POLL_GROW;
	if (next < SIDECAR_POLL_GROW_START_NS)
		next = SIDECAR_POLL_GROW_START_NS;
	return next > cap ? cap : next;
}

#endif /* SIDECAR_POLL_H */
