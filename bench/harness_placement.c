/* SPDX-License-Identifier: MIT */
/* The harness's CPU pair (harness_placement.h). */
#include "harness_placement.h"

#include "bench_cpu.h"

#include <errno.h>

static struct hs_placement placement;

int hs_placement_init(int client_cpu, int sidecar_cpu)
{
	struct bench_cpus cpus;
	int rc = bench_cpus_allowed(&cpus);

	if (rc)
		return rc;
	if (!cpus.n || (client_cpu >= 0 && !bench_cpus_has(&cpus, client_cpu)) ||
	    (sidecar_cpu >= 0 && !bench_cpus_has(&cpus, sidecar_cpu))) {
		bench_cpus_free(&cpus);
		return -EINVAL;
	}
	int first = cpus.cpu[0], second = cpus.n > 1 ? cpus.cpu[1] : first;
	placement.allowed_cpus = cpus.n;
	placement.client_cpu = client_cpu >= 0 ? client_cpu : first;
	if (sidecar_cpu >= 0)
		placement.sidecar_cpu = sidecar_cpu;
	else
		placement.sidecar_cpu = placement.client_cpu == first ? second : first;
	/* With one CPU there is nothing to pin away from: leave the scheduler alone. */
	placement.pinned = cpus.n >= 2 || client_cpu >= 0 || sidecar_cpu >= 0;
	bench_cpus_free(&cpus);
	return 0;
}

const struct hs_placement *hs_placement_get(void)
{
	return &placement;
}
