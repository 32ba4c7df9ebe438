/* SPDX-License-Identifier: MIT */
/*
 * Get and set register (docs/kvm.md, "Where registers live while the VP is stopped", and the
 * register names after it). One table, locate(), says where each register lives and how it
 * is reached; get and set are the two directions over it.
 */
#include "kvm_internal.h"

#include <string.h>

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SPEC_CTRL 0x48
#define MSR_MTRRCAP 0xfe
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MTRR_PHYS_BASE0 0x200
#define MSR_MTRR_FIX64K_00000 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268
#define MSR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_XSS 0xda0
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_EFER 0xc0000080
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

/* Where a register lives. */
enum reg_home {
	REG_NONE,      /* not a register this backend has */
	REG_VP_INDEX,  /* VP_INDEX, INITIAL_APIC_ID: the VP index, read-only */
	REG_STORE,     /* a u64 the backend keeps (KVM has no such state): at `where` */
	REG_GPR,       /* a u64 in the REGS cache, loaded by the next run: at `where` */
	REG_CR8,       /* the SREGS cache's CR8, loaded from kvm_run->cr8 at every entry */
	REG_SREG,      /* a u64 in a kvm_sregs at `where`, applied at once (KVM validates) */
	REG_SEGMENT,   /* a kvm_segment at `where`, likewise */
	REG_TABLE,     /* a kvm_dtable at `where`, likewise */
	REG_DEBUG,     /* KVM_GET/SET_DEBUGREGS; `index`: 0..3 DR0..3, 4 DR6, 5 DR7 */
	REG_XCR0,      /* KVM_GET/SET_XCRS */
	REG_PENDING,   /* PENDING_INTERRUPTION: the event state */
	REG_INT_STATE, /* INTERRUPT_STATE: the event state */
	REG_MSR,       /* KVM_GET/SET_MSRS; `index`: the MSR */
};

struct reg_loc {
	enum reg_home home;
	void *where;
	uint32_t index;
	bool read_only; /* for an MSR: readable, not writable (MTRRcap) */
};

/* The variable- and fixed-range MTRRs, as name ranges. */
static bool mtrr_msr(uint32_t name, uint32_t *msr)
{
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF) {
		*msr = MSR_MTRR_PHYS_BASE0 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0);
		return true;
	}
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF) {
		*msr = MSR_MTRR_PHYS_BASE0 + 1 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0);
		return true;
	}
	if (name >= HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 && name <= HV_X64_REGISTER_MSR_MTRR_FIX4K_F8000) {
		*msr = MSR_MTRR_FIX4K_C0000 + (name - HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000);
		return true;
	}
	return false;
}

/*
 * Where register `name` lives. `s` is the kvm_sregs the SREG, SEGMENT and TABLE homes point
 * into: the cache itself to read, an edited copy to write (KVM_SET_SREGS validates the copy
 * before the cache takes it). The one table for get and set: a long switch of one-line
 * cases, which reads best whole.
 */
