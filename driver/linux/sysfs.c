// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Per-node attributes, /sys/class/misc/mshv_vtl_sidecar<N>/, one value each:
 *
 *   base_cpu, cpu_count    the node (as INFO reports them)
 *   sidecar_cpus           the CPUs that run the sidecar kernel (a CPU list)
 *   claims                 VPs claimed now (any state but AVAIL and REMOVED)
 *   orphans                claims whose file is gone while their CPU had not stopped
 *   open_files             open files of the device
 *   allocations            the sidecar kernel core's allocations not yet freed (module-wide)
 *   request_ipis           request IPIs handled on the node's sidecar CPUs
 *   response_ipis          response IPIs handled on the node's base CPU
 *   commands, halts        what the node's sidecar CPUs did (the core's counters)
 *   parks                  PARKED announcements (each before a halt or its abort): a
 *                          request signal goes only to a CPU that made one
 *   fast_commands          commands posted through the fast line (of `commands`)
 *   polled_requests        requests a sidecar CPU found while polling, without a halt
 *   response_signals       completion signals sent (upstream's response IPIs and the fast
 *                          path's wake-ups of a VP's owner)
 *   suppressed_signals     fast completions not signalled: the owner did not sleep
 *   fast_signals           fast completions signalled to the VP's owner (WAIT, eventfd)
 *   kicks                  KICK ioctls (request IPIs sent by DIRECT owners)
 *   direct_claims          VPs held DIRECT now
 *   fault_delays           delays injected per fault point (the fault_delays parameter):
 *                          before-command before-complete before-park before-signal
 *                          after-announce before-response
 *
 * The tests read claims, orphans, open_files and allocations after a process was killed:
 * nothing may stay behind.
 */
#include "sidecar_drv.h"

#include <linux/device.h>
#include <linux/sysfs.h>

static struct sidecar_node *node_of_dev(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct sidecar_node, misc);
}

static ssize_t base_cpu_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", node_of_dev(dev)->base_cpu);
}
static DEVICE_ATTR_RO(base_cpu);

static ssize_t cpu_count_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", node_of_dev(dev)->cpu_count);
}
static DEVICE_ATTR_RO(cpu_count);

static ssize_t sidecar_cpus_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct sidecar_node *n = node_of_dev(dev);
	unsigned int len = 0;
	u32 i, first;

	for (i = 0; i < n->cpu_count; i++) {
		if (!n->cpus[i])
			continue;
		first = i;
		while (i + 1 < n->cpu_count && n->cpus[i + 1])
			i++;
		len += sysfs_emit_at(buf, len, "%s%u", len ? "," : "", n->base_cpu + first);
		if (i != first)
			len += sysfs_emit_at(buf, len, "-%u", n->base_cpu + i);
	}
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}
static DEVICE_ATTR_RO(sidecar_cpus);

static ssize_t claims_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", sidecar_node_claims(node_of_dev(dev)));
}
static DEVICE_ATTR_RO(claims);

static ssize_t orphans_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&node_of_dev(dev)->orphans));
}
static DEVICE_ATTR_RO(orphans);

static ssize_t open_files_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&node_of_dev(dev)->open_files));
}
static DEVICE_ATTR_RO(open_files);

static ssize_t allocations_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&sidecar_lhost_allocations));
}
static DEVICE_ATTR_RO(allocations);

static ssize_t request_ipis_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct sidecar_node *n = node_of_dev(dev);
	unsigned long sum = 0;
	u32 i;

	for (i = 0; i < n->cpu_count; i++)
		if (n->cpus[i])
			sum += READ_ONCE(n->cpus[i]->host.request.count);
	return sysfs_emit(buf, "%lu\n", sum);
}
static DEVICE_ATTR_RO(request_ipis);

static ssize_t response_ipis_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(node_of_dev(dev)->response.count));
}
static DEVICE_ATTR_RO(response_ipis);

/* The sum of one of the core's per-CPU counters over the node (snapshots). */
static u64 node_stat(struct sidecar_node *n, size_t offset)
{
	u64 sum = 0;
	u32 i;

	for (i = 0; i < n->cpu_count; i++)
		if (n->cpus[i])
			sum += sc_load_relaxed((u64 *)((u8 *)&n->cpus[i]->host.k.stats + offset));
	return sum;
}

