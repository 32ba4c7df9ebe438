/* SPDX-License-Identifier: MIT */
/*
 * The one place where plain fields of the shared pages (the control page's cpu_status bytes,
 * the fast line, needs_attention, ...) are accessed as atomics, and the project's atomic
 * vocabulary for code that must build both in user space and in a Linux kernel module.
 *
 * The ABI declares those fields as plain integers (they are shared with an upstream kernel
 * and driver written in other languages), so nothing here casts to _Atomic: in user space
 * the operations are the compiler's C11-memory-model builtins (__atomic_*, what
 * <stdatomic.h> is made of) applied to the plain lvalue; in a kernel build (__KERNEL__) they
 * are the kernel's own primitives. Every operation names its ordering; callers still say
 * what each non-relaxed one pairs with.
 *
 *   sc_load_relaxed(p)      sc_store_relaxed(p, v)     no ordering (READ_ONCE/WRITE_ONCE)
 *   sc_load_acquire(p)      sc_store_release(p, v)     one-way barriers
 *   sc_store_mb(p, v)       store, then a full barrier: the first half of a Dekker pair
 *   sc_load_seq(p)          the second half: a load that follows a full barrier of this
 *                           thread (sc_store_mb or any RMW below) in program order
 *   sc_xchg(p, v)           fully ordered exchange, returns the old value
 *   sc_cmpxchg(p, oldp, v)  fully ordered compare-and-swap (bool; *oldp gets the current
 *                           value on failure, which is then unordered)
 *   sc_fetch_or/and/add(p, v)  fully ordered read-modify-write, returns the old value
 *   sc_mb()                 full barrier
 *   sc_relax()              a spin-wait hint (PAUSE), for every polling loop
 *   sc_stat_inc(p)          a counter with one writer: load + 1, store, both relaxed (no
 *                           locked instruction); readers get a snapshot
 *
 * Dekker pairs (announce, then re-check) are written sc_store_mb(flag) ... sc_load_seq(other)
 * or RMW(flag) ... sc_load_seq(other) on both sides. In user space sc_load_seq is a seq_cst
 * load (so the pair is the C11 seq_cst argument); in the kernel it is READ_ONCE, which is
 * enough because the full barrier before it orders the store before the load.
 */
#ifndef SIDECAR_ATOMIC_H
#define SIDECAR_ATOMIC_H

#ifdef __KERNEL__

/* linux/atomic.h: xchg() and try_cmpxchg() are the instrumented wrappers defined there
 * (asm/cmpxchg.h has only the arch_ forms); asm/barrier.h: smp_load_acquire,
 * smp_store_release, smp_store_mb, smp_mb; asm/processor.h: cpu_relax. */
#include <asm/barrier.h>
#include <asm/processor.h>
#include <linux/atomic.h>
#include <linux/compiler.h>

#define sc_load_relaxed(p) READ_ONCE(*(p))
#define sc_store_relaxed(p, v) WRITE_ONCE(*(p), (v))
#define sc_load_acquire(p) smp_load_acquire(p)
#define sc_store_release(p, v) smp_store_release((p), (v))
#define sc_store_mb(p, v) smp_store_mb(*(p), (v))
#define sc_load_seq(p) READ_ONCE(*(p))
#define sc_xchg(p, v) xchg((p), (v))
#define sc_cmpxchg(p, oldp, v) try_cmpxchg((p), (oldp), (v))
/* The kernel's fetch_op family is for atomic_t; fields of the shared pages are plain
 * integers, so the RMWs are cmpxchg loops (a successful try_cmpxchg is fully ordered). */
#define sc__fetch_op(p, op, v)                                     \
	({                                                         \
		typeof(*(p)) sc__old = READ_ONCE(*(p));            \
		while (!try_cmpxchg((p), &sc__old, sc__old op(v))) \
			;                                          \
		sc__old;                                           \
	})
#define sc_fetch_or(p, v) sc__fetch_op(p, |, v)
#define sc_fetch_and(p, v) sc__fetch_op(p, &, v)
#define sc_fetch_add(p, v) sc__fetch_op(p, +, v)
#define sc_mb() smp_mb()
#define sc_relax() cpu_relax()

#else /* user space */

#define sc_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define sc_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define sc_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define sc_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define sc_store_mb(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define sc_load_seq(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define sc_xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define sc_cmpxchg(p, oldp, v) __atomic_compare_exchange_n((p), (oldp), (v), 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)
#define sc_fetch_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define sc_fetch_and(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
#define sc_fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define sc_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define sc_relax() __builtin_ia32_pause()

#endif

#define sc_stat_inc(p) sc_store_relaxed((p), sc_load_relaxed(p) + 1)

#endif /* SIDECAR_ATOMIC_H */
