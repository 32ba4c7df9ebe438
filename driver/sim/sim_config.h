/* SPDX-License-Identifier: MIT */
/*
 * The simulator's target string (docs/platform.md, "Target strings"):
 *
 *   sim[:key=value[,key=value...]]
 *
 *   nodes    nodes (1..128)                                    1
 *   cpus     sidecar CPUs per node, besides its base CPU       2
 *            (1..4031): node n's CPUs are n*(cpus+1) + 0..cpus, and index 0, the base CPU,
 *            is Linux's (REMOVED), as upstream boots it
 *   backend  synthetic | kvm                                   synthetic
 *   mem      guest memory, bytes with an optional K/M/G suffix 64M
 *   pin      host CPU list (e.g. 0-1,3); the i-th sidecar CPU (counting from 0 in CPU order,
 *            Linux's CPUs not counted) runs on entry i mod n
 *   guest    io | spin | halt (synthetic backend only)         io
 *   work_ns  simulated guest work per run (0..10 s)            0
 * Extensions (docs/platform.md):
 *   io_port  port of the io guest's intercept (0..65535)       0x3f8
 *   report   how the driver finds finished CPUs: scan | lockfree    scan
 *   linux    node CPU indexes (1..cpus, '+'-joined list) that Linux keeps: REMOVED at boot,
 *            gaps in every node (upstream's per-CPU state)             none
 *   strict   fixed | upstream: `upstream` makes the simulated driver behave as the upstream
 *            driver does where this project's driver fixes it (START/RUN on a CPU that is not
 *            IDLE warn and return 0, so the run never completes; STOP of a stopped CPU fails
 *            with EIO; a cancelled synchronous RUN posts STOP without an IPI), and offers no
 *            fast-path extension                                       fixed
 *
 * An unknown key, a repeated key or a bad value is an error naming it.
 */
#ifndef SIDECAR_DRIVER_SIM_CONFIG_H
#define SIDECAR_DRIVER_SIM_CONFIG_H

#include "backend.h"

#include <stddef.h>
#include <stdint.h>

#define SIDECAR_SIM_MAX_PIN 1024
/* Most sidecar CPUs (threads) one simulator runs. */
#define SIDECAR_SIM_MAX_TOTAL_CPUS 8192
#define SIDECAR_SIM_MAX_MEM (256ull << 30)
#define SIDECAR_SIM_MAX_WORK_NS 10000000000ull

enum sidecar_sim_backend {
	SIDECAR_SIM_BACKEND_SYNTHETIC,
	SIDECAR_SIM_BACKEND_KVM,
};

enum sidecar_sim_report {
	SIDECAR_SIM_REPORT_SCAN,     /* upstream: scan the node's statuses under a mutex */
	SIDECAR_SIM_REPORT_LOCKFREE, /* a finished-CPU bitmap: no lock, cost independent of the node */
};

struct sidecar_sim_config {
	uint32_t nodes;
	uint32_t cpus;
	enum sidecar_sim_backend backend;
	uint64_t mem;
	uint32_t pin_count;
	uint16_t pin[SIDECAR_SIM_MAX_PIN];
	enum sidecar_guest guest;
	uint64_t work_ns;
	uint16_t io_port;
	enum sidecar_sim_report report;
	uint64_t linux_cpu[SIDECAR_MAX_CPUS_PER_NODE / 64]; /* node indexes Linux keeps (bitmap) */
	bool strict_upstream;
};

/* Does Linux keep node CPU index `i` (the base CPU, index 0, always)? */
static inline bool sidecar_sim_config_linux_cpu(const struct sidecar_sim_config *cfg, uint32_t i)
{
	return i == 0 || (i < SIDECAR_MAX_CPUS_PER_NODE && (cfg->linux_cpu[i / 64] >> (i % 64)) & 1);
}

/* Writes a sentence into err (when there is room) and returns rc: the simulator's one way of
 * saying why something failed. */
int sidecar_sim_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills `cfg` with the defaults. */
void sidecar_sim_config_default(struct sidecar_sim_config *cfg);

/*
 * Parses a target string. Returns 0, or -EINVAL with a message naming the problem in `err`
 * (always NUL terminated when errlen > 0). `cfg` is written only on success.
 */
int sidecar_sim_config_parse(const char *target, struct sidecar_sim_config *cfg, char *err, size_t errlen);

#endif
