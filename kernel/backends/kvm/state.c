/* SPDX-License-Identifier: MIT */
/*
 * Moving VP state in and out of KVM: the register caches after a run, and the FXSAVE image.
 *
 * The FXSAVE image needs KVM_GET_XSAVE (or KVM_GET_FPU), as there is no sync area for it: with
 * LAZY_FX that ioctl runs only when someone reads the image (kvm_fx_sync), and KVM_SET_XSAVE
 * only when the VMM changed it (docs/kvm.md, "Cost").
 */
#include "kvm_internal.h"

#include <string.h>

/* The caches from KVM: from the sync area after a KVM_RUN, else with ioctls. */
int kvm_pull_state(struct sidecar_backend_vp *vp, bool after_run)
{
	int rc;

	if (after_run && vp->k->sync_regs) {
		vp->regs = vp->run->s.regs.regs;
		vp->sregs = vp->run->s.regs.sregs;
		vp->events = vp->run->s.regs.events;
		vp->sync_regs_current = true;
		return 0;
	}
	vp->sync_regs_current = false;
	rc = xioctl(vp->fd, KVM_GET_REGS, &vp->regs);
	if (!rc)
		rc = xioctl(vp->fd, KVM_GET_SREGS, &vp->sregs);
	if (!rc && vp->k->has_vcpu_events)
		rc = xioctl(vp->fd, KVM_GET_VCPU_EVENTS, &vp->events);
	return rc;
}

static int get_xsave(struct sidecar_backend_vp *vp, struct kvm_xsave *x)
{
	return xioctl(vp->fd, vp->k->xsave_size > sizeof(*x) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, x);
}

/* The context's legacy area over KVM's own XSAVE image (which keeps the other components,
 * AVX and up), marked present. */
static int load_xsave(struct sidecar_backend_vp *vp, const struct x86_fxsave *fx, struct sidecar_command_error *err)
{
	struct x86_fxsave *legacy = (struct x86_fxsave *)vp->xsave->region;
	int rc;

	if (!vp->xsave_valid) {
		rc = get_xsave(vp, vp->xsave);
		if (rc) {
			kvm_set_err(err, "kvm: KVM_GET_XSAVE: %s", strerror(-rc));
			return rc;
		}
		vp->xsave_valid = true;
	}
	memcpy(legacy, fx, FX_HEAD_BYTES);
	memcpy(legacy->st, fx->st, sizeof(fx->st) + sizeof(fx->xmm));
	uint64_t bv;
	memcpy(&bv, (uint8_t *)vp->xsave->region + XSAVE_HDR_OFFSET, sizeof(bv));
	bv |= XFEATURE_MASK_FPSSE;
	memcpy((uint8_t *)vp->xsave->region + XSAVE_HDR_OFFSET, &bv, sizeof(bv));
	rc = xioctl(vp->fd, KVM_SET_XSAVE, vp->xsave);
	if (rc) {
		vp->xsave_valid = false;
		kvm_set_err(err, "kvm: KVM_SET_XSAVE: %s", strerror(-rc));
	}
	return rc;
}

/* Loads the context's FXSAVE image into KVM, unless KVM already holds it. */
int kvm_load_fpu(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
		 struct sidecar_command_error *err)
{
	const struct x86_fxsave *fx = &ctx->fx_state;
	int rc;

	if (vp->fx_shadow_valid && !kvm_fx_differs(fx, &vp->fx_shadow))
		return 0;
	if (fx->mxcsr & ~vp->k->mxcsr_mask) {
		kvm_set_err(err, "kvm: invalid MXCSR %#x in the cpu context", fx->mxcsr);
		return -EINVAL;
	}
	if (vp->k->fpu_xsave) {
		rc = load_xsave(vp, fx, err);
		if (rc)
			return rc;
	} else {
		struct kvm_fpu f;
		kvm_fx_to_fpu(fx, &f);
		rc = xioctl(vp->fd, KVM_SET_FPU, &f);
		if (rc) {
			kvm_set_err(err, "kvm: KVM_SET_FPU: %s", strerror(-rc));
			return rc;
		}
	}
	vp->fx_shadow = *fx;
	vp->fx_shadow_valid = true;
	return 0;
}

/* KVM's XSAVE image -> the context's FXSAVE image. */
static int store_xsave(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx)
{
	int rc = get_xsave(vp, vp->xsave);

	vp->xsave_valid = rc == 0;
	if (rc)
		return rc;
	/* The legacy area is the FXSAVE image (reserved tail aside). */
	memcpy(&ctx->fx_state, vp->xsave->region, offsetof(struct x86_fxsave, reserved2));
	uint64_t bv;
	memcpy(&bv, (uint8_t *)vp->xsave->region + XSAVE_HDR_OFFSET, sizeof(bv));
	/* Components in their init state are not written to the image. */
	if (!(bv & 1)) {
		memset(ctx->fx_state.st, 0, sizeof(ctx->fx_state.st));
		ctx->fx_state.fcw = 0x037f;
		ctx->fx_state.fsw = 0;
		ctx->fx_state.ftw = 0;
		ctx->fx_state.fop = 0;
		ctx->fx_state.fip = 0;
		ctx->fx_state.fdp = 0;
	}
	if (!(bv & 2))
		memset(ctx->fx_state.xmm, 0, sizeof(ctx->fx_state.xmm));
	ctx->fx_state.mxcsr_mask = vp->k->mxcsr_mask;
	return 0;
}

/* Stores KVM's FPU state into the context's FXSAVE image. */
int kvm_store_fpu(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct sidecar_command_error *err)
{
	int rc;

	if (vp->k->fpu_xsave) {
		rc = store_xsave(vp, ctx);
	} else {
		struct kvm_fpu f;
		rc = xioctl(vp->fd, KVM_GET_FPU, &f);
		if (rc == 0)
			kvm_fpu_to_fx(&f, &ctx->fx_state, vp->k->mxcsr_mask);
	}
	if (rc) {
		kvm_set_err(err, "kvm: reading the FPU state: %s", strerror(-rc));
		vp->fx_shadow_valid = false;
		return rc;
	}
	vp->fx_shadow = ctx->fx_state;
	vp->fx_shadow_valid = true;
	return 0;
}

/* Brings the context's FXSAVE image up to date from the VP (the kernel calls it before a
 * GET/SET of an FX register while fx_stale is set). */
int kvm_fx_sync(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct sidecar_command_error *err)
{
	int rc = kvm_store_fpu(vp, ctx, err);

	if (rc == 0)
		*sidecar_cpu_context_fx_stale(ctx) = 0;
	return rc;
}