static struct reg_loc locate(struct sidecar_backend_vp *vp, struct kvm_sregs *s, uint32_t name)
{
#define AT(h, w) ((struct reg_loc){.home = (h), .where = (w)})
#define MSR(m) ((struct reg_loc){.home = REG_MSR, .index = (m)})
	uint32_t msr;

	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR)
		return AT(REG_SEGMENT, kvm_sreg_seg(s, name - HV_X64_REGISTER_ES));
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR7)
		return (struct reg_loc){.home = REG_DEBUG, .index = name - HV_X64_REGISTER_DR0};
	if (mtrr_msr(name, &msr))
		return MSR(msr);
	switch (name) {
	case HV_X64_REGISTER_RSP:
		return AT(REG_GPR, &vp->regs.rsp);
	case HV_X64_REGISTER_RIP:
		return AT(REG_GPR, &vp->regs.rip);
	case HV_X64_REGISTER_RFLAGS:
		return AT(REG_GPR, &vp->regs.rflags);
	case HV_X64_REGISTER_CR0:
		return AT(REG_SREG, &s->cr0);
	case HV_X64_REGISTER_CR3:
		return AT(REG_SREG, &s->cr3);
	case HV_X64_REGISTER_CR4:
		return AT(REG_SREG, &s->cr4);
	case HV_X64_REGISTER_EFER:
		return AT(REG_SREG, &s->efer);
	case HV_X64_REGISTER_APIC_BASE:
		return AT(REG_SREG, &s->apic_base);
	case HV_X64_REGISTER_CR8:
		return AT(REG_CR8, &vp->sregs.cr8);
	case HV_X64_REGISTER_IDTR:
		return AT(REG_TABLE, &s->idt);
	case HV_X64_REGISTER_GDTR:
		return AT(REG_TABLE, &s->gdt);
	case HV_X64_REGISTER_XFEM:
		return AT(REG_XCR0, NULL);
	case HV_REGISTER_PENDING_INTERRUPTION:
		return AT(REG_PENDING, NULL);
	case HV_REGISTER_INTERRUPT_STATE:
		return AT(REG_INT_STATE, NULL);
	case HV_REGISTER_INSTRUCTION_EMULATION_HINTS:
		return AT(REG_STORE, &vp->emulation_hints);
	case HV_REGISTER_GUEST_OS_ID:
		return AT(REG_STORE, &vp->guest_os_id);
	case HV_X64_REGISTER_INITIAL_APIC_ID:
	case HV_REGISTER_VP_INDEX:
		return AT(REG_VP_INDEX, NULL);
	case HV_X64_REGISTER_MSR_MTRR_CAP:
		return (struct reg_loc){.home = REG_MSR, .index = MSR_MTRRCAP, .read_only = true};
	case HV_X64_REGISTER_MSR_MTRR_FIX64K_00000:
		return MSR(MSR_MTRR_FIX64K_00000);
	case HV_X64_REGISTER_MSR_MTRR_FIX16K_80000:
		return MSR(MSR_MTRR_FIX16K_80000);
	case HV_X64_REGISTER_MSR_MTRR_FIX16K_A0000:
		return MSR(MSR_MTRR_FIX16K_A0000);
	case HV_X64_REGISTER_MSR_MTRR_DEF_TYPE:
		return MSR(MSR_MTRR_DEF_TYPE);
	case HV_X64_REGISTER_TSC:
		return MSR(MSR_IA32_TSC);
	case HV_X64_REGISTER_KERNEL_GS_BASE:
		return MSR(MSR_KERNEL_GS_BASE);
	case HV_X64_REGISTER_PAT:
		return MSR(MSR_PAT);
	case HV_X64_REGISTER_SYSENTER_CS:
		return MSR(MSR_SYSENTER_CS);
	case HV_X64_REGISTER_SYSENTER_EIP:
		return MSR(MSR_SYSENTER_EIP);
	case HV_X64_REGISTER_SYSENTER_ESP:
		return MSR(MSR_SYSENTER_ESP);
	case HV_X64_REGISTER_STAR:
		return MSR(MSR_STAR);
	case HV_X64_REGISTER_LSTAR:
		return MSR(MSR_LSTAR);
	case HV_X64_REGISTER_CSTAR:
		return MSR(MSR_CSTAR);
	case HV_X64_REGISTER_SFMASK:
		return MSR(MSR_SFMASK);
	case HV_X64_REGISTER_TSC_AUX:
		return MSR(MSR_TSC_AUX);
	case HV_X64_REGISTER_SPEC_CTRL:
		return MSR(MSR_IA32_SPEC_CTRL);
	case HV_X64_REGISTER_XSS:
		return MSR(MSR_IA32_XSS);
	}
	return AT(REG_NONE, NULL);
#undef AT
#undef MSR
}

/* ---- the ioctl-backed homes ---------------------------------------------------------------- */

/* Each PAT entry must name a memory type: UC, WC, WT, WP, WB or UC- (not all KVMs check). */
static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = (uint8_t)(pat >> (8 * i));
		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

/* One MSR through KVM_GET_MSRS or KVM_SET_MSRS (`in` the value SET writes; `out`, where not
 * NULL, the value GET reads). Both answer how many entries they took: 0 means KVM rejected
 * the MSR (or, for SET, the value). */
static hv_status msr_ioctl(struct sidecar_backend_vp *vp, unsigned long req, uint32_t msr, uint64_t in, uint64_t *out)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = msr;
	m.e.data = in;
	if (xioctl(vp->fd, req, &m) != 1)
		return HV_STATUS_INVALID_PARAMETER;
	if (out)
		*out = m.e.data;
	return HV_STATUS_SUCCESS;
}

static hv_status msr_get(struct sidecar_backend_vp *vp, uint32_t msr, uint64_t *v)
{
	return msr_ioctl(vp, KVM_GET_MSRS, msr, 0, v);
}

