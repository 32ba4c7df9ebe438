/* SPDX-License-Identifier: MIT */
/* VP accessors: acquire and release, wait modes, the synchronous commands (seed parity),
 * the shared-page accessors and the statistics. */
#include "futex.h"
#include "internal.h"
#include "sidecar_atomic.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define POLL_DEFAULT_NS 1000000u /* SIDECAR_WAIT_POLL: 1 ms windows, both sides */
#define ADAPTIVE_CAP_NS 200000u  /* SIDECAR_WAIT_ADAPTIVE: KVM's halt_poll_ns */

static bool is_fast(enum sidecar_wait_mode mode)
{
	return mode != SIDECAR_WAIT_SEED;
}

const char *sidecar_wait_mode_name(enum sidecar_wait_mode mode)
{
	switch (mode) {
	case SIDECAR_WAIT_SEED:
		return "seed";
	case SIDECAR_WAIT_FUTEX:
		return "futex";
	case SIDECAR_WAIT_POLL:
		return "poll";
	case SIDECAR_WAIT_ADAPTIVE:
		return "adaptive";
	}
	return "?";
}

/* Programs the fast line for `mode` (the sidecar CPU reads its policy there). */
static void program_fast_line(struct sidecar_vp *vp)
{
	struct sidecar_fast_line *fast = vp->fast;
	/* LAZY_FX: a backend that reads the FPU state only on demand (KVM) may leave the
	 * FXSAVE image stale; sidecar_vp_sync_fx() brings it up to date. */
	uint32_t features = SIDECAR_FAST_F_MAILBOX | SIDECAR_FAST_F_LAZY_FX;

	if (vp_mode(vp) == SIDECAR_WAIT_POLL)
		features |= SIDECAR_FAST_F_SUPPRESS | SIDECAR_FAST_F_SIDECAR_POLL;
	else if (vp_mode(vp) == SIDECAR_WAIT_ADAPTIVE)
		features |= SIDECAR_FAST_F_SUPPRESS | SIDECAR_FAST_F_SIDECAR_POLL | SIDECAR_FAST_F_ADAPTIVE;
	/* The port-I/O summary costs the sidecar CPU ~50 instructions per run: asked for only
	 * once the VMM uses it (sidecar_vp_complete_io). Acquire: pairs with the kernel's
	 * release of IDLE at boot, which published the caps. */
	if (vp->io_short && (sc_load_acquire(&fast->sidecar_caps) & SIDECAR_FAST_F_IO_EXIT))
		features |= SIDECAR_FAST_F_IO_EXIT;
	vp->features = features;
	uint64_t side = vp->sidecar_poll_ns > UINT32_MAX ? UINT32_MAX : vp->sidecar_poll_ns;
	sc_store_relaxed(&fast->sidecar_poll_ns, (uint32_t)side);
	sc_store_relaxed(&fast->client_flags, 0);
	/* Release: the window above is in place before the kernel acts on the features. */
	sc_store_release(&fast->features, features);
}

void rt_vp_enable_io_exit(struct sidecar_vp *vp)
{
	if (!is_fast(vp_mode(vp)) || (vp->features & SIDECAR_FAST_F_IO_EXIT) ||
	    !(sc_load_acquire(&vp->fast->sidecar_caps) & SIDECAR_FAST_F_IO_EXIT))
		return;
	vp->features |= SIDECAR_FAST_F_IO_EXIT;
	/* Relaxed: the VP is stopped; the next post's doorbell (release) publishes it. */
	sc_store_relaxed(&vp->fast->features, vp->features);
}

