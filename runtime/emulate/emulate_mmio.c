/* SPDX-License-Identifier: MIT */
/*
 * Memory (MMIO) intercepts: the instruction's bytes are decoded with Zydis, classified into
 * one of a few shapes (a store, a load with its extension, an ALU operation on memory or on a
 * register with a memory source, a bit test, an exchange, a string instruction), its
 * accesses performed through the VMM's device callbacks (or guest RAM for the other side of
 * a MOVS), and the instruction completed: destination register, flags, RIP.
 */
#include "emulate_internal.h"

#include <Zydis/Zydis.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum shape {
	SHAPE_STORE,   /* MOV mem, reg/imm/Sreg */
	SHAPE_LOAD,    /* MOV/MOVZX/MOVSX/MOVSXD reg, mem */
	SHAPE_ALU_MEM, /* ALU mem, reg/imm (CMP/TEST: no write back) */
	SHAPE_ALU_REG, /* ALU reg, mem (CMP: no write back) */
	SHAPE_ALU1,    /* INC/DEC/NEG/NOT mem */
	SHAPE_BT,      /* BT* mem, reg/imm */
	SHAPE_XCHG,    /* XCHG mem, reg */
	SHAPE_MOVS,
	SHAPE_STOS,
	SHAPE_LODS,
};

struct gpr_ref {
	uint8_t idx;  /* 0..15 */
	uint8_t size; /* bytes */
	bool high8;
};

struct mmio_insn {
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	enum shape shape;
	enum emu_alu alu;
	const ZydisDecodedOperand *mem; /* the memory operand (the source of MOVS) */
	const ZydisDecodedOperand *src; /* the register/immediate/Sreg operand, or NULL */
	struct gpr_ref reg;             /* src or destination register, when one */
	bool has_reg;
	unsigned int size;      /* bytes per memory access */
	bool sign_extend;       /* SHAPE_LOAD */
	bool alu_writes;        /* the ALU result is stored */
	bool rep;               /* string shapes */
	enum emu_seg str_seg;   /* the source segment of MOVS/LODS */
	unsigned int addr_bits; /* 16, 32, 64 */
};

static bool gpr_of(ZydisRegister r, struct gpr_ref *g)
{
	int id = ZydisRegisterGetId(r);

	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
		g->size = 1;
		g->high8 = id >= 4 && id < 8;
		g->idx = (uint8_t)(id < 4 ? id : id - 4); /* AH..BH: 4..7; SPL..R15B: 8..19 */
		return true;
	case ZYDIS_REGCLASS_GPR16:
		g->size = 2;
		break;
	case ZYDIS_REGCLASS_GPR32:
		g->size = 4;
		break;
	case ZYDIS_REGCLASS_GPR64:
		g->size = 8;
		break;
	default:
		return false;
	}
	g->high8 = false;
	g->idx = (uint8_t)id;
	return id >= 0 && id < 16;
}

static int seg_of(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES:
		return EMU_ES;
	case ZYDIS_REGISTER_CS:
		return EMU_CS;
	case ZYDIS_REGISTER_SS:
		return EMU_SS;
	case ZYDIS_REGISTER_DS:
		return EMU_DS;
	case ZYDIS_REGISTER_FS:
		return EMU_FS;
	case ZYDIS_REGISTER_GS:
		return EMU_GS;
	default:
		return -1;
	}
}

static int reg_read(struct emu_cpu *c, const struct gpr_ref *g, uint64_t *v)
{
	uint64_t x;
	int rc = emu_gpr_read(c, g->idx, &x);
	if (rc)
		return rc;
	*v = (g->high8 ? x >> 8 : x) & emu_mask(g->size);
	return 0;
}

/* The printable instruction, for error messages. */
static void describe(const struct mmio_insn *m, uint64_t rip, char *buf, size_t len)
{
	ZydisFormatter f;

	if (ZYAN_FAILED(ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_INTEL)) ||
	    ZYAN_FAILED(ZydisFormatterFormatInstruction(&f, &m->in, m->ops, m->in.operand_count_visible, buf, len, rip,
							NULL)))
		snprintf(buf, len, "%s", ZydisMnemonicGetString(m->in.mnemonic));
}

