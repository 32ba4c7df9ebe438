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
 *   sc_rdtsc()        rdtsc() (asm/msr.h): the synthetic VP's TSC register
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

#include <asm/msr.h>

/* The core's allocations not yet freed (kernel/hosts/linux/lhost.c). */
extern atomic_long_t sidecar_lhost_allocations;

static inline uint64_t sc_now_ns(void)
{
	return ktime_get_ns();
}

static inline uint64_t sc_rdtsc(void)
{
	return rdtsc();
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