int rt_vp_apply_mode(struct sidecar_vp *vp, enum sidecar_wait_mode mode)
{
	struct sidecar_client *c = vp->client;
	int rc;

	if (is_fast(mode)) {
		if (!c->fast_capable)
			return -ENOTSUP;
		/* The claim first: it says whether the CPU was removed (or is Linux's). */
		if (!vp->direct) {
			rc = vp->ops->claim_direct(vp->drv_node, vp->cpu, &vp->notify);
			if (rc)
				return rc;
			vp->direct = true;
			rt_event_notify_register(vp);
		}
		/* Acquire: pairs with the kernel's release of IDLE at boot, which published
		 * the caps. */
		uint32_t caps = sc_load_acquire(&vp->fast->sidecar_caps);
		if (!(caps & SIDECAR_FAST_F_MAILBOX)) {
			vp->ops->release_direct(vp->drv_node, vp->cpu, false);
			vp->direct = false;
			return -ENOTSUP;
		}
		/* Continue the line's sequence; a command still in flight from a previous
		 * owner that was abandoned keeps the VP busy. */
		uint32_t posted = sc_load_acquire(&vp->fast->request_seq);
		if (sc_load_acquire(&vp->fast->done_seq) != posted) {
			vp->ops->release_direct(vp->drv_node, vp->cpu, false);
			vp->direct = false;
			return -EBUSY;
		}
		vp->seq = posted;
		atomic_store_explicit(&vp->state, vp_word(posted, VP_STOPPED), memory_order_relaxed);
		atomic_store_explicit(&vp->mode, mode, memory_order_relaxed);
		if (mode == SIDECAR_WAIT_POLL) {
			vp->poll_cap_ns = vp->poll_ns = POLL_DEFAULT_NS;
			vp->sidecar_poll_ns = POLL_DEFAULT_NS;
		} else {
			vp->poll_cap_ns = ADAPTIVE_CAP_NS;
			vp->poll_ns = 0;
			vp->sidecar_poll_ns = ADAPTIVE_CAP_NS;
		}
		program_fast_line(vp);
		return 0;
	}

	/* SEED: upstream behaviour, per-operation claims, a reader task for the node. The
	 * FXSAVE image is current there after every run: make it current now. */
	if (vp->direct) {
		rc = sidecar_vp_sync_fx(vp);
		if (rc)
			return rc;
	}
	rc = rt_seed_start_task(vp->node);
	if (rc)
		return rc;
	if (vp->direct) {
		sc_store_release(&vp->fast->features, 0);
		vp->ops->release_direct(vp->drv_node, vp->cpu, false);
		vp->direct = false;
	}
	/* A run the last accessor abandoned may still be reported later: the driver keeps
	 * its claim until then (a START gets -EBUSY), and the report finds STOPPED. */
	atomic_store_explicit(&vp->seed->state, SEED_STOPPED, memory_order_relaxed);
	vp->features = 0;
	atomic_store_explicit(&vp->mode, mode, memory_order_relaxed);
	return 0;
}

int sidecar_vp_acquire(struct sidecar_client *c, uint32_t cpu, struct sidecar_vp **out)
{
	struct sidecar_vp *vp;
	uint32_t index;
	int rc;

	if (!c || !out)
		return -EINVAL;
	*out = NULL;
	struct rt_node *node = rt_node_of_cpu(c, cpu, &index);
	if (!node)
		return -EINVAL;
	/* A node's base CPU is Linux's on every target: the sidecar kernel never runs it, and
	 * upstream's driver would take a START for it and never complete the run. */
	if (index == 0)
		return -ENOENT;
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->closed)) {
		rc = -ESHUTDOWN;
		goto out;
	}
	uint8_t free_slot = 0;
	if (!atomic_compare_exchange_strong(&node->in_use[index], &free_slot, 1)) {
		rc = -EBUSY;
		goto out;
	}
	if (posix_memalign((void **)&vp, 64, sizeof(*vp))) {
		atomic_store(&node->in_use[index], 0);
		rc = -ENOMEM;
		goto out;
	}
	memset(vp, 0, sizeof(*vp));
	struct sidecar_vp_shared_pages *pages =
		(struct sidecar_vp_shared_pages *)(node->info.shmem + (size_t)index * node->info.per_cpu_shmem);
	vp->page = &pages->command_page;
	vp->regs = &pages->register_page;
	vp->fast = sidecar_command_page_fast(vp->page);
	vp->ops = c->drv.ops;
	vp->drv_node = node->drv_node;
	vp->client = c;
	vp->node = node;
	vp->cpu = cpu;
	vp->index = index;
	vp->notify.fn = rt_fast_notify;
	vp->notify.ctx = vp;
	vp->kernel_wait = vp->ops->wait_done != NULL;
	vp->seed = rt_seed_slot_get(node, index);
	if (!vp->seed) {
		free(vp);
		atomic_store(&node->in_use[index], 0);
		rc = -ENOMEM;
		goto out;
	}
	vp->seed_responses_base = atomic_load_explicit(&vp->seed->response_signals, memory_order_relaxed);

	/* The default: ADAPTIVE where the target has the fast path, else the seed's. */
	rc = rt_vp_apply_mode(vp, SIDECAR_WAIT_ADAPTIVE);
	if (rc == -ENOTSUP)
		rc = rt_vp_apply_mode(vp, SIDECAR_WAIT_SEED);
	if (rc) {
		free(vp);
		atomic_store(&node->in_use[index], 0);
		goto out;
	}
	atomic_fetch_add(&c->refs, 1);
	atomic_store_explicit(&node->vps[index], vp, memory_order_release);
	*out = vp;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Stops whatever the VP runs, within `timeout_ns`. False: it would not stop. */
