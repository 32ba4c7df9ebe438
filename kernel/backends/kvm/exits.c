/* SPDX-License-Identifier: MIT */
/*
 * What a run reports: the header every intercept message shares (the message's start and
 * the instruction's bytes are inline, in kvm_internal.h), the exits with no access to
 * complete (HLT, shutdown), and the text of a run error (docs/kvm.md, "Exits and the
 * intercept messages they become").
 */
#include "kvm_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void kvm_fill_header(const struct sidecar_backend_vp *vp, struct hv_x64_intercept_message_header *h, uint8_t access,
		     uint64_t rip, unsigned int insn_len)
{
	const struct kvm_sregs *s = &vp->sregs;
	uint16_t state = vp_cpl(s);

	if (s->cr0 & X86_CR0_PE)
		state |= HV_X64_EXEC_STATE_CR0_PE;
	if (s->cr0 & X86_CR0_AM)
		state |= HV_X64_EXEC_STATE_CR0_AM;
	if (s->efer & X86_EFER_LMA)
		state |= HV_X64_EXEC_STATE_EFER_LMA;
	if (vp->events.exception.injected || vp->events.interrupt.injected || vp->events.nmi.injected)
		state |= HV_X64_EXEC_STATE_INTERRUPTION_PENDING;
	if (vp->events.interrupt.shadow)
		state |= HV_X64_EXEC_STATE_INTERRUPT_SHADOW;
	h->vp_index = vp->vp_index;
	h->instruction_length_and_cr8 = (uint8_t)((insn_len & 0xf) | ((s->cr8 & 0xf) << 4));
	h->intercept_access_type = access;
	h->execution_state = state;
	kvm_seg_to_hv(&s->cs, &h->cs_segment);
	h->rip = rip;
	h->rflags = vp->regs.rflags;
}

static bool is_hlt(struct sidecar_backend_vp *vp, const struct x86_insn *in, uint64_t start, void *arg)
{
	(void)vp;
	(void)start;
	(void)arg;
	return x86_insn_is(in, 0xf4);
}

/* KVM retired the HLT before exiting: put RIP back on it. */
int kvm_handle_hlt(struct sidecar_backend_vp *vp, struct hv_message *msg)
{
	struct hv_x64_intercept_message_header h;
	unsigned int mode = kvm_code_mode(vp);
	struct x86_insn in;
	uint64_t start;

	if (!kvm_decode_ending_at(vp, mode, vp->regs.rip, TIES_BY_BYTES, is_hlt, NULL, &in, &start)) {
		start = (vp->regs.rip - 1) & ip_mask(mode);
		in.len = 1;
	}
	vp->regs.rip = start;
	vp->dirty |= KVM_SYNC_X86_REGS;
	memset(&h, 0, sizeof(h));
	kvm_fill_header(vp, &h, HV_INTERCEPT_ACCESS_EXECUTE, start, in.len);
	kvm_begin_message(msg, HV_MESSAGE_TYPE_X64_HALT, sizeof(h));
	memcpy(msg->payload, &h, sizeof(h));
	return SIDECAR_RUN_INTERCEPT;
}

int kvm_handle_shutdown(struct sidecar_backend_vp *vp, struct hv_message *msg)
{
	struct hv_x64_unrecoverable_exception_message m;

	memset(&m, 0, sizeof(m));
	kvm_fill_header(vp, &m.header, HV_INTERCEPT_ACCESS_EXECUTE, vp->regs.rip, 0);
	kvm_begin_message(msg, HV_MESSAGE_TYPE_UNRECOVERABLE_EXCEPTION, sizeof(m));
	memcpy(msg->payload, &m, sizeof(m));
	return SIDECAR_RUN_INTERCEPT;
}
