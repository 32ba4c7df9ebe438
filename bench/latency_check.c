/* SPDX-License-Identifier: MIT */
/*
 * sidecar-latency-check: validates sidecar-latency's --json output against the shape
 * docs/benchmarks.md describes (the bench-smoke tests run it). Shape and consistency only,
 * never timing: a slow machine passes as long as the numbers are well formed.
 *
 *   sidecar-latency-check FILE [--modes LIST] [--iterations N] [--sweep] [--png FILE]
 */
#include "check.h"

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stdint.h>

/* Every measured result carries these (docs/benchmarks.md, "JSON"). */
static const char *const stat_keys[] = {
	"iterations",
	"min_ns",
	"p50_ns",
	"p99_ns",
	"p999_ns",
	"max_ns",
	"round_trips_per_s",
	"cpu_ns_per_round_trip",
	"request_signals_per_round_trip",
	"response_signals_per_round_trip",
	"client_cpu_ns_per_round_trip",
	"sleeps_per_round_trip",
	"polled_completions_per_round_trip",
	"warmup",
	"mean_ns",
	"wall_s",
	"overflow",
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len + 1);
		if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
			buf[len] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static double num(const cJSON *o, const char *key, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v)) {
		fprintf(stderr, "%s: \"%s\" is missing or not a number\n", where, key);
		check_failures++;
		return -1;
	}
	return v->valuedouble;
}

static void str(const cJSON *o, const char *key, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || !v->valuestring[0]) {
		fprintf(stderr, "%s: \"%s\" is missing or not a non-empty string\n", where, key);
		check_failures++;
	}
}

/* A number, or null where the run has no such value (a sweep's placement). */
static void num_or_null(const cJSON *o, const char *key, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) && !cJSON_IsNull(v)) {
		fprintf(stderr, "%s: \"%s\" is missing or neither a number nor null\n", where, key);
		check_failures++;
	}
}

static void check_stats(const cJSON *o, const char *where, double iterations)
{
	for (size_t i = 0; i < sizeof(stat_keys) / sizeof(stat_keys[0]); i++) {
		double v = num(o, stat_keys[i], where);
		if (v < 0) {
			fprintf(stderr, "%s: \"%s\" is negative\n", where, stat_keys[i]);
			check_failures++;
		}
	}
	double n = num(o, "iterations", where);
	CHECK(n >= 1);
	if (iterations > 0 && n != iterations) {
		fprintf(stderr, "%s: %g iterations, %g requested\n", where, n, iterations);
		check_failures++;
	}
	/* Order, not timing: any histogram's percentiles are monotonic. */
	double mn = num(o, "min_ns", where), p50 = num(o, "p50_ns", where), p99 = num(o, "p99_ns", where);
	double p999 = num(o, "p999_ns", where), mx = num(o, "max_ns", where);
	if (!(mn <= p50 && p50 <= p99 && p99 <= p999 && p999 <= mx)) {
		fprintf(stderr, "%s: percentiles out of order: %g %g %g %g %g\n", where, mn, p50, p99, p999, mx);
		check_failures++;
	}
	CHECK(num(o, "round_trips_per_s", where) > 0);
}

static void check_machine(const cJSON *root)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "machine");

	if (!cJSON_IsObject(m)) {
		fprintf(stderr, "\"machine\" is missing or not an object\n");
		check_failures++;
		return;
	}
	str(m, "cpu_model", "machine");
	str(m, "kernel", "machine");
	str(m, "hostname", "machine");
	str(m, "date", "machine");
	str(m, "target", "machine");
	CHECK(num(m, "nproc", "machine") >= 1);
	num_or_null(m, "client_cpu", "machine");
	num_or_null(m, "sidecar_cpu", "machine");
	num_or_null(m, "iterations", "machine");
	num(m, "warmup", "machine");
	CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "timer")));
}

