/* SPDX-License-Identifier: MIT */
/* The timed loop (latency_loop.h). */
#include "latency_loop.h"

#include "bench_cputime.h"
#include "futex.h"
#include "latency_progress.h"

int lat_loop_warmup(const struct lat_budget *b, lat_round_trip_fn fn, void *ctx, uint64_t *done)
{
	uint64_t start = sidecar_now_ns(), n = 0;
	int rc = 0;

	while (n < b->warmup) {
		rc = fn(ctx);
		if (rc)
			break;
		n++;
		if (b->warmup_max_ns && sidecar_now_ns() - start >= b->warmup_max_ns)
			break;
	}
	*done = n;
	return rc;
}

int lat_loop_measure(const struct lat_budget *b, lat_round_trip_fn fn, void *ctx, const char *label,
		     struct lat_result *r)
{
	struct lat_progress pg;
	struct bench_cputime cpu0, cpu1;
	bench_cputime_snapshot(&cpu0);
	uint64_t thr0 = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t start = sidecar_now_ns(), prev = start, n = 0, paused = 0;
	uint64_t stop = b->iterations ? UINT64_MAX : start + b->duration_ns;
	int rc;

	lat_progress_begin(&pg, label, b, start);
	for (;;) {
		rc = fn(ctx);
		uint64_t now = sidecar_now_ns();
		if (rc)
			break;
		lat_hist_record(&r->hist, now - prev);
		prev = now;
		n++;
		if (b->iterations ? n >= b->iterations : now >= stop)
			break;
		if (__builtin_expect(now >= pg.next_ns, 0)) {
			/* Between two round trips, and not part of either sample. */
			lat_progress_tick(&pg, now, n);
			prev = sidecar_now_ns();
			paused += prev - now;
			if (!b->iterations)
				stop += prev - now;
		}
	}
	uint64_t thr1 = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	bench_cputime_snapshot(&cpu1);
	lat_progress_end(&pg);

	r->wall_s = (double)(prev - start - paused) / 1e9;
	lat_result_finish(r, bench_cputime_delta(&cpu0, &cpu1), thr1 - thr0);
	r->process_clock_ns_per_rt =
		(double)(cpu1.process_clock_ns - cpu0.process_clock_ns) / (double)(r->iterations ? r->iterations : 1);
	return rc;
}
