/* SPDX-License-Identifier: MIT */
/*
 * The sidecar kernel core's environment in user space (the simulator's host): libc.
 *
 * Every host provides a `sidecar_env.h` on the core's include path (kernel/hosts/<host>/);
 * the core includes nothing else from the system. It must provide: the fixed-width integer
 * types, bool, size_t, NULL, offsetof; the errno constants; memcpy, memset and vsnprintf;
 * va_list; and these services:
 *
 *   uint64_t sc_now_ns(void)        a monotonic clock
 *   void     sc_yield_point(void)   called every few microseconds by every loop that may
 *                                   spin for long (poll windows, a spinning guest): where a
 *                                   kernel host lets the scheduler in
 *   void    *sc_zalloc(size_t)      zeroed memory, NULL on failure (setup paths only)
 *   void     sc_free(void *)
 *   uint64_t sc_rdtsc(void)         the host CPU's time-stamp counter
 *
 * and include the atomic vocabulary (sidecar_atomic.h). Per-CPU services (halt, the IPIs,
 * the fault hook) are the host's struct sidecar_host_ops (kernel/core/kernel.h).
 */
#ifndef SIDECAR_ENV_H
#define SIDECAR_ENV_H

#include "futex.h"
#include "sidecar_atomic.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t sc_now_ns(void)
{
	return sidecar_now_ns(); /* the runtime's clock (runtime/os/futex.h) */
}

/* A thread of the simulator may spin as long as it likes: the host scheduler preempts it. */
static inline void sc_yield_point(void)
{
}

static inline uint64_t sc_rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

static inline void *sc_zalloc(size_t size)
{
	return calloc(1, size);
}

static inline void sc_free(void *p)
{
	free(p);
}

#endif /* SIDECAR_ENV_H */
