/* SPDX-License-Identifier: MIT */
/*
 * Locating the exiting instruction (docs/kvm.md, "RIP reconciliation").
 *
 * Hyper-V reports the intercepting instruction's RIP and length and leaves RIP on it; KVM may
 * already have moved RIP past it (HLT; MMIO writes and OUTS, which its emulator wrote back;
 * OUT on some KVMs). The instruction is found by decoding (insn.c), at RIP or backwards from
 * it, and the caller's match function verifies it against the exit. This file reads the
 * guest's code through its own page tables, without an ioctl on the exit path.
 */
#include "kvm_internal.h"
#include "gva_walk.h"

#include <string.h>

/* Linear -> GPA with the guest's page tables, in software. An exit reads the instruction's
 * bytes two or three times: the last page is remembered. */
static bool lin_to_gpa(struct sidecar_backend_vp *vp, uint64_t lin, uint64_t *gpa)
{
	if (!(vp->sregs.cr0 & X86_CR0_PG)) {
		*gpa = lin;
		return true;
	}
	if (vp->rcache_valid && vp->rcache_page == (lin & ~0xfffull)) {
		*gpa = vp->rcache_gpa | (lin & 0xfff);
		return true;
	}
	struct sidecar_guest_memory mem = {.base = vp->be->cfg.mem, .size = vp->be->cfg.mem_size};
	struct sidecar_gva_walk_regs r = {
		.cr0 = vp->sregs.cr0,
		.cr3 = vp->sregs.cr3,
		.cr4 = vp->sregs.cr4,
		.efer = vp->sregs.efer,
		.rflags = vp->regs.rflags,
		.cpl = vp_cpl(&vp->sregs),
		.maxphyaddr = vp->k->maxphyaddr,
	};
	struct hv_translate_virtual_address_ex_output_x64 out;

	if (sidecar_gva_translate(&mem, &r, lin >> 12, 0, &out) != HV_STATUS_SUCCESS ||
	    HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result) != HV_TRANSLATE_GVA_SUCCESS)
		return false;
	*gpa = (out.gpa_page << 12) | (lin & 0xfff);
	vp->rcache_page = lin & ~0xfffull;
	vp->rcache_gpa = out.gpa_page << 12;
	vp->rcache_valid = true;
	return true;
}

/*
 * Linear -> GPA also where the GPA has no memory (the software walker reports only that):
 * the identity without paging, else KVM_TRANSLATE. For the MMIO paths only; one translation
 * is remembered until the next KVM_RUN.
 */
bool kvm_lin_to_gpa_any(struct sidecar_backend_vp *vp, uint64_t lin, uint64_t *gpa)
{
	if (!(vp->sregs.cr0 & X86_CR0_PG)) {
		*gpa = lin;
		return true;
	}
	if (!vp->tcache_valid || vp->tcache_page != (lin & ~0xfffull)) {
		struct kvm_translation t = {.linear_address = lin & ~0xfffull};
		if (xioctl(vp->fd, KVM_TRANSLATE, &t) || !t.valid)
			return false;
		vp->tcache_page = lin & ~0xfffull;
		vp->tcache_gpa = t.physical_address & ~0xfffull;
		vp->tcache_valid = true;
	}
	*gpa = vp->tcache_gpa | (lin & 0xfff);
	return true;
}

/* Reads guest bytes at a linear address; returns how many could be read (stops at the first
 * page that does not translate to RAM). */
size_t kvm_read_linear(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t lin, uint8_t *buf, size_t len)
{
	uint64_t wrap = mode == X86_MODE_LONG64 ? ~0ull : 0xffffffffull;
	size_t done = 0;

	while (done < len) {
		uint64_t a = (lin + done) & wrap, gpa;
		size_t chunk = (size_t)(PAGE_SIZE_4K - (a & 0xfff));
		if (chunk > len - done)
			chunk = len - done;
		if (!lin_to_gpa(vp, a, &gpa) || gpa + chunk > vp->be->cfg.mem_size)
			break;
		memcpy(buf + done, vp->be->cfg.mem + gpa, chunk);
		done += chunk;
	}
	return done;
}

/* Decodes the instruction at `ip` (an offset in CS). */
bool kvm_decode_at(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t ip, struct x86_insn *in)
{
	uint8_t b[X86_INSN_MAX_LEN];
	size_t n = kvm_read_linear(vp, mode, linear(&vp->sregs, mode, X86_SEG_CS, ip), b, sizeof(b));

	return n && x86_insn_decode(b, n, (enum x86_mode)mode, in);
}