static int unsupported(struct emu_cpu *c, const struct mmio_insn *m, const char *why)
{
	char text[96];

	describe(m, c->rip, text, sizeof(text));
	if (why)
		return emu_fail(c->e, -ENOTSUP, "unsupported instruction: %s (%s)", text, why);
	return emu_fail(c->e, -ENOTSUP, "unsupported instruction: %s", text);
}

static ZydisMachineMode machine_mode(const struct emu_cpu *c)
{
	if (c->code_bits == 64)
		return ZYDIS_MACHINE_MODE_LONG_64;
	if (c->code_bits == 32)
		return c->long_mode ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32 : ZYDIS_MACHINE_MODE_LEGACY_32;
	if (!c->protected_mode || (c->rflags & EMU_FL_VM))
		return ZYDIS_MACHINE_MODE_REAL_16;
	return c->long_mode ? ZYDIS_MACHINE_MODE_LONG_COMPAT_16 : ZYDIS_MACHINE_MODE_LEGACY_16;
}

static bool is_string(const ZydisDecodedInstruction *in, uint8_t lo, uint8_t hi)
{
	/* The string forms only (ZYDIS_MNEMONIC_MOVSD is also the SSE move). */
	return in->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && (in->opcode == lo || in->opcode == hi);
}

/* Decodes and classifies; -ENOTSUP (with the error set) for anything not emulated. */
static int analyze(struct emu_cpu *c, const uint8_t *bytes, unsigned int n, struct mmio_insn *m)
{
	ZydisDecoder dec;
	ZydisMachineMode mode = machine_mode(c);
	ZydisStackWidth sw = c->code_bits == 64   ? ZYDIS_STACK_WIDTH_64
			     : c->code_bits == 32 ? ZYDIS_STACK_WIDTH_32
						  : ZYDIS_STACK_WIDTH_16;

	ZydisDecoderContext zctx;
	if (ZYAN_FAILED(ZydisDecoderInit(&dec, mode, sw)) ||
	    ZYAN_FAILED(ZydisDecoderDecodeInstruction(&dec, &zctx, bytes, n, &m->in)) ||
	    ZYAN_FAILED(ZydisDecoderDecodeOperands(&dec, &zctx, &m->in, m->ops, m->in.operand_count_visible))) {
		char hex[16 * 3 + 1] = "";
		for (unsigned int i = 0; i < n && i < 16; i++)
			snprintf(hex + 3 * i, 4, "%02x ", bytes[i]);
		if (n)
			hex[3 * (n < 16 ? n : 16) - 1] = 0;
		return emu_fail(c->e, -ENOTSUP, "cannot decode the instruction at RIP %#llx: %s",
				(unsigned long long)c->rip, hex);
	}
	if (c->len && m->in.length != c->len)
		return emu_fail(c->e, -EINVAL, "the message's instruction length %u is not the decoded one's (%u)",
				c->len, m->in.length);

	const ZydisDecodedInstruction *in = &m->in;
	const ZydisDecodedOperand *o = m->ops;
	unsigned int vis = in->operand_count_visible;
	int memi = -1;

	for (unsigned int i = 0; i < vis; i++)
		if (o[i].type == ZYDIS_OPERAND_TYPE_MEMORY && memi < 0)
			memi = (int)i;
	m->src = NULL;
	m->has_reg = false;
	m->sign_extend = false;
	m->alu_writes = true;
	m->rep = false;
	m->addr_bits = in->address_width;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVSB:
	case ZYDIS_MNEMONIC_MOVSW:
	case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_MOVSQ:
		if (!is_string(in, 0xa4, 0xa5))
			return unsupported(c, m, NULL);
		m->shape = SHAPE_MOVS;
		goto string;
	case ZYDIS_MNEMONIC_STOSB:
	case ZYDIS_MNEMONIC_STOSW:
	case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_STOSQ:
		m->shape = SHAPE_STOS;
		goto string;
	case ZYDIS_MNEMONIC_LODSB:
	case ZYDIS_MNEMONIC_LODSW:
	case ZYDIS_MNEMONIC_LODSD:
	case ZYDIS_MNEMONIC_LODSQ:
		m->shape = SHAPE_LODS;
string:
		m->size = in->operand_width / 8;
		m->rep = in->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
		m->mem = NULL;
		/* The source (DS) takes a segment override; the destination is always ES. */
		m->str_seg = (in->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_FS)   ? EMU_FS
			     : (in->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS) ? EMU_GS
			     : (in->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_ES) ? EMU_ES
			     : (in->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_CS) ? EMU_CS
			     : (in->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_SS) ? EMU_SS
									      : EMU_DS;
		m->reg.idx = 0;
		m->reg.size = (uint8_t)m->size;
		m->reg.high8 = false;
		m->has_reg = m->shape != SHAPE_MOVS;
		return 0;
	default:
		break;
	}

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD:
	case ZYDIS_MNEMONIC_ADD:
	case ZYDIS_MNEMONIC_OR:
	case ZYDIS_MNEMONIC_ADC:
	case ZYDIS_MNEMONIC_SBB:
	case ZYDIS_MNEMONIC_AND:
	case ZYDIS_MNEMONIC_SUB:
	case ZYDIS_MNEMONIC_XOR:
	case ZYDIS_MNEMONIC_CMP:
	case ZYDIS_MNEMONIC_TEST:
	case ZYDIS_MNEMONIC_BT:
	case ZYDIS_MNEMONIC_BTS:
	case ZYDIS_MNEMONIC_BTR:
	case ZYDIS_MNEMONIC_BTC:
	case ZYDIS_MNEMONIC_INC:
	case ZYDIS_MNEMONIC_DEC:
	case ZYDIS_MNEMONIC_NEG:
	case ZYDIS_MNEMONIC_NOT:
	case ZYDIS_MNEMONIC_XCHG:
		break;
	default:
		return unsupported(c, m, NULL);
	}
	if (memi < 0)
		return unsupported(c, m, "no memory operand");
	m->mem = &o[memi];
	m->size = o[memi].size / 8;
	if (m->size != 1 && m->size != 2 && m->size != 4 && m->size != 8)
		return unsupported(c, m, "operand size");
	int other = vis >= 2 ? (memi == 0 ? 1 : 0) : -1;
	if (other >= 0) {
		m->src = &o[other];
		if (o[other].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			m->has_reg = gpr_of(o[other].reg.value, &m->reg);
			if (!m->has_reg && !(in->mnemonic == ZYDIS_MNEMONIC_MOV && seg_of(o[other].reg.value) >= 0))
				return unsupported(c, m, NULL);
		} else if (o[other].type != ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			return unsupported(c, m, NULL);
		}
	}
	bool imm = m->src && m->src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
		if (vis != 2)
			return unsupported(c, m, NULL);
		if (memi == 0) {
			m->shape = SHAPE_STORE;
		} else {
			if (!m->has_reg)
				return unsupported(c, m, "a segment register load");
			m->shape = SHAPE_LOAD;
		}
		return 0;
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD:
		if (vis != 2 || memi != 1 || !m->has_reg)
			return unsupported(c, m, NULL);
		m->shape = SHAPE_LOAD;
		m->sign_extend = in->mnemonic != ZYDIS_MNEMONIC_MOVZX;
		return 0;
	case ZYDIS_MNEMONIC_ADD:
		m->alu = EMU_ALU_ADD;
		break;
	case ZYDIS_MNEMONIC_OR:
		m->alu = EMU_ALU_OR;
		break;
	case ZYDIS_MNEMONIC_ADC:
		m->alu = EMU_ALU_ADC;
		break;
	case ZYDIS_MNEMONIC_SBB:
		m->alu = EMU_ALU_SBB;
		break;
	case ZYDIS_MNEMONIC_AND:
		m->alu = EMU_ALU_AND;
		break;
	case ZYDIS_MNEMONIC_SUB:
		m->alu = EMU_ALU_SUB;
		break;
	case ZYDIS_MNEMONIC_XOR:
		m->alu = EMU_ALU_XOR;
		break;
	case ZYDIS_MNEMONIC_CMP:
		m->alu = EMU_ALU_CMP;
		m->alu_writes = false;
		break;
	case ZYDIS_MNEMONIC_TEST:
		m->alu = EMU_ALU_TEST;
		m->alu_writes = false;
		break;
	case ZYDIS_MNEMONIC_BT:
		m->alu = EMU_ALU_BT;
		m->alu_writes = false;
		goto bt;
	case ZYDIS_MNEMONIC_BTS:
		m->alu = EMU_ALU_BTS;
		goto bt;
	case ZYDIS_MNEMONIC_BTR:
		m->alu = EMU_ALU_BTR;
		goto bt;
	case ZYDIS_MNEMONIC_BTC:
		m->alu = EMU_ALU_BTC;
