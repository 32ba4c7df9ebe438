/* SPDX-License-Identifier: MIT */
/* Thin futex wrappers: the simulated halt/IPI and the runtime's sleeps. Private futexes:
 * every word lives in this process. */
#ifndef SIDECAR_DRIVER_FUTEX_H
#define SIDECAR_DRIVER_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleeps while *addr == expected, at most timeout_ns (< 0: no limit). Returns 0 when woken
 * (or spuriously), -EAGAIN when *addr != expected, -ETIMEDOUT, -EINTR. */
static inline int sidecar_futex_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	if (syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0) == 0)
		return 0;
	return -errno;
}

/* Wakes up to n sleepers; returns how many woke. */
static inline int sidecar_futex_wake(_Atomic uint32_t *addr, int n)
{
	long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
	return r < 0 ? 0 : (int)r;
}

static inline uint64_t sidecar_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
