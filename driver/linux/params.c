// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The node and CPU layout from the module parameters.
 *
 *   nodes=0-3,4-7   the nodes, in order, as ranges of CPU numbers. They must start at CPU 0
 *                   and follow each other without holes (upstream's client numbers CPUs
 *                   base_cpu + index across nodes in order). Default: one node from CPU 0
 *                   to the highest sidecar CPU (or to the highest online CPU).
 *   cpus=1-3,5-7    the CPUs given to the sidecar kernel. A node's first CPU is its base
 *                   CPU and stays Linux's; any other CPU of a node that is not listed stays
 *                   Linux's too (a gap: REMOVED in the control page). Default: every online
 *                   CPU of the nodes but their base CPUs.
 *   guest=io        the synthetic VP's guest: io (an IO-port write intercept per run), spin
 *                   (never intercepts; only a stop ends a run), halt (a HALT per run)
 *   io_port=0x3f8   the io guest's port
 *   work_ns=0       busy guest work before each intercept (at most one second)
 *   mem_mb=16       the synthetic VPs' guest memory, MiB (at most 4096): what TRANSLATE_GVA's
 *                   page walk reads. Kernel memory only: a device client cannot reach it
 *                   (upstream's ABI maps only the shared pages), so page tables there stay
 *                   zero: with paging off a GVA translates to itself inside it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sidecar_drv.h"

#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>

#define SIDECAR_MAX_WORK_NS 1000000000UL
#define SIDECAR_MAX_MEM_MB 4096U

const char *sidecar_guest_name(enum sidecar_guest guest)
{
	switch (guest) {
	case SIDECAR_GUEST_IO:
		return "io";
	case SIDECAR_GUEST_SPIN:
		return "spin";
	case SIDECAR_GUEST_HALT:
		return "halt";
	}
	return "?";
}

static int parse_guest(const char *s, enum sidecar_guest *out)
{
	if (!s || !*s || sysfs_streq(s, "io"))
		*out = SIDECAR_GUEST_IO;
	else if (sysfs_streq(s, "spin"))
		*out = SIDECAR_GUEST_SPIN;
	else if (sysfs_streq(s, "halt"))
		*out = SIDECAR_GUEST_HALT;
	else
		return -EINVAL;
	return 0;
}

/* "a-b" or "a" into [*first, *last]. */
static int parse_range(char *s, u32 *first, u32 *last)
{
	char *dash = strchr(s, '-');
	int rc;

	if (dash)
		*dash = '\0';
	rc = kstrtou32(strim(s), 0, first);
	if (rc)
		return rc;
	if (!dash) {
		*last = *first;
		return 0;
	}
	rc = kstrtou32(strim(dash + 1), 0, last);
	if (rc)
		return rc;
	return *last < *first ? -EINVAL : 0;
}

static int parse_nodes(struct sidecar_layout *l, const char *param)
{
	char *copy, *rest, *item;
	int rc = 0;

	copy = kstrdup(param, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	rest = copy;
	while ((item = strsep(&rest, ",")) != NULL) {
		u32 first, last;

		if (l->node_count == SIDECAR_MAX_NODES) {
			pr_err("nodes=: more than %u nodes\n", SIDECAR_MAX_NODES);
			rc = -EINVAL;
			break;
		}
		rc = parse_range(item, &first, &last);
		if (rc) {
			pr_err("nodes=: '%s' is not a CPU range\n", item);
			break;
		}
		l->nodes[l->node_count].base_cpu = first;
		l->nodes[l->node_count].cpu_count = last - first + 1;
		l->node_count++;
	}
	kfree(copy);
	return rc;
}

/* Nodes start at CPU 0, follow each other, and fit the control page and the machine. */
static int check_nodes(const struct sidecar_layout *l)
{
	u32 next = 0, i;

	if (!l->node_count) {
		pr_err("nodes=: no node\n");
		return -EINVAL;
	}
	for (i = 0; i < l->node_count; i++) {
		const struct sidecar_layout_node *n = &l->nodes[i];

		if (n->base_cpu != next) {
			pr_err("nodes=: node %u starts at cpu %u, expected %u (nodes start at 0 and leave no hole)\n",
			       i, n->base_cpu, next);
			return -EINVAL;
		}
		if (n->cpu_count > SIDECAR_MAX_CPUS_PER_NODE) {
			pr_err("nodes=: node %u has %u cpus, at most %u\n", i, n->cpu_count,
			       SIDECAR_MAX_CPUS_PER_NODE);
			return -EINVAL;
		}
		next = n->base_cpu + n->cpu_count;
		if (next > nr_cpu_ids) {
			pr_err("nodes=: node %u ends at cpu %u, beyond the last possible cpu %u\n",
			       i, next - 1, nr_cpu_ids - 1);
			return -EINVAL;
		}
	}
	return 0;
}

static const struct sidecar_layout_node *node_of_cpu(const struct sidecar_layout *l,
						     unsigned int cpu)
{
	u32 i;

	for (i = 0; i < l->node_count; i++)
		if (cpu >= l->nodes[i].base_cpu &&
		    cpu - l->nodes[i].base_cpu < l->nodes[i].cpu_count)
			return &l->nodes[i];
	return NULL;
}

int sidecar_layout_parse(struct sidecar_layout *l, const char *cpus, const char *nodes,
			 const char *guest, unsigned int io_port, unsigned long work_ns,
			 unsigned int mem_mb)
{
	bool cpus_given = cpus && *cpus;
	unsigned int cpu;
	u32 i;
	int rc;

	memset(l->nodes, 0, sizeof(l->nodes));
	l->node_count = 0;
	if (!zalloc_cpumask_var(&l->sidecar_cpus, GFP_KERNEL))
		return -ENOMEM;
	if (!zalloc_cpumask_var(&l->used_cpus, GFP_KERNEL)) {
		free_cpumask_var(l->sidecar_cpus);
		return -ENOMEM;
	}

	rc = parse_guest(guest, &l->guest);
	if (rc) {
		pr_err("guest=%s: expected io, spin or halt\n", guest);
		goto fail;
	}
	if (io_port > 0xffff) {
		pr_err("io_port=%u: not a port\n", io_port);
		rc = -EINVAL;
		goto fail;
	}
	l->io_port = io_port;
	if (work_ns > SIDECAR_MAX_WORK_NS) {
		pr_err("work_ns=%lu: at most %lu\n", work_ns, SIDECAR_MAX_WORK_NS);
		rc = -EINVAL;
		goto fail;
	}
	l->work_ns = work_ns;
	if (mem_mb > SIDECAR_MAX_MEM_MB) {
		pr_err("mem_mb=%u: at most %u\n", mem_mb, SIDECAR_MAX_MEM_MB);
		rc = -EINVAL;
		goto fail;
	}
	l->mem_size = (u64)mem_mb << 20;

	if (cpus_given) {
		rc = cpulist_parse(cpus, l->sidecar_cpus);
		if (rc) {
			pr_err("cpus=%s: not a CPU list of this machine (%d)\n", cpus, rc);
			goto fail;
		}
		if (cpumask_empty(l->sidecar_cpus)) {
			pr_err("cpus=%s: no CPU\n", cpus);
			rc = -EINVAL;
			goto fail;
		}
	}

	if (nodes && *nodes) {
		rc = parse_nodes(l, nodes);
		if (rc)
			goto fail;
	} else {
		const struct cpumask *span = cpus_given ? l->sidecar_cpus : cpu_online_mask;

		l->node_count = 1;
		l->nodes[0].base_cpu = 0;
		l->nodes[0].cpu_count = cpumask_last(span) + 1;
	}
	rc = check_nodes(l);
	if (rc)
		goto fail;

	if (!cpus_given) {
		for_each_online_cpu(cpu) {
			const struct sidecar_layout_node *n = node_of_cpu(l, cpu);

			if (n && cpu != n->base_cpu)
				cpumask_set_cpu(cpu, l->sidecar_cpus);
		}
	}

	rc = -EINVAL;
	for_each_cpu(cpu, l->sidecar_cpus) {
		const struct sidecar_layout_node *n = node_of_cpu(l, cpu);

		if (!n) {
			pr_err("cpus=: cpu %u is in no node\n", cpu);
			goto fail;
		}
		if (cpu == n->base_cpu) {
			pr_err("cpus=: cpu %u is the base cpu of its node: Linux keeps it\n", cpu);
			goto fail;
		}
	}
	if (cpumask_empty(l->sidecar_cpus)) {
		pr_err("no CPU for the sidecar kernel (cpus=, nodes=)\n");
		goto fail;
	}
	cpumask_copy(l->used_cpus, l->sidecar_cpus);
	for (i = 0; i < l->node_count; i++)
		cpumask_set_cpu(l->nodes[i].base_cpu, l->used_cpus);
	return 0;

fail:
	sidecar_layout_free(l);
	return rc;
}

void sidecar_layout_free(struct sidecar_layout *l)
{
	free_cpumask_var(l->sidecar_cpus);
	free_cpumask_var(l->used_cpus);
}
