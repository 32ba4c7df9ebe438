/* SPDX-License-Identifier: MIT */
/*
 * MMIO exits -> HV_MESSAGE_TYPE_UNMAPPED_GPA, and execution from GPAs without memory
 * (docs/kvm.md, "RIP reconciliation").
 *
 * KVM's emulator performs the access, and completing it would write the destination
 * register, RFLAGS, RIP and maybe more: the access is completed at once (run.c,
 * kvm_complete_io) with the bytes already at a RAM destination fed back, and the VP's state
 * from before the instruction is put back. A read is reported at RIP (KVM writes nothing back
 * before a read exit); a write is located by decoding and must explain the exit exactly
 * (mmio_write_match): the operand's address and size give the exit's GPA and length, a plain
 * move's data is its source's in full, a string store's registers are what it writes back.
 */
#include "kvm_internal.h"

#include <stdio.h>
#include <string.h>

struct mmio_exit {
	uint64_t gpa;
	uint8_t data[8];
	uint32_t len;
	bool write;
};

/* One MMIO exit being handled: the exit, and the VP as it was at the exit. */
struct mmio_ctx {
	struct mmio_exit x;
	unsigned int mode;
	uint64_t rip_exit;
	struct kvm_regs r0;
	struct kvm_sregs s0;
	struct kvm_vcpu_events e0;
	bool have_a;
	struct x86_insn a;                /* the instruction at RIP, if have_a */
	const struct mmio_pieces *pieces; /* a write's pieces, from its completion */
};

/* MOVS and STOS. */
static bool is_string_store(const struct x86_insn *in)
{
	return x86_insn_is(in, 0xa4) || x86_insn_is(in, 0xa5) || x86_insn_is(in, 0xaa) || x86_insn_is(in, 0xab);
}

/* MOVS, LODS and CMPS: string instructions that read DS:RSI. */
static bool is_string_source(const struct x86_insn *in)
{
	return x86_insn_is(in, 0xa4) || x86_insn_is(in, 0xa5) || x86_insn_is(in, 0xac) || x86_insn_is(in, 0xad) ||
	       x86_insn_is(in, 0xa6) || x86_insn_is(in, 0xa7);
}

static unsigned int string_elem(const struct x86_insn *in)
{
	return (in->opcode & 1) ? in->opsize : 1;
}

/* The explicit memory operand's address, once known (an operand decode costs as much as the
 * instruction's, so the one the match made is not made again). */
struct mmio_operand {
	bool valid;
	uint64_t ea;
	unsigned int seg;
};

struct mmio_match_arg {
	const struct mmio_pieces *pieces; /* the write, as KVM reported it */
	unsigned int mode;
	uint64_t rip_exit;
	struct sidecar_backend_vp *vp; /* the same VP, writable: translations are cached */
	struct mmio_operand op;        /* the last match's operand */
};

/* Whether `lin` is canonical: bits 63..47 (..56 with 5-level paging) all equal. */
static bool canonical(const struct sidecar_backend_vp *vp, uint64_t lin)
{
	unsigned int bits = (vp->sregs.cr4 & (1ull << 12)) ? 57 : 48; /* CR4.LA57 */

	return (uint64_t)((int64_t)(lin << (64 - bits)) >> (64 - bits)) == lin;
}

/*
 * Whether an access of `size` bytes at linear `lin` storing want[0..size) makes exactly the
 * write pieces KVM reported. KVM's emulator splits an access that crosses a
 * page in two; a part on a page with memory (RAM) is written at once, a part without is
 * reported in pieces of at most 8 bytes, in order. So the pieces must be those of the parts
 * without memory, at their GPAs, with the data at their offsets in the access.
 */
static bool mmio_access_is(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t lin, unsigned int size,
			   const uint8_t *want, const struct mmio_pieces *ps)
{
	uint64_t wrap = mode == X86_MODE_LONG64 ? ~0ull : 0xffffffffull;
	unsigned int first = (unsigned int)(PAGE_SIZE_4K - (lin & 0xfff)), total = 0, at = 0;

	if (first > size)
		first = size;
	/* The total first: a translation may be an ioctl. */
	for (unsigned int i = 0; i < ps->n; i++)
		total += ps->p[i].len;
	if (!size || (total != size && total != first && total != size - first))
		return false;
	for (unsigned int part = 0; part < 2; part++) {
		unsigned int off = part ? first : 0, len = part ? size - first : first;
		uint64_t gpa;
		if (!len)
			break;
		/* A non-canonical address faults (KVM_TRANSLATE would ignore the upper bits). */
		if (mode == X86_MODE_LONG64 && (!canonical(vp, lin + off) || !canonical(vp, lin + off + len - 1)))
			return false;
		if (!kvm_lin_to_gpa_any(vp, (lin + off) & wrap, &gpa))
			return false;
		if (gpa + len <= vp->be->cfg.mem_size)
			continue;
		for (unsigned int j = 0; j < len; j += 8) {
			unsigned int c = len - j < 8 ? len - j : 8;
			if (at == ps->n || ps->p[at].gpa != gpa + j || ps->p[at].len != c ||
			    memcmp(want + off + j, ps->p[at].data, c))
				return false;
			at++;
		}
	}
	return at == ps->n;
}