static hv_status msr_set(struct sidecar_backend_vp *vp, uint32_t msr, uint64_t v)
{
	return msr_ioctl(vp, KVM_SET_MSRS, msr, v, NULL);
}

/* Applies an edited copy of the special registers (KVM validates it now, not at the next
 * run), then reads back what KVM made of it. */
static hv_status sregs_apply(struct sidecar_backend_vp *vp, struct kvm_sregs *s)
{
	if (xioctl(vp->fd, KVM_SET_SREGS, s))
		return HV_STATUS_INVALID_PARAMETER;
	vp->dirty &= ~(uint64_t)KVM_SYNC_X86_SREGS;
	if (xioctl(vp->fd, KVM_GET_SREGS, &vp->sregs)) {
		vp->sregs = *s;
		return HV_STATUS_OPERATION_FAILED;
	}
	return HV_STATUS_SUCCESS;
}

/*
 * EFER.LMA is the processor's, not software's: set exactly when LME and CR0.PG are. KVM wants
 * userspace to supply it consistently; deriving it lets a VMM enter long mode one register at
 * a time (CR4.PAE, EFER.LME, CR0.PG), as the guest itself would.
 */
static void efer_lma(struct kvm_sregs *s)
{
	if ((s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG))
		s->efer |= X86_EFER_LMA;
	else
		s->efer &= ~X86_EFER_LMA;
}

static hv_status events_apply(struct sidecar_backend_vp *vp, struct kvm_vcpu_events *e)
{
	if (!vp->k->has_vcpu_events || xioctl(vp->fd, KVM_SET_VCPU_EVENTS, e))
		return HV_STATUS_INVALID_PARAMETER;
	vp->dirty &= ~(uint64_t)KVM_SYNC_X86_EVENTS;
	if (xioctl(vp->fd, KVM_GET_VCPU_EVENTS, &vp->events))
		vp->events = *e;
	return HV_STATUS_SUCCESS;
}

static hv_status debug_get(struct sidecar_backend_vp *vp, unsigned int i, uint64_t *v)
{
	struct kvm_debugregs d;

	if (!vp->k->has_debugregs || xioctl(vp->fd, KVM_GET_DEBUGREGS, &d))
		return HV_STATUS_INVALID_PARAMETER;
	vp->dr7 = d.dr7;
	*v = i < 4 ? d.db[i] : i == 4 ? d.dr6 : d.dr7;
	return HV_STATUS_SUCCESS;
}

static hv_status debug_set(struct sidecar_backend_vp *vp, unsigned int i, uint64_t v)
{
	struct kvm_debugregs d;

	if (!vp->k->has_debugregs || xioctl(vp->fd, KVM_GET_DEBUGREGS, &d))
		return HV_STATUS_INVALID_PARAMETER;
	if (i < 4)
		d.db[i] = v;
	else if (i == 4)
		d.dr6 = v;
	else
		d.dr7 = v;
	d.flags = 0;
	if (xioctl(vp->fd, KVM_SET_DEBUGREGS, &d))
		return HV_STATUS_INVALID_PARAMETER;
	vp->dr7 = d.dr7;
	return HV_STATUS_SUCCESS;
}

static hv_status xcr0_get(struct sidecar_backend_vp *vp, uint64_t *v)
{
	struct kvm_xcrs x;

	if (!vp->k->has_xcrs || xioctl(vp->fd, KVM_GET_XCRS, &x))
		return HV_STATUS_INVALID_PARAMETER;
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0)
			*v = x.xcrs[i].value;
	return HV_STATUS_SUCCESS;
}

static hv_status xcr0_set(struct sidecar_backend_vp *vp, uint64_t v)
{
	struct kvm_xcrs x;

	if (!vp->k->has_xcrs)
		return HV_STATUS_INVALID_PARAMETER;
	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = v;
	return xioctl(vp->fd, KVM_SET_XCRS, &x) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
}

/* ---- the two directions ----------------------------------------------------------------------- */

