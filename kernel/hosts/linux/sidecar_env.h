/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The sidecar kernel core's environment in the Linux module (the kernel host).
 *
 * The contract every host provides is written in kernel/hosts/user/sidecar_env.h: the
 * fixed-width types, bool, size_t, NULL, offsetof, the errno constants, memcpy, memset,
 * vsnprintf, va_list, the atomic vocabulary (sidecar_atomic.h, whose __KERNEL__ branch maps
 * onto the kernel's primitives) and four services. Here they are the kernel's own:
 *
 *   sc_now_ns()       ktime_get_ns(): CLOCK_MONOTONIC, as in user space
 *   sc_yield_point()  cond_resched_tasks_rcu_qs(): a spinning guest or a long poll window
 *                     runs in a kernel thread, so every few microseconds it lets the
 *                     scheduler in (no soft lockup) and reports a quiescent state to RCU,
 *                     RCU-tasks included (no stall, no blocked tracing trampolines)
 *   sc_zalloc()       kzalloc(GFP_KERNEL): the core allocates only while a CPU boots, in
 *                     its kernel thread, where sleeping is allowed
 *   sc_free()         kfree()
 *
 * The allocations are counted (sidecar_lhost_allocations) so that the driver can show in
 * sysfs, and say at unload, that none is left behind.
 */
#ifndef SIDECAR_ENV_H
#define SIDECAR_ENV_H

#include "sidecar_atomic.h"

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stdarg.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/types.h>

/*
 * The core names the x86 control-register bits it needs itself (gva_walk.c, synthetic.c),
 * with the values of the kernel's asm/processor-flags.h, which the includes above pull in.
 * In the core's own translation units (Kbuild defines SIDECAR_CORE_UNIT for them; they
 * include nothing from the kernel after this header) the kernel's definitions give way, so
 * the core's apply without a redefinition warning. Other files keep the kernel's.
 */
#ifdef SIDECAR_CORE_UNIT
#undef X86_CR0_PE
#undef X86_CR0_AM
#undef X86_CR0_WP
#undef X86_CR0_PG
#undef X86_CR4_PSE
#undef X86_CR4_PAE
#undef X86_CR4_LA57
#undef X86_CR4_SMEP
#undef X86_CR4_SMAP
#endif

/*
 * sparse (make C=1) does not know GCC's x86 builtins; the synthetic VP reads the TSC with
 * one. A declaration is all it needs to check the calls.
 */
#ifdef __CHECKER__
unsigned long long __builtin_ia32_rdtsc(void);
#endif

/* The core's allocations not yet freed (kernel/hosts/linux/lhost.c). */
extern atomic_long_t sidecar_lhost_allocations;

static inline uint64_t sc_now_ns(void)
{
	return ktime_get_ns();
}

static inline void sc_yield_point(void)
{
	cond_resched_tasks_rcu_qs();
}

static inline void *sc_zalloc(size_t size)
{
	void *p = kzalloc(size, GFP_KERNEL);

	if (p)
		atomic_long_inc(&sidecar_lhost_allocations);
	return p;
}

static inline void sc_free(void *p)
{
	if (p)
		atomic_long_dec(&sidecar_lhost_allocations);
	kfree(p);
}

#endif /* SIDECAR_ENV_H */
