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

/* ---- which of the instructions that end at RIP ran --------------------------------------- */

/* How far the flow from the entry is followed (flow_pick): decodes, and bytes either side of
 * the exit's RIP. Enough for the straight or looping code of a driver between two of its
 * exits; a longer way is not looked for. */
#define FLOW_DECODES 16
#define FLOW_WINDOW 4096

/* The addresses execution may continue at after `in` at `ip`: the next instruction unless `in`
 * never falls through (JMP, RET, IRET, UD2, SYSRET...), and a direct branch's target. An
 * indirect target is not known and not followed. Returns how many, into next[0..2). */
static unsigned int flow_next(const struct x86_insn *in, uint64_t ip, uint64_t mask, uint64_t next[2])
{
	uint64_t fall = (ip + in->len) & mask;
	bool falls = true, branch = false;
	uint8_t op = in->opcode;
	unsigned int n = 0;

	if (in->encoding == X86_ENC_LEGACY && in->map == X86_MAP_1BYTE) {
		if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || op == 0xe8) {
			branch = true; /* Jcc, LOOPcc, JrCXZ, CALL */
		} else if (op == 0xe9 || op == 0xeb) {
			branch = true;
			falls = false;
		} else if (op == 0xc2 || op == 0xc3 || op == 0xca || op == 0xcb || op == 0xcf || op == 0xea) {
			falls = false;
		} else if (op == 0xff) {
			unsigned int r = (in->modrm >> 3) & 7;
			falls = r != 4 && r != 5; /* JMP r/m, JMP far m */
		}
	} else if (in->encoding == X86_ENC_LEGACY && in->map == X86_MAP_0F) {
		if (op >= 0x80 && op <= 0x8f)
			branch = true;
		else if (op == 0x0b || op == 0xb9 || op == 0xff || op == 0x07 || op == 0x34 || op == 0x35)
			falls = false; /* UD2, UD1, UD0, SYSRET, SYSENTER, SYSEXIT */
	}
	if (falls)
		next[n++] = fall;
	if (branch && in->imm_size) {
		uint64_t t = (fall + (uint64_t)x86_insn_sext(in->imm, in->imm_size)) & mask;
		next[n++] = in->opsize == 2 ? t & 0xffff : t; /* a 16-bit branch wraps IP */
	}
	return n;
}

/* Whether `a` is within FLOW_WINDOW bytes of `b`, either way round. */
static bool flow_near(uint64_t a, uint64_t b, uint64_t mask)
{
	return ((a - b) & mask) <= FLOW_WINDOW || ((b - a) & mask) <= FLOW_WINDOW;
}

/*
 * Which of the candidates cand[0..n) (all ending at `end_ip`) starts at an instruction
 * boundary the guest's code itself shows, or -1. The RIP at which the VP last entered
 * KVM_RUN is one (the guest executed from it), and so is every address execution can reach
 * from there by falling through or a direct branch: the code is decoded forward along those
 * ways, breadth first, and the first candidate start reached wins. A candidate that starts
 * inside an instruction on the way (its first byte the tail of that instruction) is never
 * reached. Only code that jumps into the middle of its own instructions defeats this, and an
 * event delivered at the entry (an interrupt handler that exits before returning) only
 * leaves the start undecided.
 */
static int flow_pick(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip, const struct x86_insn *cand,
		     size_t n)
{
	uint64_t mask = ip_mask(mode);
	uint64_t todo[2 * FLOW_DECODES + 1];
	size_t head = 0, tail = 0;
	unsigned int decodes = 0;

	if (!vp->entry_valid || vp->entry_mode != mode || vp->entry_cs_base != vp->sregs.cs.base)
		return -1;
	todo[tail++] = vp->entry_rip & mask;
	while (head < tail) {
		uint64_t ip = todo[head++], next[2];
		struct x86_insn x;

		for (size_t i = 0; i < n; i++)
			if (ip == ((end_ip - cand[i].len) & mask))
				return (int)i;
		if (decodes == FLOW_DECODES || !flow_near(ip, end_ip, mask))
			continue;
		decodes++;
		if (!kvm_decode_at(vp, mode, ip, &x))
			continue;
		unsigned int nn = flow_next(&x, ip, mask, next);
		for (unsigned int j = 0; j < nn; j++) {
			bool seen = false;
			for (size_t t = 0; t < tail && !seen; t++)
				seen = todo[t] == next[j];
			if (!seen && tail < sizeof(todo) / sizeof(todo[0]))
				todo[tail++] = next[j];
		}
	}
	return -1;
}

