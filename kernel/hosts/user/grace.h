/* SPDX-License-Identifier: MIT */
/*
 * Grace periods for the simulator, from liburcu's bulletproof flavour (urcu-bp): a writer
 * unpublishes a pointer, waits for a grace period, and only then may the object go, while
 * readers that may hold it run without a lock, an allocation or a shared counter.
 *
 * Why urcu-bp: the readers are threads the library does not own. The request IPI is sent by
 * whatever thread calls into the driver (a VMM's thread, an event loop), and urcu-bp
 * registers a reader on its first read-side section, with nothing asked of the VMM; the
 * memb flavour's cheaper read side would need every such thread to call
 * rcu_register_thread at a point the library cannot name. The read side is a thread-local
 * counter update and a compiler barrier (membarrier on the writer's side), a few
 * nanoseconds, on paths that send an IPI or run a completion hook anyway.
 *
 * ThreadSanitizer cannot see the happens-before a grace period gives (membarrier, futex
 * inside liburcu, which is not instrumented): in a TSan build, every reader's unlock
 * releases, and every grace period's end acquires, one common address, so that what a
 * writer frees after a grace period is ordered after every earlier reader's use.
 */
#ifndef SIDECAR_UHOST_GRACE_H
#define SIDECAR_UHOST_GRACE_H

#include <urcu/urcu-bp.h>

#if defined(__SANITIZE_THREAD__)
#define SIDECAR_GRACE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIDECAR_GRACE_TSAN 1
#endif
#endif

#ifdef SIDECAR_GRACE_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define SIDECAR_GRACE_TOKEN ((void *)urcu_bp_synchronize_rcu)
#endif

static inline void sidecar_grace_read_lock(void)
{
	urcu_bp_read_lock();
}

static inline void sidecar_grace_read_unlock(void)
{
#ifdef SIDECAR_GRACE_TSAN
	__tsan_release(SIDECAR_GRACE_TOKEN);
#endif
	urcu_bp_read_unlock();
}

/* Waits until every read-side section that began before the call has ended. Not from inside
 * a read-side section. */
static inline void sidecar_grace_wait(void)
{
	urcu_bp_synchronize_rcu();
#ifdef SIDECAR_GRACE_TSAN
	__tsan_acquire(SIDECAR_GRACE_TOKEN);
#endif
}

#endif /* SIDECAR_UHOST_GRACE_H */
