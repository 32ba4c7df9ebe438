/* SPDX-License-Identifier: MIT */
/* What the timer costs and where its time comes from. */
#include "latency_timer.h"

#include "futex.h"

#include "latency_hist.h"

#include <stdio.h>
#include <string.h>

#define TIMER_PROBES 20000

void lat_timer_cost(uint64_t *min_ns, uint64_t *p50_ns)
{
	struct lat_hist h;

	*min_ns = *p50_ns = 0;
	if (lat_hist_init(&h))
		return;
	/* Back-to-back pairs: the difference is one read's cost as the timed loop sees it
	 * (the part after the clock is sampled plus the part before). */
	for (int i = 0; i < TIMER_PROBES; i++) {
		uint64_t a = sidecar_now_ns();
		uint64_t b = sidecar_now_ns();
		lat_hist_record(&h, b - a);
	}
	*min_ns = h.min;
	*p50_ns = lat_hist_percentile(&h, LAT_PCM_P50);
	lat_hist_free(&h);
}

void lat_timer_clocksource(char *buf, size_t len)
{
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}
