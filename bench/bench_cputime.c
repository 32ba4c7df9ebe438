/* SPDX-License-Identifier: MIT */
/* Exact process CPU time from the per-thread clocks (bench_cputime.h). */
#include "bench_cputime.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bench_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The kernel's per-thread CPU clock id (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), what
 * pthread_getcpuclockid builds for a pthread_t; we only have the library's threads' tids). */
static clockid_t thread_clock(pid_t tid)
{
	return (clockid_t)((~(unsigned int)tid << 3) | 2u /* SCHED */ | 4u /* PERTHREAD */);
}

void bench_cputime_snapshot(struct bench_cputime *s)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	s->n = 0;
	s->overflow = 0;
	s->process_clock_ns = bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (!d) {
		s->overflow = 1;
		return;
	}
	while ((e = readdir(d))) {
		struct timespec ts;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		pid_t tid = (pid_t)atoi(e->d_name);
		if (clock_gettime(thread_clock(tid), &ts))
			continue; /* it exited meanwhile */
		if (s->n == BENCH_CPUTIME_MAX_THREADS) {
			s->overflow++;
			continue;
		}
		s->tid[s->n] = tid;
		s->ns[s->n++] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	closedir(d);
}

uint64_t bench_cputime_delta(const struct bench_cputime *a, const struct bench_cputime *b)
{
	uint64_t sum = 0;

	if (a->overflow || b->overflow)
		return b->process_clock_ns - a->process_clock_ns;
	for (int i = 0; i < b->n; i++) {
		uint64_t before = 0;
		for (int j = 0; j < a->n; j++)
			if (a->tid[j] == b->tid[i])
				before = a->ns[j];
		/* A thread born inside the window counts from zero. */
		sum += b->ns[i] - before;
	}
	return sum;
}
