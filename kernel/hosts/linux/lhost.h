/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The sidecar kernel core's Linux host: each sidecar CPU is a kernel thread bound to one
 * Linux CPU that runs the core's dispatch loop (sidecar_kernel_cpu_main).
 *
 *   halt         the thread sleeps (TASK_IDLE) until its interrupt latch is set; the CPU
 *                goes idle meanwhile
 *   request IPI  sidecar_lhost_cpu_ipi(): set the latch, then a real IPI to the bound CPU
 *                (smp_call_function_single_async) whose handler wakes the thread there,
 *                as the sidecar kernel's interrupt entry ends its `hlt`
 *   response     the core's signal_response calls the driver's `response` hook, which
 *                sends its own IPI to the node's base CPU (sidecar_lhost_ipi_send); the
 *                completion of a request posted through the fast line goes to the driver's
 *                `fast_response` hook instead, on the sidecar CPU's own thread, which wakes
 *                the VP's owner directly (no second hop through the base CPU)
 *   echo         sidecar_lhost_cpu_echo(): a request IPI that does not end the halt: the
 *                halted thread runs the driver's `echo` hook and halts again (the latency
 *                reference, and the driver's barrier "this CPU has been idle since")
 *
 * struct sidecar_lhost_ipi is one "vector": an IPI to a fixed CPU whose handler runs there in
 * hard interrupt context. Senders that find one already on its way do not send another:
 * the handler clears `pending` before it looks at anything, so it sees what they wrote
 * (the "signal on the 0 -> 1 edge" of mshv_vtl's xchg), exactly as a pending interrupt
 * vector coalesces in the APIC. The same rule is what makes the call_single_data safe to
 * reuse: a new send happens only after the handler started, hence after the csd was
 * unlocked.
 */
#ifndef SIDECAR_LHOST_H
#define SIDECAR_LHOST_H

#include "kernel.h"

#include <linux/sched.h>
#include <linux/smp.h>

struct sidecar_lhost_ipi {
	call_single_data_t csd;
	/* Non-zero from the sending edge until the handler starts. */
	unsigned int pending;
	/*
	 * Handled so far (written by the handler only, which never runs twice at once: every
	 * send goes to the same CPU).
	 */
	unsigned long count;
	void (*handler)(struct sidecar_lhost_ipi *ipi);
};

/* Prepares `ipi` to run `handler` (hard interrupt context, interrupts off). */
void sidecar_lhost_ipi_init(struct sidecar_lhost_ipi *ipi,
			    void (*handler)(struct sidecar_lhost_ipi *ipi));
/* Any context. Sends the IPI to `cpu` unless one is already on its way. */
void sidecar_lhost_ipi_send(struct sidecar_lhost_ipi *ipi, unsigned int cpu);
/* Waits until no IPI of `ipi` is pending or running (teardown: no more sends). Sleeps. */
void sidecar_lhost_ipi_quiesce(struct sidecar_lhost_ipi *ipi);

struct sidecar_lhost_cpu;

/* The driver's hooks. */
typedef void (*sidecar_lhost_response_fn)(struct sidecar_lhost_cpu *c);
typedef void (*sidecar_lhost_fault_fn)(struct sidecar_lhost_cpu *c, enum sidecar_fault_point where);

struct sidecar_lhost_cpu {
	struct sidecar_kcpu k; /* the core's per-CPU state; k.host is this host */
	/* Set before sidecar_lhost_cpu_start. */
	unsigned int cpu;                        /* the Linux CPU the thread is bound to */
	sidecar_lhost_response_fn response;      /* the core's signal_response */
	sidecar_lhost_response_fn fast_response; /* its signal_fast_response; may be NULL */
	sidecar_lhost_response_fn echo;          /* an echo request, run in the halt loop */
	sidecar_lhost_fault_fn fault;            /* may be NULL (the core's fault points) */
	/* The thread. */
	struct task_struct *thread;
	int rc; /* what sidecar_kernel_cpu_main returned */
	/* The interrupt latch: set by a request IPI's sender, consumed by halt. */
	unsigned int irq;
	/* An echo request: set by sidecar_lhost_cpu_echo's caller, consumed by halt. */
	unsigned int echo_pending;
	struct sidecar_lhost_ipi request;
};

/* Prepares `c` (zeroed by the caller, with k's pages, backend, indexes and `cpu` set). */
void sidecar_lhost_cpu_init(struct sidecar_lhost_cpu *c);
/* Creates the kernel thread bound to c->cpu and starts it (the core boots the CPU). */
int sidecar_lhost_cpu_start(struct sidecar_lhost_cpu *c);
/* The request IPI. Any context. */
void sidecar_lhost_cpu_ipi(struct sidecar_lhost_cpu *c);
/*
 * An echo request: the thread runs c->echo once it halts (at once when it is halted).
 * With `interrupt`, the interrupt latch is set too, so that a CPU polling the fast line
 * stops polling and halts (what a request IPI does). Any context.
 */
void sidecar_lhost_cpu_echo(struct sidecar_lhost_cpu *c, bool interrupt);
/*
 * Once the core left (cpu_status REMOVED, or it never booted): ends the thread and waits
 * out the last request IPI. Sleeps.
 */
void sidecar_lhost_cpu_stop(struct sidecar_lhost_cpu *c);

#endif /* SIDECAR_LHOST_H */