bt:
		if (vis != 2 || memi != 0 || m->size == 1)
			return unsupported(c, m, NULL);
		m->shape = SHAPE_BT;
		return 0;
	case ZYDIS_MNEMONIC_INC:
		m->alu = EMU_ALU_INC;
		goto alu1;
	case ZYDIS_MNEMONIC_DEC:
		m->alu = EMU_ALU_DEC;
		goto alu1;
	case ZYDIS_MNEMONIC_NEG:
		m->alu = EMU_ALU_NEG;
		goto alu1;
	case ZYDIS_MNEMONIC_NOT:
		m->alu = EMU_ALU_NOT;
alu1:
		if (vis != 1)
			return unsupported(c, m, NULL);
		m->shape = SHAPE_ALU1;
		return 0;
	case ZYDIS_MNEMONIC_XCHG:
		if (vis != 2 || !m->has_reg)
			return unsupported(c, m, NULL);
		m->shape = SHAPE_XCHG;
		return 0;
	default:
		return unsupported(c, m, NULL);
	}
	/* The two-operand ALU group. */
	if (vis != 2 || (!m->has_reg && !imm))
		return unsupported(c, m, NULL);
	m->shape = memi == 0 ? SHAPE_ALU_MEM : SHAPE_ALU_REG;
	return 0;
}

