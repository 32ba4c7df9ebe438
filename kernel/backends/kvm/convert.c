/* SPDX-License-Identifier: MIT */
/*
 * State conversion between KVM's structures and Hyper-V's: segments, the FXSAVE image, the
 * CPU context's GP slots, and the event state behind PENDING_INTERRUPTION and
 * INTERRUPT_STATE (docs/kvm.md, "Where registers live while the VP is stopped"). No ioctls.
 */
#include "kvm_internal.h"

#include <string.h>

/* HvX64PendingInterruptionRegister and HvX64InterruptStateRegister. */
#define HV_PENDING_INTERRUPTION_PENDING 0x1ull
#define HV_PENDING_TYPE_SHIFT 1
#define HV_PENDING_TYPE_MASK 0x7ull
#define HV_PENDING_DELIVER_ERROR_CODE (1ull << 4)
#define HV_PENDING_INSTRUCTION_LENGTH_MASK (0xfull << 5)
#define HV_PENDING_RESERVED_MASK (0x7full << 9) /* nested event and reserved bits */
#define HV_PENDING_VECTOR_SHIFT 16
#define HV_PENDING_TYPE_INTERRUPT 0
#define HV_PENDING_TYPE_NMI 2
#define HV_PENDING_TYPE_EXCEPTION 3
#define HV_PENDING_TYPE_SOFTWARE_INTERRUPT 4
#define HV_PENDING_TYPE_PRIV_SOFTWARE_EXCEPTION 5
#define HV_PENDING_TYPE_SOFTWARE_EXCEPTION 6
#define HV_INTERRUPT_STATE_SHADOW 0x1ull
#define HV_INTERRUPT_STATE_NMI_MASKED 0x2ull

/* Attribute bits 8..11 have no kvm_segment field (they are the descriptor's limit 19:16,
 * never part of the cached attributes): a value using them is rejected, not truncated. */
#define HV_SEG_ATTR_UNREPRESENTABLE 0x0f00

/* ---- segments ---------------------------------------------------------------------------------- */

bool kvm_seg_from_hv(const struct hv_x64_segment_register *h, struct kvm_segment *s)
{
	uint16_t a = h->attributes;

	if (a & HV_SEG_ATTR_UNREPRESENTABLE)
		return false;
	memset(s, 0, sizeof(*s));
	s->base = h->base;
	s->limit = h->limit;
	s->selector = h->selector;
	s->type = a & HV_X64_SEGMENT_ATTR_TYPE_MASK;
	s->s = !!(a & HV_X64_SEGMENT_ATTR_NON_SYSTEM);
	s->dpl = (a & HV_X64_SEGMENT_ATTR_DPL_MASK) >> HV_X64_SEGMENT_ATTR_DPL_SHIFT;
	s->present = !!(a & HV_X64_SEGMENT_ATTR_PRESENT);
	s->avl = !!(a & HV_X64_SEGMENT_ATTR_AVAILABLE);
	s->l = !!(a & HV_X64_SEGMENT_ATTR_LONG);
	s->db = !!(a & HV_X64_SEGMENT_ATTR_DEFAULT);
	s->g = !!(a & HV_X64_SEGMENT_ATTR_GRANULARITY);
	/* A not-present segment is unusable (VMX requires it for data segments); SVM then
	 * keeps no attributes at all, so such a segment reads back with attributes 0. */
	s->unusable = !s->present;
	return true;
}

/* ---- the FXSAVE image ------------------------------------------------------------------------ */

/* struct kvm_fpu -> FXSAVE image. KVM_GET_FPU does not report MXCSR (nor does
 * KVM_SET_FPU take it): the image keeps the one it had. */
void kvm_fpu_to_fx(const struct kvm_fpu *f, struct x86_fxsave *fx, uint32_t mxcsr_mask)
{
	uint32_t mxcsr = fx->mxcsr;

	memset(fx, 0, offsetof(struct x86_fxsave, reserved2));
	fx->mxcsr = mxcsr;
	fx->fcw = f->fcw;
	fx->fsw = f->fsw;
	fx->ftw = f->ftwx;
	fx->fop = f->last_opcode;
	fx->fip = f->last_ip;
	fx->fdp = f->last_dp;
	fx->mxcsr_mask = mxcsr_mask;
	memcpy(fx->st, f->fpr, sizeof(fx->st));
	memcpy(fx->xmm, f->xmm, sizeof(fx->xmm));
}

