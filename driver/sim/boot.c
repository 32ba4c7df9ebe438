/* SPDX-License-Identifier: MIT */
/*
 * The simulated platform: boot shim, sidecar CPU threads, halt and IPIs, shutdown.
 *
 * Boot follows the real sequence: the boot shim sizes each node's reserved memory with
 * sidecar_required_memory and fills sidecar_params; the sidecar kernel's BSP part lays out
 * each node (control page, then the per-VP shared pages, then the per-VP private pages),
 * fills sidecar_output and starts every CPU with status RUN; each CPU boots in parallel on
 * its own (optionally pinned) thread and reports IDLE; the driver probes from the output.
 */
#include "futex.h"
#include "sim_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIM_BOOT_TIMEOUT_NS (60ull * 1000000000u)
#define SIM_REMOVE_TIMEOUT_NS (30ull * 1000000000u)
/* Vectors the simulated driver programs; only "non-zero" matters here. */
#define SIM_REQUEST_VECTOR 0xf0
#define SIM_RESPONSE_VECTOR 0xf3

#define fail sidecar_sim_fail

/* ---- the host's hooks ------------------------------------------------------------------- */

static void cpu_fault(struct sidecar_uhost_cpu *h, enum sidecar_fault_point where)
{
	struct sim_cpu *c = sim_cpu_of(h);
	struct sidecar_sim *sim = c->node->sim;

	sidecar_sim_fault_fn fn = atomic_load_explicit(&sim->fault_fn, memory_order_acquire);
	if (fn)
		fn(atomic_load_explicit(&sim->fault_ctx, memory_order_relaxed), sim, c->cpu, where);
}

/* ---- boot -------------------------------------------------------------------------------- */

static void *map_zeroed(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Starts sidecar CPU `c`, the `ordinal`-th sidecar CPU of the simulator (Linux's CPUs are
 * not counted): pinned to the pin list's entry ordinal mod its length. */
static int start_cpu(struct sidecar_sim *sim, struct sim_cpu *c, uint32_t ordinal, char *err, size_t errlen)
{
	if (sim->cfg.pin_count)
		c->host.pin = sim->cfg.pin[ordinal % sim->cfg.pin_count];
	int rc = sidecar_uhost_cpu_start(&c->host, err, errlen);
	if (rc == -EINVAL && errlen) {
		char why[160];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "sim target: %s", why);
	}
	return rc;
}

/* The pinned host CPUs must exist. Whether this process may use them is checked when the
 * CPU thread is created (pthread_create fails with EINVAL): the calling thread's own
 * affinity says nothing about that (a VMM thread is often pinned elsewhere). */
static int check_pins(const struct sidecar_sim_config *cfg, char *err, size_t errlen)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);

	for (uint32_t i = 0; i < cfg->pin_count; i++)
		if (cfg->pin[i] >= CPU_SETSIZE || (ncpus > 0 && cfg->pin[i] >= ncpus))
			return fail(err, errlen, -EINVAL, "sim target: host cpu %u in 'pin' does not exist (%ld cpus)",
				    cfg->pin[i], ncpus);
	return 0;
}

/* The boot shim: reserve each node's memory and describe it in sidecar_params. */
static int boot_shim(struct sidecar_sim *sim, char *err, size_t errlen)
{
	struct sidecar_params *p = sim->params;

	p->hypercall_page = 0;
	p->enable_logging = false;
	p->node_count = sim->node_count;
	for (uint32_t i = 0; i < sim->node_count; i++) {
		struct sim_node *n = &sim->nodes[i];
		n->memory_size = sidecar_required_memory(sim->cfg.cpus + 1);
		n->memory = map_zeroed(n->memory_size);
		if (!n->memory)
			return fail(err, errlen, -ENOMEM, "cannot reserve %zu bytes for node %u", n->memory_size, i);
		p->nodes[i].memory_base = (uint64_t)(uintptr_t)n->memory;
		p->nodes[i].memory_size = n->memory_size;
		/* The node's VPs include its base VP, which Linux runs. */
		p->nodes[i].base_vp = i * (sim->cfg.cpus + 1);
		p->nodes[i].vp_count = sim->cfg.cpus + 1;
	}
	return 0;
}

/* The sidecar kernel's BSP part: lay out each node from the params and fill the output.
 * Physical addresses are this process's virtual addresses. */
