/* SPDX-License-Identifier: MIT */
/*
 * The simulator as a transport: the ops table over the simulated driver and platform, and
 * the module's one exported symbol, through which libsidecar opens `sim[:...]` targets
 * (runtime/transport/sim_loader.c, docs/runtime.md "The simulator module").
 */
#include "sim_internal.h"

static int sim_drv_shutdown_op(struct sidecar_drv *drv)
{
	return sidecar_sim_shutdown((struct sidecar_sim *)drv);
}

static void sim_drv_release_op(struct sidecar_drv *drv)
{
	sidecar_sim_destroy((struct sidecar_sim *)drv);
}

/* The upstream driver's operations, which both tables have. */
#define SIM_UPSTREAM_OPS                                                                                       \
	.name = "sim", .node_count = sim_drv_node_count, .node = sim_drv_node, .node_info = sim_drv_node_info, \
	.start = sim_drv_start, .stop = sim_drv_stop, .run = sim_drv_run, .read = sim_drv_read,                \
	.poll_fd = sim_drv_poll_fd, .interrupt = sim_drv_interrupt, .guest_memory = sim_drv_guest_memory,      \
	.shutdown = sim_drv_shutdown_op, .release = sim_drv_release_op

const struct sidecar_drv_ops sidecar_sim_drv_ops = {
	SIM_UPSTREAM_OPS,
	.claim_direct = sim_drv_claim_direct,
	.release_direct = sim_drv_release_direct,
	.kick = sim_drv_kick,
};

/* The upstream driver's operations only: strict=upstream. */
const struct sidecar_drv_ops sidecar_sim_drv_ops_upstream = {
	SIM_UPSTREAM_OPS,
};

static int sim_open(const char *target, struct sidecar_drv_handle *out, char *err, size_t errlen)
{
	struct sidecar_sim_config cfg;
	struct sidecar_sim *sim;
	int rc = sidecar_sim_config_parse(target, &cfg, err, errlen);

	if (rc)
		return rc;
	rc = sidecar_sim_create(&cfg, &sim, err, errlen);
	if (rc)
		return rc;
	out->ops = cfg.strict_upstream ? &sidecar_sim_drv_ops_upstream : &sidecar_sim_drv_ops;
	out->drv = sidecar_sim_drv(sim);
	out->owned = true;
	return 0;
}

__attribute__((visibility("default"))) const struct sidecar_sim_provider sidecar_sim_provider = {
	.version = SIDECAR_SIM_PROVIDER_VERSION,
	.ops_size = sizeof(struct sidecar_drv_ops),
	.open = sim_open,
};