static const cJSON *find(const cJSON *arr, const char *key, const char *value)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
		if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
			return e;
	}
	return NULL;
}

/* A number or null (a ratio that cannot be computed is null). */
static void ratio_key(const cJSON *o, const char *key, const char *where)
{
	num_or_null(o, key, where);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsNumber(v) && v->valuedouble < 0) {
		fprintf(stderr, "%s: \"%s\" is negative\n", where, key);
		check_failures++;
	}
}

/* net = raw - the null loop's p50, floored at 0: exact integers, so equality is checked. */
static void check_net(const cJSON *o, const char *where, double overhead)
{
	double p50 = num(o, "p50_ns", where), p99 = num(o, "p99_ns", where);
	double n50 = num(o, "net_p50_ns", where), n99 = num(o, "net_p99_ns", where);
	double want50 = p50 > overhead ? p50 - overhead : 0, want99 = p99 > overhead ? p99 - overhead : 0;

	if (n50 != want50 || n99 != want99) {
		fprintf(stderr, "%s: net p50/p99 %g/%g, expected %g/%g (raw %g/%g minus %g)\n", where, n50, n99, want50,
			want99, p50, p99, overhead);
		check_failures++;
	}
	CHECK(n50 <= n99);
	ratio_key(o, "vs_spin_net_p50", where);
	ratio_key(o, "vs_futex_net_p50", where);
}

/* The null loop: a measured result of its own, whose p50 the net figures subtract. */
static double check_overhead(const cJSON *root, double iterations)
{
	const cJSON *ov = cJSON_GetObjectItemCaseSensitive(root, "loop_overhead");

	if (!cJSON_IsObject(ov)) {
		fprintf(stderr, "\"loop_overhead\" is missing or not an object\n");
		check_failures++;
		return 0;
	}
	check_stats(ov, "loop_overhead", iterations);
	str(ov, "method", "loop_overhead");
	return num(ov, "p50_ns", "loop_overhead");
}

static void check_run(const cJSON *root, const char *modes, double iterations)
{
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(root, "references");
	const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
	const cJSON *skipped = cJSON_GetObjectItemCaseSensitive(root, "skipped");

	const cJSON *ratios = cJSON_GetObjectItemCaseSensitive(root, "ratios");
	static const char *const ratio_keys[] = {
		"poll_vs_spin_p50",           "adaptive_vs_poll_p50",
		"futex_vs_futex_ref_p50",     "adaptive_vs_futex_client_cpu",
		"poll_vs_spin_net_p50",       "adaptive_vs_poll_net_p50",
		"futex_vs_futex_ref_net_p50",
	};

	REQUIRE(cJSON_IsArray(refs));
	REQUIRE(cJSON_IsArray(results));
	REQUIRE(cJSON_IsObject(ratios));
	for (size_t i = 0; i < sizeof(ratio_keys) / sizeof(ratio_keys[0]); i++)
		ratio_key(ratios, ratio_keys[i], "ratios");
	double overhead = check_overhead(root, iterations);
	const char *names[] = {"spin", "futex"};
	for (int i = 0; i < 2; i++) {
		char where[64];
		const cJSON *r = find(refs, "name", names[i]);
		snprintf(where, sizeof(where), "references[%s]", names[i]);
		if (!r) {
			fprintf(stderr, "%s: missing\n", where);
			check_failures++;
			continue;
		}
		check_stats(r, where, iterations);
		check_net(r, where, overhead);
	}
	for (const char *s = modes; *s;) {
		char mode[32], where[64];
		size_t len = strcspn(s, ",");
		snprintf(mode, sizeof(mode), "%.*s", (int)len, s);
		snprintf(where, sizeof(where), "results[%s]", mode);
		const cJSON *r = find(results, "mode", mode);
		if (r) {
			check_stats(r, where, iterations);
			check_net(r, where, overhead);
		} else if (cJSON_IsArray(skipped) && (r = find(skipped, "mode", mode))) {
			printf("mode %s was skipped by the target\n", mode);
			str(r, "reason", "skipped");
		} else {
			fprintf(stderr, "%s: neither measured nor skipped\n", where);
			check_failures++;
		}
		s += len;
		if (*s == ',')
			s++;
	}
}

