/* SPDX-License-Identifier: MIT */
/*
 * sidecar-latency's histogram: HDR-style log-linear buckets.
 *
 *   below 2048 ns   one bucket per nanosecond (exact)
 *   2^k .. 2^(k+1)  1024 buckets (k = 11..42): 3 significant digits, relative error < 0.1 %
 *   from 2^43 ns    (about 2.4 hours) the overflow slot: counted, reported, not resolved
 *
 * Recording is a shift and an increment, cheap enough for the timed loop, and memory is
 * bounded (about 270 KiB) whatever the run length (--duration), which keeping every
 * sample is not. count, min, max and the sum are exact; a percentile is the lower bound
 * of the bucket that holds its sample (nearest-rank), clamped to [min, max]; a rank in the
 * overflow slot reports 2^43 ns (clamped the same way).
 */
#ifndef SIDECAR_BENCH_LATENCY_HIST_H
#define SIDECAR_BENCH_LATENCY_HIST_H

#include <stdint.h>

#define LAT_HIST_EXACT_BITS 11
#define LAT_HIST_SUB_BITS 10
#define LAT_HIST_TOP_BIT 42
#define LAT_HIST_BUCKETS \
	((1u << LAT_HIST_EXACT_BITS) + (LAT_HIST_TOP_BIT - LAT_HIST_EXACT_BITS + 1) * (1u << LAT_HIST_SUB_BITS))
/* The slot after the last bucket: every sample at or above LAT_HIST_OVERFLOW_NS. */
#define LAT_HIST_OVERFLOW LAT_HIST_BUCKETS
#define LAT_HIST_OVERFLOW_NS (1ull << (LAT_HIST_TOP_BIT + 1))

/* Percentiles as integer fractions of 100000 ("per cent mille"), so that a rank is exact
 * integer arithmetic: p99.9 of 1000 samples is rank 999, never 1000 by a rounding error. */
#define LAT_PCM_P50 50000u
#define LAT_PCM_P99 99000u
#define LAT_PCM_P999 99900u
#define LAT_PCM_ALL 100000u

struct lat_hist {
	uint64_t *buckets; /* LAT_HIST_BUCKETS counters, then the overflow slot */
	uint64_t count;
	uint64_t min, max; /* ns, exact */
	uint64_t sum;      /* ns, exact (wraps after 584 years of samples) */
};

/* 0, or -ENOMEM. */
int lat_hist_init(struct lat_hist *h);
void lat_hist_free(struct lat_hist *h);

/* The bucket (or LAT_HIST_OVERFLOW) that holds v. */
static inline uint32_t lat_hist_index(uint64_t v)
{
	if (v < (1u << LAT_HIST_EXACT_BITS))
		return (uint32_t)v;
	unsigned int k = 63u - (unsigned int)__builtin_clzll(v);
	if (k > LAT_HIST_TOP_BIT)
		return LAT_HIST_OVERFLOW;
	unsigned int shift = k - LAT_HIST_SUB_BITS;
	uint32_t sub = (uint32_t)(v >> shift) - (1u << LAT_HIST_SUB_BITS);
	return (1u << LAT_HIST_EXACT_BITS) + (k - LAT_HIST_EXACT_BITS) * (1u << LAT_HIST_SUB_BITS) + sub;
}

static inline void lat_hist_record(struct lat_hist *h, uint64_t v)
{
	h->buckets[lat_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Samples at or above LAT_HIST_OVERFLOW_NS (2^43 ns). */
static inline uint64_t lat_hist_overflow(const struct lat_hist *h)
{
	return h->buckets ? h->buckets[LAT_HIST_OVERFLOW] : 0;
}

/* The smallest value that lands in bucket `idx` (LAT_HIST_OVERFLOW_NS for the overflow). */
uint64_t lat_hist_bucket_low(uint32_t idx);

/* The nearest rank of the fraction pcm / 100000 of `count` samples: ceil(pcm * count /
 * 100000), at least 1 and at most count, in integers. 0 for count 0. */
uint64_t lat_hist_rank(uint64_t count, uint32_t pcm);

/* Nearest-rank percentile, pcm in 1..100000 (LAT_PCM_*); 0 for an empty histogram. */
uint64_t lat_hist_percentile(const struct lat_hist *h, uint32_t pcm);

/* Calls fn for every non-empty bucket (the overflow slot last), ascending: its value (lower
 * bound, clamped to [min, max]) and the fraction of samples in it and below. */
typedef void (*lat_hist_cdf_fn)(uint64_t value_ns, double fraction, void *ctx);
void lat_hist_cdf(const struct lat_hist *h, lat_hist_cdf_fn fn, void *ctx);

#endif