static int kernel_init(struct sidecar_sim *sim, char *err, size_t errlen)
{
	const struct sidecar_params *p = sim->params;

	for (uint32_t i = 0; i < p->node_count; i++) {
		const struct sidecar_node_params *np = &p->nodes[i];
		struct sim_node *n = &sim->nodes[i];
		uint8_t *base = (uint8_t *)(uintptr_t)np->memory_base;

		if (np->memory_size < sidecar_required_memory(np->vp_count) || np->vp_count == 0 ||
		    np->vp_count > SIDECAR_MAX_CPUS_PER_NODE) {
			snprintf((char *)sim->output->error.buf, sizeof(sim->output->error.buf),
				 "node %u: %llu bytes for %u vps", i, (unsigned long long)np->memory_size,
				 np->vp_count);
			sim->output->error.len = (uint8_t)strlen((char *)sim->output->error.buf);
			return fail(err, errlen, -EINVAL, "sidecar boot failed: %s", (char *)sim->output->error.buf);
		}
		struct sidecar_control_page *control = (struct sidecar_control_page *)base;
		control->index = i;
		control->base_cpu = np->base_vp;
		control->cpu_count = np->vp_count;
		control->request_vector = SIM_REQUEST_VECTOR;
		control->response_cpu = 0;
		control->response_vector = 0;
		control->needs_attention = 0;
		/* A booting CPU is RUN until it reports IDLE. The base VP is REMOVED ("the kernel
		 * will start it"), and so is every CPU that the per-CPU state leaves to Linux
		 * (upstream passes that state in newer boot parameters; this ABI's do not carry
		 * it, so the simulated boot shim's choice, the target's `linux` key, is read
		 * here). */
		memset(control->cpu_status, SIDECAR_CPU_REMOVED, sizeof(control->cpu_status));
		for (uint32_t j = 0; j < np->vp_count; j++)
			if (!sidecar_sim_config_linux_cpu(&sim->cfg, j))
				control->cpu_status[j] = SIDECAR_CPU_RUN;
		sim->output->nodes[i].control_page = np->memory_base;
		sim->output->nodes[i].shmem_pages_base = np->memory_base + SIDECAR_PAGE_SIZE;
		sim->output->nodes[i].shmem_pages_size =
			(uint64_t)np->vp_count * SIDECAR_PER_VP_SHMEM_PAGES * SIDECAR_PAGE_SIZE;

		n->sim = sim;
		n->index = i;
		n->base_cpu = np->base_vp;
		n->cpu_count = np->vp_count;
		n->control = control;
		n->shmem = (uint8_t *)(uintptr_t)sim->output->nodes[i].shmem_pages_base;
		n->shmem_size = sim->output->nodes[i].shmem_pages_size;
		if (posix_memalign((void **)&n->cpus, 64, sizeof(*n->cpus) * n->cpu_count))
			return fail(err, errlen, -ENOMEM, "out of memory");
		memset(n->cpus, 0, sizeof(*n->cpus) * n->cpu_count);
		for (uint32_t j = 0; j < n->cpu_count; j++) {
			struct sim_cpu *c = &n->cpus[j];
			struct sidecar_vp_shared_pages *pages =
				(struct sidecar_vp_shared_pages *)(n->shmem + (size_t)j * sizeof(*pages));
			c->node = n;
			c->cpu = n->base_cpu + j;
			c->linux_cpu = sidecar_sim_config_linux_cpu(&sim->cfg, j);
			sidecar_uhost_cpu_init(&c->host);
			c->host.fault = cpu_fault;
			c->host.k.be = sim->backend.ops;
			c->host.k.backend = &sim->backend;
			c->host.k.control = control;
			c->host.k.command_page = &pages->command_page;
			c->host.k.register_page = &pages->register_page;
			c->host.k.node_cpu_index = j;
			c->host.k.vp_index = c->cpu;
		}
	}
	return 0;
}

static bool all_booted(struct sidecar_sim *sim)
{
	for (uint32_t i = 0; i < sim->node_count; i++) {
		struct sim_node *n = &sim->nodes[i];
		for (uint32_t j = 0; j < n->cpu_count; j++)
			/* Acquire: pairs with the kernel's release of IDLE (the booted pages). */
			if (sc_load_acquire(&n->control->cpu_status[j]) == SIDECAR_CPU_RUN)
				return false;
	}
	return true;
}