/* The up to 15 bytes before `end_ip` (an offset in CS) into the tail of `b`, read backwards
 * page by page (the earlier page may not be mapped: only a suffix is then available).
 * Returns how many. */
size_t kvm_read_before(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip, uint8_t b[X86_INSN_MAX_LEN])
{
	uint64_t mask = ip_mask(mode);
	size_t have = 0;

	while (have < X86_INSN_MAX_LEN) {
		uint64_t lin = linear(&vp->sregs, mode, X86_SEG_CS, (end_ip - have - 1) & mask);
		size_t chunk = (size_t)(lin & 0xfff) + 1;
		if (chunk > X86_INSN_MAX_LEN - have)
			chunk = X86_INSN_MAX_LEN - have;
		size_t got = kvm_read_linear(vp, mode, lin - (chunk - 1), b + X86_INSN_MAX_LEN - have - chunk, chunk);
		if (got != chunk)
			break;
		have += chunk;
	}
	return have;
}

/*
 * The shortest instruction that ends exactly at `end_ip` and satisfies `match`, over the
 * bytes kvm_read_before() returned: each candidate start is decoded, nearest first.
 * Shortest, because a longer candidate only adds bytes that are either prefixes the
 * instruction does not need (a match tells them apart when they matter: operand size,
 * segment, REX) or the tail of the previous instruction. Nearest first also keeps the cost
 * down: a port I/O instruction is found after two or three decodes.
 */
bool kvm_decode_ending_in(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip,
			  const uint8_t b[X86_INSN_MAX_LEN], size_t have, insn_match_fn match, void *arg,
			  struct x86_insn *in, uint64_t *start)
{
	uint64_t mask = ip_mask(mode);

	for (size_t k = 1; k <= have; k++) {
		uint64_t s = (end_ip - k) & mask;
		if (!x86_insn_decode(b + X86_INSN_MAX_LEN - k, k, (enum x86_mode)mode, in) || in->len != k ||
		    !match(vp, in, s, arg))
			continue;
		/* Except for the mandatory prefixes of SSE instructions: 66/F2/F3 before a
		 * two- or three-byte opcode make it another instruction (F3 0F 7F is MOVDQU,
		 * 0F 7F an MMX MOVQ), so such a byte right before the match belongs to it. */
		while (in->map != X86_MAP_1BYTE && in->encoding == X86_ENC_LEGACY && k < have) {
			uint8_t p = b[X86_INSN_MAX_LEN - k - 1];
			struct x86_insn longer;
			if ((p != 0x66 && p != 0xf2 && p != 0xf3) ||
			    !x86_insn_decode(b + X86_INSN_MAX_LEN - k - 1, k + 1, (enum x86_mode)mode, &longer) ||
			    longer.len != k + 1 || !match(vp, &longer, (end_ip - k - 1) & mask, arg))
				break;
			*in = longer;
			k++;
		}
		*start = (end_ip - k) & mask;
		return true;
	}
	return false;
}

/* kvm_decode_ending_in() over the bytes before `end_ip`. */
bool kvm_decode_ending_at(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip, insn_match_fn match,
			  void *arg, struct x86_insn *in, uint64_t *start)
{
	uint8_t b[X86_INSN_MAX_LEN];
	size_t have = kvm_read_before(vp, mode, end_ip, b);

	return kvm_decode_ending_in(vp, mode, end_ip, b, have, match, arg, in, start);
}

/* Steps an index register back over `bytes` of the string operation (the state from before
 * the iterations KVM performed). */
uint64_t kvm_unstep(uint64_t reg, const struct x86_insn *in, uint64_t rflags, uint64_t bytes)
{
	uint64_t mask = x86_insn_addr_mask(in->addrsize);
	uint64_t v = (rflags & X86_RFLAGS_DF) ? reg + bytes : reg - bytes;

	/* 32-bit addressing in 64-bit code writes the whole register, zero-extended. */
	if (in->addrsize == 4 && in->mode == X86_MODE_LONG64)
		return v & mask;
	return (reg & ~mask) | (v & mask);
}

/* Adds `n` iterations back to a REP count register. */
uint64_t kvm_add_count(uint64_t rcx, const struct x86_insn *in, uint64_t n)
{
	uint64_t mask = x86_insn_addr_mask(in->addrsize);
	uint64_t v = rcx + n;

	if (in->addrsize == 4 && in->mode == X86_MODE_LONG64)
		return v & mask;
	return (rcx & ~mask) | (v & mask);
}
