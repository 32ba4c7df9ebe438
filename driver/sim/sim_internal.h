/* SPDX-License-Identifier: MIT */
/*
 * The simulator's private structures, in layers (each file uses only the ones below it):
 *
 *   module.c   the simulator as a transport (target string -> a driver handle)
 *   boot.c     the simulated platform: boot shim, node layout, CPUs, shutdown
 *   driver.c   the simulated driver: claims, START/STOP/RUN, finished-CPU reporting
 *   kernel/hosts/user   the sidecar CPUs as pinned threads running the kernel core
 */
#ifndef SIDECAR_DRIVER_SIM_INTERNAL_H
#define SIDECAR_DRIVER_SIM_INTERNAL_H

#include "sim.h"
#include "uhost.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

/*
 * The driver's per-VP claim byte. Changed only by compare-and-swap (or by a store from the
 * one state whose holder owns the next transition). Legal transitions:
 *
 *   AVAIL -> SYNC                RUN claims            SYNC -> AVAIL       RUN done
 *   AVAIL -> STARTING            START claims          STARTING -> ASYNC   status is RUN
 *   STARTING -> AVAIL            START failed
 *   ASYNC -> STOP_POSTING        STOP claims the run   STOP_POSTING -> ASYNC_STOPPING  STOP
 *                                                      has moved RUN -> STOP (or saw IDLE)
 *   ASYNC(_STOPPING) -> ASYNC_STOPPED   the run is complete: marked once, by the scan
 *                                (scan reporting) or the response handler / START's re-check
 *                                (lock-free reporting); claim loaded before status
 *   ASYNC_STOPPED -> AVAIL       read returned it
 *   AVAIL -> DIRECT              fast-path owner claims   DIRECT -> AVAIL   owner releases
 *   AVAIL -> REMOVED, DIRECT -> REMOVED   hot-remove
 *
 * STARTING closes upstream's start/scan race: upstream claims ASYNC before moving the
 * status IDLE -> RUN, so a concurrent scan could see "ASYNC and IDLE" and report a VP that
 * never ran. A scan ignores STARTING, and loads the claim before the status (see
 * mark_finished in driver.c for the second form of the race that order closes).
 *
 * STOP_POSTING closes an ABA upstream has: a STOP that claimed ASYNC -> ASYNC_STOPPING and
 * then lost its CPU could, when it resumed, move the status RUN -> STOP of the NEXT run (the
 * first one finished, was read and a new START went by meanwhile). While the claim is
 * STOP_POSTING the run cannot be marked finished, so it cannot be recycled under the STOP;
 * the STOP itself reports the run if it finished meanwhile (sim_stop).
 */
enum sim_claim {
	SIM_CLAIM_AVAIL = 0,
	SIM_CLAIM_SYNC = 1,
	SIM_CLAIM_ASYNC = 2,
	SIM_CLAIM_ASYNC_STOPPING = 3,
	SIM_CLAIM_ASYNC_STOPPED = 4,
	SIM_CLAIM_STARTING = 5,
	SIM_CLAIM_DIRECT = 6,
	SIM_CLAIM_STOP_POSTING = 7,
	SIM_CLAIM_REMOVED = 0xff,
};

struct sim_node;

struct sim_cpu {
	struct sidecar_uhost_cpu host; /* the sidecar CPU: a thread running the kernel core */
	struct sim_node *node;
	uint32_t cpu;   /* global CPU number */
	bool linux_cpu; /* Linux's (the node's base CPU, or left to Linux): REMOVED, no thread */
};

/* The driver's per-VP state. */
struct sim_slot {
	_Atomic uint8_t claim;                             /* enum sim_claim */
	_Atomic(const struct sidecar_drv_notify *) notify; /* DIRECT owner's hook */
};

struct sim_node {
	struct sidecar_sim *sim;
	uint32_t index, base_cpu, cpu_count;
	uint8_t *memory; /* sidecar_required_memory(cpu_count) bytes */
	size_t memory_size;
	struct sidecar_control_page *control;
	uint8_t *shmem; /* per-VP shared pages: what the device's mmap gives */
	size_t shmem_size;
	struct sim_cpu *cpus;
	struct sim_slot *slots;

