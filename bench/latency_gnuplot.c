/* SPDX-License-Identifier: MIT */
/* gnuplot plumbing for the plots (latency_gnuplot.h). */
#include "latency_gnuplot.h"

#include "latency.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Whether `prog` is an executable in $PATH (popen would only say "sh: not found"). */
static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		if (len && snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, prog) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

bool lat_gnuplot_available(const char *png)
{
	if (in_path("gnuplot"))
		return true;
	fprintf(stderr,
		"sidecar-latency: --plot %s: gnuplot is not installed (not found in PATH); "
		"install it (e.g. apt-get install gnuplot-nox) or drop --plot\n",
		png);
	return false;
}

void lat_gnuplot_sanitize(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < len; src++)
		dst[i++] = (*src == '"' || *src == '\\' || *src == '\n' || *src == '\'') ? ' ' : *src;
	dst[i] = '\0';
}

FILE *lat_gnuplot_data_create(char *path)
{
	int fd = mkstemp(path);

	if (fd < 0) {
		fprintf(stderr, "sidecar-latency: --plot: cannot create a temporary file: %s\n", strerror(errno));
		return NULL;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		fprintf(stderr, "sidecar-latency: --plot: cannot open %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
	}
	return f;
}

FILE *lat_gnuplot_open(const char *png, int width, int height)
{
	char out[4096];
	FILE *gp = popen("gnuplot", "w");

	if (!gp) {
		fprintf(stderr, "sidecar-latency: --plot: cannot run gnuplot: %s\n", strerror(errno));
		return NULL;
	}
	lat_gnuplot_sanitize(out, sizeof(out), png);
	/* noenhanced: target strings have '_' (work_ns), which enhanced text subscripts. */
	fprintf(gp,
		"if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		"  set terminal pngcairo size %d,%d noenhanced font 'Sans,10'\n"
		"} else {\n"
		"  set terminal png size %d,%d noenhanced\n"
		"}\n",
		width, height, width, height);
	fprintf(gp, "set output \"%s\"\n", out);
	return gp;
}

int lat_gnuplot_close(FILE *gp, const char *png)
{
	int st = pclose(gp);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "sidecar-latency: --plot %s: gnuplot failed (status %d)\n", png,
			st == -1        ? -1
			: WIFEXITED(st) ? WEXITSTATUS(st)
					: 128 + WTERMSIG(st));
		return LAT_EXIT_FAIL;
	}
	return LAT_EXIT_OK;
}

void lat_human_ns(char *buf, size_t len, uint64_t v)
{
	/* The thresholds keep %.3g out of exponent notation (999 us, then 1.00 ms). */
	if (v < 10000)
		snprintf(buf, len, "%" PRIu64 " ns", v);
	else if (v < 999500)
		snprintf(buf, len, "%.3g us", (double)v / 1e3);
	else if (v < 999500000)
		snprintf(buf, len, "%.3g ms", (double)v / 1e6);
	else
		snprintf(buf, len, "%.3g s", (double)v / 1e9);
}