/* Whether condition code `cc` (the low nibble of Jcc's and SETcc's opcodes) holds. */
static bool condition(unsigned int cc, uint64_t rflags)
{
	bool cf = rflags & 0x1, pf = rflags & 0x4, zf = rflags & 0x40, sf = rflags & 0x80, of = rflags & 0x800;
	bool v;

	switch (cc >> 1) {
	case 0:
		v = of;
		break;
	case 1:
		v = cf;
		break;
	case 2:
		v = zf;
		break;
	case 3:
		v = cf || zf;
		break;
	case 4:
		v = sf;
		break;
	case 5:
		v = pf;
		break;
	case 6:
		v = sf != of;
		break;
	default:
		v = zf || sf != of;
		break;
	}
	return (cc & 1) ? !v : v;
}

/* The bytes a store takes from the VP's state (acc->src_*), into want[0..acc->size); false if
 * they are not known here (none described, an FP/SSE register without the FXSAVE image, an
 * operand over 16 bytes). */
static bool mmio_move_data(const struct sidecar_backend_vp *vp, const struct x86_mem_access *acc, const uint64_t g[16],
			   uint8_t want[16])
{
	uint8_t src[16] = {0};
	uint64_t v;

	if (acc->size > 16)
		return false;
	switch (acc->src_kind) {
	case X86_SRC_GPR:
		memcpy(src, &g[acc->src_reg], 8);
		break;
	case X86_SRC_IMM:
		memcpy(src, &acc->imm, 8);
		break;
	case X86_SRC_SREG:
		v = kvm_sreg_seg((struct kvm_sregs *)&vp->sregs, acc->src_reg)->selector;
		memcpy(src, &v, 8);
		break;
	case X86_SRC_GPR_BSWAP:
		for (unsigned int i = 0; i < acc->size && i < 8; i++)
			src[i] = (uint8_t)(g[acc->src_reg] >> (8 * (acc->size - 1 - i)));
		break;
	case X86_SRC_SETCC:
		src[0] = condition(acc->src_reg, vp->regs.rflags);
		break;
	case X86_SRC_CR0:
		memcpy(src, &vp->sregs.cr0, 8);
		break;
	case X86_SRC_FCW:
	case X86_SRC_FSW:
		if (!vp->fx_shadow_valid)
			return false;
		memcpy(src, acc->src_kind == X86_SRC_FCW ? &vp->fx_shadow.fcw : &vp->fx_shadow.fsw, 2);
		break;
	case X86_SRC_XMM:
		if (!vp->fx_shadow_valid)
			return false;
		memcpy(src, vp->fx_shadow.xmm[acc->src_reg], 16);
		break;
	case X86_SRC_MM:
		if (!vp->fx_shadow_valid)
			return false;
		/* MMn is physical register n; the image keeps them in stack order from TOP. */
		memcpy(src, vp->fx_shadow.st[(acc->src_reg - (vp->fx_shadow.fsw >> 11)) & 7], 8);
		break;
	default:
		return false;
	}
	if (acc->src_offset + acc->size > sizeof(src))
		return false;
	memcpy(want, src + acc->src_offset, acc->size);
	return true;
}

/*
 * A MOVS or STOS that wrote: its destination ES:RDI, its element size, its data (RAX's
 * bytes; for MOVS the source's, in RAM: KVM read it there, or the exit would have been a
 * read), and the registers KVM wrote back before the exit must be what this instruction leaves
 * (RDI, RSI and RCX zero-extended under 32-bit addressing in 64-bit code). A REP cannot be
 * behind RIP: KVM's emulator leaves RIP on a REP string instruction through the iteration that
 * takes the count to 0, and moves it only when the next one finds the count 0 (no access).
 */
