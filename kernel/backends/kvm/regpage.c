/* SPDX-License-Identifier: MIT */
/*
 * The register page: stored after each run from the caches and the CPU context, its dirty
 * fields applied before the next run (docs/kvm.md, register names).
 */
#include "kvm_internal.h"
#include "regs_home.h"

#include <string.h>

void kvm_register_page_store(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
			     struct hv_x64_register_page *page)
{
	for (int i = 0; i < 16; i++)
		page->gp_registers[i] = ctx->gps[i];
	page->gp_registers[4] = vp->regs.rsp; /* the context holds CR2 in RSP's slot */
	page->rip = vp->regs.rip;
	page->rflags = vp->regs.rflags;
	memcpy(page->xmm, ctx->fx_state.xmm, sizeof(page->xmm));
	for (unsigned int i = 0; i < 6; i++)
		kvm_seg_to_hv(kvm_sreg_seg(&vp->sregs, i), &page->segment[i]);
	page->cr0 = vp->sregs.cr0;
	page->cr3 = vp->sregs.cr3;
	page->cr4 = vp->sregs.cr4;
	page->cr8 = vp->sregs.cr8;
	page->efer = vp->sregs.efer;
	/* DR7 has no sync area: the last value read or written through the register API. */
	page->dr7 = vp->dr7;
	page->pending_interruption = kvm_pending_interruption_of(&vp->events);
	page->interrupt_state = kvm_interrupt_state_of(&vp->events);
	page->instruction_emulation_hints = vp->emulation_hints;
	page->dirty = 0;
}

void kvm_register_page_load(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
			    struct hv_x64_register_page *page)
{
	uint32_t dirty = page->dirty;

	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE) {
		vp->regs.rsp = sidecar_regs_home_load_page_gps(ctx, page);
		vp->dirty |= KVM_SYNC_X86_REGS;
	}
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER) {
		vp->regs.rip = page->rip;
		vp->dirty |= KVM_SYNC_X86_REGS;
	}
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_FLAGS) {
		vp->regs.rflags = page->rflags;
		vp->dirty |= KVM_SYNC_X86_REGS;
	}
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_XMM)
		memcpy(ctx->fx_state.xmm, page->xmm, sizeof(page->xmm));
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_SEGMENTS) {
		/* Validated by KVM when the run loads them: a value it rejects fails the run. */
		for (unsigned int i = 0; i < 6; i++) {
			struct kvm_segment seg;
			if (kvm_seg_from_hv(&page->segment[i], &seg))
				*kvm_sreg_seg(&vp->sregs, i) = seg;
		}
		vp->dirty |= KVM_SYNC_X86_SREGS;
	}
	page->dirty = 0;
}