/* The cell for (client, sidecar), or NULL. */
static const cJSON *sweep_cell(const cJSON *cells, double client, double sidecar)
{
	const cJSON *cell;

	cJSON_ArrayForEach(cell, cells)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(cell, "client_cpu");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(cell, "sidecar_cpu");
		if (cJSON_IsNumber(c) && cJSON_IsNumber(s) && c->valuedouble == client && s->valuedouble == sidecar)
			return cell;
	}
	return NULL;
}

/* "<name>_p50_ns": n rows of n numbers (null where not measured), rows client CPU, columns
 * sidecar CPU in the order of "cpus", each equal to that cell's p50. */
static void check_matrix(const cJSON *sw, const char *name, const cJSON *cpus, const cJSON *cells)
{
	char key[48];
	int n = cJSON_GetArraySize(cpus);

	snprintf(key, sizeof(key), "%s_p50_ns", name);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(sw, key);
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != n) {
		fprintf(stderr, "sweep: \"%s\" is missing or not %d rows\n", key, n);
		check_failures++;
		return;
	}
	for (int i = 0; i < n; i++) {
		const cJSON *row = cJSON_GetArrayItem(m, i);
		if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != n) {
			fprintf(stderr, "sweep: %s row %d is not %d columns\n", key, i, n);
			check_failures++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			const cJSON *v = cJSON_GetArrayItem(row, j);
			double client = cJSON_GetArrayItem(cpus, i)->valuedouble;
			double sidecar = cJSON_GetArrayItem(cpus, j)->valuedouble;
			const cJSON *cell = sweep_cell(cells, client, sidecar);
			const cJSON *r = cell ? cJSON_GetObjectItemCaseSensitive(cell, name) : NULL;
			const cJSON *p50 = r ? cJSON_GetObjectItemCaseSensitive(r, "p50_ns") : NULL;
			if (cJSON_IsNull(v) && !cJSON_IsNumber(p50))
				continue; /* not measured, and the cell says so */
			if (!cJSON_IsNumber(v) || !cJSON_IsNumber(p50) || v->valuedouble != p50->valuedouble) {
				fprintf(stderr, "sweep: %s[%d][%d] does not match cell %g->%g\n", key, i, j, client,
					sidecar);
				check_failures++;
			}
		}
	}
}

/* "recommended" / "worst": a pair of the swept CPUs. */
static void check_pair(const cJSON *sw, const char *key, const cJSON *cpus, bool required)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(sw, key);

	if (!p && !required)
		return;
	if (!cJSON_IsObject(p)) {
		fprintf(stderr, "sweep: \"%s\" is missing or not an object\n", key);
		check_failures++;
		return;
	}
	for (int k = 0; k < 2; k++) {
		double cpu = num(p, k ? "sidecar_cpu" : "client_cpu", key);
		bool found = false;
		const cJSON *c;
		cJSON_ArrayForEach(c, cpus) found |= cJSON_IsNumber(c) && c->valuedouble == cpu;
		if (!found) {
			fprintf(stderr, "sweep: %s names CPU %g, which was not swept\n", key, cpu);
			check_failures++;
		}
	}
	num(p, "spin_p50_ns", key);
	str(p, "rule", key);
}

