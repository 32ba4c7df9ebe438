/* SPDX-License-Identifier: MIT */
/* The log-linear latency histogram (latency_hist.h has the layout). */
#include "latency_hist.h"

#include <errno.h>
#include <stdlib.h>

int lat_hist_init(struct lat_hist *h)
{
	h->buckets = calloc(LAT_HIST_BUCKETS + 1, sizeof(*h->buckets));
	if (!h->buckets)
		return -ENOMEM;
	h->count = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->sum = 0;
	return 0;
}

void lat_hist_free(struct lat_hist *h)
{
	free(h->buckets);
	h->buckets = NULL;
}

uint64_t lat_hist_bucket_low(uint32_t idx)
{
	if (idx < (1u << LAT_HIST_EXACT_BITS))
		return idx;
	if (idx >= LAT_HIST_OVERFLOW)
		return LAT_HIST_OVERFLOW_NS;
	uint32_t j = idx - (1u << LAT_HIST_EXACT_BITS);
	unsigned int k = LAT_HIST_EXACT_BITS + j / (1u << LAT_HIST_SUB_BITS);
	uint64_t sub = j % (1u << LAT_HIST_SUB_BITS);
	return ((1ull << LAT_HIST_SUB_BITS) + sub) << (k - LAT_HIST_SUB_BITS);
}

static uint64_t clamp(const struct lat_hist *h, uint64_t v)
{
	if (v < h->min)
		return h->min;
	if (v > h->max)
		return h->max;
	return v;
}

uint64_t lat_hist_rank(uint64_t count, uint32_t pcm)
{
	if (!count)
		return 0;
	if (pcm > LAT_PCM_ALL)
		pcm = LAT_PCM_ALL;
	/* ceil(count * pcm / 100000) without overflowing count * pcm: the whole multiples of
	 * 100000 first, then the remainder, whose product is below 100000 * 100000. */
	uint64_t q = count / LAT_PCM_ALL, r = count % LAT_PCM_ALL;
	uint64_t rank = q * pcm + (r * pcm + LAT_PCM_ALL - 1) / LAT_PCM_ALL;
	if (rank < 1)
		rank = 1;
	return rank > count ? count : rank;
}

uint64_t lat_hist_percentile(const struct lat_hist *h, uint32_t pcm)
{
	/* Nearest rank: the smallest sample with at least pcm / 100000 of the samples at or
	 * below it. */
	uint64_t rank = lat_hist_rank(h->count, pcm), seen = 0;

	if (!rank)
		return 0;
	for (uint32_t i = 0; i <= LAT_HIST_OVERFLOW; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			return clamp(h, lat_hist_bucket_low(i));
	}
	return h->max;
}

void lat_hist_cdf(const struct lat_hist *h, lat_hist_cdf_fn fn, void *ctx)
{
	uint64_t seen = 0;

	for (uint32_t i = 0; i <= LAT_HIST_OVERFLOW && seen < h->count; i++) {
		if (!h->buckets[i])
			continue;
		seen += h->buckets[i];
		fn(clamp(h, lat_hist_bucket_low(i)), (double)seen / (double)h->count, ctx);
	}
}
