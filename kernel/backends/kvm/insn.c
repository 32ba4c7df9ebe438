/* SPDX-License-Identifier: MIT */
/*
 * x86 decoding for the KVM backend through Zydis (kvm_insn.h says what and why).
 *
 * Cost: a Zydis decode is about ten times the hand-written decoder it replaced (docs/kvm.md,
 * "Cost"), so the exit paths decode as little as they can: the I/O-site memory (io.c) spares
 * the common port I/O exit any decoding, the backward search (locate.c) tries the shortest
 * candidates first and stops at the first that matches (then tries only prefix bytes in front
 * of it), and operands are decoded only where an access must be checked (x86_insn_mem_access,
 * MMIO exits only).
 */
#include "kvm_insn.h"

#include <Zydis/Zydis.h>

#include <string.h>

/*
 * A decoder for `mode`. ZydisDecoderInit only fills in a few fields, cheaper than keeping
 * process-wide decoders. The stack width follows the code size: it shapes only implicit stack
 * operands, which nothing here reads. Compatibility mode decodes exactly as legacy protected
 * mode in Zydis, so the two need not be told apart.
 */
static bool decoder_for(enum x86_mode mode, ZydisDecoder *d)
{
	ZydisMachineMode m;
	ZydisStackWidth w;

	switch (mode) {
	case X86_MODE_REAL:
		m = ZYDIS_MACHINE_MODE_REAL_16;
		w = ZYDIS_STACK_WIDTH_16;
		break;
	case X86_MODE_PROT16:
		m = ZYDIS_MACHINE_MODE_LEGACY_16;
		w = ZYDIS_STACK_WIDTH_16;
		break;
	case X86_MODE_PROT32:
		m = ZYDIS_MACHINE_MODE_LEGACY_32;
		w = ZYDIS_STACK_WIDTH_32;
		break;
	case X86_MODE_LONG64:
		m = ZYDIS_MACHINE_MODE_LONG_64;
		w = ZYDIS_STACK_WIDTH_64;
		break;
	default:
		return false;
	}
	return ZYAN_SUCCESS(ZydisDecoderInit(d, m, w));
}

static uint8_t map_of(ZydisOpcodeMap m)
{
	switch (m) {
	case ZYDIS_OPCODE_MAP_DEFAULT:
		return X86_MAP_1BYTE;
	case ZYDIS_OPCODE_MAP_0F:
		return X86_MAP_0F;
	case ZYDIS_OPCODE_MAP_0F38:
		return X86_MAP_0F38;
	case ZYDIS_OPCODE_MAP_0F3A:
		return X86_MAP_0F3A;
	default:
		return X86_MAP_OTHER;
	}
}

static uint8_t encoding_of(ZydisInstructionEncoding e)
{
	switch (e) {
	case ZYDIS_INSTRUCTION_ENCODING_3DNOW:
		return X86_ENC_3DNOW;
	case ZYDIS_INSTRUCTION_ENCODING_VEX:
		return X86_ENC_VEX;
	case ZYDIS_INSTRUCTION_ENCODING_EVEX:
		return X86_ENC_EVEX;
	case ZYDIS_INSTRUCTION_ENCODING_XOP:
		return X86_ENC_XOP;
	case ZYDIS_INSTRUCTION_ENCODING_MVEX:
		return X86_ENC_MVEX;
	default:
		return X86_ENC_LEGACY;
	}
}

static uint8_t segment_override(ZydisInstructionAttributes a)
{
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES)
		return X86_SEG_ES;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS)
		return X86_SEG_CS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS)
		return X86_SEG_SS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_DS)
		return X86_SEG_DS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS)
		return X86_SEG_FS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS)
		return X86_SEG_GS;
	return X86_SEG_NONE;
}

