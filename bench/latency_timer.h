/* SPDX-License-Identifier: MIT */
/*
 * The round-trip timer: clock_gettime(CLOCK_MONOTONIC), a vDSO call on every clocksource
 * the kernel can read from user space (tsc, kvm-clock, hyperv_clocksource_tsc_page), with
 * ns resolution and no calibration to get wrong. Its own cost is measured and reported,
 * never subtracted: one read per round trip is inside every sample.
 */
#ifndef SIDECAR_BENCH_LATENCY_TIMER_H
#define SIDECAR_BENCH_LATENCY_TIMER_H

#include <stdint.h>
#include <time.h>

static inline uint64_t lat_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t lat_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The cost of one lat_now_ns(): min and median of back-to-back reads. */
void lat_timer_cost(uint64_t *min_ns, uint64_t *p50_ns);

/* The kernel's current clocksource ("tsc", "kvm-clock", ...), or "unknown". */
void lat_timer_clocksource(char *buf, size_t len);

#endif
