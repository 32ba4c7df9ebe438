/* SPDX-License-Identifier: MIT */
/*
 * The sidecar kernel's per-CPU dispatch loop (upstream: openhcl/sidecar/src/arch/x86_64/vp.rs).
 *
 * The command page is input from another trust domain: every count is checked against the
 * page before it is used, the header of a request is copied out once (so a racing writer
 * cannot change it between the check and the use), and anything unexpected becomes an error
 * string in the page, never a crash.
 *
 * cpu_status transitions made here (the driver makes the others):
 *   RUN   -> IDLE     at boot (the boot shim set RUN before starting the CPU)
 *   RUN   -> IDLE     a command finished (store-release: pairs with the driver's acquire
 *   STOP  -> IDLE       loads in its wait and scan)
 *   REMOVE -> REMOVED the CPU leaves
 *   other -> IDLE     a garbage status byte is reset (upstream panics; we cannot)
 */
#include "kernel.h"
#include "regs_home.h"

static __attribute__((format(printf, 2, 0))) void format_error(struct sidecar_command_error *err, const char *fmt,
							       va_list ap)
{
	char buf[sizeof(err->buf) + 1];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(err->buf))
		n = sizeof(err->buf);
	memcpy(err->buf, buf, (size_t)n);
	err->len = (uint8_t)n;
}

void sidecar_kernel_format_error(struct sidecar_command_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_error(err, fmt, ap);
	va_end(ap);
}

void sidecar_kernel_set_error(struct sidecar_command_page *page, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_error(&page->error, fmt, ap);
	va_end(ap);
	page->has_error = 1;
}

void sidecar_kernel_log(struct sidecar_kcpu *k, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	if (!k->host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	k->host->log(k, buf);
}

/* The stop predicate handed to the backend. Relaxed loads: the backend polls it, and a
 * stale value only delays the stop until the next poll; the request IPI (vp_kick) bounds
 * that delay for backends that do not poll. */
static bool kcpu_should_stop(const struct sidecar_run_ctl *ctl)
{
	struct sidecar_kcpu *k = ctl->ctx;
	uint8_t status = sc_load_relaxed(sidecar_kcpu_status(k));

	if (!k->serving_fast)
		return status == SIDECAR_CPU_STOP;
	return status == SIDECAR_CPU_REMOVE || sc_load_relaxed(&sidecar_kcpu_fast(k)->stop_seq) == k->serving_seq;
}

/* RUN_VP; `complete_io`: first complete the port I/O the last run stopped at (io_exit.c). */
static void run_vp(struct sidecar_kcpu *k, bool complete_io)
{
	struct sidecar_command_page *page = k->command_page;
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);
	uint32_t features = sc_load_relaxed(&fast->features);
	struct sidecar_run_ctl ctl = {
		.should_stop = kcpu_should_stop,
		.ctx = k,
		.lazy_fx = k->serving_fast && (features & SIDECAR_FAST_F_LAZY_FX) && k->be->fx_sync,
	};
	uint8_t intercept = 0;

	if (complete_io) {
		int rc = sidecar_kernel_io_complete_rip(k);
		if (rc < 0) {
			sidecar_kernel_set_error(
				page, "complete-io: the last run did not stop at a plain port I/O instruction");
			return; /* not run: the record says so */
		}
		if (rc > 0) {
			sidecar_kernel_set_error(page, "complete-io: cannot set rip: hv status %#x", rc);
			return;
		}
	}
	if (k->be->register_page_load && k->register_page->is_valid && k->register_page->dirty)
		k->be->register_page_load(k->vp, &page->cpu_context, k->register_page);
	if (complete_io)
		sidecar_kernel_io_complete_rax(k, sc_load_relaxed(&fast->io_in_value));

	/* Upstream checks for STOP before every dispatch of the VP: a STOP that arrived
	 * before the command started still "runs" it, for no time at all. */
	while (!kcpu_should_stop(&ctl)) {
		int rc = k->be->vp_run(k->vp, &page->cpu_context, &page->intercept_message, &ctl, &page->error);
		if (rc == SIDECAR_RUN_INTERCEPT) {
			intercept = 1;
			break;
		}
		if (rc < 0) {
			/* The backend wrote the reason; upstream returns without a response. */
			if (page->error.len == 0)
				sidecar_kernel_set_error(page, "vp run failed: %d", rc);
			page->has_error = 1;
			goto out;
		}
	}
	page->request_data[0] = intercept; /* struct sidecar_run_vp_response */
out:
	k->io_summary = features & SIDECAR_FAST_F_IO_EXIT;
	if (k->io_summary) {
		sidecar_kernel_io_record(k, intercept);
	} else {
		k->io.valid = false;
		k->io.info = 0;
	}
	if (k->be->register_page_store) {
		k->be->register_page_store(k->vp, &page->cpu_context, k->register_page);
		k->register_page->is_valid = 1;
	}
}