hv_status kvm_get_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name, union hv_register_value *out)
{
	struct reg_loc r = locate(vp, &vp->sregs, name);

	(void)vtl;
	memset(out, 0, sizeof(*out));
	switch (r.home) {
	case REG_NONE:
		return HV_STATUS_INVALID_PARAMETER;
	case REG_VP_INDEX:
		out->reg64 = vp->vp_index;
		return HV_STATUS_SUCCESS;
	case REG_STORE:
	case REG_GPR:
	case REG_CR8:
	case REG_SREG:
		memcpy(&out->reg64, r.where, sizeof(uint64_t));
		return HV_STATUS_SUCCESS;
	case REG_SEGMENT:
		kvm_seg_to_hv(r.where, &out->segment);
		return HV_STATUS_SUCCESS;
	case REG_TABLE: {
		const struct kvm_dtable *t = r.where;
		out->table.limit = t->limit;
		out->table.base = t->base;
		return HV_STATUS_SUCCESS;
	}
	case REG_DEBUG:
		return debug_get(vp, r.index, &out->reg64);
	case REG_XCR0:
		return xcr0_get(vp, &out->reg64);
	case REG_PENDING:
	case REG_INT_STATE:
		if (!vp->k->has_vcpu_events)
			return HV_STATUS_INVALID_PARAMETER;
		out->reg64 = r.home == REG_PENDING ? kvm_pending_interruption_of(&vp->events)
						   : kvm_interrupt_state_of(&vp->events);
		return HV_STATUS_SUCCESS;
	case REG_MSR:
		return msr_get(vp, r.index, &out->reg64);
	}
	return HV_STATUS_INVALID_PARAMETER;
}

/* A u64 special register into the edited copy `s`, which is then applied. */
static hv_status sreg_set(struct sidecar_backend_vp *vp, struct kvm_sregs *s, uint32_t name, uint64_t *where,
			  uint64_t v)
{
	/* KVM_SET_SREGS takes any EFER; the MSR write checks it against what the guest's CPUID
	 * allows (LMA aside, which follows below). */
	if (name == HV_X64_REGISTER_EFER &&
	    msr_set(vp, MSR_EFER, (v & ~X86_EFER_LMA) | (vp->sregs.efer & X86_EFER_LMA)) != HV_STATUS_SUCCESS)
		return HV_STATUS_INVALID_PARAMETER;
	*where = v;
	if (name == HV_X64_REGISTER_CR0 || name == HV_X64_REGISTER_EFER)
		efer_lma(s);
	return sregs_apply(vp, s);
}

hv_status kvm_set_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
			   const union hv_register_value *value)
{
	struct kvm_sregs s = vp->sregs;
	struct reg_loc r = locate(vp, &s, name);
	uint64_t v = value->reg64;

	(void)vtl;
	switch (r.home) {
	case REG_NONE:
		return HV_STATUS_INVALID_PARAMETER;
	case REG_VP_INDEX:
		return HV_STATUS_ACCESS_DENIED; /* read-only */
	case REG_STORE:
		memcpy(r.where, &v, sizeof(v));
		return HV_STATUS_SUCCESS;
	case REG_GPR:
		memcpy(r.where, &v, sizeof(v));
		vp->dirty |= KVM_SYNC_X86_REGS;
		return HV_STATUS_SUCCESS;
	case REG_CR8:
		if (v > 0xf)
			return HV_STATUS_INVALID_PARAMETER;
		memcpy(r.where, &v, sizeof(v)); /* loaded from kvm_run->cr8 at the next entry */
		return HV_STATUS_SUCCESS;
	case REG_SREG:
		return sreg_set(vp, &s, name, r.where, v);
	case REG_SEGMENT:
		if (!kvm_seg_from_hv(&value->segment, r.where))
			return HV_STATUS_INVALID_PARAMETER;
		return sregs_apply(vp, &s);
	case REG_TABLE: {
		struct kvm_dtable *t = r.where;
		t->limit = value->table.limit;
		t->base = value->table.base;
		return sregs_apply(vp, &s);
	}
	case REG_DEBUG:
		return debug_set(vp, r.index, v);
	case REG_XCR0:
		return xcr0_set(vp, v);
	case REG_PENDING:
	case REG_INT_STATE: {
		struct kvm_vcpu_events e = vp->events;
		hv_status st = r.home == REG_PENDING ? kvm_events_set_pending_interruption(&e, v)
						     : kvm_events_set_interrupt_state(&e, v);
		return st != HV_STATUS_SUCCESS ? st : events_apply(vp, &e);
	}
	case REG_MSR:
		if (r.read_only)
			return HV_STATUS_ACCESS_DENIED; /* read-only */
		if (r.index == MSR_PAT && !pat_valid(v))
			return HV_STATUS_INVALID_PARAMETER;
		return msr_set(vp, r.index, v);
	}
	return HV_STATUS_INVALID_PARAMETER;
}