/* An attribute whose value is node_stat() of one counter: the counter's offset in the stats. */
struct node_stat_attribute {
	struct device_attribute attr;
	size_t offset;
};

static ssize_t node_stat_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct node_stat_attribute *sa = container_of(attr, struct node_stat_attribute, attr);

	return sysfs_emit(buf, "%llu\n", node_stat(node_of_dev(dev), sa->offset));
}

#define NODE_STAT_ATTR(field)                                         \
	struct node_stat_attribute dev_attr_##field = {               \
		.attr = __ATTR(field, 0444, node_stat_show, NULL),    \
		.offset = offsetof(struct sidecar_kcpu_stats, field), \
	}

static NODE_STAT_ATTR(commands);
static NODE_STAT_ATTR(halts);
static NODE_STAT_ATTR(parks);
static NODE_STAT_ATTR(fast_commands);
static NODE_STAT_ATTR(polled_requests);
static NODE_STAT_ATTR(response_signals);
static NODE_STAT_ATTR(suppressed_signals);

static ssize_t fast_signals_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct sidecar_node *n = node_of_dev(dev);
	unsigned long sum = 0;
	u32 i;

	for (i = 0; i < n->cpu_count; i++)
		sum += READ_ONCE(n->slots[i].fast_signals);
	return sysfs_emit(buf, "%lu\n", sum);
}
static DEVICE_ATTR_RO(fast_signals);

static ssize_t kicks_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct sidecar_node *n = node_of_dev(dev);
	long sum = 0;
	u32 i;

	for (i = 0; i < n->cpu_count; i++)
		sum += atomic_long_read(&n->slots[i].kicks);
	return sysfs_emit(buf, "%ld\n", sum);
}
static DEVICE_ATTR_RO(kicks);

static ssize_t direct_claims_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct sidecar_node *n = node_of_dev(dev);
	u32 i, held = 0;

	for (i = 0; i < n->cpu_count; i++)
		if (sidecar_claim_state(atomic_long_read(&n->slots[i].claim)) ==
		    SIDECAR_CLAIM_DIRECT)
			held++;
	return sysfs_emit(buf, "%u\n", held);
}
static DEVICE_ATTR_RO(direct_claims);

static ssize_t fault_delays_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct sidecar_node *n = node_of_dev(dev);
	unsigned int len = 0;
	u32 i;

	for (i = 0; i < SIDECAR_DRV_FAULT_POINTS; i++)
		len += sysfs_emit_at(buf, len, "%s%ld", i ? " " : "",
				     atomic_long_read(&n->delays[i]));
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}
static DEVICE_ATTR_RO(fault_delays);

/* One attribute per line. */
/* clang-format off */
static struct attribute *sidecar_node_attrs[] = {
	&dev_attr_base_cpu.attr,
	&dev_attr_cpu_count.attr,
	&dev_attr_sidecar_cpus.attr,
	&dev_attr_claims.attr,
	&dev_attr_orphans.attr,
	&dev_attr_open_files.attr,
	&dev_attr_allocations.attr,
	&dev_attr_request_ipis.attr,
	&dev_attr_response_ipis.attr,
	&dev_attr_commands.attr.attr,
	&dev_attr_halts.attr.attr,
	&dev_attr_parks.attr.attr,
	&dev_attr_fast_commands.attr.attr,
	&dev_attr_polled_requests.attr.attr,
	&dev_attr_response_signals.attr.attr,
	&dev_attr_suppressed_signals.attr.attr,
	&dev_attr_fast_signals.attr,
	&dev_attr_kicks.attr,
	&dev_attr_direct_claims.attr,
	&dev_attr_fault_delays.attr,
	NULL,
};

/* clang-format on */

static const struct attribute_group sidecar_node_group = {
	.attrs = sidecar_node_attrs,
};

const struct attribute_group *sidecar_node_groups[] = {
	&sidecar_node_group,
	NULL,
};
