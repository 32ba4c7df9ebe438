/* SPDX-License-Identifier: MIT */
/*
 * x86 decoding for the KVM backend through Zydis (kvm_insn.h says what and why).
 *
 * Cost: a Zydis decode is about ten times the hand-written decoder it replaced (docs/kvm.md,
 * "Cost"), so the exit paths decode as little as they can: the I/O-site memory (io.c) spares
 * the common port I/O exit any decoding, the backward search (locate.c) tries the shortest
 * candidates first and stops at the first that matches, and operands are decoded only where
 * an address is needed (x86_insn_mem_operand, MMIO exits only).
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

bool x86_insn_mem_operand(const struct x86_insn *in, const uint64_t gpr[16], uint64_t next_rip, uint64_t *ea,
			  unsigned int *seg)
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
	*ea = a & x86_insn_addr_mask(zi.address_width / 8);
	*seg = segment_index(m->mem.segment);
	return true;
}
