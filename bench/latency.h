/* SPDX-License-Identifier: MIT */
/*
 * sidecar-latency: the types every part of the tool shares. One measurement (a wait mode
 * or a reference) becomes a struct lat_result; a whole invocation is a struct lat_run.
 */
#ifndef SIDECAR_BENCH_LATENCY_H
#define SIDECAR_BENCH_LATENCY_H

#include "latency_hist.h"

#include <sidecar/client.h>

#include <stdbool.h>
#include <stdint.h>

struct bench_cpus;

#define LAT_MAX_MODES 4
#define LAT_MAX_REFS 4 /* spin, futex; on target device also kwait, kevent (latency_kref.h) */
#define LAT_TARGET_MAX 512

/* Exit statuses. */
#define LAT_EXIT_OK 0
#define LAT_EXIT_FAIL 1  /* the library or the system failed (a message says which) */
#define LAT_EXIT_USAGE 2 /* a bad option or value (a message names it) */

/* How long one measurement runs. */
struct lat_budget {
	uint64_t iterations; /* measured round trips; 0: run for duration_ns */
	uint64_t duration_ns;
	uint64_t warmup;        /* round trips run first and left out of the stats */
	uint64_t warmup_max_ns; /* the warmup stops after this long (0: no limit) */
};

/* What the invocation measures, and where. */
struct lat_cfg {
	char target[LAT_TARGET_MAX];      /* as passed to sidecar_client_open */
	const struct bench_cpus *allowed; /* the process's CPUs */
	int client_cpu;                   /* the measuring thread */
	int sidecar_cpu;                  /* the sidecar CPU's thread; the references' partner */
	uint32_t vp;                      /* the VP (sidecar CPU number) acquired */
	uint64_t work_ns;
	bool read_message;
	struct lat_budget budget;
	enum sidecar_wait_mode modes[LAT_MAX_MODES];
	int nmodes;
};

/* The machine, for the table's header and the JSON "machine" object. */
struct lat_machine {
	char cpu_model[128];
	long nproc;  /* online CPUs */
	int allowed; /* CPUs this process may run on */
	char kernel[128];
	char hostname[256];
	char date[40]; /* ISO 8601, UTC */
	char clocksource[64];
	uint64_t timer_min_ns, timer_p50_ns; /* cost of one clock_gettime(CLOCK_MONOTONIC) */
};

/* One measurement: a wait mode ("seed", "futex", "poll", "adaptive"), a reference ("spin",
 * "futex", and on the device "kwait", "kevent") or the null loop ("null", latency_overhead.h). Every per-round-trip figure is over
 * the measured loop only. */
struct lat_result {
	char name[16];
	bool reference;
	bool null_loop; /* the overhead measurement, not a round trip (latency_overhead.h) */
	bool skipped;
	char skip_reason[192];
	uint64_t warmup;     /* warmup round trips actually run */
	uint64_t iterations; /* measured round trips (every one is in the stats) */
	uint64_t min_ns, p50_ns, p99_ns, p999_ns, max_ns;
	uint64_t overflow; /* samples at or above 2^43 ns, beyond the histogram (latency_hist.h) */
	double mean_ns;
	/* Net of the loop's own per-sample overhead: p50 / p99 minus the null loop's p50,
	 * floored at 0 (latency_overhead.h). has_net: they are set. */
	bool has_net;
	uint64_t net_p50_ns, net_p99_ns;
	double wall_s;
	double round_trips_per_s;
	double cpu_ns_per_rt;           /* the process's CPU time, every thread (bench_cputime.h) */
	double process_clock_ns_per_rt; /* the same from CLOCK_PROCESS_CPUTIME_ID (tick-lagged) */
	double client_cpu_ns_per_rt;    /* CLOCK_THREAD_CPUTIME_ID of the measuring thread */
	double request_signals_per_rt, response_signals_per_rt, sleeps_per_rt, polled_per_rt;
	uint32_t message_type; /* --read-message: the last intercept's type, port */
	uint16_t message_port;
	struct lat_hist hist; /* kept for the plot */
};

/* Signal and sleep counts over a measured loop (deltas). */
struct lat_counters {
	uint64_t request_signals, response_signals, sleeps, polled;
};

struct lat_run {
	struct lat_cfg cfg;
	struct lat_machine machine;
	struct lat_result overhead; /* the null loop; measured when has_overhead */
	bool has_overhead;
	struct lat_result refs[LAT_MAX_REFS]; /* spin, futex[, kwait, kevent] */
	int nrefs;
	struct lat_result modes[LAT_MAX_MODES];
	int nmodes;
};

/* The fast-path ratios printed after the table; NAN where an input is missing (or a net
 * denominator is 0). The _net_ ones divide net p50s (latency_overhead.h). */
struct lat_ratios {
	double poll_vs_spin_p50;
	double adaptive_vs_poll_p50;
	double futex_vs_futex_ref_p50;
	double adaptive_vs_futex_client_cpu;
	double poll_vs_spin_net_p50;
	double adaptive_vs_poll_net_p50;
	double futex_vs_futex_ref_net_p50;
	/* Target device: FUTEX over the kernel path's matching wake reference (kwait). */
	double futex_vs_kwait_ref_p50;
	double futex_vs_kwait_ref_net_p50;
};

/* latency_result.c */
int lat_result_init(struct lat_result *r, const char *name, bool reference);
void lat_result_free(struct lat_result *r);
void lat_result_skip(struct lat_result *r, const char *reason);
/* Fills the percentiles, mean and rates from the histogram, wall_s and the CPU times. */
void lat_result_finish(struct lat_result *r, uint64_t cpu_ns, uint64_t client_cpu_ns);
void lat_result_set_counters(struct lat_result *r, const struct lat_counters *c);
/* Sets the net figures: p50 / p99 minus overhead_ns, floored at 0. */
void lat_result_set_net(struct lat_result *r, uint64_t overhead_ns);
/* raw p50 over the reference's, and net p50 over the reference's net p50: NAN when the
 * reference is missing, skipped or its (net) p50 is 0. */
double lat_result_vs(const struct lat_result *r, const struct lat_result *ref);
double lat_result_vs_net(const struct lat_result *r, const struct lat_result *ref);
/* A measured (not skipped) result by name, or NULL. */
const struct lat_result *lat_run_ref(const struct lat_run *run, const char *name);
const struct lat_result *lat_run_mode(const struct lat_run *run, const char *name);
void lat_run_ratios(const struct lat_run *run, struct lat_ratios *out);
/* Every measured result's net figures from run->overhead (no-op without it). */
void lat_run_set_net(struct lat_run *run);
void lat_run_free(struct lat_run *run);

#endif