static bool stop_and_quiesce(struct sidecar_vp *vp, uint64_t timeout_ns)
{
	if (is_fast(vp_mode(vp))) {
		uint32_t posted = sc_load_acquire(&vp->fast->request_seq);
		if (sc_load_acquire(&vp->fast->done_seq) != posted) {
			rt_fast_stop_seq(vp, posted);
			vp->ops->kick(vp->drv_node, vp->cpu);
		}
		return rt_fast_quiesce(vp, timeout_ns);
	}
	rt_seed_cancel(vp);
	return rt_seed_quiesce(vp, timeout_ns);
}

void rt_vp_detach(struct sidecar_vp *vp)
{
	bool quiet = stop_and_quiesce(vp, (uint64_t)atomic_load(&vp->client->stop_timeout_ns));

	/* The next owner may read the context before it runs anything. */
	if (quiet && is_fast(vp_mode(vp)))
		sidecar_vp_sync_fx(vp);

	if (vp->direct) {
		/* Back to the upstream policy. A VP that would not stop keeps its claim
		 * (nobody else may post to a sidecar CPU that may still write the page) but
		 * loses its completion hook: `vp` is freed next, the CPU may answer later. */
		sc_store_release(&vp->fast->features, 0);
		vp->ops->release_direct(vp->drv_node, vp->cpu, !quiet);
		vp->direct = false;
	}
	/* A late finished-CPU report of a run that would not stop lands in the CPU's seed slot,
	 * which outlives the accessor. The event loop's notify thread (runtime/notify.c) may
	 * hold `vp` for a few instructions: unpublish, then wait it out. seq_cst: pairs with
	 * its increment of notify_in_vp before it loads the entries; the acquire of the count
	 * with its release decrement. It takes no lock and never sleeps while it holds a VP. */
	atomic_store_explicit(&vp->node->vps[vp->index], NULL, memory_order_seq_cst);
	while (atomic_load_explicit(&vp->client->notify_in_vp, memory_order_seq_cst))
		sched_yield();
	atomic_store(&vp->node->in_use[vp->index], 0);
}

void rt_vp_free(struct sidecar_vp *vp)
{
	free(vp);
}

static int io_complete_by_hand(struct sidecar_vp *vp);

/* A completion still pending at release (runtime/io_exit.c) is written where the next owner's
 * first run applies it, as a completion the Hyper-V way would be: RIP through the register
 * page, RAX into the CPU context. Where the page is not valid it is dropped (no command on
 * the way out, and the client lock is held): the instruction then runs again. */
static void io_complete_on_release(struct sidecar_vp *vp)
{
	if (!vp->io_pending)
		return;
	vp->io_pending = false;
	if (vp->io_stop == RT_IO_STOP_FAST) {
		/* The kernel kept where it was; the message still says it (nothing ran since). */
		struct sidecar_io_intercept io;
		if (sidecar_message_decode_io(&vp->page->intercept_message, &io))
			return;
		vp->io_rip = io.rip + io.instruction_len;
	}
	if (vp->regs && vp->regs->is_valid)
		io_complete_by_hand(vp);
}

void sidecar_vp_release(struct sidecar_vp *vp)
{
	if (!vp)
		return;
	struct sidecar_client *c = vp->client;

	pthread_mutex_lock(&c->lock);
	if (!vp->dead_local) {
		/* Under the lock: a close in flight on another thread has either made the VP
		 * dead_local already or waits (it writes the flag under this lock). */
		if (!atomic_load(&c->closed))
			io_complete_on_release(vp);
		rt_vp_detach(vp);
	}
	pthread_mutex_unlock(&c->lock);
	rt_vp_free(vp);
	rt_client_put(c);
}

uint32_t sidecar_vp_cpu(const struct sidecar_vp *vp)
{
	return vp ? vp->cpu : UINT32_MAX;
}

static bool vp_busy(struct sidecar_vp *vp)
{
	if (is_fast(vp_mode(vp)))
		return (atomic_load(&vp->state) & VP_STATE_MASK) != VP_STOPPED;
	return atomic_load(&vp->seed->state) != SEED_STOPPED || vp->seed->in_sync;
}

