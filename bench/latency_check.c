/* SPDX-License-Identifier: MIT */
/*
 * sidecar-latency-check: validates sidecar-latency's --json output against the SPEC
 * section 6 shape (the bench-smoke tests run it). Shape and consistency only, never
 * timing: a slow machine passes as long as the numbers are well formed.
 *
 *   sidecar-latency-check FILE [--modes LIST] [--iterations N] [--sweep] [--png FILE]
 */
#include "check.h"

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stdint.h>

/* Every measured result carries these (SPEC section 6 plus the documented extras). */
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

static void check_run(const cJSON *root, const char *modes, double iterations)
{
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(root, "references");
	const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
	const cJSON *skipped = cJSON_GetObjectItemCaseSensitive(root, "skipped");

	REQUIRE(cJSON_IsArray(refs));
	REQUIRE(cJSON_IsArray(results));
	CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "ratios")));
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
	}
	for (const char *s = modes; *s;) {
		char mode[32], where[64];
		size_t len = strcspn(s, ",");
		snprintf(mode, sizeof(mode), "%.*s", (int)len, s);
		snprintf(where, sizeof(where), "results[%s]", mode);
		const cJSON *r = find(results, "mode", mode);
		if (r) {
			check_stats(r, where, iterations);
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
	num(rec, "client_cpu", "recommended");
	num(rec, "sidecar_cpu", "recommended");
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