/* The offset part of a memory operand (before the segment), in the address size. */
static int mem_offset(struct emu_cpu *c, const struct mmio_insn *m, const ZydisDecodedOperand *op, uint64_t *ea)
{
	struct gpr_ref g;
	uint64_t v;
	int rc;

	*ea = (uint64_t)op->mem.disp.value;
	if (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP) {
		*ea += c->rip + m->in.length;
	} else if (op->mem.base != ZYDIS_REGISTER_NONE) {
		if (!gpr_of(op->mem.base, &g))
			return unsupported(c, m, "base register");
		if ((rc = reg_read(c, &g, &v)))
			return rc;
		*ea += v;
	}
	if (op->mem.index != ZYDIS_REGISTER_NONE) {
		if (!gpr_of(op->mem.index, &g))
			return unsupported(c, m, "index register");
		if ((rc = reg_read(c, &g, &v)))
			return rc;
		*ea += v * (op->mem.scale ? op->mem.scale : 1);
	}
	*ea &= emu_mask(m->addr_bits / 8);
	return 0;
}

static int mem_segment(struct emu_cpu *c, const struct mmio_insn *m, const ZydisDecodedOperand *op, uint64_t *base)
{
	int s = seg_of(op->mem.segment);
	if (s < 0)
		return unsupported(c, m, "segment");
	return emu_seg_base(c, (enum emu_seg)s, base);
}

static uint64_t sext(uint64_t v, unsigned int size)
{
	unsigned int sh = 64 - 8 * size;
	return size >= 8 ? v : (uint64_t)((int64_t)(v << sh) >> sh);
}

/* The value of the source operand (register, immediate or segment selector). */
static int src_value(struct emu_cpu *c, const struct mmio_insn *m, unsigned int size, uint64_t *v)
{
	const ZydisDecodedOperand *s = m->src;

	if (s->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		*v = s->imm.value.u & emu_mask(size); /* already sign-extended by the decoder */
		return 0;
	}
	if (m->has_reg)
		return reg_read(c, &m->reg, v);
	/* MOV mem, Sreg: the selector. */
	int seg = seg_of(s->reg.value);
	if (c->page) {
		*v = c->page->segment[seg].selector;
		return 0;
	}
	static const uint32_t names[EMU_NSEG] = {HV_X64_REGISTER_ES, HV_X64_REGISTER_CS, HV_X64_REGISTER_SS,
						 HV_X64_REGISTER_DS, HV_X64_REGISTER_FS, HV_X64_REGISTER_GS};
	struct hv_register_assoc r;
	memset(&r, 0, sizeof(r));
	r.name = names[seg];
	int rc = sidecar_vp_get_registers(c->e->vp, 0, &r, 1);
	if (rc)
		return emu_fail(c->e, rc, "reading a segment register: %s", sidecar_strerror(rc));
	*v = r.value.segment.selector;
	return 0;
}