/* The simulator's own memory and the VP backend (the "hypervisor" under the kernel). */
static int sim_alloc(struct sidecar_sim *sim, char *err, size_t errlen)
{
	const struct sidecar_sim_config *cfg = &sim->cfg;

	sim->nodes = calloc(cfg->nodes, sizeof(*sim->nodes));
	sim->output = calloc(1, sizeof(*sim->output));
	if (posix_memalign((void **)&sim->params, SIDECAR_PAGE_SIZE, sizeof(*sim->params)) == 0)
		memset(sim->params, 0, sizeof(*sim->params));
	else
		sim->params = NULL;
	if (!sim->nodes || !sim->output || !sim->params)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < sim->node_count; i++) {
		sim->nodes[i].event_fd = -1;
		sim->nodes[i].sim = sim;
	}
	sim->guest_mem = map_zeroed(cfg->mem);
	if (!sim->guest_mem)
		return fail(err, errlen, -ENOMEM, "cannot map %llu bytes of guest memory",
			    (unsigned long long)cfg->mem);
	sim->backend.ops =
		cfg->backend == SIDECAR_SIM_BACKEND_KVM ? &sidecar_backend_kvm_ops : &sidecar_backend_synthetic_ops;
	sim->backend.cfg = (struct sidecar_backend_config){
		.mem = sim->guest_mem,
		.mem_size = cfg->mem,
		.guest = cfg->guest,
		.work_ns = cfg->work_ns,
		.io_port = cfg->io_port,
		.maxphyaddr = sidecar_uhost_maxphyaddr(),
	};
	int rc = sim->backend.ops->init(&sim->backend);
	if (rc)
		return fail(err, errlen, rc, "backend %s: %s", sim->backend.ops->name, strerror(-rc));
	sim->backend_ready = true;
	return 0;
}

/* Starts every sidecar CPU in parallel and waits (boot timeout) until each reported; a CPU
 * that reported REMOVED instead (no VP) fails the boot with its reason. */
static int boot_cpus(struct sidecar_sim *sim, char *err, size_t errlen)
{
	uint32_t ordinal = 0;
	int rc = 0;

	for (uint32_t i = 0; !rc && i < sim->node_count; i++)
		for (uint32_t j = 0; !rc && j < sim->nodes[i].cpu_count; j++)
			if (!sim->nodes[i].cpus[j].linux_cpu)
				rc = start_cpu(sim, &sim->nodes[i].cpus[j], ordinal++, err, errlen);
	if (rc)
		return rc;
	uint64_t deadline = sidecar_now_ns() + SIM_BOOT_TIMEOUT_NS;
	while (!all_booted(sim)) {
		if (sidecar_now_ns() > deadline)
			return fail(err, errlen, -ETIMEDOUT, "sidecar boot timed out");
		usleep(100);
	}
	for (uint32_t i = 0; i < sim->node_count; i++) {
		struct sim_node *n = &sim->nodes[i];
		for (uint32_t j = 0; j < n->cpu_count; j++) {
			if (n->cpus[j].linux_cpu || n->control->cpu_status[j] == SIDECAR_CPU_IDLE)
				continue;
			const struct sidecar_kcpu *k = &n->cpus[j].host.k;
			const struct sidecar_command_error *e = &k->command_page->error;
			return fail(err, errlen, k->boot_error ? k->boot_error : -EIO,
				    "sidecar cpu %u failed to boot: %.*s", n->cpus[j].cpu, e->len,
				    (const char *)e->buf);
		}
	}
	return 0;
}

int sidecar_sim_create(const struct sidecar_sim_config *cfg, struct sidecar_sim **out, char *err, size_t errlen)
{
	struct sidecar_sim *sim;
	int rc;

	if (errlen)
		err[0] = '\0';
	rc = check_pins(cfg, err, errlen);
	if (rc)
		return rc;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return fail(err, errlen, -ENOMEM, "out of memory");
	sim->cfg = *cfg;
	sim->remove_timeout_ns = SIM_REMOVE_TIMEOUT_NS;
	pthread_mutex_init(&sim->lifecycle_lock, NULL);
	sim->node_count = cfg->nodes;
	sim->total_cpus = cfg->nodes * (cfg->cpus + 1);

	rc = sim_alloc(sim, err, errlen);
	if (!rc)
		rc = boot_shim(sim, err, errlen);
	if (!rc)
		rc = kernel_init(sim, err, errlen);
	for (uint32_t i = 0; !rc && i < sim->node_count; i++)
		rc = sim_driver_probe(&sim->nodes[i]);
	if (rc && errlen && !err[0])
		fail(err, errlen, rc, "sidecar boot failed: %s", strerror(-rc));
	if (!rc)
		rc = boot_cpus(sim, err, errlen);
	if (rc) {
		sidecar_sim_destroy(sim);
		return rc;
	}
	*out = sim;
	return 0;
}