/* The input-VTL byte: bits 0..3 the VTL, bit 4 "use it", bits 5..7 reserved. The simulated
 * VP has one register file, reachable as the current VTL or as VTL 0..2. */
static bool vtl_valid(uint8_t vtl)
{
	if (vtl & ~(HV_INPUT_VTL_TARGET_MASK | HV_INPUT_VTL_USE_TARGET))
		return false;
	return !(vtl & HV_INPUT_VTL_USE_TARGET) || (vtl & HV_INPUT_VTL_TARGET_MASK) <= 2;
}

static void get_set_vp_registers(struct sidecar_kcpu *k, bool set)
{
	struct sidecar_command_page *page = k->command_page;
	struct sidecar_get_set_vp_register_request req;
	struct hv_register_assoc *regs = (struct hv_register_assoc *)(page->request_data + sizeof(req));

	memcpy(&req, page->request_data, sizeof(req));
	if (req.count > SIDECAR_MAX_GET_SET_VP_REGISTERS) {
		/* Upstream's two strings differ; keep them. */
		sidecar_kernel_set_error(page, set ? "invalid register count: %u" : "invalid register name count: %u",
					 req.count);
		return;
	}

	hv_status status = HV_STATUS_SUCCESS;
	if (!vtl_valid(req.target_vtl) && req.count != 0)
		status = HV_STATUS_INVALID_PARAMETER;
	for (uint16_t i = 0; i < req.count && status == HV_STATUS_SUCCESS; i++) {
		struct hv_register_assoc *r = &regs[i];
		uint32_t name = r->name;

		/* A lazily kept FXSAVE image is brought up to date before it is used. */
		if (*sidecar_cpu_context_fx_stale(&page->cpu_context) && sidecar_regs_home_is_fx(name) &&
		    k->be->fx_sync && k->be->fx_sync(k->vp, &page->cpu_context, &page->error) < 0) {
			if (page->error.len == 0)
				sidecar_kernel_set_error(page, "cannot read the fpu state");
			page->has_error = 1;
			return;
		}

		if (set) {
			union hv_register_value v = r->value;
			if (!sidecar_regs_home_set(&page->cpu_context, name, &v))
				status = k->be->set_register(k->vp, req.target_vtl, name, &v);
		} else {
			union hv_register_value v;
			memset(&v, 0, sizeof(v));
			if (!sidecar_regs_home_get(&page->cpu_context, name, &v))
				status = k->be->get_register(k->vp, req.target_vtl, name, &v);
			if (status == HV_STATUS_SUCCESS)
				r->value = v;
		}
	}
	/* Only the status is written back into the header, as upstream. */
	memcpy(page->request_data + offsetof(struct sidecar_get_set_vp_register_request, status), &status,
	       sizeof(status));
}

