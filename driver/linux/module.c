// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * mshv_vtl_sidecar: the sidecar kernel and its Linux driver, for machines without Hyper-V.
 *
 * At load, the CPUs named by the parameters (params.c) leave Linux's ordinary work to a
 * kernel thread each, bound to them, that runs libsidecar's sidecar kernel core with a
 * synthetic VP; /dev/mshv_vtl_sidecar<N> then offers upstream's driver ABI per node
 * (file.c, driver.c). A CPU the module uses (a sidecar CPU, or a node's base CPU, which
 * takes the response IPIs) cannot be taken offline while it is loaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sidecar_drv.h"

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

static char *cpus;
module_param(cpus, charp, 0444);
MODULE_PARM_DESC(cpus,
		 "CPUs for the sidecar kernel (default: all online but the nodes' base CPUs)");

static char *nodes;
module_param(nodes, charp, 0444);
MODULE_PARM_DESC(nodes, "nodes as CPU ranges from CPU 0, e.g. 0-3,4-7 (default: one node)");

static char *guest = "io";
module_param(guest, charp, 0444);
MODULE_PARM_DESC(guest, "the synthetic VP's guest: io (default), spin or halt");

static uint io_port = 0x3f8;
module_param(io_port, uint, 0444);
MODULE_PARM_DESC(io_port, "the io guest's port (default 0x3f8)");

static ulong work_ns;
module_param(work_ns, ulong, 0444);
MODULE_PARM_DESC(work_ns, "busy guest work before each intercept, in ns (default 0, at most 1 s)");

static uint mem_mb = 16;
module_param(mem_mb, uint, 0444);
MODULE_PARM_DESC(mem_mb, "guest memory of the synthetic VPs, MiB (default 16, at most 4096)");

/* libsidecar's extension on the device (direct.c); 0: upstream's ABI only (-ENOTTY). */
bool sidecar_fast_enabled = true;
module_param_named(fast, sidecar_fast_enabled, bool, 0444);
MODULE_PARM_DESC(fast, "offer libsidecar's fast-path ioctls (default 1; 0: upstream's ABI only)");

static struct sidecar_layout sidecar_layout;
static struct sidecar_platform sidecar_platform;
static int sidecar_hotplug_state;
/* The platform is up: fault_delays applies to its CPUs. Under kernel_param_lock. */
static bool sidecar_booted;

/*
 * fault_delays: per mille of the sidecar kernel's fault points that get a random delay (a
 * spin of up to 4 us, or a sleep of up to 50 us), for the delay-race tests; 0 (default) off.
 * Writable at run time; the setter runs under kernel_param_lock, which load and unload take
 * around the platform's life.
 */
static unsigned int fault_delays;

static int fault_delays_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int rc = kstrtouint(val, 0, &v);

	if (rc)
		return rc;
	if (v > 1000)
		return -EINVAL;
	fault_delays = v;
	sidecar_set_fault_delays(sidecar_booted ? &sidecar_platform : NULL, v);
	return 0;
}

static const struct kernel_param_ops fault_delays_ops = {
	.set = fault_delays_set,
	.get = param_get_uint,
};

module_param_cb(fault_delays, &fault_delays_ops, &fault_delays, 0644);
MODULE_PARM_DESC(fault_delays, "per mille of fault points delayed at random (tests; default 0)");

/* A CPU the module uses must stay online: its thread is bound there, or IPIs go there. */
static int sidecar_cpu_offline(unsigned int cpu)
{
	return cpumask_test_cpu(cpu, sidecar_layout.used_cpus) ? -EBUSY : 0;
}

static int __init sidecar_init(void)
{
	unsigned int cpu;
	int rc;

	rc = sidecar_layout_parse(&sidecar_layout, cpus, nodes, guest, io_port, work_ns, mem_mb);
	if (rc)
		return rc;
	rc = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "misc/mshv_vtl_sidecar:online", NULL,
				       sidecar_cpu_offline);
	if (rc < 0)
		goto fail_layout;
	sidecar_hotplug_state = rc;

	/* From here on the CPUs stay online: check that they are. */
	cpus_read_lock();
	rc = 0;
	for_each_cpu(cpu, sidecar_layout.used_cpus) {
		if (!cpu_online(cpu)) {
			pr_err("cpu %u is not online\n", cpu);
			rc = -EINVAL;
		}
	}
	cpus_read_unlock();
	if (rc)
		goto fail_hotplug;

	rc = sidecar_platform_boot(&sidecar_platform, &sidecar_layout);
	if (rc)
		goto fail_hotplug;
	rc = sidecar_devices_register(&sidecar_platform);
	if (rc)
		goto fail_boot;
	kernel_param_lock(THIS_MODULE);
	sidecar_booted = true;
	sidecar_set_fault_delays(&sidecar_platform, fault_delays);
	kernel_param_unlock(THIS_MODULE);
	pr_info("%u node(s), sidecar cpus %*pbl, guest %s\n", sidecar_platform.node_count,
		cpumask_pr_args(sidecar_layout.sidecar_cpus),
		sidecar_guest_name(sidecar_layout.guest));
	return 0;

fail_boot:
	sidecar_platform_shutdown(&sidecar_platform);
fail_hotplug:
	cpuhp_remove_state_nocalls(sidecar_hotplug_state);
fail_layout:
	sidecar_layout_free(&sidecar_layout);
	return rc;
}

static void __exit sidecar_exit(void)
{
	/* No file is open (each holds a module reference): no claim but orphans is left. */
	kernel_param_lock(THIS_MODULE);
	sidecar_booted = false;
	kernel_param_unlock(THIS_MODULE);
	sidecar_devices_unregister(&sidecar_platform);
	sidecar_platform_shutdown(&sidecar_platform);
	cpuhp_remove_state_nocalls(sidecar_hotplug_state);
	sidecar_layout_free(&sidecar_layout);
	pr_info("unloaded: %ld core allocations outstanding\n",
		atomic_long_read(&sidecar_lhost_allocations));
}

module_init(sidecar_init);
module_exit(sidecar_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_AUTHOR("libsidecar");
MODULE_DESCRIPTION("Sidecar kernel CPUs and the mshv_vtl_sidecar driver ABI, with synthetic VPs");
