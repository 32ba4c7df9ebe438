// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* The sidecar kernel core's Linux host (lhost.h). */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "lhost.h"

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/smp.h>

atomic_long_t sidecar_lhost_allocations = ATOMIC_LONG_INIT(0);

static struct sidecar_lhost_cpu *lhost_of(struct sidecar_kcpu *k)
{
	return container_of(k, struct sidecar_lhost_cpu, k);
}

/* ---- the IPIs ---------------------------------------------------------------------------- */

static void lhost_ipi_entry(void *info)
{
	struct sidecar_lhost_ipi *ipi = info;

	/*
	 * Fully ordered; pairs with the sender's xchg in sidecar_lhost_ipi_send. A sender that
	 * found `pending` set did so before this clear, so what it wrote before is visible to
	 * the handler below; one that finds it clear sends a new IPI, and this csd was
	 * unlocked (before we were called) by then.
	 */
	xchg(&ipi->pending, 0);
	WRITE_ONCE(ipi->count, ipi->count + 1);
	ipi->handler(ipi);
}

void sidecar_lhost_ipi_init(struct sidecar_lhost_ipi *ipi,
			    void (*handler)(struct sidecar_lhost_ipi *ipi))
{
	INIT_CSD(&ipi->csd, lhost_ipi_entry, ipi);
	ipi->pending = 0;
	ipi->count = 0;
	ipi->handler = handler;
}

void sidecar_lhost_ipi_send(struct sidecar_lhost_ipi *ipi, unsigned int cpu)
{
	unsigned long flags;

	/* Fully ordered; pairs with the handler's xchg (lhost_ipi_entry). */
	if (xchg(&ipi->pending, 1))
		return;
	if (likely(!smp_call_function_single_async(cpu, &ipi->csd)))
		return;
	/*
	 * The CPU is offline. The driver refuses to let its CPUs go offline, so this is a bug;
	 * still, run the handler here rather than lose the signal.
	 */
	pr_warn_ratelimited("cpu %u cannot take an IPI\n", cpu);
	local_irq_save(flags);
	lhost_ipi_entry(ipi);
	local_irq_restore(flags);
}

void sidecar_lhost_ipi_quiesce(struct sidecar_lhost_ipi *ipi)
{
	unsigned int waited = 0;

	/* Acquire: pairs with the handler's clear; it started. */
	while (smp_load_acquire(&ipi->pending)) {
		usleep_range(1000, 2000);
		if (++waited % 10000 == 0)
			pr_warn("an IPI to a sidecar or base CPU is pending for %u s\n",
				waited / 1000);
	}
	/*
	 * The handler runs with interrupts off: an RCU read-side critical section, so a grace
	 * period is the end of any handler still running.
	 */
	synchronize_rcu();
}

/* ---- the host's per-CPU services ------------------------------------------------------- */

