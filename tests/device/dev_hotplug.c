/* SPDX-License-Identifier: MIT */
/*
 * While the module is loaded, a CPU it uses (a sidecar CPU, whose kernel thread is bound
 * there, or a node's base CPU, which takes the response IPIs) cannot go offline; a CPU it
 * does not use (a gap) can, and comes back. Every sidecar CPU runs afterwards.
 */
#include "dev_util.h"

/* Writes "0" or "1" to cpuN/online: 0 or -errno. */
static int set_online(unsigned cpu, bool online)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/online", cpu);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	int rc = write(fd, online ? "1" : "0", 1) == 1 ? 0 : -errno;
	close(fd);
	return rc;
}

int main(void)
{
	unsigned gaps = 0, used = 0;

	check_watchdog(120);
	dev_require_device();
	if (access("/sys/devices/system/cpu/cpu1/online", W_OK) != 0)
		SKIP("no CPU hotplug here");
	for (unsigned node = 0; node < dev_node_count(); node++) {
		long long base = dev_sysfs_num(node, "base_cpu"), count = dev_sysfs_num(node, "cpu_count");
		for (unsigned cpu = (unsigned)base; cpu < base + count; cpu++) {
			if (cpu == 0)
				continue; /* CPU 0 cannot go offline on x86 anyway */
			if (cpu == base || dev_is_sidecar_cpu(node, cpu)) {
				CHECK_EQ(set_online(cpu, false), -EBUSY);
				used++;
			} else {
				CHECK_EQ(set_online(cpu, false), 0);
				CHECK_EQ(set_online(cpu, true), 0);
				gaps++;
			}
		}
	}
	printf("dev_hotplug: %u used CPUs stayed online, %u gaps went offline and back\n", used, gaps);

	unsigned cpus[DEV_MAX_CPUS], ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	struct sidecar_client *c = dev_client();
	for (unsigned i = 0; i < ncpus; i++) {
		struct sidecar_vp *vp;
		REQUIRE(sidecar_vp_acquire(c, cpus[i], &vp) == 0);
		CHECK_EQ(sidecar_vp_test(vp), 0);
		sidecar_vp_release(vp);
	}
	sidecar_client_close(c);
	return check_report("dev_hotplug");
}
