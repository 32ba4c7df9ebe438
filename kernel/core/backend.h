/* SPDX-License-Identifier: MIT */
/*
 * The VP-backend interface: what the sidecar kernel needs from "the hypervisor".
 *
 * A backend runs one VP per sidecar CPU. Every call for a VP is made on that sidecar CPU's
 * thread, except `vp_kick`, which any thread may call to make a running `vp_run` return
 * promptly and re-check its stop condition (the simulated interrupt). Implementations:
 * kernel/backends/synthetic.c (a register file and canned guests; freestanding, so it runs in
 * both hosts) and kernel/backends/kvm/ (/dev/kvm; user space only).
 * A bare-metal port would implement it with HvCallDispatchVp and the get/set/translate
 * hypercalls.
 */
#ifndef SIDECAR_KERNEL_BACKEND_H
#define SIDECAR_KERNEL_BACKEND_H

#include "sidecar_env.h"

#include <sidecar/defs.h>

struct sidecar_backend_vp; /* one per VP, private to the backend */

/* The synthetic backend's canned guests (docs/platform.md). */
enum sidecar_guest {
	SIDECAR_GUEST_IO,   /* each run ends with an IO-port write intercept */
	SIDECAR_GUEST_SPIN, /* never intercepts: only a stop ends a run */
	SIDECAR_GUEST_HALT, /* each run ends with a HALT message */
};

struct sidecar_backend_config {
	uint8_t *mem;      /* guest physical memory, shared with the VMM */
	uint64_t mem_size; /* bytes */
	enum sidecar_guest guest;
	uint64_t work_ns;   /* simulated guest work per run */
	uint16_t io_port;   /* port of the io guest's intercept */
	uint8_t maxphyaddr; /* the host CPU's physical address width (CPUID 0x80000008), 0: 36 */
};

/* One per simulated machine. */
struct sidecar_backend {
	const struct sidecar_backend_ops *ops;
	struct sidecar_backend_config cfg;
	void *impl; /* the backend's own state */
};

/* How vp_run learns that it must stop: the kernel's stop predicate, cheap to call often. */
struct sidecar_run_ctl {
	bool (*should_stop)(const struct sidecar_run_ctl *ctl);
	void *ctx;
	/* The client accepts a stale FXSAVE image (SIDECAR_FAST_F_LAZY_FX): a backend with
	 * fx_sync may skip storing the FPU state after the run and set the context's fx_stale
	 * instead. Whatever this says, a backend must not load a stale image (fx_stale set)
	 * into the VP: the VP holds the newer state then. */
	bool lazy_fx;
};

/* Result of vp_run. */
enum sidecar_run_result {
	SIDECAR_RUN_INTERCEPT = 1, /* `msg` holds the intercept; the VP's RIP is unchanged */
	SIDECAR_RUN_STOPPED = 0,   /* should_stop() became true */
				   /* < 0: a failure; the backend wrote a reason into `err` */
};

struct sidecar_backend_ops {
	const char *name;
	/* Sets up be->impl from be->cfg. Returns 0 or a negative errno. */
	int (*init)(struct sidecar_backend *be);
	void (*fini)(struct sidecar_backend *be);
	/* Creates the VP with hypervisor index `vp_index`, on the calling (sidecar CPU) thread. */
	int (*vp_create)(struct sidecar_backend *be, uint32_t vp_index, struct sidecar_backend_vp **out);
	void (*vp_destroy)(struct sidecar_backend_vp *vp);
	/*
	 * Runs the VP until an intercept (fill `msg`, return SIDECAR_RUN_INTERCEPT) or until
	 * `ctl->should_stop(ctl)` is true (return SIDECAR_RUN_STOPPED). The GP registers, CR2
	 * and the FXSAVE state come from `ctx` on entry and go back into it on return, as the
	 * upstream kernel does with the real CPU's registers.
	 */
	int (*vp_run)(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		      const struct sidecar_run_ctl *ctl, struct sidecar_command_error *err);
	/* Stores the VP's x87/SSE state into ctx->fx_state and clears fx_stale (see
	 * run_ctl.lazy_fx). NULL: the backend keeps the image current after every run. */
	int (*fx_sync)(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
		       struct sidecar_command_error *err);
	/* Any thread: make a running vp_run re-check should_stop promptly. May be NULL when
	 * vp_run polls should_stop by itself. */
	void (*vp_kick)(struct sidecar_backend_vp *vp);
	/* Registers that do not live in the CPU context. Unknown name:
	 * HV_STATUS_INVALID_PARAMETER. `vtl` is the input-VTL byte. */
	hv_status (*get_register)(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
				  union hv_register_value *out);
	hv_status (*set_register)(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
				  const union hv_register_value *value);
	/* HvCallTranslateVirtualAddressEx: the status of the call; the translation's own
	 * result code goes into `out`. */
	hv_status (*translate_gva)(struct sidecar_backend_vp *vp, uint64_t gvn, uint64_t control_flags,
				   struct hv_translate_virtual_address_ex_output_x64 *out);
	/* Fill the register page from the VP (after a run). NULL: no register page. */
	void (*register_page_store)(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
				    struct hv_x64_register_page *page);
	/* Apply the page's dirty fields to the VP (before a run). */
	void (*register_page_load)(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
				   struct hv_x64_register_page *page);
};

/* Writes a formatted reason into `err` (a backend's run error; kernel/core/dispatch.c): cut to
 * the buffer, never NUL terminated, as the ABI wants. */
void sidecar_kernel_format_error(struct sidecar_command_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The backends. */
extern const struct sidecar_backend_ops sidecar_backend_synthetic_ops;
extern const struct sidecar_backend_ops sidecar_backend_kvm_ops;

#endif /* SIDECAR_KERNEL_BACKEND_H */
