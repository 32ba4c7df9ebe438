/* SPDX-License-Identifier: MIT */
/*
 * The embedded simulator: a whole sidecar platform in one process (docs/platform.md).
 *
 * A boot shim sizes each node's memory with sidecar_required_memory and fills
 * sidecar_params; the "sidecar kernel" boots every CPU in parallel on a pinned thread and
 * fills sidecar_output; the simulated driver probes the output like the Linux driver does.
 * Halt is a futex wait on a per-CPU interrupt latch, an IPI a futex wake; the VP backend is
 * the synthetic one or KVM.
 */
#ifndef SIDECAR_DRIVER_SIM_H
#define SIDECAR_DRIVER_SIM_H

#include "kernel.h"
#include "transport.h"
#include "sim_config.h"

#include <stddef.h>
#include <stdint.h>

struct sidecar_sim;

/* Boots a simulator. Returns 0, or a negative errno with a reason in `err`. */
int sidecar_sim_create(const struct sidecar_sim_config *cfg, struct sidecar_sim **out, char *err, size_t errlen);
/* Removes every CPU (stopping what runs) and joins the threads. Idempotent. Memory stays
 * mapped until sidecar_sim_destroy. Returns 0, or -ETIMEDOUT when a CPU did not leave
 * within the remove timeout (30 s): it is abandoned, and destroy leaks the simulator's
 * memory rather than free it under that CPU; the process goes on. */
int sidecar_sim_shutdown(struct sidecar_sim *sim);
/* Under strict=upstream: how many times the driver did what upstream's WARNs about. */
uint32_t sidecar_sim_warnings(const struct sidecar_sim *sim);
/* Test hook: the remove timeout of shutdown. */
void sidecar_sim_set_remove_timeout(struct sidecar_sim *sim, uint64_t timeout_ns);
/* Shuts down (if needed) and frees everything. */
void sidecar_sim_destroy(struct sidecar_sim *sim);

/* The simulator as a driver (struct sidecar_drv is the simulator); the second table is the
 * upstream driver's (strict=upstream: no fast-path extension). */
extern const struct sidecar_drv_ops sidecar_sim_drv_ops;
extern const struct sidecar_drv_ops sidecar_sim_drv_ops_upstream;
static inline struct sidecar_drv *sidecar_sim_drv(struct sidecar_sim *sim)
{
	return (struct sidecar_drv *)sim;
}

/* What the boot shim and the kernel exchanged. */
const struct sidecar_params *sidecar_sim_params(const struct sidecar_sim *sim);
const struct sidecar_output *sidecar_sim_output(const struct sidecar_sim *sim);
const struct sidecar_sim_config *sidecar_sim_config(const struct sidecar_sim *sim);
uint32_t sidecar_sim_cpu_count(const struct sidecar_sim *sim);
struct sidecar_control_page *sidecar_sim_control_page(struct sidecar_sim *sim, uint32_t node);

/* Hot-removes a sidecar CPU (the CPU leaves the sidecar kernel, as for CPU online in
 * Linux): 0, -EINVAL bad CPU, -ENOENT already removed, -EBUSY claimed by an upstream
 * operation, -ETIMEDOUT the CPU did not leave within `timeout_ns`. */
int sidecar_sim_hot_remove(struct sidecar_sim *sim, uint32_t cpu, int64_t timeout_ns);

/* Counters of sidecar CPU `cpu` (a snapshot). */
struct sidecar_sim_cpu_stats {
	uint64_t commands, fast_commands, halts, polled_requests;
	uint64_t request_signals;  /* request IPIs this CPU received */
	uint64_t response_signals; /* response IPIs it sent */
	uint64_t suppressed_signals;
};
int sidecar_sim_cpu_stats(const struct sidecar_sim *sim, uint32_t cpu, struct sidecar_sim_cpu_stats *out);

/* Test hook: called on each sidecar CPU at each fault point (kernel/core/kernel.h). May sleep;
 * must return once `sidecar_sim_shutting_down` is true. Set before any traffic. */
typedef void (*sidecar_sim_fault_fn)(void *ctx, struct sidecar_sim *sim, uint32_t cpu, enum sidecar_fault_point where);
void sidecar_sim_set_fault_hook(struct sidecar_sim *sim, sidecar_sim_fault_fn fn, void *ctx);
bool sidecar_sim_shutting_down(const struct sidecar_sim *sim);
/* Test hook: called by the driver between claiming a VP for START and moving its status to
 * RUN (the window of upstream's start/scan race). */
typedef void (*sidecar_sim_start_fn)(void *ctx, uint32_t cpu);
void sidecar_sim_set_start_hook(struct sidecar_sim *sim, sidecar_sim_start_fn fn, void *ctx);
/* Test hook: called by the driver between STOP's claim of an asynchronous run and its move
 * of the status RUN -> STOP (the window of upstream's stop/restart ABA). */
void sidecar_sim_set_stop_hook(struct sidecar_sim *sim, sidecar_sim_start_fn fn, void *ctx);

#endif