/* ---- shutdown ----------------------------------------------------------------------------- */

/* Asks CPU `c` to leave: stop what it runs, then REMOVE. Returns true once REMOVE is posted
 * (or the CPU is already gone). */
static bool request_remove(struct sim_cpu *c)
{
	uint8_t *status = sidecar_kcpu_status(&c->host.k);
	/* Pairs with the kernel's release stores of the status. */
	uint8_t s = sc_load_acquire(status);

	switch (s) {
	case SIDECAR_CPU_IDLE:
		/* Fully ordered: publishes nothing, but the CPU re-reads the status after the
		 * IPI's latch (which pairs with its halt). */
		if (sc_cmpxchg(status, &s, SIDECAR_CPU_REMOVE)) {
			sidecar_uhost_cpu_ipi(&c->host);
			return true;
		}
		return false;
	case SIDECAR_CPU_RUN:
		if (sc_cmpxchg(status, &s, SIDECAR_CPU_STOP))
			sidecar_uhost_cpu_ipi(&c->host);
		return false;
	case SIDECAR_CPU_STOP:
		sidecar_uhost_cpu_ipi(&c->host);
		return false;
	case SIDECAR_CPU_REMOVE:
		sidecar_uhost_cpu_ipi(&c->host);
		return true;
	default: /* REMOVED */
		return true;
	}
}

/* Removes every CPU within the remove timeout. A CPU that does not leave by then (a hook
 * or a backend that never returns) is abandoned: its thread is not waited for, and the
 * memory it may still use stays allocated for the life of the process (sidecar_sim_destroy
 * leaks it rather than pull it from under the thread). */
int sidecar_sim_shutdown(struct sidecar_sim *sim)
{
	pthread_mutex_lock(&sim->lifecycle_lock);
	if (sim->shut_down) {
		pthread_mutex_unlock(&sim->lifecycle_lock);
		return sim->abandoned ? -ETIMEDOUT : 0;
	}
	/* From here the driver accepts no new work and every driver wait returns. */
	atomic_store(&sim->shutting_down, true);
	for (uint32_t i = 0; i < sim->node_count; i++)
		if (sim->nodes[i].cpus)
			sim_driver_wake_all(&sim->nodes[i]);

	uint64_t deadline = sidecar_now_ns() + sim->remove_timeout_ns;
	for (uint32_t i = 0; i < sim->node_count; i++) {
		struct sim_node *n = &sim->nodes[i];
		for (uint32_t j = 0; n->cpus && j < n->cpu_count; j++) {
			struct sim_cpu *c = &n->cpus[j];
			while (c->host.started && !request_remove(c) && sidecar_now_ns() <= deadline)
				sched_yield();
		}
	}
	for (uint32_t i = 0; i < sim->node_count; i++) {
		struct sim_node *n = &sim->nodes[i];
		for (uint32_t j = 0; n->cpus && j < n->cpu_count; j++) {
			uint64_t now = sidecar_now_ns();
			int64_t left = now < deadline ? (int64_t)(deadline - now) : 0;
			if (sidecar_uhost_cpu_join(&n->cpus[j].host, left) == -ETIMEDOUT)
				sim->abandoned++;
		}
	}
	/* A CPU left behind may still be in the backend. */
	if (sim->backend_ready && !sim->abandoned) {
		sim->backend.ops->fini(&sim->backend);
		sim->backend_ready = false;
	}
	sim->shut_down = true;
	pthread_mutex_unlock(&sim->lifecycle_lock);
	return sim->abandoned ? -ETIMEDOUT : 0;
}

