/* SPDX-License-Identifier: MIT */
/*
 * sidecar-boot-first-run: boot a simulator and take it to its first run, for whole-process
 * timings with hyperfine (bench/hyperfine/run.sh, docs/benchmarks.md).
 *
 *   sidecar-boot-first-run --cpus N [--nodes M] [--mode seed|futex|poll|adaptive]
 *
 * Opens "sim:nodes=M,cpus=N" (M = 1 by default, N sidecar CPUs per node), acquires VP 1 (the first sidecar CPU),
 * runs it once to its intercept, releases it and closes the client (which shuts every CPU
 * thread down and joins it). Public API only. Exit status: 0; 1 the library failed (the
 * message names it); 2 a bad option.
 */
#include <sidecar/client.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to)
{
	fprintf(to, "usage: sidecar-boot-first-run --cpus N [--nodes M] [--mode seed|futex|poll|adaptive]\n"
		    "  boots sim:nodes=M,cpus=N (N per node), runs VP 1 once, closes.\n");
}

static int parse_u32(const char *opt, const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s ? s : "", &end, 10);
	if (!s || !*s || *end || errno || v < 1 || v > max) {
		fprintf(stderr, "sidecar-boot-first-run: %s: expected a number 1..%u, got '%s'\n", opt, max,
			s ? s : "");
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_mode(const char *s, enum sidecar_wait_mode *out)
{
	static const enum sidecar_wait_mode modes[] = {SIDECAR_WAIT_SEED, SIDECAR_WAIT_FUTEX, SIDECAR_WAIT_POLL,
						       SIDECAR_WAIT_ADAPTIVE};

	for (size_t i = 0; s && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, sidecar_wait_mode_name(modes[i])) == 0) {
			*out = modes[i];
			return 0;
		}
	fprintf(stderr, "sidecar-boot-first-run: --mode: expected seed, futex, poll or adaptive, got '%s'\n",
		s ? s : "");
	return -1;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "sidecar-boot-first-run: %s: %s\n", what, sidecar_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	uint32_t cpus = 0, nodes = 1;
	enum sidecar_wait_mode mode = SIDECAR_WAIT_ADAPTIVE;
	bool have_mode = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--cpus") == 0) {
			if (parse_u32(a, v, 4032, &cpus))
				return 2;
		} else if (strcmp(a, "--nodes") == 0) {
			if (parse_u32(a, v, 128, &nodes))
				return 2;
		} else if (strcmp(a, "--mode") == 0) {
			if (parse_mode(v, &mode))
				return 2;
			have_mode = true;
		} else {
			fprintf(stderr, "sidecar-boot-first-run: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (!cpus) {
		fprintf(stderr, "sidecar-boot-first-run: --cpus is required\n");
		usage(stderr);
		return 2;
	}

	char target[64], err[256] = "";
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	bool intercept = false;
	int rc;

	snprintf(target, sizeof(target), "sim:nodes=%u,cpus=%u", nodes, cpus);
	rc = sidecar_client_open_err(target, &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sidecar-boot-first-run: open %s: %s (%s)\n", target, err, sidecar_strerror(rc));
		return 1;
	}
	rc = sidecar_vp_acquire(c, 1, &vp);
	if (rc) {
		sidecar_client_close(c);
		return fail("acquire vp 1", rc);
	}
	if (have_mode && (rc = sidecar_vp_set_wait_mode(vp, mode)) != 0) {
		sidecar_vp_release(vp);
		sidecar_client_close(c);
		return fail("set the wait mode", rc);
	}
	rc = sidecar_vp_run_sync(vp, &intercept);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	if (rc)
		return fail("run vp 0", rc);
	if (!intercept) {
		fprintf(stderr, "sidecar-boot-first-run: vp 0 stopped without an intercept\n");
		return 1;
	}
	return 0;
}
