/* SPDX-License-Identifier: MIT */
/* The log-linear latency histogram (latency_hist.h has the layout). */
#include "latency_hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int lat_hist_init(struct lat_hist *h)
{
	h->buckets = calloc(LAT_HIST_BUCKETS, sizeof(*h->buckets));
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

uint64_t lat_hist_percentile(const struct lat_hist *h, double pct)
{
	if (!h->count)
		return 0;
	/* Nearest rank: the smallest sample with at least pct % of the samples at or below. */
	uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < LAT_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			return clamp(h, lat_hist_bucket_low(i));
	}
	return h->max;
}

void lat_hist_cdf(const struct lat_hist *h, lat_hist_cdf_fn fn, void *ctx)
{
	uint64_t seen = 0;

	for (uint32_t i = 0; i < LAT_HIST_BUCKETS && seen < h->count; i++) {
		if (!h->buckets[i])
			continue;
		seen += h->buckets[i];
		fn(clamp(h, lat_hist_bucket_low(i)), (double)seen / (double)h->count, ctx);
	}
}
