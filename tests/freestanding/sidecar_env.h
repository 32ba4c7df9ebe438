/* SPDX-License-Identifier: MIT */
/*
 * A bare environment for the sidecar kernel core: only what the compiler itself provides
 * (-ffreestanding -nostdinc), to prove the core needs no libc beyond memcpy, memset and
 * vsnprintf (which every kernel has). tests/freestanding.cmake compiles the core with it and
 * checks the undefined symbols of the result. See kernel/hosts/user/sidecar_env.h for the
 * contract.
 */
#ifndef SIDECAR_ENV_H
#define SIDECAR_ENV_H

/* Tells the ABI headers not to include libc headers: the types come from here. */
#define SIDECAR_FREESTANDING 1

typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __SIZE_TYPE__ size_t;
typedef __builtin_va_list va_list;
#define bool _Bool
#define true 1
#define false 0
#define NULL ((void *)0)
#define offsetof(type, member) __builtin_offsetof(type, member)
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_end(ap) __builtin_va_end(ap)
#define UINT32_MAX 0xffffffffu
#define UINT64_MAX 0xffffffffffffffffull

/* The Linux values (the core returns negative errno codes). */
#define ENOENT 2
#define EIO 5
#define ENOMEM 12
#define EBUSY 16
#define EINVAL 22
#define ENOTSUP 95

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

uint64_t sc_now_ns(void);
void *sc_zalloc(size_t size);
void sc_free(void *p);

static inline uint64_t sc_rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

static inline void sc_yield_point(void)
{
}

#include "sidecar_atomic.h"

#endif /* SIDECAR_ENV_H */
