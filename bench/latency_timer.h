/* SPDX-License-Identifier: MIT */
/*
 * The round-trip timer is sidecar_now_ns (runtime/os/futex.h, the library's own clock):
 * clock_gettime(CLOCK_MONOTONIC), a vDSO call on every clocksource the kernel can read from
 * user space (tsc, kvm-clock, hyperv_clocksource_tsc_page), with ns resolution and no
 * calibration to get wrong. One read per round trip is inside every sample; its cost is
 * measured here and reported, and the loop's whole per-sample overhead (this read included)
 * is measured by the null loop (latency_overhead.h) and subtracted only in the net figures.
 */
#ifndef SIDECAR_BENCH_LATENCY_TIMER_H
#define SIDECAR_BENCH_LATENCY_TIMER_H

#include <stddef.h>
#include <stdint.h>

/* The cost of one sidecar_now_ns(): min and median of back-to-back reads. */
void lat_timer_cost(uint64_t *min_ns, uint64_t *p50_ns);

/* The kernel's current clocksource ("tsc", "kvm-clock", ...), or "unknown". */
void lat_timer_clocksource(char *buf, size_t len);

#endif