	/* Upstream finished-CPU reporting: scan under a mutex. */
	pthread_mutex_t scan_lock;
	_Atomic uint32_t needs_scan;
	_Atomic uint32_t num_stopped;
	/* Lock-free reporting: one bit per finished CPU, and one summary bit per word. */
	_Atomic uint64_t fin_summary;
	_Atomic uint64_t fin_bits[(SIDECAR_MAX_CPUS_PER_NODE + 63) / 64];

	/* The driver's wait queue (RUN waiters, blocking readers, hot-remove). The response
	 * handler bumps wait_seq and wakes only when wait_waiters says someone sleeps. */
	alignas(64) _Atomic uint32_t wait_seq;
	_Atomic uint32_t wait_waiters;
	int event_fd; /* readable while a finished CPU is pending */
	/* Reports in flight (begun, not yet signalled): a reader settles the fd's readiness
	 * only when none is, so a late eventfd write cannot leave it readable for nothing. */
	_Atomic uint32_t reports_begun, reports_done;
};

struct sidecar_sim {
	struct sidecar_sim_config cfg;
	struct sidecar_params *params;
	struct sidecar_output *output;
	uint8_t *guest_mem;
	struct sidecar_backend backend;
	bool backend_ready;
	struct sim_node *nodes;
	uint32_t node_count;
	uint32_t total_cpus;
	_Atomic bool shutting_down;
	bool shut_down;
	uint32_t abandoned;             /* CPUs that did not leave at shutdown */
	_Atomic uint32_t warnings;      /* strict=upstream: what upstream's driver WARNs about */
	uint64_t remove_timeout_ns;     /* how long shutdown waits for the CPUs to leave */
	pthread_mutex_t lifecycle_lock; /* shutdown */
	_Atomic(sidecar_sim_fault_fn) fault_fn;
	_Atomic(void *) fault_ctx;
	_Atomic(sidecar_sim_start_fn) start_fn;
	_Atomic(void *) start_ctx;
	_Atomic(sidecar_sim_start_fn) stop_fn;
	_Atomic(void *) stop_ctx;
};

static inline struct sim_cpu *sim_cpu_of(struct sidecar_uhost_cpu *h)
{
	return (struct sim_cpu *)((char *)h - offsetof(struct sim_cpu, host));
}

/* The CPU's node and index, or NULL for a CPU the simulator does not have. */
static inline struct sim_node *sim_node_of_cpu(struct sidecar_sim *sim, uint32_t cpu, uint32_t *index)
{
	if (cpu >= sim->total_cpus)
		return NULL;
	struct sim_node *n = &sim->nodes[cpu / (sim->cfg.cpus + 1)];
	*index = cpu - n->base_cpu;
	return n;
}

/* The driver (driver.c), as the platform sees it: per-node set-up and teardown (probe also
 * installs the response-IPI handler on the node's CPUs), and waking every waiter. */
int sim_driver_probe(struct sim_node *n);
void sim_driver_remove(struct sim_node *n);
void sim_driver_wake_all(struct sim_node *n);

/* The driver's operations (driver.c), for the ops table (module.c). */
uint32_t sim_drv_node_count(struct sidecar_drv *drv);
struct sidecar_drv_node *sim_drv_node(struct sidecar_drv *drv, uint32_t index);
void sim_drv_node_info(struct sidecar_drv_node *node, struct sidecar_drv_node_info *out);
int sim_drv_start(struct sidecar_drv_node *node, uint32_t cpu);
int sim_drv_stop(struct sidecar_drv_node *node, uint32_t cpu);
int sim_drv_run(struct sidecar_drv_node *node, uint32_t cpu, const _Atomic uint32_t *cancel);
int sim_drv_read(struct sidecar_drv_node *node, uint32_t *cpu, bool nonblock);
int sim_drv_poll_fd(struct sidecar_drv_node *node);
void sim_drv_interrupt(struct sidecar_drv_node *node);
int sim_drv_claim_direct(struct sidecar_drv_node *node, uint32_t cpu, const struct sidecar_drv_notify *nt);
void sim_drv_release_direct(struct sidecar_drv_node *node, uint32_t cpu, bool keep_claim);
void sim_drv_kick(struct sidecar_drv_node *node, uint32_t cpu);
int sim_drv_guest_memory(struct sidecar_drv *drv, void **base, size_t *size);

#endif