void kvm_fx_to_fpu(const struct x86_fxsave *fx, struct kvm_fpu *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = fx->fcw;
	f->fsw = fx->fsw;
	f->ftwx = fx->ftw;
	f->last_opcode = fx->fop;
	f->last_ip = fx->fip;
	f->last_dp = fx->fdp;
	f->mxcsr = fx->mxcsr;
	memcpy(f->fpr, fx->st, sizeof(f->fpr));
	memcpy(f->xmm, fx->xmm, sizeof(f->xmm));
}

/* Whether the VP-state parts of two FXSAVE images differ. */
bool kvm_fx_differs(const struct x86_fxsave *a, const struct x86_fxsave *b)
{
	return memcmp(a, b, FX_HEAD_BYTES) != 0 || memcmp(a->st, b->st, sizeof(a->st) + sizeof(a->xmm)) != 0;
}

/* ---- GP registers ------------------------------------------------------------------------------ */

/* struct kvm_regs' GP registers in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
 * R8..R15): the order of the CPU context's slots too, but for RSP's, which holds CR2. */
static const size_t gpr_offset[16] = {
	offsetof(struct kvm_regs, rax), offsetof(struct kvm_regs, rcx), offsetof(struct kvm_regs, rdx),
	offsetof(struct kvm_regs, rbx), offsetof(struct kvm_regs, rsp), offsetof(struct kvm_regs, rbp),
	offsetof(struct kvm_regs, rsi), offsetof(struct kvm_regs, rdi), offsetof(struct kvm_regs, r8),
	offsetof(struct kvm_regs, r9),  offsetof(struct kvm_regs, r10), offsetof(struct kvm_regs, r11),
	offsetof(struct kvm_regs, r12), offsetof(struct kvm_regs, r13), offsetof(struct kvm_regs, r14),
	offsetof(struct kvm_regs, r15),
};

static uint64_t gpr_get(const struct kvm_regs *r, unsigned int i)
{
	uint64_t v;

	memcpy(&v, (const char *)r + gpr_offset[i], sizeof(v));
	return v;
}

static void gpr_set(struct kvm_regs *r, unsigned int i, uint64_t v)
{
	memcpy((char *)r + gpr_offset[i], &v, sizeof(v));
}

/* The GP registers in encoding order, for effective addresses. */
void kvm_gprs_encoding_order(const struct kvm_regs *r, uint64_t g[16])
{
	for (unsigned int i = 0; i < 16; i++)
		g[i] = gpr_get(r, i);
}

/* The CPU context's GP slots -> struct kvm_regs (RSP stays: its slot holds CR2). */
void kvm_gprs_from_ctx(struct kvm_regs *r, const struct sidecar_cpu_context_x64 *ctx)
{
	for (unsigned int i = 0; i < 16; i++)
		if (i != SIDECAR_CPU_CONTEXT_CR2)
			gpr_set(r, i, ctx->gps[i]);
}

/* struct kvm_regs -> the CPU context's GP slots (CR2's slot stays). */
void kvm_gprs_to_ctx(const struct kvm_regs *r, struct sidecar_cpu_context_x64 *ctx)
{
	for (unsigned int i = 0; i < 16; i++)
		if (i != SIDECAR_CPU_CONTEXT_CR2)
			ctx->gps[i] = gpr_get(r, i);
}

/* ---- event state ------------------------------------------------------------------------------- */