bool x86_insn_decode(const uint8_t *b, size_t n, enum x86_mode mode, struct x86_insn *in)
{
	ZydisDecoder d;
	ZydisDecodedInstruction zi;

	if (n > X86_INSN_MAX_LEN)
		n = X86_INSN_MAX_LEN;
	if (!decoder_for(mode, &d) || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, NULL, b, n, &zi)))
		return false;

	*in = (struct x86_insn){
		.len = zi.length,
		.mode = (uint8_t)mode,
		.opsize = (uint8_t)(zi.operand_width / 8),
		.addrsize = (uint8_t)(zi.address_width / 8),
		.seg = segment_override(zi.attributes),
		.encoding = encoding_of(zi.encoding),
		.map = map_of(zi.opcode_map),
		.opcode = zi.opcode,
		.has_modrm = (zi.attributes & ZYDIS_ATTRIB_HAS_MODRM) != 0,
		.modrm = (uint8_t)(zi.raw.modrm.mod << 6 | zi.raw.modrm.reg << 3 | zi.raw.modrm.rm),
	};
	if (zi.attributes & ZYDIS_ATTRIB_HAS_REX) {
		in->has_rex = true;
		in->rex = (uint8_t)((zi.raw.rex.W ? X86_REX_W : 0) | (zi.raw.rex.R ? X86_REX_R : 0) |
				    (zi.raw.rex.X ? X86_REX_X : 0) | (zi.raw.rex.B ? X86_REX_B : 0));
	}
	/* Zydis counts F2/F3 as a REP only where the instruction defines it (F2 INS is no
	 * REPNE to it): the raw prefixes say what KVM's emulator will do. */
	for (unsigned int i = 0; i < zi.raw.prefix_count; i++) {
		uint8_t p = zi.raw.prefixes[i].value;
		if (zi.raw.prefixes[i].type == ZYDIS_PREFIX_TYPE_MANDATORY)
			in->mandatory = p;
		if (p == 0xf2 || p == 0xf3)
			in->rep = p;
		else if (p == 0xf0)
			in->lock = true;
	}
	if (zi.raw.imm[0].size) {
		in->imm_size = zi.raw.imm[0].size / 8;
		in->imm = zi.raw.imm[0].value.u & x86_insn_addr_mask(in->imm_size);
	}
	memcpy(in->bytes, b, zi.length);
	return true;
}

/* The value of a base or index register, or false if it is not a GP register. */
static bool gpr_value(ZydisRegister r, const uint64_t gpr[16], uint64_t *v)
{
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR16:
	case ZYDIS_REGCLASS_GPR32:
	case ZYDIS_REGCLASS_GPR64: {
		ZyanI8 id = ZydisRegisterGetId(r);
		if (id < 0 || id > 15)
			return false;
		/* The full register: the sum is cut to the address size at the end, which gives
		 * what adding the narrower registers would. */
		*v = gpr[id];
		return true;
	}
	default:
		return false;
	}
}

static unsigned int segment_index(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES:
		return X86_SEG_ES;
	case ZYDIS_REGISTER_CS:
		return X86_SEG_CS;
	case ZYDIS_REGISTER_SS:
		return X86_SEG_SS;
	case ZYDIS_REGISTER_FS:
		return X86_SEG_FS;
	case ZYDIS_REGISTER_GS:
		return X86_SEG_GS;
	default:
		return X86_SEG_DS;
	}
}

/* Mnemonics whose store is the other operand's bytes unchanged: the data of such a write is
 * known from the registers (or the immediate), and an MMIO exit's data must be it. */