static void check_sweep(const cJSON *root, const char *modes)
{
	const cJSON *sw = cJSON_GetObjectItemCaseSensitive(root, "sweep");

	REQUIRE(cJSON_IsObject(sw));
	const cJSON *cpus = cJSON_GetObjectItemCaseSensitive(sw, "cpus");
	const cJSON *cells = cJSON_GetObjectItemCaseSensitive(sw, "cells");
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(sw, "recommended");
	REQUIRE(cJSON_IsArray(cpus) && cJSON_IsArray(cells) && cJSON_IsObject(rec));
	int n = cJSON_GetArraySize(cpus);
	CHECK(n >= 1);
	CHECK_EQ(cJSON_GetArraySize(cells), n * n);
	const cJSON *cell;
	cJSON_ArrayForEach(cell, cells)
	{
		char where[64];
		snprintf(where, sizeof(where), "cell %g->%g", num(cell, "client_cpu", "cell"),
			 num(cell, "sidecar_cpu", "cell"));
		check_stats(cJSON_GetObjectItemCaseSensitive(cell, "spin"), where, 0);
		for (const char *s = modes; *s;) {
			char mode[32];
			size_t len = strcspn(s, ",");
			snprintf(mode, sizeof(mode), "%.*s", (int)len, s);
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(cell, mode);
			if (!cJSON_IsObject(r)) {
				fprintf(stderr, "%s: mode %s missing\n", where, mode);
				check_failures++;
			} else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "skipped"))) {
				check_stats(r, where, 0);
			}
			s += len;
			if (*s == ',')
				s++;
		}
	}
	str(sw, "rank_mode", "sweep");
	check_matrix(sw, "spin", cpus, cells);
	for (const char *s = modes; *s;) {
		char mode[32];
		size_t len = strcspn(s, ",");
		snprintf(mode, sizeof(mode), "%.*s", (int)len, s);
		check_matrix(sw, mode, cpus, cells);
		s += len;
		if (*s == ',')
			s++;
	}
	check_pair(sw, "recommended", cpus, true);
	check_pair(sw, "worst", cpus, n > 1);
	/* With two CPUs or more there are two different-CPU pairs at least: the worst is another
	 * one than the recommended, even when they tie. */
	const cJSON *worst = cJSON_GetObjectItemCaseSensitive(sw, "worst");
	if (n > 1 && cJSON_IsObject(worst) &&
	    num(worst, "client_cpu", "worst") == num(rec, "client_cpu", "recommended") &&
	    num(worst, "sidecar_cpu", "worst") == num(rec, "sidecar_cpu", "recommended")) {
		fprintf(stderr, "sweep: the worst pair is the recommended one\n");
		check_failures++;
	}
}

static void check_png(const char *path)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	unsigned char buf[8];
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "%s: not written\n", path);
		check_failures++;
		return;
	}
	CHECK(fread(buf, 1, sizeof(buf), f) == sizeof(buf) && memcmp(buf, sig, sizeof(sig)) == 0);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *file = NULL, *modes = "seed,futex,poll,adaptive", *png = NULL;
	double iterations = 0;
	bool sweep = false;

	check_watchdog(60);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--modes") == 0 && i + 1 < argc)
			modes = argv[++i];
		else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
			iterations = atof(argv[++i]);
		else if (strcmp(argv[i], "--sweep") == 0)
			sweep = true;
		else if (strcmp(argv[i], "--png") == 0 && i + 1 < argc)
			png = argv[++i];
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else {
			fprintf(stderr, "usage: %s FILE [--modes LIST] [--iterations N] [--sweep] [--png FILE]\n",
				argv[0]);
			return 2;
		}
	}
	REQUIRE(file);
	char *text = slurp(file);
	if (!text) {
		fprintf(stderr, "%s: cannot read it\n", file);
		return 1;
	}
	cJSON *root = cJSON_Parse(text);
	if (!root) {
		fprintf(stderr, "%s: not JSON (near '%.20s')\n", file, cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
		free(text);
		return 1;
	}
	REQUIRE(cJSON_IsObject(root));
	check_machine(root);
	if (sweep)
		check_sweep(root, modes);
	else
		check_run(root, modes, iterations);
	if (png)
		check_png(png);
	cJSON_Delete(root);
	free(text);
	return check_report("sidecar-latency-check");
}