int sidecar_vp_set_wait_mode(struct sidecar_vp *vp, enum sidecar_wait_mode mode)
{
	if (!vp || (unsigned)mode > SIDECAR_WAIT_ADAPTIVE)
		return -EINVAL;
	struct sidecar_client *c = vp->client;
	pthread_mutex_lock(&c->lock);
	int rc;
	if (vp->dead_local || atomic_load(&c->closed))
		rc = -ESHUTDOWN;
	else if (vp_busy(vp) || vp->io_pending)
		rc = -EBUSY; /* a pending completion is bound to the path it was made for */
	else if (mode == vp_mode(vp))
		rc = 0;
	else
		rc = rt_vp_apply_mode(vp, mode);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

enum sidecar_wait_mode sidecar_vp_get_wait_mode(const struct sidecar_vp *vp)
{
	if (!vp)
		return (enum sidecar_wait_mode) - EINVAL;
	return vp_mode(vp);
}

int sidecar_vp_set_poll_ns(struct sidecar_vp *vp, uint64_t client_ns, uint64_t sidecar_ns)
{
	if (!vp)
		return -EINVAL;
	/* A closed client's CPU may already belong to someone else: never touch its line. */
	if (vp->dead_local || atomic_load_explicit(&vp->client->closed, memory_order_acquire))
		return -ESHUTDOWN;
	if (!is_fast(vp_mode(vp)))
		return -ENOTSUP;
	if (vp_busy(vp))
		return -EBUSY;
	if (client_ns > 1000000000 || sidecar_ns > 1000000000)
		return -EINVAL; /* a window longer than a second is a mistake */
	if (client_ns) {
		vp->poll_cap_ns = client_ns;
		if (vp_mode(vp) == SIDECAR_WAIT_POLL || vp->poll_ns > client_ns)
			vp->poll_ns = client_ns;
	}
	if (sidecar_ns)
		vp->sidecar_poll_ns = sidecar_ns;
	program_fast_line(vp);
	return 0;
}

static int get_set(struct sidecar_vp *vp, uint8_t vtl, struct hv_register_assoc *out,
		   const struct hv_register_assoc *in, size_t count);

/* ---- results ------------------------------------------------------------------------------- */

int rt_collect_error(struct sidecar_vp *vp, bool has_error)
{
	if (!has_error)
		return 0; /* a command served before its CPU left still has its results */
	/* The completion the leaving CPU gave a request it did not serve. LEAVING, not GONE:
	 * the CPU sets LEAVING before that completion and GONE after it, so the owner may
	 * collect it before GONE. */
	if (is_fast(vp_mode(vp)) && (sc_load_acquire(&vp->fast->sidecar_flags) & SIDECAR_FAST_SIDECAR_LEAVING))
		return -ENOENT;
	uint8_t len = vp->page->error.len;
	memcpy(vp->error, vp->page->error.buf, len);
	vp->error[len] = '\0';
	return -SIDECAR_EKERNEL;
}

/* Runs a synchronous command already written into the page (request data). */
static int sync_command(struct sidecar_vp *vp, uint32_t command)
{
	int rc;

	if (!is_fast(vp_mode(vp))) {
		rc = rt_seed_sync(vp, command);
		if (rc)
			return rc;
		return rt_collect_error(vp, vp->page->has_error);
	}
	rc = rt_fast_post(vp, command);
	if (rc)
		return rc;
	rc = rt_fast_wait(vp, -1);
	if (rc)
		return rc;
	return rt_collect_error(vp, vp->fast->has_error);
}

int sidecar_vp_sync_fx(struct sidecar_vp *vp)
{
	if (!vp)
		return -EINVAL;
	if (!*sidecar_cpu_context_fx_stale(&vp->page->cpu_context))
		return 0;
	/* The kernel syncs the image before any GET of a register that lives in it. */
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_XMM0};
	return get_set(vp, 0, &r, &r, 1);
}

int sidecar_vp_test(struct sidecar_vp *vp)
{
	if (!vp)
		return -EINVAL;
	return sync_command(vp, SIDECAR_COMMAND_NONE);
}