static bool mmio_string_match(struct sidecar_backend_vp *vp, const struct x86_insn *in, uint64_t start,
			      const struct mmio_match_arg *a)
{
	const struct kvm_regs *r = &vp->regs;
	unsigned int n = string_elem(in);
	uint64_t amask = x86_insn_addr_mask(in->addrsize);
	bool movs = in->opcode <= 0xa5;
	uint8_t want[8];

	if (in->rep && start != a->rip_exit)
		return false;
	if (in->addrsize == 4 && a->mode == X86_MODE_LONG64 &&
	    ((r->rdi >> 32) || (movs && (r->rsi >> 32)) || (in->rep && (r->rcx >> 32))))
		return false;
	if (movs) {
		uint64_t rsi = kvm_unstep(r->rsi, in, r->rflags, n) & amask;
		unsigned int seg = in->seg != X86_SEG_NONE ? in->seg : X86_SEG_DS;
		if (kvm_read_linear(vp, a->mode, linear(&vp->sregs, a->mode, seg, rsi), want, n) != n)
			return false;
	} else {
		memcpy(want, &r->rax, 8);
	}
	uint64_t rdi = kvm_unstep(r->rdi, in, r->rflags, n) & amask;
	return mmio_access_is(vp, a->mode, linear(&vp->sregs, a->mode, X86_SEG_ES, rdi), n, want, a->pieces);
}

/*
 * Whether `in`, starting at `start`, is the write the exit reports, exactly: it writes its
 * memory operand without reading it, and the operand's address (segment, address size,
 * registers) and size make exactly the pieces KVM reported (mmio_access_is), with the data it
 * stores. KVM wrote RIP (and a string store's index registers) back before the exit; the
 * other registers are still the instruction's inputs. The stores KVM's emulator writes this
 * way all take their data from the VP's state (MOV and the SSE moves, SETcc, MOVBE, SMSW,
 * FNSTCW, FNSTSW): one whose data is not known here (an x87 store, which KVM cannot emulate)
 * does not match.
 */
static bool mmio_write_match(struct sidecar_backend_vp *cvp, const struct x86_insn *in, uint64_t start, void *arg)
{
	struct mmio_match_arg *a = arg;
	struct sidecar_backend_vp *vp = a->vp;
	struct x86_mem_access acc;
	uint64_t g[16];
	uint8_t want[16];

	(void)cvp; /* == vp */
	if (is_string_store(in))
		return mmio_string_match(vp, in, start, a);
	kvm_gprs_encoding_order(&vp->regs, g);
	/* Write-only: an instruction that reads its operand first exits for the read, and its
	 * write is part of completing that exit. */
	if (!x86_insn_mem_access(in, g, (start + in->len) & ip_mask(a->mode), &acc) || !acc.written || acc.read)
		return false;
	if (!mmio_move_data(vp, &acc, g, want) ||
	    !mmio_access_is(vp, a->mode, linear(&vp->sregs, a->mode, acc.seg, acc.ea), acc.size, want, a->pieces))
		return false;
	a->op = (struct mmio_operand){.valid = true, .ea = acc.ea, .seg = acc.seg};
	return true;
}

static void mmio_message(struct sidecar_backend_vp *vp, unsigned int mode, const struct mmio_exit *x, uint8_t access,
			 const struct x86_insn *in, uint64_t start, bool gva_valid, uint64_t gva,
			 const struct kvm_regs *pre, struct hv_message *msg)
{
	struct hv_x64_memory_intercept_message *m = (struct hv_x64_memory_intercept_message *)msg->payload;

	kvm_begin_message(msg, HV_MESSAGE_TYPE_UNMAPPED_GPA, sizeof(*m));
	kvm_fill_header(vp, &m->header, access, start, in ? in->len : 0);
	m->header.rflags = pre->rflags;
	m->cache_type = HV_CACHE_TYPE_UNCACHED;
	m->instruction_byte_count = in ? kvm_insn_bytes(vp, mode, start, in->len, m->instruction_bytes) : 0;
	if (gva_valid) {
		uint64_t gpa;
		m->memory_access_info = HV_X64_MEMORY_ACCESS_GVA_VALID;
		if (kvm_lin_to_gpa_any(vp, gva, &gpa) && gpa == x->gpa)
			m->memory_access_info |= HV_X64_MEMORY_ACCESS_GVA_GPA_VALID;
		m->guest_virtual_address = gva;
	}
	m->guest_physical_address = x->gpa;
}

