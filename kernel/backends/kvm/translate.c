/* SPDX-License-Identifier: MIT */
/*
 * HvCallTranslateVirtualAddressEx through KVM_TRANSLATE and, for what KVM cannot report, the
 * software walker (docs/kvm.md, "GVA translation: what KVM_TRANSLATE can express").
 */
#include "kvm_internal.h"
#include "gva_walk.h"

#include <string.h>

#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_CR4_PKE (1ull << 22)
#define X86_RFLAGS_AC (1ull << 18)

/*
 * KVM_TRANSLATE for `lin`: valid and GPA. KVM walks for an explicit supervisor data read
 * (x86: kvm_mmu_gva_to_gpa_system), so with CR4.SMAP on and RFLAGS.AC clear it also fails on
 * user pages; RFLAGS.AC is set around the call to keep the answer about the walk alone, and
 * the VP's RFLAGS put back (the next run loads them anyway).
 */
static int kvm_walk(struct sidecar_backend_vp *vp, uint64_t lin, bool *valid, uint64_t *gpa, bool *writeable)
{
	/* Whatever the cached RFLAGS says: KVM's own copy is loaded only by the next run. */
	bool smap = (vp->sregs.cr4 & X86_CR4_SMAP) && (vp->sregs.cr0 & X86_CR0_PG);
	struct kvm_translation t = {.linear_address = lin};
	int rc;

	if (smap) {
		struct kvm_regs r = vp->regs;
		r.rflags |= X86_RFLAGS_AC;
		rc = xioctl(vp->fd, KVM_SET_REGS, &r);
		if (rc)
			return rc;
	}
	rc = xioctl(vp->fd, KVM_TRANSLATE, &t);
	if (smap) {
		int rc2 = xioctl(vp->fd, KVM_SET_REGS, &vp->regs);
		if (!rc)
			rc = rc2;
	}
	*valid = t.valid;
	*gpa = t.physical_address;
	*writeable = t.writeable;
	return rc;
}

/* The software walker's permission verdict for a request KVM cannot express: true when it
 * finds a privilege violation. The walk itself (presence, GPA) is KVM's. */
static hv_status walker_denies(struct sidecar_backend_vp *vp, uint64_t gvn, uint64_t control_flags, bool *denied)
{
	const struct kvm_sregs *s = &vp->sregs;
	struct sidecar_guest_memory mem = {.base = vp->be->cfg.mem, .size = vp->be->cfg.mem_size};
	struct sidecar_gva_walk_regs r = {
		.cr0 = s->cr0,
		.cr3 = s->cr3,
		.cr4 = s->cr4,
		.efer = s->efer,
		.rflags = vp->regs.rflags,
		.cpl = vp_cpl(s),
		.maxphyaddr = vp->k->maxphyaddr,
	};
	struct hv_translate_virtual_address_ex_output_x64 w;
	hv_status st = sidecar_gva_translate(&mem, &r, gvn, control_flags, &w);

	if (st == HV_STATUS_SUCCESS)
		*denied = HV_TRANSLATE_GVA_RESULT_CODE(w.translation_result.result) ==
			  HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	return st;
}

/*
 * HvCallTranslateVirtualAddressEx through KVM_TRANSLATE, which answers only "valid" and the
 * GPA of a supervisor read (its `writeable` and `usermode` fields are constants, 1 and 0, on
 * x86: they carry no information). What it can express, answered by KVM alone:
 *
 *   SUCCESS + GPA, PAGE_NOT_PRESENT and GPA_UNMAPPED (the final GPA is beyond RAM), for
 *   requests that validate at most READ as a supervisor (CPL < 3 or SUPERVISOR_ACCESS;
 *   neither USER_ACCESS nor PRIVILEGE_EXEMPT), without SET_PAGE_TABLE_BITS, with CR4.SMEP,
 *   SMAP and PKE clear; with paging off, any request (the identity).
 *
 * Anything else (validate write or execute, user-mode accesses, SMEP/SMAP, A/D bits) is
 * decided in two steps: KVM answers for the walk (present, and where to), the software walker
 * (kernel/core/gva_walk.h) over the same registers and tables for the permissions KVM cannot
 * report, and sets the A/D bits. What KVM cannot say at all: a walk it fails is
 * PAGE_NOT_PRESENT even where Hyper-V says INVALID_PAGE_TABLE_FLAGS (reserved bits, a 1 GiB
 * page the guest's CPUID lacks, a non-canonical GVA) or GPA_UNMAPPED (a table outside RAM), or
 * where a protection key (CR4.PKE) refused it. KVM's walk also sets Accessed bits by itself.
 */
hv_status kvm_translate_gva(struct sidecar_backend_vp *vp, uint64_t gvn, uint64_t control_flags,
			    struct hv_translate_virtual_address_ex_output_x64 *out)
{
	const struct kvm_sregs *s = &vp->sregs;
	bool paging = s->cr0 & X86_CR0_PG;
	uint64_t gva = (gvn & (~0ull >> 12)) << 12;
	uint64_t gpa = 0;
	bool valid, writeable;
	uint32_t code;

	memset(out, 0, sizeof(*out));
	if (control_flags & HV_TRANSLATE_GVA_RESERVED_MASK)
		return HV_STATUS_INVALID_PARAMETER;
	if ((control_flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS) && (control_flags & HV_TRANSLATE_GVA_USER_ACCESS))
		return HV_STATUS_INVALID_PARAMETER;
	if (!(s->efer & X86_EFER_LMA))
		gva &= 0xffffffffull;

	if (kvm_walk(vp, gva, &valid, &gpa, &writeable))
		return HV_STATUS_OPERATION_FAILED;
	if (!valid) {
		code = HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		goto done;
	}
	gpa &= ~(PAGE_SIZE_4K - 1);
	code = HV_TRANSLATE_GVA_SUCCESS;

	bool user = (control_flags & HV_TRANSLATE_GVA_USER_ACCESS) ||
		    (!(control_flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS) && vp_cpl(s) == 3);
	bool expressible =
		!(s->cr4 & (X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE)) && !user &&
		!(control_flags & (HV_TRANSLATE_GVA_VALIDATE_WRITE | HV_TRANSLATE_GVA_VALIDATE_EXECUTE |
				   HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS | HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT));
	if ((control_flags & HV_TRANSLATE_GVA_VALIDATE_WRITE) && !writeable)
		code = HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION; /* never, on x86: writeable is 1 */
	if (code == HV_TRANSLATE_GVA_SUCCESS && paging && !expressible) {
		bool denied = false;
		hv_status st = walker_denies(vp, gvn, control_flags, &denied);
		if (st != HV_STATUS_SUCCESS)
			return st;
		if (denied)
			code = HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	}
	if (code == HV_TRANSLATE_GVA_SUCCESS &&
	    (gpa >= vp->be->cfg.mem_size || vp->be->cfg.mem_size - gpa < PAGE_SIZE_4K))
		code = HV_TRANSLATE_GVA_GPA_UNMAPPED;
done:
	out->translation_result.result = code;
	if (code == HV_TRANSLATE_GVA_SUCCESS) {
		out->translation_result.result |= (uint64_t)HV_CACHE_TYPE_WRITE_BACK << 32;
		out->gpa_page = gpa >> 12;
	}
	return HV_STATUS_SUCCESS;
}