static void translate_gva(struct sidecar_kcpu *k)
{
	struct sidecar_command_page *page = k->command_page;
	struct sidecar_translate_gva_request req;
	struct sidecar_translate_gva_response resp;

	memcpy(&req, page->request_data, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	resp.status = k->be->translate_gva(k->vp, req.gvn, req.control_flags, &resp.output);
	if (resp.status != HV_STATUS_SUCCESS)
		memset(&resp.output, 0, sizeof(resp.output));
	memcpy(page->request_data, &resp, sizeof(resp));
}

void sidecar_kernel_dispatch(struct sidecar_kcpu *k, uint32_t command)
{
	sc_stat_inc(&k->stats.commands);
	switch (command) {
	case SIDECAR_COMMAND_NONE:
		break;
	case SIDECAR_COMMAND_RUN_VP:
		run_vp(k, false);
		break;
	case SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO:
		/* A modifier of the fast line's command word only. */
		if (k->serving_fast)
			run_vp(k, true);
		else
			sidecar_kernel_set_error(k->command_page, "unknown command %u", command);
		break;
	case SIDECAR_COMMAND_GET_VP_REGISTERS:
		get_set_vp_registers(k, false);
		break;
	case SIDECAR_COMMAND_SET_VP_REGISTERS:
		get_set_vp_registers(k, true);
		break;
	case SIDECAR_COMMAND_TRANSLATE_GVA:
		translate_gva(k);
		break;
	default:
		sidecar_kernel_set_error(k->command_page, "unknown command %u", command);
		break;
	}
}

static inline void fault(struct sidecar_kcpu *k, enum sidecar_fault_point where)
{
	if (sc_load_relaxed(&k->faults_on))
		k->host->fault(k, where);
}

/* An upstream request: the command is in the page, cpu_status is RUN or STOP. */
static void serve_status_request(struct sidecar_kcpu *k)
{
	struct sidecar_command_page *page = k->command_page;

	fault(k, SIDECAR_FAULT_BEFORE_COMMAND);
	uint32_t command = page->command;
	page->command = SIDECAR_COMMAND_NONE;
	page->has_error = 0;
	page->error.len = 0; /* no stale reason survives into this command's failure */
	k->serving_fast = false;
	sidecar_kernel_dispatch(k, command);
	fault(k, SIDECAR_FAULT_BEFORE_COMPLETE);
	/* Publishes the results: pairs with the acquire loads of cpu_status in the driver's
	 * RUN wait and finished-CPU scan. A full barrier after it: the driver's wait queue is
	 * a Dekker pair on (this status, its waiter count) (driver/sim/driver.c). */
	sc_store_mb(sidecar_kcpu_status(k), SIDECAR_CPU_IDLE);
	sidecar_kernel_respond(k, false);
}

/* Publishes the completion of fast request `seq`. */
static void complete_fast(struct sidecar_kcpu *k, uint32_t seq, bool intercept)
{
	struct sidecar_command_page *page = k->command_page;
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);

	fast->intercept = intercept;
	fast->has_error = page->has_error;
	if (k->io_summary) {
		/* The port-I/O summary of the last stop (io_exit.c). Decided from a local
		 * flag: a load of the fast line here, between the stores above and done_seq,
		 * costs the completion a line transfer whenever the client's polling reads
		 * get in between (measured: the POLL round trip at 1.8x the spin reference
		 * instead of 1.0x in a near placement). */
		fast->io_port = k->io.port;
		fast->io_data = k->io.data;
		fast->io_info = k->io.info;
	}
	fault(k, SIDECAR_FAULT_BEFORE_COMPLETE);
	/* Publishes the results and the copies above: pairs with the client's acquire load
	 * of done_seq (runtime/vp_wait.c) and with the completion hook's. A full barrier
	 * after it: it is also the store half of the response Dekker pair (park.c,
	 * sidecar_kernel_respond). */
	sc_store_mb(&fast->done_seq, seq);
	k->serving_fast = false;
	sidecar_kernel_respond(k, true);
}

/* A request posted through the fast line's doorbell, cpu_status IDLE. */
static void serve_fast_request(struct sidecar_kcpu *k)
{
	struct sidecar_command_page *page = k->command_page;
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);
	/* Pairs with the client's store-release of request_seq: the command, the request data
	 * and the CPU context it wrote before are visible. */
	uint32_t seq = sc_load_acquire(&fast->request_seq);

	fault(k, SIDECAR_FAULT_BEFORE_COMMAND);
	uint32_t command = sc_load_relaxed(&fast->command);
	sc_stat_inc(&k->stats.fast_commands);
	page->has_error = 0;
	page->error.len = 0; /* no stale reason survives into this command's failure */
	k->serving_seq = seq;
	k->serving_fast = true;
	sidecar_kernel_dispatch(k, command);
	complete_fast(k, seq,
		      (command & SIDECAR_FAST_COMMAND_MASK) == SIDECAR_COMMAND_RUN_VP && !page->has_error &&
			      page->request_data[0]);
}

