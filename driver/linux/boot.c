// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The platform: what the boot shim and the sidecar kernel's BSP part do on a real paravisor,
 * done by the module at load. Per node: the control page, the per-CPU shared pages (command
 * page + register page, what the device's mmap gives), and one kernel thread per sidecar
 * CPU, bound to it, running the sidecar kernel core with the synthetic VP backend. A node's
 * base CPU and its gaps are REMOVED in the control page ("the base VP is REMOVED, meaning the
 * kernel will start it"). At unload every sidecar CPU is stopped, asked to leave (REMOVE) and
 * its thread ended.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sidecar_drv.h"

#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>

#include <asm/irq_vectors.h>
#include <asm/processor.h>

#define SIDECAR_BOOT_TIMEOUT (30 * HZ)
/*
 * How long unload lets a CPU finish a command after its STOP before it posts REMOVE over
 * the STOP (a command posted through the fast line ignores STOP, not REMOVE).
 */
#define SIDECAR_REMOVE_STOP_GRACE (2 * HZ)

static_assert(PAGE_SIZE == SIDECAR_PAGE_SIZE);
static_assert(sizeof(struct sidecar_vp_shared_pages) ==
	      SIDECAR_PER_VP_SHMEM_PAGES * SIDECAR_PAGE_SIZE);

static u8 *status_of(struct sidecar_node *n, u32 index)
{
	return &n->control->cpu_status[index];
}

static void node_free(struct sidecar_node *n)
{
	u32 i;

	if (n->cpus) {
		for (i = 0; i < n->cpu_count; i++)
			kfree(n->cpus[i]);
		kfree(n->cpus);
	}
	kfree(n->slots);
	vfree(n->shmem);
	free_page((unsigned long)n->control);
	kfree(n);
}

/* The boot shim and the BSP part for one node: memory, control page, CPU descriptions. */
static struct sidecar_node *node_create(struct sidecar_platform *p, const struct sidecar_layout *l,
					u32 index)
{
	const struct sidecar_layout_node *ln = &l->nodes[index];
	struct sidecar_node *n;
	u32 i;

	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return NULL;
	n->index = index;
	n->base_cpu = ln->base_cpu;
	n->cpu_count = ln->cpu_count;
	mutex_init(&n->scan_lock);
	mutex_init(&n->direct_lock);
	init_waitqueue_head(&n->wq);
	sidecar_lhost_ipi_init(&n->response, sidecar_node_response);
	atomic_set(&n->open_files, 0);
	atomic_set(&n->orphans, 0);

	n->control = (struct sidecar_control_page *)get_zeroed_page(GFP_KERNEL);
	n->shmem_size = (size_t)n->cpu_count * sizeof(struct sidecar_vp_shared_pages);
	/* vmalloc_user: zeroed, and marked for remap_vmalloc_range() (mmap). */
	n->shmem = vmalloc_user(n->shmem_size);
	n->slots = kcalloc(n->cpu_count, sizeof(*n->slots), GFP_KERNEL);
	n->cpus = kcalloc(n->cpu_count, sizeof(*n->cpus), GFP_KERNEL);
	if (!n->control || !n->shmem || !n->slots || !n->cpus)
		goto fail;
	for (i = 0; i < n->cpu_count; i++)
		sidecar_slot_init(&n->slots[i]);

	n->control->index = index;
	n->control->base_cpu = n->base_cpu;
	n->control->cpu_count = n->cpu_count;
	/*
	 * Informational on this platform: the vector smp_call_function_single_async() raises,
	 * and the base CPU's APIC id. Non-zero response_vector: the CPUs send responses.
	 */
	n->control->request_vector = CALL_FUNCTION_SINGLE_VECTOR;
	n->control->response_cpu = cpu_physical_id(n->base_cpu);
	n->control->response_vector = CALL_FUNCTION_SINGLE_VECTOR;
	memset(n->control->cpu_status, SIDECAR_CPU_REMOVED, sizeof(n->control->cpu_status));

	for (i = 0; i < n->cpu_count; i++) {
		struct sidecar_vp_shared_pages *pages =
			(struct sidecar_vp_shared_pages *)n->shmem + i;
		unsigned int cpu = n->base_cpu + i;
		struct sidecar_cpu *c;

		if (!cpumask_test_cpu(cpu, l->sidecar_cpus)) {
			atomic_long_set(&n->slots[i].claim, SIDECAR_CLAIM_REMOVED);
			continue;
		}
		c = kzalloc(sizeof(*c), GFP_KERNEL);
		if (!c)
			goto fail;
		c->node = n;
		c->host.cpu = cpu;
		c->host.response = sidecar_node_cpu_response;
		c->host.fast_response = sidecar_node_cpu_fast_response;
		c->host.echo = sidecar_node_cpu_echo;
		c->host.fault = sidecar_node_cpu_fault;
		c->host.k.be = p->backend.ops;
		c->host.k.backend = &p->backend;
		c->host.k.control = n->control;
		c->host.k.command_page = &pages->command_page;
		c->host.k.register_page = &pages->register_page;
		c->host.k.node_cpu_index = i;
		c->host.k.vp_index = cpu;
		sidecar_lhost_cpu_init(&c->host);
		n->cpus[i] = c;
		atomic_long_set(&n->slots[i].claim, SIDECAR_CLAIM_AVAIL);
		/* A booting CPU is RUN until it reports IDLE. */
		n->control->cpu_status[i] = SIDECAR_CPU_RUN;
	}
	return n;

fail:
	node_free(n);
	return NULL;
}

/* Still booting: some CPU has not reported yet. */
static bool node_booting(struct sidecar_node *n)
{
	u32 i;

	for (i = 0; i < n->cpu_count; i++) {
		/* Acquire: pairs with the core's store-release of IDLE after its boot. */
		if (n->cpus[i] && smp_load_acquire(status_of(n, i)) == SIDECAR_CPU_RUN)
			return true;
	}
	return false;
}

static int node_check_booted(struct sidecar_node *n)
{
	u32 i;

	for (i = 0; i < n->cpu_count; i++) {
		struct sidecar_cpu *c = n->cpus[i];
		const struct sidecar_command_error *e;

		if (!c || READ_ONCE(*status_of(n, i)) == SIDECAR_CPU_IDLE)
			continue;
		e = &c->host.k.command_page->error;
		pr_err("sidecar cpu %u failed to boot: %.*s\n", c->host.cpu, (int)e->len,
		       (const char *)e->buf);
		return c->host.k.boot_error ? c->host.k.boot_error : -EIO;
	}
	return 0;
}

/*
 * Asks sidecar CPU `i` to leave: STOP what it runs, then REMOVE once it is IDLE (or, after a
 * grace period, over a STOP it ignores), and waits until it reports REMOVED. The wait has no
 * end on purpose: the thread runs this module's code, which must not go while it does; a
 * CPU that does not leave is reported every ten seconds.
 */
static void cpu_remove(struct sidecar_node *n, u32 i)
{
	struct sidecar_lhost_cpu *h = &n->cpus[i]->host;
	unsigned long grace = jiffies + SIDECAR_REMOVE_STOP_GRACE;
	u8 *st = status_of(n, i);

	for (;;) {
		/* Acquire: pairs with the core's release stores of the status. */
		u8 s = smp_load_acquire(st);
		u8 from = s;

		if (s == SIDECAR_CPU_REMOVE || s == SIDECAR_CPU_REMOVED)
			break;
		if (s == SIDECAR_CPU_RUN) {
			if (sc_cmpxchg(st, &from, SIDECAR_CPU_STOP))
				sidecar_lhost_cpu_ipi(h);
		} else if (s == SIDECAR_CPU_IDLE || time_after(jiffies, grace)) {
			if (sc_cmpxchg(st, &from, SIDECAR_CPU_REMOVE)) {
				sidecar_lhost_cpu_ipi(h);
				break;
			}
			continue;
		}
		usleep_range(1000, 2000);
	}
	/* The core stores REMOVED, then sends its response IPI, whose handler wakes us. */
	while (!wait_event_timeout(n->wq, smp_load_acquire(st) == SIDECAR_CPU_REMOVED, 10 * HZ))
		pr_warn("sidecar cpu %u does not leave; waiting\n", h->cpu);
}

/* Removes every started CPU of the node and ends its thread. */
static void node_shutdown(struct sidecar_node *n)
{
	u32 i;

	for (i = 0; i < n->cpu_count; i++)
		if (n->cpus[i] && n->cpus[i]->host.thread)
			cpu_remove(n, i);
	for (i = 0; i < n->cpu_count; i++)
		if (n->cpus[i])
			sidecar_lhost_cpu_stop(&n->cpus[i]->host);
	/* The CPUs' last responses: no more sends, wait out the handler. */
	sidecar_lhost_ipi_quiesce(&n->response);
	if (atomic_read(&n->orphans))
		pr_warn("node %u: %d claims were still orphaned at unload\n", n->index,
			atomic_read(&n->orphans));
}

int sidecar_platform_boot(struct sidecar_platform *p, const struct sidecar_layout *l)
{
	unsigned long deadline;
	u32 i, j;
	int rc;

	memset(p, 0, sizeof(*p));
	if (l->mem_size) {
		p->guest_mem = vzalloc(l->mem_size);
		if (!p->guest_mem)
			return -ENOMEM;
	}
	p->backend.ops = &sidecar_backend_synthetic_ops;
	p->backend.cfg.mem = p->guest_mem;
	p->backend.cfg.mem_size = p->guest_mem ? l->mem_size : 0;
	p->backend.cfg.guest = l->guest;
	p->backend.cfg.work_ns = l->work_ns;
	p->backend.cfg.io_port = l->io_port;
	p->backend.cfg.maxphyaddr = boot_cpu_data.x86_phys_bits;
	rc = p->backend.ops->init(&p->backend);
	if (rc)
		goto fail;
	p->backend_ready = true;

	p->nodes = kcalloc(l->node_count, sizeof(*p->nodes), GFP_KERNEL);
	if (!p->nodes) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < l->node_count; i++) {
		p->nodes[i] = node_create(p, l, i);
		if (!p->nodes[i]) {
			rc = -ENOMEM;
			goto fail;
		}
		p->node_count++;
	}

	/* Boot every CPU in parallel. */
	for (i = 0; i < p->node_count; i++) {
		struct sidecar_node *n = p->nodes[i];

		for (j = 0; j < n->cpu_count; j++) {
			if (!n->cpus[j])
				continue;
			rc = sidecar_lhost_cpu_start(&n->cpus[j]->host);
			if (rc) {
				pr_err("cannot start sidecar cpu %u: %d\n", n->base_cpu + j, rc);
				/* Not started: it will never report. */
				WRITE_ONCE(*status_of(n, j), SIDECAR_CPU_REMOVED);
				goto fail;
			}
		}
	}
	deadline = jiffies + SIDECAR_BOOT_TIMEOUT;
	for (i = 0; i < p->node_count; i++) {
		while (node_booting(p->nodes[i])) {
			if (time_after(jiffies, deadline)) {
				pr_err("node %u: sidecar cpus did not boot\n", i);
				rc = -ETIMEDOUT;
				goto fail;
			}
			usleep_range(1000, 2000);
		}
		rc = node_check_booted(p->nodes[i]);
		if (rc)
			goto fail;
	}
	return 0;

fail:
	sidecar_platform_shutdown(p);
	return rc;
}

void sidecar_platform_shutdown(struct sidecar_platform *p)
{
	u32 i;

	for (i = 0; i < p->node_count; i++)
		node_shutdown(p->nodes[i]);
	for (i = 0; i < p->node_count; i++)
		node_free(p->nodes[i]);
	kfree(p->nodes);
	p->nodes = NULL;
	p->node_count = 0;
	if (p->backend_ready)
		p->backend.ops->fini(&p->backend);
	p->backend_ready = false;
	vfree(p->guest_mem);
	p->guest_mem = NULL;
}
