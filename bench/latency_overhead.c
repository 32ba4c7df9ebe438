/* SPDX-License-Identifier: MIT */
/* The null loop (latency_overhead.h). */
#include "latency_overhead.h"

#include "latency_loop.h"

/* Not static inline in a header: the loop calls it through a pointer, as it calls a real
 * round trip, and noinline keeps a future LTO build from folding it into the loop. */
__attribute__((noinline)) static int null_round_trip(void *ctx)
{
	(void)ctx;
	__asm__ volatile("" ::: "memory");
	return 0;
}

int lat_measure_overhead(const struct lat_budget *b, struct lat_result *r)
{
	struct lat_budget nb = *b;

	if (!nb.iterations && nb.duration_ns > LAT_OVERHEAD_MAX_NS) {
		nb.duration_ns = LAT_OVERHEAD_MAX_NS;
		nb.warmup_max_ns = LAT_OVERHEAD_MAX_NS / 10;
	}
	lat_loop_warmup(&nb, null_round_trip, NULL, &r->warmup);
	lat_loop_measure(&nb, null_round_trip, NULL, "null loop (overhead)", r);
	/* Nothing signals, sleeps or polls. */
	struct lat_counters c = {0};
	lat_result_set_counters(r, &c);
	return LAT_EXIT_OK;
}