/*
 * The CPU leaves, in two steps. LEAVING is announced first; then a fast request whose
 * doorbell is visible is completed (with the error "cpu removed" if it was not served);
 * then GONE says that check is over. The check pairs with the client's post: (client)
 * seq_cst exchange of request_seq, seq_cst load of sidecar_flags, against (here) seq_cst RMW
 * setting LEAVING, seq_cst load of request_seq: in the single total order of seq_cst
 * operations one side's load follows the other's store. So a poster that does not see
 * LEAVING has its request completed here; one that does waits for GONE and then knows from
 * done_seq whether its request was completed (served earlier, or here) or never will be.
 */
static void leave(struct sidecar_kcpu *k)
{
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);

	sc_fetch_or(&fast->sidecar_flags, SIDECAR_FAST_SIDECAR_LEAVING);
	uint32_t seq = sc_load_seq(&fast->request_seq);
	if (seq != fast->done_seq) {
		sidecar_kernel_set_error(k->command_page, "cpu removed");
		complete_fast(k, seq, false);
	}
	sc_fetch_or(&fast->sidecar_flags, SIDECAR_FAST_SIDECAR_GONE);
}

int sidecar_kernel_cpu_main(struct sidecar_kcpu *k)
{
	struct sidecar_command_page *page = k->command_page;
	struct sidecar_fast_line *fast = sidecar_kcpu_fast(k);
	int rc;

	/* Nothing from a previous boot leaks to the VMM. */
	memset(k->register_page, 0, sizeof(*k->register_page));
	memset(page, 0, sizeof(*page));
	k->serving_fast = false;
	k->poll_ns = 0;
	memset(&k->io, 0, sizeof(k->io));
	k->io_summary = false;

	rc = k->be->vp_create(k->backend, k->vp_index, &k->vp);
	if (rc < 0) {
		k->vp = NULL;
		k->boot_error = rc;
		sidecar_kernel_set_error(page, "cannot create vp %u: error %d", k->vp_index, rc);
		sidecar_kernel_log(k, "cannot create vp %u: error %d", k->vp_index, rc);
		sc_store_release(sidecar_kcpu_status(k), SIDECAR_CPU_REMOVED);
		sidecar_kernel_respond(k, false);
		return rc;
	}

	if (k->host->vp_online)
		k->host->vp_online(k, k->vp);
	fast->sidecar_caps = SIDECAR_KERNEL_FAST_CAPS;
	int host = k->host->host_cpu(k);
	fast->sidecar_host_cpu = host < 0 ? 0 : (uint32_t)host + 1;

	/* Report IDLE: publishes the zeroed pages and the caps (pairs with the boot shim's
	 * and the client's acquire loads of cpu_status). */
	sc_store_release(sidecar_kcpu_status(k), SIDECAR_CPU_IDLE);

	for (;;) {
		uint8_t status;
		if (sidecar_kernel_park(k, &status) == SIDECAR_PARK_FAST) {
			serve_fast_request(k);
			continue;
		}
		if (status == SIDECAR_CPU_REMOVE)
			break;
		if (status == SIDECAR_CPU_RUN || status == SIDECAR_CPU_STOP) {
			/* A STOP that arrives before the command started still runs it: there
			 * is no generic way to report that it was cancelled before it ran. */
			serve_status_request(k);
			continue;
		}
		/* A status byte no driver writes (REMOVED, garbage): reset it so the
		 * driver sees an idle CPU, and say so. */
		sidecar_kernel_log(k, "cpu %u: status %u reset to IDLE", k->vp_index, status);
		sc_store_release(sidecar_kcpu_status(k), SIDECAR_CPU_IDLE);
		sidecar_kernel_respond(k, false);
	}

	leave(k);
	if (k->host->vp_online)
		k->host->vp_online(k, NULL);
	k->be->vp_destroy(k->vp);
	k->vp = NULL;
	/* Pairs with the acquire loads of the driver's hot-remove wait; a full barrier after
	 * it for the driver's wait queue, as for IDLE. */
	sc_store_mb(sidecar_kcpu_status(k), SIDECAR_CPU_REMOVED);
	sidecar_kernel_respond(k, false);
	return 0;
}