static bool plain_move(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_MOV:
	case ZYDIS_MNEMONIC_MOVNTI:
	case ZYDIS_MNEMONIC_MOVD:
	case ZYDIS_MNEMONIC_MOVQ:
	case ZYDIS_MNEMONIC_MOVNTQ:
	case ZYDIS_MNEMONIC_MOVUPS:
	case ZYDIS_MNEMONIC_MOVUPD:
	case ZYDIS_MNEMONIC_MOVAPS:
	case ZYDIS_MNEMONIC_MOVAPD:
	case ZYDIS_MNEMONIC_MOVDQU:
	case ZYDIS_MNEMONIC_MOVDQA:
	case ZYDIS_MNEMONIC_MOVNTDQ:
	case ZYDIS_MNEMONIC_MOVNTPS:
	case ZYDIS_MNEMONIC_MOVNTPD:
	case ZYDIS_MNEMONIC_MOVSS:
	case ZYDIS_MNEMONIC_MOVSD: /* the SSE one: the string MOVSD has no explicit operand */
	case ZYDIS_MNEMONIC_MOVLPS:
	case ZYDIS_MNEMONIC_MOVLPD:
	case ZYDIS_MNEMONIC_MOVHPS:
	case ZYDIS_MNEMONIC_MOVHPD:
		return true;
	default:
		return false;
	}
}

/* The source operand of a plain move into acc's src_* fields; X86_SRC_NONE if it is of a kind
 * not described there. */
static void move_source(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *src, struct x86_mem_access *acc)
{
	if (src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		acc->src_kind = X86_SRC_IMM;
		acc->imm = src->imm.is_signed ? (uint64_t)src->imm.value.s : src->imm.value.u;
		return;
	}
	if (src->type != ZYDIS_OPERAND_TYPE_REGISTER)
		return;
	ZydisRegister r = src->reg.value;
	ZyanI8 id;
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
	case ZYDIS_REGCLASS_GPR16:
	case ZYDIS_REGCLASS_GPR32:
	case ZYDIS_REGCLASS_GPR64:
		/* AL and AH are both RAX to the widest enclosing register; AH..BH are its second
		 * byte. */
		id = ZydisRegisterGetId(ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r));
		if (id < 0 || id > 15)
			return;
		acc->src_kind = X86_SRC_GPR;
		acc->src_offset = (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) ? 1 : 0;
		break;
	case ZYDIS_REGCLASS_XMM:
		id = ZydisRegisterGetId(r);
		acc->src_kind = X86_SRC_XMM;
		/* MOVHPS/MOVHPD store the upper quadword. */
		if (zi->mnemonic == ZYDIS_MNEMONIC_MOVHPS || zi->mnemonic == ZYDIS_MNEMONIC_MOVHPD)
			acc->src_offset = 8;
		break;
	case ZYDIS_REGCLASS_MMX:
		id = ZydisRegisterGetId(r);
		acc->src_kind = X86_SRC_MM;
		break;
	case ZYDIS_REGCLASS_SEGMENT:
		id = (ZyanI8)segment_index(r);
		acc->src_kind = X86_SRC_SREG;
		break;
	default:
		return;
	}
	if (id < 0 || id > 15) {
		acc->src_kind = X86_SRC_NONE;
		return;
	}
	acc->src_reg = (uint8_t)id;
}

/* Long, and one function on purpose: it decodes the operands once and walks them once,
 * classifying the memory operand's access (size, read, written) and the stored bytes'
 * source together; split, each part would decode again on the exit path. */
