/* SPDX-License-Identifier: MIT */
/*
 * The sidecar kernel core's environment for fuzz_command_page: the user-space one, but the
 * clock is the fuzzer's (fuzz_now_ns), so an input can make it stand still or jump and
 * reach the poll loop's preemption check and window ends deterministically. The core is
 * built from its usual source list with this header first on the include path.
 */
#ifndef SIDECAR_ENV_H
#define SIDECAR_ENV_H

#include "sidecar_atomic.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t fuzz_now_ns(void);

static inline uint64_t sc_now_ns(void)
{
	return fuzz_now_ns();
}

static inline uint64_t sc_rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

static inline void sc_yield_point(void)
{
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