/*
 * Which of the candidates to take by their bytes alone (no boundary known): the shortest,
 * unless a longer one's extra first byte is a mandatory prefix, which makes it another
 * instruction in a way the exit may not show (F3 0F 7F is MOVDQU, 0F 7F an MMX MOVQ; both
 * store 8 bytes first, and the registers may hold the same bytes); then the longest such.
 * Any other prefix the candidates differ in has no effect that this exit shows (the match is
 * exact), and such a byte is far more often the last byte of the previous instruction than a
 * redundant prefix: docs/kvm.md, "RIP reconciliation", has the measurement.
 */
static size_t bytes_pick(const struct x86_insn *cand, size_t n)
{
	for (size_t i = n - 1; i > 0; i--)
		if (cand[i].mandatory != cand[i - 1].mandatory)
			return i;
	return 0;
}

/*
 * The instruction that ends exactly at `end_ip` and satisfies `match`, over the bytes
 * kvm_read_before() returned. `match` must be exact (the instruction explains everything the
 * exit shows); the candidates are decoded nearest first. Several may match: the shortest,
 * and the same instruction with prefix bytes in front of it (a prefix the exit cannot see, or
 * the previous instruction's last byte that happens to be a prefix value). Those are all
 * collected (a byte that is no prefix, or a longer decode that does not match, ends them) and
 * one is chosen: by the code's flow from the VP's entry (flow_pick) when `ties` allows it,
 * else by the bytes (bytes_pick). Candidates that differ otherwise (one starting inside
 * another's displacement or immediate) are not looked for past the first match: an exact
 * match there is a store of the same size to the same address with the same data encoded in
 * another instruction's tail. The last call of `match` is for the instruction returned, so
 * that what a match computes on the side is that instruction's.
 */
bool kvm_decode_ending_in(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip,
			  const uint8_t b[X86_INSN_MAX_LEN], size_t have, enum locate_ties ties, insn_match_fn match,
			  void *arg, struct x86_insn *in, uint64_t *start)
{
	uint64_t mask = ip_mask(mode);
	struct x86_insn cand[X86_INSN_MAX_LEN];
	size_t n = 0, k;
	bool last_matched = true;

	/* The shortest goes straight into *in: most exits have no other candidate. */
	for (k = 1; k <= have; k++) {
		if (x86_insn_decode(b + X86_INSN_MAX_LEN - k, k, (enum x86_mode)mode, in) && in->len == k &&
		    match(vp, in, (end_ip - k) & mask, arg))
			break;
	}
	if (k > have)
		return false;
	*start = (end_ip - k) & mask;
	for (k++; k <= have && x86_is_prefix(b[X86_INSN_MAX_LEN - k], (enum x86_mode)mode); k++) {
		struct x86_insn *c = &cand[n + 1];
		if (!x86_insn_decode(b + X86_INSN_MAX_LEN - k, k, (enum x86_mode)mode, c) || c->len != k)
			break;
		if (!match(vp, c, (end_ip - k) & mask, arg)) {
			/* A prefix that makes the instruction not match: no byte before it can
			 * undo that (a later segment or REP prefix wins, 66 and 67 do not toggle,
			 * a REX not right before the opcode is ignored). */
			last_matched = false;
			break;
		}
		if (n++ == 0)
			cand[0] = *in;
	}
	if (n == 0) {
		if (!last_matched)
			(void)match(vp, in, *start, arg);
		return true;
	}
	n++; /* cand[0..n): the shortest and its prefixed forms */
	int f = ties == TIES_BY_FLOW ? flow_pick(vp, mode, end_ip, cand, n) : -1;
	size_t pick = f >= 0 ? (size_t)f : bytes_pick(cand, n);
	*in = cand[pick];
	*start = (end_ip - in->len) & mask;
	if (pick != n - 1 || !last_matched)
		(void)match(vp, in, *start, arg);
	return true;
}

/* kvm_decode_ending_in() over the bytes before `end_ip`. */
bool kvm_decode_ending_at(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip, enum locate_ties ties,
			  insn_match_fn match, void *arg, struct x86_insn *in, uint64_t *start)
{
	uint8_t b[X86_INSN_MAX_LEN];
	size_t have = kvm_read_before(vp, mode, end_ip, b);

	return kvm_decode_ending_in(vp, mode, end_ip, b, have, ties, match, arg, in, start);
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