void sidecar_sim_destroy(struct sidecar_sim *sim)
{
	if (!sim)
		return;
	if (sidecar_sim_shutdown(sim)) {
		/* An abandoned CPU may have left since: then everything can go. */
		for (uint32_t i = 0; i < sim->node_count; i++)
			for (uint32_t j = 0; sim->nodes[i].cpus && j < sim->nodes[i].cpu_count; j++)
				if (sidecar_uhost_cpu_join(&sim->nodes[i].cpus[j].host, 0))
					return; /* still running: leak the simulator, see above */
		if (sim->backend_ready)
			sim->backend.ops->fini(&sim->backend);
	}
	for (uint32_t i = 0; sim->nodes && i < sim->node_count; i++) {
		struct sim_node *n = &sim->nodes[i];
		sim_driver_remove(n);
		for (uint32_t j = 0; n->cpus && j < n->cpu_count; j++)
			sidecar_uhost_cpu_fini(&n->cpus[j].host);
		free(n->cpus);
		free(n->slots);
		if (n->memory)
			munmap(n->memory, n->memory_size);
	}
	if (sim->guest_mem)
		munmap(sim->guest_mem, sim->cfg.mem);
	free(sim->nodes);
	free(sim->output);
	free(sim->params);
	pthread_mutex_destroy(&sim->lifecycle_lock);
	free(sim);
}

uint32_t sidecar_sim_warnings(const struct sidecar_sim *sim)
{
	return atomic_load_explicit(&((struct sidecar_sim *)sim)->warnings, memory_order_relaxed);
}

void sidecar_sim_set_remove_timeout(struct sidecar_sim *sim, uint64_t timeout_ns)
{
	sim->remove_timeout_ns = timeout_ns;
}

/* ---- accessors and hooks ------------------------------------------------------------------ */

const struct sidecar_params *sidecar_sim_params(const struct sidecar_sim *sim)
{
	return sim->params;
}

const struct sidecar_output *sidecar_sim_output(const struct sidecar_sim *sim)
{
	return sim->output;
}

const struct sidecar_sim_config *sidecar_sim_config(const struct sidecar_sim *sim)
{
	return &sim->cfg;
}

uint32_t sidecar_sim_cpu_count(const struct sidecar_sim *sim)
{
	return sim->total_cpus;
}

struct sidecar_control_page *sidecar_sim_control_page(struct sidecar_sim *sim, uint32_t node)
{
	return node < sim->node_count ? sim->nodes[node].control : NULL;
}

int sidecar_sim_cpu_stats(const struct sidecar_sim *sim, uint32_t cpu, struct sidecar_sim_cpu_stats *out)
{
	uint32_t index;
	struct sim_node *n = sim_node_of_cpu((struct sidecar_sim *)sim, cpu, &index);

	if (!n)
		return -EINVAL;
	const struct sim_cpu *c = &n->cpus[index];
	const struct sidecar_kcpu_stats *st = &c->host.k.stats;
	out->commands = sc_load_relaxed(&st->commands);
	out->fast_commands = sc_load_relaxed(&st->fast_commands);
	out->halts = sc_load_relaxed(&st->halts);
	out->polled_requests = sc_load_relaxed(&st->polled_requests);
	out->response_signals = sc_load_relaxed(&st->response_signals);
	out->suppressed_signals = sc_load_relaxed(&st->suppressed_signals);
	out->request_signals = atomic_load_explicit(&c->host.request_irqs, memory_order_relaxed);
	return 0;
}

/* The hooks are published with release stores (the function after its context), so a CPU
 * thread that loads the function (acquire) also sees its context. */
void sidecar_sim_set_fault_hook(struct sidecar_sim *sim, sidecar_sim_fault_fn fn, void *ctx)
{
	atomic_store_explicit(&sim->fault_ctx, ctx, memory_order_relaxed);
	atomic_store_explicit(&sim->fault_fn, fn, memory_order_release);
	/* The kernel calls the platform's fault op only while its CPU's flag is set. */
	for (uint32_t i = 0; i < sim->node_count; i++)
		for (uint32_t j = 0; j < sim->nodes[i].cpu_count; j++)
			sc_store_relaxed(&sim->nodes[i].cpus[j].host.k.faults_on, fn != NULL);
}

void sidecar_sim_set_start_hook(struct sidecar_sim *sim, sidecar_sim_start_fn fn, void *ctx)
{
	atomic_store_explicit(&sim->start_ctx, ctx, memory_order_relaxed);
	atomic_store_explicit(&sim->start_fn, fn, memory_order_release);
}

void sidecar_sim_set_stop_hook(struct sidecar_sim *sim, sidecar_sim_start_fn fn, void *ctx)
{
	atomic_store_explicit(&sim->stop_ctx, ctx, memory_order_relaxed);
	atomic_store_explicit(&sim->stop_fn, fn, memory_order_release);
}

bool sidecar_sim_shutting_down(const struct sidecar_sim *sim)
{
	return atomic_load_explicit(&((struct sidecar_sim *)sim)->shutting_down, memory_order_relaxed);
}