static int get_set(struct sidecar_vp *vp, uint8_t vtl, struct hv_register_assoc *out,
		   const struct hv_register_assoc *in, size_t count)
{
	if (!vp || (count && !in))
		return -EINVAL;
	for (size_t off = 0; off < count; off += SIDECAR_MAX_GET_SET_VP_REGISTERS) {
		size_t n =
			count - off < SIDECAR_MAX_GET_SET_VP_REGISTERS ? count - off : SIDECAR_MAX_GET_SET_VP_REGISTERS;
		struct sidecar_get_set_vp_register_request req = {.count = (uint16_t)n, .target_vtl = vtl};
		uint8_t *data = vp->page->request_data;

		memcpy(data, &req, sizeof(req));
		memcpy(data + sizeof(req), in + off, n * sizeof(*in));
		int rc = sync_command(vp, out ? SIDECAR_COMMAND_GET_VP_REGISTERS : SIDECAR_COMMAND_SET_VP_REGISTERS);
		if (rc)
			return rc;
		memcpy(&req, data, sizeof(req));
		if (out)
			memcpy(out + off, data + sizeof(req), n * sizeof(*out));
		if (req.status != HV_STATUS_SUCCESS) {
			vp->hv_status = req.status;
			return -SIDECAR_EHV;
		}
	}
	return 0;
}

int sidecar_vp_get_registers(struct sidecar_vp *vp, uint8_t target_vtl, struct hv_register_assoc *regs, size_t count)
{
	if (count && !regs)
		return -EINVAL;
	return get_set(vp, target_vtl, regs, regs, count);
}

int sidecar_vp_set_registers(struct sidecar_vp *vp, uint8_t target_vtl, const struct hv_register_assoc *regs,
			     size_t count)
{
	return get_set(vp, target_vtl, NULL, regs, count);
}

int sidecar_vp_translate_gva(struct sidecar_vp *vp, uint64_t gvn, uint64_t control_flags,
			     struct hv_translate_virtual_address_ex_output_x64 *out)
{
	struct sidecar_translate_gva_request req = {.gvn = gvn, .control_flags = control_flags};
	struct sidecar_translate_gva_response resp;

	if (!vp || !out)
		return -EINVAL;
	memcpy(vp->page->request_data, &req, sizeof(req));
	int rc = sync_command(vp, SIDECAR_COMMAND_TRANSLATE_GVA);
	if (rc)
		return rc;
	memcpy(&resp, vp->page->request_data, sizeof(resp));
	if (resp.status != HV_STATUS_SUCCESS) {
		vp->hv_status = resp.status;
		return -SIDECAR_EHV;
	}
	*out = resp.output;
	return 0;
}

/* ---- run / wait (dispatch on the mode) ---------------------------------------------------- */

/* A completion of port I/O (runtime/io_exit.c) where the kernel cannot take it: written before
 * the run is posted. */
static int io_complete_by_hand(struct sidecar_vp *vp)
{
	struct hv_x64_register_page *rp = vp->regs;
	uint64_t *rax = &vp->page->cpu_context.gps[SIDECAR_CPU_CONTEXT_RAX];
	uint64_t new_rax = vp->io_in ? sidecar_io_merge_in(*rax, vp->io_size, vp->io_value) : *rax;

	if (rp && rp->is_valid) {
		rp->rip = vp->io_rip;
		rp->dirty |= HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
		*rax = new_rax;
		/* A page with dirty GP registers replaces the context's at the run. */
		if (rp->dirty & HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE)
			rp->gp_registers[0] = new_rax;
		return 0;
	}
	struct hv_register_assoc regs[2];
	memset(regs, 0, sizeof(regs));
	regs[0].name = HV_X64_REGISTER_RIP;
	regs[0].value.reg64 = vp->io_rip;
	regs[1].name = HV_X64_REGISTER_RAX;
	regs[1].value.reg64 = new_rax;
	return sidecar_vp_set_registers(vp, 0, regs, vp->io_in ? 2 : 1);
}