bool x86_insn_mem_access(const struct x86_insn *in, const uint64_t gpr[16], uint64_t next_rip,
			 struct x86_mem_access *acc)
{
	ZydisDecoder d;
	ZydisDecoderContext ctx;
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT_VISIBLE];
	const ZydisDecodedOperand *m = NULL;

	/* Decoded again, operands this time: only the MMIO paths ask, for one or two
	 * instructions per exit, and keeping Zydis's context in every struct x86_insn would cost
	 * each decode a larger copy. */
	if (!decoder_for((enum x86_mode)in->mode, &d) ||
	    !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, &ctx, in->bytes, in->len, &zi)) ||
	    !ZYAN_SUCCESS(ZydisDecoderDecodeOperands(&d, &ctx, &zi, ops, zi.operand_count_visible)))
		return false;
	for (unsigned int i = 0; i < zi.operand_count_visible && !m; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
			m = &ops[i];
	if (!m || m->mem.type != ZYDIS_MEMOP_TYPE_MEM)
		return false;

	uint64_t a = (uint64_t)m->mem.disp.value, v;
	if (m->mem.base == ZYDIS_REGISTER_RIP || m->mem.base == ZYDIS_REGISTER_EIP)
		a += next_rip;
	else if (m->mem.base != ZYDIS_REGISTER_NONE) {
		if (!gpr_value(m->mem.base, gpr, &v))
			return false;
		a += v;
	}
	if (m->mem.index != ZYDIS_REGISTER_NONE) {
		if (!gpr_value(m->mem.index, gpr, &v))
			return false;
		a += v * (m->mem.scale ? m->mem.scale : 1);
	}
	*acc = (struct x86_mem_access){
		.ea = a & x86_insn_addr_mask(zi.address_width / 8),
		.seg = segment_index(m->mem.segment),
		.size = m->size / 8,
		.written = (m->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0,
		.read = (m->actions & ZYDIS_OPERAND_ACTION_MASK_READ) != 0,
		.src_kind = X86_SRC_NONE,
	};
	if (!acc->written)
		return true;
	switch (zi.mnemonic) {
	case ZYDIS_MNEMONIC_SETB:
	case ZYDIS_MNEMONIC_SETBE:
	case ZYDIS_MNEMONIC_SETL:
	case ZYDIS_MNEMONIC_SETLE:
	case ZYDIS_MNEMONIC_SETNB:
	case ZYDIS_MNEMONIC_SETNBE:
	case ZYDIS_MNEMONIC_SETNL:
	case ZYDIS_MNEMONIC_SETNLE:
	case ZYDIS_MNEMONIC_SETNO:
	case ZYDIS_MNEMONIC_SETNP:
	case ZYDIS_MNEMONIC_SETNS:
	case ZYDIS_MNEMONIC_SETNZ:
	case ZYDIS_MNEMONIC_SETO:
	case ZYDIS_MNEMONIC_SETP:
	case ZYDIS_MNEMONIC_SETS:
	case ZYDIS_MNEMONIC_SETZ:
		acc->src_kind = X86_SRC_SETCC;
		acc->src_reg = zi.opcode & 0xf; /* 0F 90+cc */
		return true;
	case ZYDIS_MNEMONIC_SMSW:
		acc->src_kind = X86_SRC_CR0;
		return true;
	case ZYDIS_MNEMONIC_FNSTCW:
		acc->src_kind = X86_SRC_FCW;
		return true;
	case ZYDIS_MNEMONIC_FNSTSW:
		acc->src_kind = X86_SRC_FSW;
		return true;
	default:
		break;
	}
	if (zi.mnemonic != ZYDIS_MNEMONIC_MOVBE && !plain_move(zi.mnemonic))
		return true;
	/* The other visible operand it reads: explicit, or implied by the opcode (the
	 * accumulator of MOV moffs). */
	for (unsigned int i = 0; i < zi.operand_count_visible; i++)
		if (&ops[i] != m && (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_READ)) {
			move_source(&zi, &ops[i], acc);
			break;
		}
	if (zi.mnemonic == ZYDIS_MNEMONIC_MOVBE && acc->src_kind == X86_SRC_GPR)
		acc->src_kind = X86_SRC_GPR_BSWAP;
	else if (zi.mnemonic == ZYDIS_MNEMONIC_MOVBE)
		acc->src_kind = X86_SRC_NONE;
	return true;
}

bool x86_insn_mem_operand(const struct x86_insn *in, const uint64_t gpr[16], uint64_t next_rip, uint64_t *ea,
			  unsigned int *seg)
{
	struct x86_mem_access acc;

	if (!x86_insn_mem_access(in, gpr, next_rip, &acc))
		return false;
	*ea = acc.ea;
	*seg = acc.seg;
	return true;
}