uint64_t kvm_pending_interruption_of(const struct kvm_vcpu_events *e)
{
	uint64_t type, vector, v = HV_PENDING_INTERRUPTION_PENDING;

	if (e->exception.injected) {
		vector = e->exception.nr;
		type = (vector == 3 || vector == 4) ? HV_PENDING_TYPE_SOFTWARE_EXCEPTION : HV_PENDING_TYPE_EXCEPTION;
		if (e->exception.has_error_code) {
			v |= HV_PENDING_DELIVER_ERROR_CODE;
			v |= (uint64_t)e->exception.error_code << 32;
		}
	} else if (e->nmi.injected) {
		vector = 2;
		type = HV_PENDING_TYPE_NMI;
	} else if (e->interrupt.injected) {
		vector = e->interrupt.nr;
		type = e->interrupt.soft ? HV_PENDING_TYPE_SOFTWARE_INTERRUPT : HV_PENDING_TYPE_INTERRUPT;
	} else {
		return 0;
	}
	return v | (type << HV_PENDING_TYPE_SHIFT) | (vector << HV_PENDING_VECTOR_SHIFT);
}

uint64_t kvm_interrupt_state_of(const struct kvm_vcpu_events *e)
{
	return (e->interrupt.shadow ? HV_INTERRUPT_STATE_SHADOW : 0) |
	       (e->nmi.masked ? HV_INTERRUPT_STATE_NMI_MASKED : 0);
}

/* PENDING_INTERRUPTION = v, into `e`. The instruction length has no KVM counterpart and is
 * ignored; the nested-event bit and the reserved bits are refused. */
hv_status kvm_events_set_pending_interruption(struct kvm_vcpu_events *e, uint64_t v)
{
	uint64_t type = (v >> HV_PENDING_TYPE_SHIFT) & HV_PENDING_TYPE_MASK;
	uint8_t vector = (uint8_t)(v >> HV_PENDING_VECTOR_SHIFT);

	if (v & HV_PENDING_RESERVED_MASK || (v >> HV_PENDING_VECTOR_SHIFT & 0xffff) > 0xff)
		return HV_STATUS_INVALID_PARAMETER;
	e->exception.injected = 0;
	e->exception.pending = 0;
	e->interrupt.injected = 0;
	e->nmi.injected = 0;
	if (v & HV_PENDING_INTERRUPTION_PENDING) {
		switch (type) {
		case HV_PENDING_TYPE_INTERRUPT:
		case HV_PENDING_TYPE_SOFTWARE_INTERRUPT:
			e->interrupt.injected = 1;
			e->interrupt.nr = vector;
			e->interrupt.soft = type == HV_PENDING_TYPE_SOFTWARE_INTERRUPT;
			break;
		case HV_PENDING_TYPE_NMI:
			e->nmi.injected = 1;
			break;
		case HV_PENDING_TYPE_EXCEPTION:
		case HV_PENDING_TYPE_PRIV_SOFTWARE_EXCEPTION:
		case HV_PENDING_TYPE_SOFTWARE_EXCEPTION:
			if (vector >= 32)
				return HV_STATUS_INVALID_PARAMETER;
			e->exception.injected = 1;
			e->exception.nr = vector;
			e->exception.has_error_code = !!(v & HV_PENDING_DELIVER_ERROR_CODE);
			e->exception.error_code = (uint32_t)(v >> 32);
			break;
		default:
			return HV_STATUS_INVALID_PARAMETER;
		}
	}
	e->flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	return HV_STATUS_SUCCESS;
}

/* INTERRUPT_STATE = v, into `e`: the shadow as an STI shadow, the NMI mask as is. */
hv_status kvm_events_set_interrupt_state(struct kvm_vcpu_events *e, uint64_t v)
{
	if (v & ~(HV_INTERRUPT_STATE_SHADOW | HV_INTERRUPT_STATE_NMI_MASKED))
		return HV_STATUS_INVALID_PARAMETER;
	if (!(v & HV_INTERRUPT_STATE_SHADOW))
		e->interrupt.shadow = 0;
	else if (!e->interrupt.shadow)
		e->interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	e->nmi.masked = !!(v & HV_INTERRUPT_STATE_NMI_MASKED);
	e->flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SMM;
	e->flags |= KVM_VCPUEVENT_VALID_SHADOW;
	return HV_STATUS_SUCCESS;
}
