/* SPDX-License-Identifier: MIT */
/* CPU sets sized for the machine (CPU_ALLOC): no 1024-CPU limit on the pinning tuner. */
#include "latency_cpu.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

static int max_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	return n < 1024 ? 1024 : (int)n;
}

int lat_cpus_allowed(struct lat_cpus *out)
{
	int ncpu = max_cpus();
	size_t size = CPU_ALLOC_SIZE(ncpu);
	cpu_set_t *set = CPU_ALLOC(ncpu);

	out->n = 0;
	out->cpu = NULL;
	if (!set)
		return -ENOMEM;
	if (sched_getaffinity(0, size, set)) {
		int err = errno;
		CPU_FREE(set);
		return -err;
	}
	out->cpu = calloc((size_t)CPU_COUNT_S(size, set) + 1, sizeof(int));
	if (!out->cpu) {
		CPU_FREE(set);
		return -ENOMEM;
	}
	for (int c = 0; c < ncpu; c++)
		if (CPU_ISSET_S(c, size, set))
			out->cpu[out->n++] = c;
	CPU_FREE(set);
	return 0;
}

void lat_cpus_free(struct lat_cpus *cpus)
{
	free(cpus->cpu);
	cpus->cpu = NULL;
	cpus->n = 0;
}

bool lat_cpus_has(const struct lat_cpus *cpus, int cpu)
{
	for (int i = 0; i < cpus->n; i++)
		if (cpus->cpu[i] == cpu)
			return true;
	return false;
}

static cpu_set_t *one_cpu(int cpu, size_t *size)
{
	cpu_set_t *set = CPU_ALLOC(cpu + 1);

	if (!set)
		return NULL;
	*size = CPU_ALLOC_SIZE(cpu + 1);
	CPU_ZERO_S(*size, set);
	CPU_SET_S(cpu, *size, set);
	return set;
}

int lat_pin_thread(pthread_t t, int cpu)
{
	size_t size;
	cpu_set_t *set = one_cpu(cpu, &size);

	if (!set)
		return -ENOMEM;
	int rc = pthread_setaffinity_np(t, size, set);
	CPU_FREE(set);
	return -rc;
}

int lat_unpin_thread(pthread_t t, const struct lat_cpus *cpus)
{
	int top = cpus->n ? cpus->cpu[cpus->n - 1] : 0;
	size_t size = CPU_ALLOC_SIZE(top + 1);
	cpu_set_t *set = CPU_ALLOC(top + 1);

	if (!set)
		return -ENOMEM;
	CPU_ZERO_S(size, set);
	for (int i = 0; i < cpus->n; i++)
		CPU_SET_S(cpus->cpu[i], size, set);
	int rc = pthread_setaffinity_np(t, size, set);
	CPU_FREE(set);
	return -rc;
}

int lat_pin_attr(pthread_attr_t *attr, int cpu)
{
	size_t size;
	cpu_set_t *set = one_cpu(cpu, &size);

	if (!set)
		return -ENOMEM;
	int rc = pthread_attr_setaffinity_np(attr, size, set);
	CPU_FREE(set);
	return -rc;
}
