/* SPDX-License-Identifier: MIT */
/*
 * sidecar-latency's histogram (bench/latency_hist.c): nearest-rank percentiles computed in
 * integers, and samples beyond the last bucket counted as overflow rather than folded into
 * it. Values only, no timing.
 */
#include "check.h"
#include "latency_hist.h"

#include <stdint.h>

/* 1..1000: every value below 2048 ns has its own bucket, so the percentiles are exact. */
static void test_ranks_of_1_to_1000(void)
{
	struct lat_hist h;

	REQUIRE(lat_hist_init(&h) == 0);
	for (uint64_t v = 1; v <= 1000; v++)
		lat_hist_record(&h, v);
	CHECK_EQ(h.count, 1000);
	CHECK_EQ(lat_hist_percentile(&h, LAT_PCM_P50), 500);
	CHECK_EQ(lat_hist_percentile(&h, LAT_PCM_P99), 990);
	/* ceil(0.999 * 1000) is 999; in floating point 99.9 / 100 * 1000 is 999.0000000000001
	 * and its ceil one rank too high. */
	CHECK_EQ(lat_hist_percentile(&h, LAT_PCM_P999), 999);
	CHECK_EQ(lat_hist_percentile(&h, LAT_PCM_ALL), 1000);
	CHECK_EQ(lat_hist_percentile(&h, 1), 1);
	CHECK_EQ(lat_hist_overflow(&h), 0);
	lat_hist_free(&h);
}

static void test_rank_arithmetic(void)
{
	CHECK_EQ(lat_hist_rank(0, LAT_PCM_P50), 0);
	CHECK_EQ(lat_hist_rank(1, LAT_PCM_P50), 1);
	CHECK_EQ(lat_hist_rank(1, 1), 1);
	CHECK_EQ(lat_hist_rank(7, LAT_PCM_P50), 4); /* ceil(3.5) */
	CHECK_EQ(lat_hist_rank(2000, LAT_PCM_P999), 1998);
	CHECK_EQ(lat_hist_rank(100000, LAT_PCM_P999), 99900);
	CHECK_EQ(lat_hist_rank(100001, LAT_PCM_P999), 99901); /* ceil(99900.999) */
	CHECK_EQ(lat_hist_rank(3000000000ull, LAT_PCM_P99), 2970000000ull);
	CHECK_EQ(lat_hist_rank(10, LAT_PCM_ALL + 1), 10); /* above 100 %: the last sample */
	/* Exact where a double is not: (2^53 + 1) samples, p50 is rank 2^52 + 1. */
	CHECK(lat_hist_rank((1ull << 53) + 1, LAT_PCM_P50) == (1ull << 52) + 1);
}

/* 2^43 ns and above: the overflow slot, counted and reported; the last real bucket keeps
 * only its own values. */
static void test_overflow(void)
{
	struct lat_hist h;

	CHECK_EQ(lat_hist_index(LAT_HIST_OVERFLOW_NS - 1), LAT_HIST_BUCKETS - 1);
	CHECK_EQ(lat_hist_index(LAT_HIST_OVERFLOW_NS), LAT_HIST_OVERFLOW);
	CHECK_EQ(lat_hist_index(UINT64_MAX), LAT_HIST_OVERFLOW);
	CHECK(lat_hist_bucket_low(LAT_HIST_OVERFLOW) == LAT_HIST_OVERFLOW_NS);

	REQUIRE(lat_hist_init(&h) == 0);
	lat_hist_record(&h, 100);
	lat_hist_record(&h, LAT_HIST_OVERFLOW_NS - 1);
	lat_hist_record(&h, LAT_HIST_OVERFLOW_NS);
	lat_hist_record(&h, UINT64_MAX / 2);
	CHECK_EQ(h.count, 4);
	CHECK_EQ(lat_hist_overflow(&h), 2);
	CHECK_EQ(h.buckets[LAT_HIST_BUCKETS - 1], 1);
	CHECK_EQ(lat_hist_percentile(&h, 25000), 100);
	/* The 2nd sample is in the last bucket: its lower bound, below 2^43. */
	CHECK(lat_hist_percentile(&h, LAT_PCM_P50) < LAT_HIST_OVERFLOW_NS);
	CHECK(lat_hist_percentile(&h, LAT_PCM_P50) >= LAT_HIST_OVERFLOW_NS - (LAT_HIST_OVERFLOW_NS >> 10));
	/* Ranks in the overflow slot report 2^43 ns (a lower bound), never less. */
	CHECK(lat_hist_percentile(&h, LAT_PCM_P99) == LAT_HIST_OVERFLOW_NS);
	CHECK(h.max == UINT64_MAX / 2);
	lat_hist_free(&h);
}

/* Every bucket's lower bound is at or below the value and within 0.1 % of it. */
static void test_bucket_bounds(void)
{
	for (uint64_t v = 1; v < LAT_HIST_OVERFLOW_NS; v = v * 3 / 2 + 1) {
		uint32_t i = lat_hist_index(v);
		uint64_t low = lat_hist_bucket_low(i);
		CHECK(i < LAT_HIST_BUCKETS);
		CHECK(low <= v);
		CHECK((double)(v - low) <= (double)v / 1000.0);
		if (i + 1 < LAT_HIST_BUCKETS)
			CHECK(lat_hist_bucket_low(i + 1) > v);
	}
}

static const struct check_case cases[] = {
	CHECK_CASE(ranks_of_1_to_1000),
	CHECK_CASE(rank_arithmetic),
	CHECK_CASE(overflow),
	CHECK_CASE(bucket_bounds),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_latency_hist", CHECK_CASES(cases), .watchdog_s = 30};
	return check_main(argc, argv, &suite);
}