/*
 * The write an MMIO exit reports, after the completion (RIP then at `rip_done`): its
 * instruction and start, and in *pre the registers from before it (a string store's index
 * and count registers stepped back when KVM had written them back). 0, or -EIO when no
 * instruction explains the exit.
 */
static int mmio_locate_write(struct sidecar_backend_vp *vp, struct mmio_ctx *c, uint64_t rip_done, struct x86_insn *b,
			     const struct x86_insn **inp, uint64_t *start, struct kvm_regs *pre,
			     struct mmio_operand *op, struct sidecar_command_error *err)
{
	struct mmio_match_arg arg = {.pieces = c->pieces, .mode = c->mode, .rip_exit = c->rip_exit, .vp = vp};
	struct kvm_regs done = vp->regs;
	const struct x86_insn *in = NULL;
	bool written_back = true;
	uint64_t b_start;

	vp->regs = c->r0; /* match against the state at the exit */
	if (rip_done != c->rip_exit && c->have_a) {
		in = &c->a; /* KVM finished it only now: it had not written back */
		written_back = false;
	} else if (c->have_a && c->a.rep && is_string_store(&c->a) && mmio_write_match(vp, &c->a, c->rip_exit, &arg)) {
		in = &c->a; /* an unfinished REP keeps RIP on the instruction */
	} else if (kvm_decode_ending_at(vp, c->mode, c->rip_exit, TIES_BY_FLOW, mmio_write_match, &arg, b, &b_start)) {
		in = b;
		*start = b_start;
		*op = arg.op; /* the operand of the last match, which is `in` */
	}
	vp->regs = done;
	if (!in) {
		kvm_set_err(err, "kvm: MMIO write to GPA %#llx at RIP %#llx: cannot find the instruction",
			    (unsigned long long)c->x.gpa, (unsigned long long)c->rip_exit);
		return -EIO;
	}
	if (written_back && is_string_store(in)) {
		unsigned int n = string_elem(in);
		pre->rdi = kvm_unstep(pre->rdi, in, c->r0.rflags, n);
		if (in->opcode <= 0xa5)
			pre->rsi = kvm_unstep(pre->rsi, in, c->r0.rflags, n);
		if (in->rep)
			pre->rcx = kvm_add_count(pre->rcx, in, 1);
	}
	*inp = in;
	return 0;
}

/* The GVA of the access, when the operand's address is known (the registers from before
 * the instruction, `pre`, with the segments at the exit). `op`: the operand, if the match
 * computed it already (from the same registers: only string stores' change). */
static bool mmio_gva(const struct mmio_ctx *c, const struct x86_insn *in, uint64_t start, const struct kvm_regs *pre,
		     const struct mmio_operand *op, uint64_t *gva)
{
	uint64_t gp[16], ea;
	unsigned int seg;

	kvm_gprs_encoding_order(pre, gp);
	if (is_string_store(in) || (!c->x.write && is_string_source(in))) {
		bool src = !c->x.write && is_string_source(in);
		uint64_t off = (src ? pre->rsi : pre->rdi) & x86_insn_addr_mask(in->addrsize);
		unsigned int sg = src ? (in->seg != X86_SEG_NONE ? in->seg : X86_SEG_DS) : X86_SEG_ES;
		*gva = linear(&c->s0, c->mode, sg, off);
		return true;
	}
	if (op->valid) {
		*gva = linear(&c->s0, c->mode, op->seg, op->ea);
		return true;
	}
	if (x86_insn_mem_operand(in, gp, (start + in->len) & ip_mask(c->mode), &ea, &seg)) {
		*gva = linear(&c->s0, c->mode, seg, ea);
		return true;
	}
	return false;
}

/* Puts the VP back as it was before the instruction: the completion retired it. */
static void mmio_restore(struct sidecar_backend_vp *vp, const struct mmio_ctx *c, const struct kvm_regs *pre)
{
	vp->regs = *pre;
	vp->dirty |= KVM_SYNC_X86_REGS;
	if (memcmp(&vp->sregs, &c->s0, sizeof(c->s0))) {
		vp->sregs = c->s0;
		vp->dirty |= KVM_SYNC_X86_SREGS;
	}
	if (memcmp(&vp->events, &c->e0, sizeof(c->e0))) {
		vp->events = c->e0;
		vp->dirty |= KVM_SYNC_X86_EVENTS;
	}
	vp->fx_shadow_valid = false;
}

