/* SPDX-License-Identifier: MIT */
/*
 * The transport: the driver layer as the runtime sees it, an ops table per target. Two
 * implementations: the real device (runtime/transport/device.c: /dev/mshv_vtl_sidecar<N>
 * ioctls, read, poll, mmap), built into libsidecar, and the simulated driver
 * (driver/sim/), a separate module that libsidecar loads on the first `sim` target
 * (runtime/transport/sim_loader.c).
 *
 * The upstream operations mirror the device's: START, STOP, RUN, INFO, read of finished
 * CPUs, a pollable fd, the mmap of the per-CPU shared pages. The "direct" operations are
 * libsidecar's extension for the fast path: a VMM holds a VP for as long as it likes
 * (claim DIRECT), posts commands through the fast line of the command page, sends request
 * IPIs itself (`kick`) and gets the completion IPI delivered to a per-VP hook. A driver
 * without them (an upstream device driver) leaves them NULL and the runtime uses the
 * upstream operations.
 *
 * A driver in another protection domain (the kernel module: its sidecar CPUs cannot call a
 * function of this process) delivers the completion to a sleep it offers instead:
 * `wait_done`, which the runtime uses only when it is there (the simulator's path, the hook
 * and the futex, stays as it is), `wake` to end such a sleep (close), and `set_notify_fd`
 * for event loops (runtime/event.c forwards its signals to the hook's work).
 */
#ifndef SIDECAR_DRIVER_DRIVER_H
#define SIDECAR_DRIVER_DRIVER_H

#include <sidecar/defs.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sidecar_drv;      /* a driver instance: the simulator, or the set of device nodes */
struct sidecar_drv_node; /* one node */

struct sidecar_drv_node_info {
	uint32_t base_cpu;
	uint32_t cpu_count;
	uint32_t per_cpu_shmem; /* bytes of shared pages per CPU */
	uint8_t *shmem;         /* the node's mapping of all per-CPU shared pages */
	size_t shmem_size;
};

/* The per-VP completion hook of a DIRECT claim. `fn` runs in the driver's response-IPI
 * handler: it must not block or allocate. */
struct sidecar_drv_notify {
	void (*fn)(void *ctx);
	void *ctx;
};

struct sidecar_drv_ops {
	const char *name;
	uint32_t (*node_count)(struct sidecar_drv *drv);
	struct sidecar_drv_node *(*node)(struct sidecar_drv *drv, uint32_t index);
	void (*node_info)(struct sidecar_drv_node *node, struct sidecar_drv_node_info *out);

	/* Upstream ioctls: 0 or -EINVAL (bad CPU), -ENOENT (removed), -EBUSY (claimed). */
	int (*start)(struct sidecar_drv_node *node, uint32_t cpu);
	int (*stop)(struct sidecar_drv_node *node, uint32_t cpu);
	/* Synchronous run. While `*cancel` is non-zero the request is turned into a STOP (as
	 * a signal does upstream); -ESHUTDOWN when the driver goes away meanwhile. */
	int (*run)(struct sidecar_drv_node *node, uint32_t cpu, const _Atomic uint32_t *cancel);
	/* One finished CPU: 0 and *cpu, -EAGAIN (nonblocking, none), -ESHUTDOWN. */
	int (*read)(struct sidecar_drv_node *node, uint32_t *cpu, bool nonblock);
	/* Readable while a finished CPU is pending. Owned by the driver. */
	int (*poll_fd)(struct sidecar_drv_node *node);
	/* Interrupts the node's RUN waiters so they re-check their cancel word. */
	void (*interrupt)(struct sidecar_drv_node *node);

	/* Extensions (NULL when unsupported). */
	int (*claim_direct)(struct sidecar_drv_node *node, uint32_t cpu, const struct sidecar_drv_notify *nt);
	/* Unhooks `nt` and waits out a response handler running it; then gives the claim
	 * back unless `keep_claim` (a CPU that would not stop: nobody else may post to it,
	 * but the hook's owner may be freed). */
	void (*release_direct)(struct sidecar_drv_node *node, uint32_t cpu, bool keep_claim);
	void (*kick)(struct sidecar_drv_node *node, uint32_t cpu);
	int (*guest_memory)(struct sidecar_drv *drv, void **base, size_t *size);

	/* The client is done with the driver: stop every CPU it can, close everything. The
	 * shared mappings stay valid until `release`. 0, or -ETIMEDOUT when a CPU would not
	 * stop (the driver then keeps what that CPU may still touch until the process ends). */
	int (*shutdown)(struct sidecar_drv *drv);
	void (*release)(struct sidecar_drv *drv);

	/* The completion delivered to a sleep in the driver (NULL: the hook is called). */
	/* Sleeps until the fast line's done_seq is `seq`, a `wake`, a signal or the timeout
	 * (-1: none). 1: it slept and the completion signal woke it; 0: it did not sleep (or a
	 * wake ended it); -ETIMEDOUT, -EINTR, or another -errno. */
	int (*wait_done)(struct sidecar_drv_node *node, uint32_t cpu, uint32_t seq, int64_t timeout_ns);
	/* Ends the VP's wait_done, or the next one if none sleeps. */
	void (*wake)(struct sidecar_drv_node *node, uint32_t cpu);
	/* An eventfd the driver signals with every completion signal of the VP (-1: none). */
	int (*set_notify_fd)(struct sidecar_drv_node *node, uint32_t cpu, int fd);
};

struct sidecar_drv_handle {
	const struct sidecar_drv_ops *ops;
	struct sidecar_drv *drv;
	bool owned; /* the client created it and shuts it down at close */
};

/*
 * The simulator module's one exported symbol (driver/sim/module.c). The library finds it
 * linked into the program, or loads the module (libsidecar-sim.so.<major>) and looks it up
 * by name; the version and the size of the ops table guard against a module built from
 * another version of this header.
 */
#define SIDECAR_SIM_PROVIDER_VERSION 1
#define SIDECAR_SIM_PROVIDER_SYMBOL "sidecar_sim_provider"
struct sidecar_sim_provider {
	uint32_t version;  /* SIDECAR_SIM_PROVIDER_VERSION */
	uint32_t ops_size; /* sizeof(struct sidecar_drv_ops) */
	/* Opens a simulator for `target` ("sim[:...]"): 0, or a negative errno and a
	 * sentence in err. */
	int (*open)(const char *target, struct sidecar_drv_handle *out, char *err, size_t errlen);
};

/* libsidecar's transports (runtime/transport/). */
/* The simulator for `target`, through its module: -ENOTSUP (with the reason in err) when
 * the simulator is not installed or the library was built without it. */
int rt_transport_sim_open(const char *target, struct sidecar_drv_handle *out, char *err, size_t errlen);
/* The real device nodes /dev/mshv_vtl_sidecar0..N; -ENODEV when there are none. */
int rt_transport_device_open(struct sidecar_drv_handle *out, char *err, size_t errlen);

#endif /* SIDECAR_DRIVER_DRIVER_H */