/* The linear address of the (single) memory operand; BT with a register offset addresses
 * the operand-sized unit holding the bit (the offset is signed), *bit gets the bit within. */
static int operand_la(struct emu_cpu *c, const struct mmio_insn *m, uint64_t *la, uint64_t *bit)
{
	uint64_t ea, base;
	int rc = mem_offset(c, m, m->mem, &ea);
	if (rc)
		return rc;
	if (m->shape == SHAPE_BT) {
		uint64_t off;
		unsigned int bits = m->size * 8;
		if ((rc = src_value(c, m, m->size, &off)))
			return rc;
		if (m->src->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			/* floor(offset / bits) units of the operand size (an arithmetic shift). */
			int64_t unit = (int64_t)sext(off, m->size) >> __builtin_ctz(bits);
			ea = (ea + (uint64_t)unit * m->size) & emu_mask(m->addr_bits / 8);
		}
		*bit = off & (bits - 1);
	}
	if ((rc = mem_segment(c, m, m->mem, &base)))
		return rc;
	*la = base + ea;
	return 0;
}

/* The intercepted access was made through the operand at `la`: its GPA is the message's.
 * This holds whatever the message says about the GVA (which a hypervisor may report for
 * the unadjusted operand, e.g. BT with a bit offset), so the page is known without a
 * translation. A different page offset means the message reports another part of the
 * access (a second fragment): then the translation decides. */
static void seed_operand(struct emu_cpu *c, uint64_t la)
{
	if (!c->long_mode)
		la = (uint32_t)la;
	if (((la ^ c->msg_gpa) & 0xfff) == 0)
		emu_tlb_seed(c, la, c->msg_gpa);
}

static uint64_t step(uint64_t reg, unsigned int abits, int64_t delta)
{
	uint64_t v = reg + (uint64_t)delta;
	if (abits == 16)
		return (reg & ~0xffffull) | (v & 0xffff);
	return abits == 32 ? (uint32_t)v : v;
}

static int run_string(struct emu_cpu *c, const struct mmio_insn *m)
{
	struct sidecar_cpu_context_x64 *ctx = c->ctx;
	unsigned int ab = m->addr_bits, size = m->size;
	uint64_t amask = emu_mask(ab / 8);
	uint64_t src_base = 0, dst_base = 0;
	int rc;

	if (m->shape != SHAPE_STOS && (rc = emu_seg_base(c, m->str_seg, &src_base)))
		return rc;
	if (m->shape != SHAPE_LODS && (rc = emu_seg_base(c, EMU_ES, &dst_base)))
		return rc;
	/* The intercepted operand: the source of a read, the destination of a write. */
	if (m->shape == SHAPE_LODS || (m->shape == SHAPE_MOVS && c->msg_access == HV_INTERCEPT_ACCESS_READ))
		seed_operand(c, src_base + (ctx->gps[SIDECAR_CPU_CONTEXT_RSI] & amask));
	else
		seed_operand(c, dst_base + (ctx->gps[SIDECAR_CPU_CONTEXT_RDI] & amask));
	int64_t delta = (c->rflags & EMU_FL_DF) ? -(int64_t)size : (int64_t)size;
	uint64_t count = m->rep ? ctx->gps[SIDECAR_CPU_CONTEXT_RCX] & amask : 1;
	uint64_t limit = c->e->max_rep ? c->e->max_rep : ~0ull;

	for (uint64_t i = 0; i < count && i < limit; i++) {
		uint64_t v = 0;
		uint64_t rsi = ctx->gps[SIDECAR_CPU_CONTEXT_RSI], rdi = ctx->gps[SIDECAR_CPU_CONTEXT_RDI];
		uint64_t gpa, dst = dst_base + (rdi & amask);
		/* The destination's translation first: a device read cannot be taken back. */
		rc = m->shape != SHAPE_LODS ? emu_translate(c, dst, true, &gpa) : 0;
		if (!rc) {
			if (m->shape == SHAPE_STOS)
				v = ctx->gps[SIDECAR_CPU_CONTEXT_RAX] & emu_mask(size);
			else
				rc = emu_mem_read(c, src_base + (rsi & amask), size, &v);
		}
		if (!rc)
			rc = m->shape == SHAPE_LODS ? emu_gpr_write(c, 0, false, size, v)
						    : emu_mem_write(c, dst, size, v);
		if (rc) {
			if (c->unmapped && i > 0) {
				/* Another device page: its own intercept resumes the REP there. */
				c->e->err[0] = 0;
				return 0;
			}
			return rc;
		}
		if (m->shape != SHAPE_STOS)
			ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = step(rsi, ab, delta);
		if (m->shape != SHAPE_LODS)
			ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = step(rdi, ab, delta);
		if (m->rep)
			ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = step(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], ab, -1);
	}
	if (m->rep && (ctx->gps[SIDECAR_CPU_CONTEXT_RCX] & amask) != 0)
		return 0; /* max_rep reached: resumed by the next run */
	return emu_finish(c, c->rip + m->in.length);
}