int sidecar_vp_run(struct sidecar_vp *vp)
{
	if (!vp)
		return -EINVAL;
	bool fast = is_fast(vp_mode(vp));
	uint32_t command = SIDECAR_COMMAND_RUN_VP;
	if (vp->io_pending) {
		if (vp->io_stop == RT_IO_STOP_FAST) {
			/* The kernel completes it (it summarized the stop): the value rides in the line the post writes
			 * (rt_fast_post stores it next to the command). */
			command |= SIDECAR_FAST_COMMAND_COMPLETE_IO;
		} else {
			int rc = io_complete_by_hand(vp);
			if (rc)
				return rc;
			vp->io_pending = false;
		}
	}
	int rc = fast ? rt_fast_post(vp, command) : rt_seed_run(vp);
	if (rc == 0) {
		vp->io_pending = false;
		vp->io_stop = RT_IO_STOP_NONE;
		atomic_store_explicit(&vp->st_runs, atomic_load_explicit(&vp->st_runs, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	}
	return rc;
}

static int run_result(struct sidecar_vp *vp, bool *intercept)
{
	bool has_error, hit;

	if (is_fast(vp_mode(vp))) {
		has_error = vp->fast->has_error;
		hit = vp->fast->intercept;
	} else {
		has_error = vp->page->has_error;
		hit = vp->page->request_data[0];
	}
	int rc = rt_collect_error(vp, has_error);
	if (rc)
		return rc;
	if (hit)
		vp->io_stop = is_fast(vp_mode(vp)) && (vp->features & SIDECAR_FAST_F_IO_EXIT) ? RT_IO_STOP_FAST
											      : RT_IO_STOP_MSG;
	if (hit)
		atomic_store_explicit(&vp->st_intercepts,
				      atomic_load_explicit(&vp->st_intercepts, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	if (intercept)
		*intercept = hit;
	return 0;
}

int sidecar_vp_wait(struct sidecar_vp *vp, int64_t timeout_ns, bool *intercept)
{
	if (!vp)
		return -EINVAL;
	int rc = is_fast(vp_mode(vp)) ? rt_fast_wait(vp, timeout_ns) : rt_seed_wait(vp, timeout_ns);
	return rc ? rc : run_result(vp, intercept);
}

int sidecar_vp_try_wait(struct sidecar_vp *vp, bool *intercept)
{
	if (!vp)
		return -EINVAL;
	int rc = is_fast(vp_mode(vp)) ? rt_fast_try(vp) : rt_seed_try(vp);
	return rc ? rc : run_result(vp, intercept);
}

int sidecar_vp_cancel(struct sidecar_vp *vp)
{
	if (!vp)
		return -EINVAL;
	if (is_fast(vp_mode(vp)))
		return rt_fast_cancel(vp); /* -ESHUTDOWN once the state word is DEAD */
	/* Like every other call on a held accessor: the client is closed (its close stopped
	 * what ran). */
	if (vp->dead_local || atomic_load_explicit(&vp->client->closed, memory_order_acquire))
		return -ESHUTDOWN;
	return rt_seed_cancel(vp);
}

int sidecar_vp_run_sync(struct sidecar_vp *vp, bool *intercept)
{
	int rc = sidecar_vp_run(vp);
	return rc ? rc : sidecar_vp_wait(vp, -1, intercept);
}

/* ---- accessors ----------------------------------------------------------------------------- */

struct sidecar_cpu_context_x64 *sidecar_vp_cpu_context(struct sidecar_vp *vp)
{
	return vp ? &vp->page->cpu_context : NULL;
}

const struct hv_message *sidecar_vp_intercept_message(const struct sidecar_vp *vp)
{
	return vp ? &vp->page->intercept_message : NULL;
}

struct hv_x64_register_page *sidecar_vp_register_page(struct sidecar_vp *vp)
{
	return vp ? vp->regs : NULL;
}

const char *sidecar_vp_error_string(const struct sidecar_vp *vp)
{
	return vp ? vp->error : "";
}

hv_status sidecar_vp_hv_status(const struct sidecar_vp *vp)
{
	return vp ? vp->hv_status : HV_STATUS_SUCCESS;
}

void sidecar_vp_get_stats(const struct sidecar_vp *vp, struct sidecar_vp_stats *out)
{
	if (!vp || !out)
		return;
	out->runs = atomic_load_explicit(&vp->st_runs, memory_order_relaxed);
	out->intercepts = atomic_load_explicit(&vp->st_intercepts, memory_order_relaxed);
	out->cancels = atomic_load_explicit(&vp->st_cancels, memory_order_relaxed);
	out->polled_completions = atomic_load_explicit(&vp->st_polled, memory_order_relaxed);
	out->sleeps = atomic_load_explicit(&vp->st_sleeps, memory_order_relaxed);
	out->request_signals = atomic_load_explicit(&vp->st_request_signals, memory_order_relaxed);
	out->response_signals = atomic_load_explicit(&vp->st_response_signals, memory_order_relaxed) +
				atomic_load_explicit(&vp->seed->response_signals, memory_order_relaxed) -
				vp->seed_responses_base;
}