/* `sti; hlt`: sleep until the latch is set, then consume it. */
static void lhost_halt(struct sidecar_kcpu *k)
{
	struct sidecar_lhost_cpu *c = lhost_of(k);

	for (;;) {
		/*
		 * set_current_state() is a full barrier before the latch load: either the request
		 * handler's wake_up_process() finds us in TASK_IDLE and wakes us, or this load
		 * sees the latch, which was set before the IPI was sent. The xchg (fully ordered)
		 * also makes what the sender wrote before the IPI visible. The echo request is a
		 * second latch of the same kind, served here without leaving the halt.
		 */
		set_current_state(TASK_IDLE);
		if (READ_ONCE(c->echo_pending) && xchg(&c->echo_pending, 0)) {
			__set_current_state(TASK_RUNNING);
			if (c->echo)
				c->echo(c);
			continue;
		}
		if (READ_ONCE(c->irq) && xchg(&c->irq, 0))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

static bool lhost_irq_pending(struct sidecar_kcpu *k)
{
	return READ_ONCE(lhost_of(k)->irq) != 0;
}

static void lhost_signal_response(struct sidecar_kcpu *k)
{
	struct sidecar_lhost_cpu *c = lhost_of(k);

	if (c->response)
		c->response(c);
}

static void lhost_signal_fast_response(struct sidecar_kcpu *k)
{
	struct sidecar_lhost_cpu *c = lhost_of(k);

	if (c->fast_response)
		c->fast_response(c);
	else if (c->response)
		c->response(c);
}

static int lhost_host_cpu(struct sidecar_kcpu *k)
{
	/* The thread is bound to its CPU; raw_: the answer cannot change under us. */
	return (int)raw_smp_processor_id();
}

static void lhost_fault(struct sidecar_kcpu *k, enum sidecar_fault_point where)
{
	struct sidecar_lhost_cpu *c = lhost_of(k);

	if (c->fault)
		c->fault(c, where);
}

static void lhost_log(struct sidecar_kcpu *k, const char *msg)
{
	pr_info("sidecar cpu %u: %s\n", lhost_of(k)->cpu, msg);
}

static const struct sidecar_host_ops lhost_ops = {
	.halt = lhost_halt,
	.irq_pending = lhost_irq_pending,
	.signal_response = lhost_signal_response,
	.signal_fast_response = lhost_signal_fast_response,
	.host_cpu = lhost_host_cpu,
	.vp_online = NULL, /* the synthetic backend polls its stop predicate: no kicks */
	.fault = lhost_fault,
	.log = lhost_log,
};

/* The request IPI's handler, on the sidecar CPU: the end of its `hlt`. */
static void lhost_request(struct sidecar_lhost_ipi *ipi)
{
	struct sidecar_lhost_cpu *c = container_of(ipi, struct sidecar_lhost_cpu, request);

	wake_up_process(c->thread);
}

void sidecar_lhost_cpu_init(struct sidecar_lhost_cpu *c)
{
	c->k.host = &lhost_ops;
	c->k.faults_on = false;
	c->irq = 0;
	sidecar_lhost_ipi_init(&c->request, lhost_request);
}

void sidecar_lhost_cpu_ipi(struct sidecar_lhost_cpu *c)
{
	/* Ordered before the IPI by the fully ordered xchg in sidecar_lhost_ipi_send. */
	WRITE_ONCE(c->irq, 1);
	sidecar_lhost_ipi_send(&c->request, c->cpu);
}

void sidecar_lhost_cpu_echo(struct sidecar_lhost_cpu *c, bool interrupt)
{
	/*
	 * Ordered before the IPI by the fully ordered xchg in sidecar_lhost_ipi_send, and the
	 * halt's xchg of echo_pending pairs with it: what the caller wrote before (the echo's
	 * sequence) is visible to c->echo.
	 */
	WRITE_ONCE(c->echo_pending, 1);
	if (interrupt)
		WRITE_ONCE(c->irq, 1);
	sidecar_lhost_ipi_send(&c->request, c->cpu);
}

static int lhost_thread(void *arg)
{
	struct sidecar_lhost_cpu *c = arg;

	c->rc = sidecar_kernel_cpu_main(&c->k);
	/* The core left (REMOVED). Stay until kthread_stop(): the driver owns the task. */
	for (;;) {
		set_current_state(TASK_IDLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return c->rc;
}

int sidecar_lhost_cpu_start(struct sidecar_lhost_cpu *c)
{
	struct task_struct *t;

	t = kthread_create_on_cpu(lhost_thread, c, c->cpu, "sidecar/%u");
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* Published before the thread runs, hence before any request IPI can use it. */
	c->thread = t;
	wake_up_process(t);
	return 0;
}

void sidecar_lhost_cpu_stop(struct sidecar_lhost_cpu *c)
{
	/*
	 * Nobody sends request IPIs any more; the last one (the REMOVE's) may still be on its
	 * way, and its handler wakes the thread: let it run before the thread goes.
	 */
	sidecar_lhost_ipi_quiesce(&c->request);
	if (c->thread) {
		kthread_stop(c->thread);
		c->thread = NULL;
	}
}