static int execute(struct emu_cpu *c, const struct mmio_insn *m)
{
	uint64_t la, bit = 0, d, s, r;
	unsigned int size = m->size;
	int rc;

	if (m->shape >= SHAPE_MOVS)
		return run_string(c, m);
	if ((rc = operand_la(c, m, &la, &bit)))
		return rc;
	seed_operand(c, la);

	switch (m->shape) {
	case SHAPE_STORE:
		if ((rc = src_value(c, m, size, &s)) || (rc = emu_mem_write(c, la, size, s)))
			return rc;
		break;
	case SHAPE_LOAD: {
		if ((rc = emu_mem_read(c, la, size, &d)))
			return rc;
		if (m->sign_extend)
			d = sext(d, size);
		if ((rc = emu_gpr_write(c, m->reg.idx, m->reg.high8, m->reg.size, d)))
			return rc;
		break;
	}
	case SHAPE_ALU_MEM:
		if ((rc = src_value(c, m, size, &s)) || (rc = emu_mem_read(c, la, size, &d)))
			return rc;
		r = emu_alu(m->alu, size, d, s, &c->rflags);
		if (m->alu_writes && (rc = emu_mem_write(c, la, size, r)))
			return rc;
		c->flags_dirty = true;
		break;
	case SHAPE_ALU_REG:
		if ((rc = reg_read(c, &m->reg, &d)) || (rc = emu_mem_read(c, la, size, &s)))
			return rc;
		r = emu_alu(m->alu, size, d, s, &c->rflags);
		if (m->alu_writes && (rc = emu_gpr_write(c, m->reg.idx, m->reg.high8, m->reg.size, r)))
			return rc;
		c->flags_dirty = true;
		break;
	case SHAPE_ALU1:
		if ((rc = emu_mem_read(c, la, size, &d)))
			return rc;
		r = emu_alu(m->alu, size, d, 0, &c->rflags);
		if ((rc = emu_mem_write(c, la, size, r)))
			return rc;
		c->flags_dirty = m->alu != EMU_ALU_NOT;
		break;
	case SHAPE_BT:
		if ((rc = emu_mem_read(c, la, size, &d)))
			return rc;
		r = emu_alu(m->alu, size, d, bit, &c->rflags);
		if (m->alu_writes && (rc = emu_mem_write(c, la, size, r)))
			return rc;
		c->flags_dirty = true;
		break;
	case SHAPE_XCHG:
		if ((rc = reg_read(c, &m->reg, &s)) || (rc = emu_mem_read(c, la, size, &d)) ||
		    (rc = emu_mem_write(c, la, size, s)))
			return rc;
		if ((rc = emu_gpr_write(c, m->reg.idx, m->reg.high8, m->reg.size, d)))
			return rc;
		break;
	default:
		break;
	}
	return emu_finish(c, c->rip + m->in.length);
}

