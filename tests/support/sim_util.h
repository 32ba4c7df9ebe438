/* SPDX-License-Identifier: MIT */
/* Test helpers: a simulator the test owns (so it can hot-remove CPUs, inject faults and
 * open several clients on it), and the driver-level view of its nodes. CPU numbers are
 * upstream's: node n's CPUs are n * (cpus + 1) + 0..cpus, and index 0 (the base CPU) is
 * Linux's. */
#ifndef SIDECAR_TESTS_SIM_UTIL_H
#define SIDECAR_TESTS_SIM_UTIL_H

#include "check.h"
#include "futex.h"
#include "internal.h"
#include "sidecar_atomic.h"
#include "sim.h"
#include "wait_mode.h"

#include <sidecar/client.h>

/* Boots `target`; a bad one ends the test (exit 1). */
struct sidecar_sim *sim_open(const char *target);

/* A client over `sim`, which the test keeps owning. */
struct sidecar_client *sim_client(struct sidecar_sim *sim);

struct sidecar_drv_node *sim_node(struct sidecar_sim *sim, uint32_t node);

/* CPU `cpu`'s shared pages (the driver's mmap view). */
struct sidecar_vp_shared_pages *sim_pages(struct sidecar_sim *sim, uint32_t cpu);

uint8_t sim_status(struct sidecar_sim *sim, uint32_t cpu);

/* Runs the command already written into `cpu`'s page through the driver's RUN ioctl. */
int sim_run_sync(struct sidecar_sim *sim, uint32_t cpu, uint32_t command);

/* Monotonic milliseconds. */
uint64_t ms_now(void);

#endif
