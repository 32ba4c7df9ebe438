/* SPDX-License-Identifier: MIT */
/* CPU sets and pinning (bench_cpu.h). */
#include "bench_cpu.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

/* A set wide enough for every CPU the kernel may report: no 1024-CPU limit (CPU_SETSIZE). */
static int max_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	return n < 1024 ? 1024 : (int)n;
}

int bench_cpus_allowed(struct bench_cpus *out)
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

void bench_cpus_free(struct bench_cpus *cpus)
{
	free(cpus->cpu);
	cpus->cpu = NULL;
	cpus->n = 0;
}

bool bench_cpus_has(const struct bench_cpus *cpus, int cpu)
{
	for (int i = 0; i < cpus->n; i++)
		if (cpus->cpu[i] == cpu)
			return true;
	return false;
}

static cpu_set_t *one_cpu(int cpu, size_t *size)
{
	cpu_set_t *set;

	if (cpu < 0)
		return NULL;
	set = CPU_ALLOC(cpu + 1);
	if (!set)
		return NULL;
	*size = CPU_ALLOC_SIZE(cpu + 1);
	CPU_ZERO_S(*size, set);
	CPU_SET_S(cpu, *size, set);
	return set;
}

int bench_pin_thread(pthread_t t, int cpu)
{
	size_t size;
	cpu_set_t *set = one_cpu(cpu, &size);

	if (!set)
		return cpu < 0 ? -EINVAL : -ENOMEM;
	int rc = pthread_setaffinity_np(t, size, set);
	CPU_FREE(set);
	return -rc;
}

int bench_pin_self(int cpu)
{
	return bench_pin_thread(pthread_self(), cpu);
}

int bench_unpin_thread(pthread_t t, const struct bench_cpus *cpus)
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

int bench_pin_attr(pthread_attr_t *attr, int cpu)
{
	size_t size;
	cpu_set_t *set = one_cpu(cpu, &size);

	if (!set)
		return cpu < 0 ? -EINVAL : -ENOMEM;
	int rc = pthread_attr_setaffinity_np(attr, size, set);
	CPU_FREE(set);
	return -rc;
}

struct bench_affinity {
	size_t size;
	cpu_set_t *set;
};

struct bench_affinity *bench_affinity_save(void)
{
	struct bench_affinity *a = malloc(sizeof(*a));
	int ncpu = max_cpus();

	if (!a)
		return NULL;
	a->size = CPU_ALLOC_SIZE(ncpu);
	a->set = CPU_ALLOC(ncpu);
	if (!a->set || pthread_getaffinity_np(pthread_self(), a->size, a->set)) {
		if (a->set)
			CPU_FREE(a->set);
		free(a);
		return NULL;
	}
	return a;
}

void bench_affinity_restore(struct bench_affinity *a)
{
	if (!a)
		return;
	pthread_setaffinity_np(pthread_self(), a->size, a->set);
	CPU_FREE(a->set);
	free(a);
}
