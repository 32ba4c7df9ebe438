/* SPDX-License-Identifier: MIT */
#include "sim_util.h"

struct sidecar_sim *sim_open(const char *target)
{
	struct sidecar_sim_config cfg;
	struct sidecar_sim *sim = NULL;
	char err[256];

	if (sidecar_sim_config_parse(target, &cfg, err, sizeof(err))) {
		fprintf(stderr, "bad target %s: %s\n", target, err);
		exit(1);
	}
	if (sidecar_sim_create(&cfg, &sim, err, sizeof(err))) {
		fprintf(stderr, "cannot boot %s: %s\n", target, err);
		exit(1);
	}
	return sim;
}

struct sidecar_client *sim_client(struct sidecar_sim *sim)
{
	struct sidecar_drv_handle h = {.ops = &sidecar_sim_drv_ops, .drv = sidecar_sim_drv(sim), .owned = false};
	struct sidecar_client *c = NULL;

	REQUIRE(rt_client_open_drv(&h, &c) == 0);
	return c;
}

struct sidecar_drv_node *sim_node(struct sidecar_sim *sim, uint32_t node)
{
	return sidecar_sim_drv_ops.node(sidecar_sim_drv(sim), node);
}

struct sidecar_vp_shared_pages *sim_pages(struct sidecar_sim *sim, uint32_t cpu)
{
	const struct sidecar_sim_config *cfg = sidecar_sim_config(sim);
	struct sidecar_drv_node_info info;

	sidecar_sim_drv_ops.node_info(sim_node(sim, cpu / (cfg->cpus + 1)), &info);
	return (struct sidecar_vp_shared_pages *)(info.shmem + (size_t)(cpu - info.base_cpu) * info.per_cpu_shmem);
}

uint8_t sim_status(struct sidecar_sim *sim, uint32_t cpu)
{
	const struct sidecar_sim_config *cfg = sidecar_sim_config(sim);
	struct sidecar_control_page *cp = sidecar_sim_control_page(sim, cpu / (cfg->cpus + 1));
	return sc_load_acquire(&cp->cpu_status[cpu % (cfg->cpus + 1)]);
}

int sim_run_sync(struct sidecar_sim *sim, uint32_t cpu, uint32_t command)
{
	const struct sidecar_sim_config *cfg = sidecar_sim_config(sim);

	sim_pages(sim, cpu)->command_page.command = command;
	return sidecar_sim_drv_ops.run(sim_node(sim, cpu / (cfg->cpus + 1)), cpu, NULL);
}

uint64_t ms_now(void)
{
	return sidecar_now_ns() / 1000000;
}