/* The shared front half: validate the message, set up the CPU view, get the bytes, decode. */
static int prepare(struct sidecar_emulator *e, const struct hv_message *msg, struct emu_cpu *c,
		   struct hv_x64_memory_intercept_message *mi, struct mmio_insn *m)
{
	uint8_t bytes[16];
	unsigned int n;
	int rc;

	if (!e || !msg)
		return -EINVAL;
	if ((rc = emu_copy_memory(e, msg, mi)))
		return rc;
	e->err[0] = 0;
	emu_cpu_init(c, e, &mi->header);
	if (mi->header.intercept_access_type == HV_INTERCEPT_ACCESS_EXECUTE)
		return emu_fail(e, -ENOTSUP, "an instruction fetch from GPA %#llx (no memory to execute)",
				(unsigned long long)mi->guest_physical_address);
	c->dev_gpn = mi->guest_physical_address >> 12;
	c->msg_gpa = mi->guest_physical_address;
	const uint8_t both = HV_X64_MEMORY_ACCESS_GVA_VALID | HV_X64_MEMORY_ACCESS_GVA_GPA_VALID;
	if ((mi->memory_access_info & both) == both)
		emu_tlb_seed(c, mi->guest_virtual_address, mi->guest_physical_address);
	n = mi->instruction_byte_count;
	if (n) {
		memcpy(bytes, mi->instruction_bytes, n);
	} else if ((rc = emu_fetch(c, bytes, &n))) {
		return rc;
	}
	return analyze(c, bytes, n, m);
}

int sidecar_emulate_mmio(struct sidecar_emulator *e, const struct hv_message *msg)
{
	struct hv_x64_memory_intercept_message mi;
	struct emu_cpu c;
	struct mmio_insn m;

	int rc = prepare(e, msg, &c, &mi, &m);
	if (rc)
		return rc;
	return execute(&c, &m);
}

int sidecar_emulate_decode(struct sidecar_emulator *e, const struct hv_message *msg, struct sidecar_emulate_access *out)
{
	struct hv_x64_memory_intercept_message mi;
	struct emu_cpu c;
	struct mmio_insn m;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->reg = -1;
	int rc = prepare(e, msg, &c, &mi, &m);
	if (rc)
		return rc;
	snprintf(out->mnemonic, sizeof(out->mnemonic), "%s", ZydisMnemonicGetString(m.in.mnemonic));
	out->gpa = mi.guest_physical_address;
	out->size = (uint8_t)m.size;
	out->instruction_len = m.in.length;
	out->rep = m.rep;
	out->string = m.shape >= SHAPE_MOVS;
	if (m.has_reg) {
		out->reg = (int8_t)m.reg.idx;
		out->reg_size = m.reg.size;
		out->reg_high8 = m.reg.high8;
	}
	switch (m.shape) {
	case SHAPE_STORE:
		out->write = true;
		out->has_value = src_value(&c, &m, m.size, &out->value) == 0;
		break;
	case SHAPE_LOAD:
		out->read = true;
		out->reg_is_dest = true;
		out->sign_extend = m.sign_extend;
		break;
	case SHAPE_ALU_MEM:
	case SHAPE_BT:
		out->read = true;
		out->write = m.alu_writes;
		out->sets_flags = true;
		break;
	case SHAPE_ALU_REG:
		out->read = true;
		out->reg_is_dest = m.alu_writes;
		out->sets_flags = true;
		break;
	case SHAPE_ALU1:
		out->read = out->write = true;
		out->sets_flags = m.alu != EMU_ALU_NOT;
		break;
	case SHAPE_XCHG:
		out->read = out->write = true;
		out->reg_is_dest = true;
		out->has_value = reg_read(&c, &m.reg, &out->value) == 0;
		break;
	case SHAPE_MOVS:
		/* The intercepted side: the source if it is where the message points. */
		out->read = mi.header.intercept_access_type == HV_INTERCEPT_ACCESS_READ;
		out->write = !out->read;
		break;
	case SHAPE_STOS:
		out->write = true;
		out->reg_is_dest = false;
		out->has_value = true;
		out->value = c.ctx->gps[SIDECAR_CPU_CONTEXT_RAX] & emu_mask(m.size);
		break;
	case SHAPE_LODS:
		out->read = true;
		out->reg_is_dest = true;
		break;
	}
	e->err[0] = 0;
	return 0;
}
