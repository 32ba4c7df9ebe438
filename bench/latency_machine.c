/* SPDX-License-Identifier: MIT */
/* Machine description: /proc/cpuinfo, uname, the clock. */
#include "latency_machine.h"

#include "latency_timer.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void cpu_model(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		/* x86: "model name"; arm64 and others may only have "CPU part" etc. */
		if (strncmp(line, "model name", 10) != 0)
			continue;
		const char *colon = strchr(line, ':');
		if (!colon)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		snprintf(buf, len, "%.*s", (int)strcspn(colon, "\n"), colon);
		break;
	}
	fclose(f);
}

void lat_machine_probe(struct lat_machine *m, int allowed)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	memset(m, 0, sizeof(*m));
	cpu_model(m->cpu_model, sizeof(m->cpu_model));
	m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	m->allowed = allowed;
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	else
		snprintf(m->kernel, sizeof(m->kernel), "unknown");
	if (gethostname(m->hostname, sizeof(m->hostname) - 1))
		snprintf(m->hostname, sizeof(m->hostname), "unknown");
	if (gmtime_r(&now, &tm))
		strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	lat_timer_clocksource(m->clocksource, sizeof(m->clocksource));
	lat_timer_cost(&m->timer_min_ns, &m->timer_p50_ns);
}
