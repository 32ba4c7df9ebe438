/* SPDX-License-Identifier: MIT */
/* The progress line (latency_progress.h). */
#include "latency_progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#define PROGRESS_FIRST_NS 1000000000ull
#define PROGRESS_EVERY_NS 1000000000ull

static bool progress_forced;

void lat_progress_configure(bool force)
{
	progress_forced = force;
}

bool lat_progress_enabled(void)
{
	return progress_forced || isatty(STDERR_FILENO);
}

void lat_progress_begin(struct lat_progress *p, const char *label, const struct lat_budget *b, uint64_t now)
{
	p->label = label;
	p->start_ns = now;
	p->total = b->iterations;
	p->duration_ns = b->duration_ns;
	p->tty = isatty(STDERR_FILENO);
	p->printed = false;
	p->next_ns = lat_progress_enabled() ? now + PROGRESS_FIRST_NS : UINT64_MAX;
}

void lat_progress_tick(struct lat_progress *p, uint64_t now, uint64_t done)
{
	double el = (double)(now - p->start_ns) / 1e9;

	/* On a terminal the line rewrites itself; elsewhere (a log) one line per update. */
	if (p->total)
		fprintf(stderr, "%ssidecar-latency: %s: %" PRIu64 "/%" PRIu64 " round trips (%.0f%%), %.1f s%s",
			p->tty ? "\r" : "", p->label, done, p->total, 100.0 * (double)done / (double)p->total, el,
			p->tty ? "\033[K" : "\n");
	else
		fprintf(stderr, "%ssidecar-latency: %s: %.1f/%.1f s, %" PRIu64 " round trips%s", p->tty ? "\r" : "",
			p->label, el, (double)p->duration_ns / 1e9, done, p->tty ? "\033[K" : "\n");
	fflush(stderr);
	p->printed = true;
	p->next_ns = now + PROGRESS_EVERY_NS;
}

void lat_progress_end(struct lat_progress *p)
{
	if (p->printed && p->tty) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}
