/* SPDX-License-Identifier: MIT */
/*
 * The sidecar kernel core's user-space host: each sidecar CPU is a thread (pinned to a host
 * CPU when asked) that runs the core's dispatch loop. Halt is a futex wait on a per-CPU
 * interrupt latch and a request IPI is a store to the latch and a futex wake (plus a kick of
 * the backend's running VP); the response IPI calls the handler the driver registered, on
 * the signalling CPU's thread. The simulator (driver/sim/) builds its platform on it.
 */
#ifndef SIDECAR_UHOST_H
#define SIDECAR_UHOST_H

#include "kernel.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

struct sidecar_uhost_cpu;

/* The response IPI's handler (the driver's interrupt handler), on the signalling thread. */
typedef void (*sidecar_uhost_response_fn)(struct sidecar_uhost_cpu *c);
/* The fault hook of the core's fault points (tests). */
typedef void (*sidecar_uhost_fault_fn)(struct sidecar_uhost_cpu *c, enum sidecar_fault_point where);

struct sidecar_uhost_cpu {
	struct sidecar_kcpu k; /* the core's per-CPU state; k.host is this host */
	/* Set before sidecar_uhost_cpu_start. */
	sidecar_uhost_response_fn response;
	sidecar_uhost_fault_fn fault;
	int pin; /* host CPU to run on, -1: any */
	/* The thread. */
	pthread_t thread;
	bool started;
	_Atomic bool joined;
	pthread_mutex_t join_lock;
	/* The backend VP that request IPIs kick (read under a grace-period read lock:
	 * vp_online waits out the kicks in flight before the VP goes away). */
	_Atomic(struct sidecar_backend_vp *) kick_vp;
	/* The interrupt latch: set by a request IPI, consumed by halt. On its own line:
	 * signallers write it, the CPU polls it. */
	alignas(64) _Atomic uint32_t irq;
	_Atomic uint64_t request_irqs; /* request IPIs received */
};

/* Prepares `c` (zeroed by the caller, with k's pages, backend and indexes filled in). */
void sidecar_uhost_cpu_init(struct sidecar_uhost_cpu *c);
/* Starts the CPU's thread (the core boots it). Returns 0, or a negative errno with the
 * reason in err: -EINVAL when the pin is not allowed to this process. */
int sidecar_uhost_cpu_start(struct sidecar_uhost_cpu *c, char *err, size_t errlen);
/* A request IPI to the CPU. Any thread. */
void sidecar_uhost_cpu_ipi(struct sidecar_uhost_cpu *c);
/* Waits, at most timeout_ns (< 0: no limit), for the CPU's thread to end (it ends once the
 * core saw REMOVE). 0 once it ended (or was never started), -ETIMEDOUT. Idempotent, any
 * thread. */
int sidecar_uhost_cpu_join(struct sidecar_uhost_cpu *c, int64_t timeout_ns);
/* Frees what init set up; the thread must have been joined (or never started). */
void sidecar_uhost_cpu_fini(struct sidecar_uhost_cpu *c);

/* The host CPU's physical-address width (CPUID 0x80000008), for the backends. */
uint8_t sidecar_uhost_maxphyaddr(void);

#endif /* SIDECAR_UHOST_H */