int kvm_handle_mmio(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		    bool *fpu_stored, struct sidecar_command_error *err)
{
	const struct kvm_run *run = vp->run;
	struct mmio_pieces pieces; /* not zeroed: kvm_complete_io fills what is read */
	struct mmio_ctx c = {
		.x = {.gpa = run->mmio.phys_addr, .len = run->mmio.len, .write = run->mmio.is_write},
		.mode = kvm_code_mode(vp),
		.rip_exit = vp->regs.rip,
		.r0 = vp->regs,
		.s0 = vp->sregs,
		.e0 = vp->events,
		.pieces = &pieces,
	};
	struct completion_fill fill = {.have = false};
	int rc;

	c.have_a = kvm_decode_at(vp, c.mode, c.rip_exit, &c.a);
	memcpy(c.x.data, run->mmio.data, sizeof(c.x.data));

	/* The completion may load the destination into an FP/SSE register: take the FXSAVE
	 * state from before it, and have the context's loaded again at the next run. */
	rc = kvm_store_fpu(vp, ctx, err);
	if (rc)
		return rc;
	*fpu_stored = true;

	if (!c.x.write && c.have_a && (x86_insn_is(&c.a, 0xa4) || x86_insn_is(&c.a, 0xa5))) {
		/* MOVS from MMIO: KVM's emulator stores the data at ES:RDI; give it the bytes
		 * that are there. */
		uint64_t rdi = c.r0.rdi & x86_insn_addr_mask(c.a.addrsize);
		size_t n = c.x.len < 8 ? c.x.len : 8;
		fill.have = kvm_read_linear(vp, c.mode, linear(&c.s0, c.mode, X86_SEG_ES, rdi), fill.data, n) == n;
	}
	rc = kvm_complete_io(vp, &fill, &pieces, err);
	if (rc)
		return rc;

	/* KVM writes nothing back before a read: the exit state is the one from before the
	 * instruction. */
	const struct x86_insn *in = c.have_a ? &c.a : NULL;
	uint64_t start = c.rip_exit, gva = 0;
	struct kvm_regs pre = c.r0;
	struct x86_insn b;
	struct mmio_operand op = {.valid = false};
	if (c.x.write) {
		rc = mmio_locate_write(vp, &c, vp->regs.rip, &b, &in, &start, &pre, &op, err);
		if (rc)
			return rc;
	}
	pre.rip = start;
	bool gva_valid = in && mmio_gva(&c, in, start, &pre, &op, &gva);
	mmio_restore(vp, &c, &pre);

	mmio_message(vp, c.mode, &c.x, c.x.write ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ, in, start,
		     gva_valid, gva, &pre, msg);
	if (!in) {
		kvm_set_err(err, "kvm: MMIO read of GPA %#llx at RIP %#llx: cannot decode the instruction",
			    (unsigned long long)c.x.gpa, (unsigned long long)c.rip_exit);
		return -EIO;
	}
	return SIDECAR_RUN_INTERCEPT;
}

/*
 * KVM cannot fetch instructions from a GPA without memory: its emulator fails. When that is
 * what happened (RIP translates outside RAM), it is Hyper-V's unmapped-GPA execute intercept;
 * anything else is a run error.
 */
int kvm_handle_internal_error(struct sidecar_backend_vp *vp, struct hv_message *msg, struct sidecar_command_error *err)
{
	const struct kvm_run *run = vp->run;
	unsigned int mode = kvm_code_mode(vp);
	uint64_t lin = linear(&vp->sregs, mode, X86_SEG_CS, vp->regs.rip);

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		struct kvm_translation t = {.linear_address = lin};
		if (xioctl(vp->fd, KVM_TRANSLATE, &t) == 0 && t.valid && t.physical_address >= vp->be->cfg.mem_size) {
			struct mmio_exit x = {.gpa = t.physical_address};
			mmio_message(vp, mode, &x, HV_INTERCEPT_ACCESS_EXECUTE, NULL, vp->regs.rip, true, lin,
				     &vp->regs, msg);
			return SIDECAR_RUN_INTERCEPT;
		}
	}
	char data[96] = "";
	size_t used = 0;
	for (uint32_t i = 0; i < run->internal.ndata && i < 4 && used < sizeof(data); i++)
		used += (size_t)snprintf(data + used, sizeof(data) - used, " %#llx",
					 (unsigned long long)run->internal.data[i]);
	kvm_set_err(err, "kvm: internal error (suberror %u) at RIP %#llx, data:%s", run->internal.suberror,
		    (unsigned long long)vp->regs.rip, data);
	return -EIO;
}
