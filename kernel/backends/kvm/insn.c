/* SPDX-License-Identifier: MIT */
/*
 * x86 decoding for the KVM backend (kvm_insn.h says what and why): a small hand-written
 * decoder. Length, prefixes, opcode, ModRM/SIB, displacement and immediate, and the effective
 * address of the memory operand; no semantics beyond that.
 *
 * Coverage: all legacy, REX, VEX (C4/C5), EVEX (62) and XOP (8F) encodings of the one-byte,
 * 0F, 0F38 and 0F3A maps, in 16-, 32- and 64-bit code (real mode decodes as 16-bit code).
 * Lengths follow Intel where the vendors differ (a 66 prefix on a 64-bit near branch keeps a
 * 32-bit displacement; AMD's SSE4a EXTRQ/INSERTQ immediates are not decoded). The decoder
 * never reads past `n` bytes and rejects anything longer than 15 bytes.
 */
#include "kvm_insn.h"

#include <string.h>

struct hand_insn {
	uint8_t len;      /* bytes, 1..15 */
	uint8_t mode;     /* code size in bits: 16, 32 or 64 */
	uint8_t opsize;   /* operand size of GP forms in bytes: 2, 4 or 8 */
	uint8_t addrsize; /* address size in bytes: 2, 4 or 8 */
	uint8_t seg;      /* enum x86_seg: the override, X86_SEG_NONE if none */
	uint8_t rex;      /* X86_REX_* bits, 0 if none */
	bool has_rex;     /* a REX prefix (even 0x40) was present */
	uint8_t rep;      /* the last of F2/F3, or 0 */
	bool lock;        /* F0 */
	bool opsize_prefix;
	uint8_t vex; /* 0, or the escape byte: 0xc4/0xc5 (VEX), 0x62 (EVEX), 0x8f (XOP) */
	uint8_t map; /* enum x86_map */
	uint8_t opcode;
	bool has_modrm;
	uint8_t modrm;
	bool has_sib;
	uint8_t sib;
	uint8_t disp_size; /* 0, 1, 2 or 4 */
	int64_t disp;      /* sign-extended (16-bit addressing: the 16-bit value) */
	bool rip_relative;
	uint8_t moffs_size; /* A0..A3: size of the memory offset, 0 otherwise */
	uint64_t moffs;
	uint8_t imm_size;  /* 0, 1, 2, 4 or 8 (the first immediate) */
	uint64_t imm;      /* zero-extended */
	uint8_t imm2_size; /* ENTER's second immediate, far pointers' selector */
	uint64_t imm2;
};

/* Operand-encoding classes of the opcode tables. */
enum {
	X86_OP_NONE = 0, /* no ModRM, no immediate */
	X86_OP_M,        /* ModRM */
	X86_OP_IB,       /* imm8 */
	X86_OP_IW,       /* imm16 */
	X86_OP_IZ,       /* imm16/32 by operand size */
	X86_OP_IV,       /* imm16/32/64 by operand size (MOV r, imm) */
	X86_OP_MIB,      /* ModRM + imm8 */
	X86_OP_MIZ,      /* ModRM + imm16/32 */
	X86_OP_AP,       /* far pointer: imm16/32 + selector */
	X86_OP_MOFFS,    /* A0..A3: memory offset of the address size */
	X86_OP_IWB,      /* ENTER: imm16 + imm8 */
	X86_OP_GRP3B,    /* F6: ModRM, imm8 for /0 and /1 */
	X86_OP_GRP3Z,    /* F7: ModRM, imm16/32 for /0 and /1 */
	X86_OP_JZ,       /* rel16/32 (rel32 in 64-bit code) */
	X86_OP_INV64,    /* no operands; invalid in 64-bit code */
	X86_OP_BAD,      /* prefixes and escapes never reach the tables */
};

/* clang-format off */
#define X86_R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
#define X86_R8(x) x, x, x, x, x, x, x, x

static const uint8_t hand_map1[256] = {
	/* 00 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_INV64, X86_OP_INV64,
	/* 08 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_INV64, X86_OP_BAD,
	/* 10 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_INV64, X86_OP_INV64,
	/* 18 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_INV64, X86_OP_INV64,
	/* 20 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_BAD, X86_OP_INV64,
	/* 28 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_BAD, X86_OP_INV64,
	/* 30 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_BAD, X86_OP_INV64,
	/* 38 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IZ, X86_OP_BAD, X86_OP_INV64,
	/* 40 */ X86_R16(X86_OP_NONE),
	/* 50 */ X86_R16(X86_OP_NONE),
	/* 60 */ X86_OP_INV64, X86_OP_INV64, X86_OP_M, X86_OP_M, X86_OP_BAD, X86_OP_BAD, X86_OP_BAD, X86_OP_BAD,
	/* 68 */ X86_OP_IZ, X86_OP_MIZ, X86_OP_IB, X86_OP_MIB, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* 70 */ X86_R16(X86_OP_IB),
	/* 80 */ X86_OP_MIB, X86_OP_MIZ, X86_OP_MIB, X86_OP_MIB, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M,
	/* 88 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M,
	/* 90 */ X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* 98 */ X86_OP_NONE, X86_OP_NONE, X86_OP_AP, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* a0 */ X86_OP_MOFFS, X86_OP_MOFFS, X86_OP_MOFFS, X86_OP_MOFFS, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* a8 */ X86_OP_IB, X86_OP_IZ, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* b0 */ X86_R8(X86_OP_IB),
	/* b8 */ X86_R8(X86_OP_IV),
	/* c0 */ X86_OP_MIB, X86_OP_MIB, X86_OP_IW, X86_OP_NONE, X86_OP_M, X86_OP_M, X86_OP_MIB, X86_OP_MIZ,
	/* c8 */ X86_OP_IWB, X86_OP_NONE, X86_OP_IW, X86_OP_NONE, X86_OP_NONE, X86_OP_IB, X86_OP_INV64, X86_OP_NONE,
	/* d0 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_IB, X86_OP_IB, X86_OP_INV64, X86_OP_NONE,
	/* d8 */ X86_R8(X86_OP_M),
	/* e0 */ X86_OP_IB, X86_OP_IB, X86_OP_IB, X86_OP_IB, X86_OP_IB, X86_OP_IB, X86_OP_IB, X86_OP_IB,
	/* e8 */ X86_OP_JZ, X86_OP_JZ, X86_OP_AP, X86_OP_IB, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* f0 */ X86_OP_BAD, X86_OP_NONE, X86_OP_BAD, X86_OP_BAD, X86_OP_NONE, X86_OP_NONE, X86_OP_GRP3B, X86_OP_GRP3Z,
	/* f8 */ X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_M, X86_OP_M,
};

static const uint8_t hand_map0f[256] = {
	/* 00 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* 08 */ X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_M, X86_OP_NONE, X86_OP_MIB,
	/* 10 */ X86_R16(X86_OP_M),
	/* 20 */ X86_R16(X86_OP_M),
	/* 30 */ X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* 38 */ X86_OP_BAD, X86_OP_NONE, X86_OP_BAD, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
	/* 40 */ X86_R16(X86_OP_M),
	/* 50 */ X86_R16(X86_OP_M),
	/* 60 */ X86_R16(X86_OP_M),
	/* 70 */ X86_OP_MIB, X86_OP_MIB, X86_OP_MIB, X86_OP_MIB, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_NONE,
	/* 78 */ X86_OP_M, X86_OP_M, X86_OP_NONE, X86_OP_NONE, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M,
	/* 80 */ X86_R16(X86_OP_JZ),
	/* 90 */ X86_R16(X86_OP_M),
	/* a0 */ X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_M, X86_OP_MIB, X86_OP_M, X86_OP_NONE, X86_OP_NONE,
	/* a8 */ X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_M, X86_OP_MIB, X86_OP_M, X86_OP_M, X86_OP_M,
	/* b0 */ X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M,
	/* b8 */ X86_OP_M, X86_OP_M, X86_OP_MIB, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M, X86_OP_M,
	/* c0 */ X86_OP_M, X86_OP_M, X86_OP_MIB, X86_OP_M, X86_OP_MIB, X86_OP_MIB, X86_OP_MIB, X86_OP_M,
	/* c8 */ X86_R8(X86_OP_NONE),
	/* d0 */ X86_R16(X86_OP_M),
	/* e0 */ X86_R16(X86_OP_M),
	/* f0 */ X86_R16(X86_OP_M),
};

#undef X86_R16
#undef X86_R8
/* clang-format on */

static bool hand_is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x64:
	case 0x65:
	case 0x66:
	case 0x67:
	case 0xf0:
	case 0xf2:
	case 0xf3:
		return true;
	}
	return false;
}

/* Reads a little-endian immediate of `size` bytes at `*pos`; false if it does not fit. */
static bool hand_take(const uint8_t *b, size_t n, size_t *pos, unsigned int size, uint64_t *val)
{
	uint64_t v = 0;

	if (*pos > n || size > n - *pos)
		return false;
	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)b[*pos + i] << (8 * i);
	*pos += size;
	*val = v;
	return true;
}

/* ModRM, SIB and displacement. */
static bool hand_modrm(const uint8_t *b, size_t n, size_t *pos, struct hand_insn *in)
{
	uint64_t v;

	if (!hand_take(b, n, pos, 1, &v))
		return false;
	in->has_modrm = true;
	in->modrm = (uint8_t)v;
	uint8_t mod = in->modrm >> 6, rm = in->modrm & 7;
	if (mod == 3)
		return true;
	if (in->addrsize == 2) {
		if (mod == 1)
			in->disp_size = 1;
		else if (mod == 2 || rm == 6)
			in->disp_size = 2;
	} else {
		if (rm == 4) {
			if (!hand_take(b, n, pos, 1, &v))
				return false;
			in->has_sib = true;
			in->sib = (uint8_t)v;
		}
		if (mod == 1) {
			in->disp_size = 1;
		} else if (mod == 2) {
			in->disp_size = 4;
		} else if (rm == 5) {
			in->disp_size = 4;
			in->rip_relative = in->mode == 64;
		} else if (in->has_sib && (in->sib & 7) == 5) {
			in->disp_size = 4;
		}
	}
	if (in->disp_size) {
		if (!hand_take(b, n, pos, in->disp_size, &v))
			return false;
		in->disp = x86_insn_sext(v, in->disp_size);
	}
	return true;
}

/* VEX/EVEX/XOP: the prefix bytes after the escape, then opcode, ModRM, immediate. */
static bool hand_vex(const uint8_t *b, size_t n, size_t *pos, struct hand_insn *in)
{
	uint64_t p0, p1 = 0, p2 = 0, v;
	unsigned int mmmmm;

	if (!hand_take(b, n, pos, 1, &p0))
		return false;
	if (in->vex == 0xc5) {
		in->rex = (p0 & 0x80) ? 0 : X86_REX_R;
		mmmmm = 1;
	} else {
		if (!hand_take(b, n, pos, 1, &p1))
			return false;
		if (in->vex == 0x62 && !hand_take(b, n, pos, 1, &p2))
			return false;
		in->rex = (uint8_t)(((p0 & 0x80) ? 0 : X86_REX_R) | ((p0 & 0x40) ? 0 : X86_REX_X) |
				    ((p0 & 0x20) ? 0 : X86_REX_B) | ((p1 & 0x80) ? X86_REX_W : 0));
		mmmmm = (unsigned int)(p0 & (in->vex == 0x62 ? 0x07 : 0x1f));
	}
	if (in->mode != 64)
		in->rex &= X86_REX_R | X86_REX_W;
	if ((in->rex & X86_REX_W) && in->mode == 64)
		in->opsize = 8;
	if (!hand_take(b, n, pos, 1, &v))
		return false;
	in->opcode = (uint8_t)v;

	unsigned int imm = 0;
	bool modrm = true;
	if (in->vex == 0x8f) {
		in->map = X86_MAP_OTHER;
		if (mmmmm == 8)
			imm = 1;
		else if (mmmmm == 0xa)
			imm = 4;
		else if (mmmmm != 9)
			return false;
	} else {
		switch (mmmmm) {
		case 1:
			in->map = X86_MAP_0F;
			if (in->opcode == 0x77 && in->vex != 0x62)
				modrm = false; /* VZEROUPPER / VZEROALL */
			if ((in->opcode >= 0x70 && in->opcode <= 0x73) || in->opcode == 0xc2 ||
			    (in->opcode >= 0xc4 && in->opcode <= 0xc6))
				imm = 1;
			break;
		case 2:
			in->map = X86_MAP_0F38;
			break;
		case 3:
			in->map = X86_MAP_0F3A;
			imm = 1;
			break;
		case 5:
		case 6:
			if (in->vex != 0x62)
				return false;
			in->map = X86_MAP_OTHER;
			break;
		default:
			return false;
		}
	}
	if (modrm && !hand_modrm(b, n, pos, in))
		return false;
	if (imm) {
		in->imm_size = (uint8_t)imm;
		if (!hand_take(b, n, pos, imm, &in->imm))
			return false;
	}
	(void)p2;
	return true;
}

/*
 * Decodes the instruction at b[0..n) in `mode` (16, 32 or 64)-bit code. Returns false if
 * the bytes do not hold a complete instruction of at most 15 bytes (truncated, too long,
 * or an encoding that is invalid in that mode: far pointers in 64-bit code).
 */
static bool hand_decode(const uint8_t *b, size_t n, unsigned int mode, struct hand_insn *in)
{
	size_t pos = 0;
	bool addr_prefix = false;

	*in = (struct hand_insn){.mode = (uint8_t)mode, .seg = X86_SEG_NONE, .map = X86_MAP_1BYTE};
	if (n > X86_INSN_MAX_LEN)
		n = X86_INSN_MAX_LEN;

	/* Prefixes. A REX prefix counts only right before the opcode: a legacy prefix after
	 * it makes the processor ignore it. */
	for (;; pos++) {
		if (pos >= n)
			return false;
		uint8_t c = b[pos];
		if (hand_is_legacy_prefix(c)) {
			in->rex = 0;
			in->has_rex = false;
			switch (c) {
			case 0x26:
				in->seg = X86_SEG_ES;
				break;
			case 0x2e:
				in->seg = X86_SEG_CS;
				break;
			case 0x36:
				in->seg = X86_SEG_SS;
				break;
			case 0x3e:
				in->seg = X86_SEG_DS;
				break;
			case 0x64:
				in->seg = X86_SEG_FS;
				break;
			case 0x65:
				in->seg = X86_SEG_GS;
				break;
			case 0x66:
				in->opsize_prefix = true;
				break;
			case 0x67:
				addr_prefix = true;
				break;
			case 0xf0:
				in->lock = true;
				break;
			default:
				in->rep = c;
				break;
			}
			continue;
		}
		if (mode == 64 && (c & 0xf0) == 0x40) {
			in->rex = c & 0x0f;
			in->has_rex = true;
			continue;
		}
		break;
	}

	if (mode == 64) {
		in->opsize = (in->rex & X86_REX_W) ? 8 : in->opsize_prefix ? 2 : 4;
		in->addrsize = addr_prefix ? 4 : 8;
	} else if (mode == 32) {
		in->opsize = in->opsize_prefix ? 2 : 4;
		in->addrsize = addr_prefix ? 2 : 4;
	} else {
		in->opsize = in->opsize_prefix ? 4 : 2;
		in->addrsize = addr_prefix ? 4 : 2;
	}

	uint8_t op = b[pos++];
	in->opcode = op;

	/* VEX, EVEX and XOP. Outside 64-bit code C4/C5/62 are LES/LDS/BOUND unless the next
	 * byte could not be their ModRM (mod = 3); 8F is XOP when its map field is >= 8. */
	if ((op == 0xc4 || op == 0xc5 || op == 0x62 || op == 0x8f) && pos < n) {
		uint8_t next = b[pos];
		bool is_vex;
		if (op == 0x8f)
			is_vex = (next & 0x1f) >= 8;
		else
			is_vex = mode == 64 || (mode == 32 && (next & 0xc0) == 0xc0);
		if (is_vex) {
			if (in->has_rex || in->opsize_prefix || in->rep || in->lock)
				return false; /* #UD: VEX after these prefixes */
			in->vex = op;
			if (!hand_vex(b, n, &pos, in))
				return false;
			in->len = (uint8_t)pos;
			return true;
		}
	}

	uint8_t cls;
	if (op == 0x0f) {
		if (pos >= n)
			return false;
		op = b[pos++];
		in->opcode = op;
		if (op == 0x38 || op == 0x3a) {
			in->map = op == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			if (pos >= n)
				return false;
			in->opcode = b[pos++];
			cls = in->map == X86_MAP_0F38 ? X86_OP_M : X86_OP_MIB;
		} else {
			in->map = X86_MAP_0F;
			cls = hand_map0f[op];
		}
	} else {
		cls = hand_map1[op];
		if (mode == 64 && op == 0x63)
			cls = X86_OP_M; /* MOVSXD */
	}

	unsigned int imm = 0, imm2 = 0;
	bool modrm = false;
	switch (cls) {
	case X86_OP_NONE:
		break;
	case X86_OP_INV64:
		if (mode == 64)
			return false;
		break;
	case X86_OP_M:
		modrm = true;
		break;
	case X86_OP_IB:
		imm = 1;
		break;
	case X86_OP_IW:
		imm = 2;
		break;
	case X86_OP_IZ:
		imm = in->opsize == 2 ? 2 : 4;
		break;
	case X86_OP_IV:
		imm = in->opsize;
		break;
	case X86_OP_MIB:
		modrm = true;
		imm = 1;
		break;
	case X86_OP_MIZ:
		modrm = true;
		imm = in->opsize == 2 ? 2 : 4;
		break;
	case X86_OP_AP:
		if (mode == 64)
			return false;
		imm = in->opsize == 2 ? 2 : 4;
		imm2 = 2;
		break;
	case X86_OP_MOFFS:
		in->moffs_size = in->addrsize;
		break;
	case X86_OP_IWB:
		imm = 2;
		imm2 = 1;
		break;
	case X86_OP_GRP3B:
	case X86_OP_GRP3Z:
		modrm = true;
		break;
	case X86_OP_JZ:
		imm = (mode == 64 || in->opsize != 2) ? 4 : 2;
		break;
	default:
		return false;
	}
	if (modrm && !hand_modrm(b, n, &pos, in))
		return false;
	if ((cls == X86_OP_GRP3B || cls == X86_OP_GRP3Z) && ((in->modrm >> 3) & 7) < 2)
		imm = cls == X86_OP_GRP3B ? 1 : in->opsize == 2 ? 2 : 4;
	if (in->moffs_size && !hand_take(b, n, &pos, in->moffs_size, &in->moffs))
		return false;
	if (imm) {
		in->imm_size = (uint8_t)imm;
		if (!hand_take(b, n, &pos, imm, &in->imm))
			return false;
	}
	if (imm2) {
		in->imm2_size = (uint8_t)imm2;
		if (!hand_take(b, n, &pos, imm2, &in->imm2))
			return false;
	}
	in->len = (uint8_t)pos;
	return true;
}

/* Whether the instruction has a ModRM (or moffs) memory operand. The control- and
 * debug-register moves (0F 20..23) encode registers whatever their mod field says. */
static bool hand_has_mem_operand(const struct hand_insn *in)
{
	if (in->moffs_size)
		return true;
	if (!in->has_modrm || (in->modrm >> 6) == 3)
		return false;
	return !(in->map == X86_MAP_0F && !in->vex && in->opcode >= 0x20 && in->opcode <= 0x23);
}

/*
 * The effective address (offset within its segment) of the memory operand, from the GP
 * registers in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15) and the
 * address of the next instruction (for RIP-relative operands). *seg receives the segment the
 * access uses: the override, else SS for RSP/RBP-based addresses, else DS. Returns false if
 * there is no memory operand (or it uses a vector index, VSIB, which is not computed).
 */
static bool hand_effective_address(const struct hand_insn *in, const uint64_t gpr[16], uint64_t next_rip, uint64_t *ea,
				   unsigned int *seg)
{
	uint64_t mask = x86_insn_addr_mask(in->addrsize);
	unsigned int dseg = X86_SEG_DS;
	uint64_t a;

	if (!hand_has_mem_operand(in))
		return false;
	if (in->moffs_size) {
		a = in->moffs;
	} else if (in->addrsize == 2) {
		static const int8_t base16[8] = {3, 3, 5, 5, 6, 7, 5, 3};      /* BX BX BP BP SI DI BP BX */
		static const int8_t index16[8] = {6, 7, 6, 7, -1, -1, -1, -1}; /* SI DI SI DI */
		uint8_t mod = in->modrm >> 6, rm = in->modrm & 7;

		a = (uint64_t)in->disp;
		if (!(mod == 0 && rm == 6)) {
			a += gpr[base16[rm]];
			if (base16[rm] == 5)
				dseg = X86_SEG_SS;
		}
		if (index16[rm] >= 0)
			a += gpr[index16[rm]];
	} else {
		uint8_t mod = in->modrm >> 6, rm = in->modrm & 7;

		a = (uint64_t)in->disp;
		if (in->rip_relative) {
			a += next_rip;
		} else if (in->has_sib) {
			unsigned int base = (in->sib & 7) | ((in->rex & X86_REX_B) ? 8 : 0);
			unsigned int index = ((in->sib >> 3) & 7) | ((in->rex & X86_REX_X) ? 8 : 0);

			if (in->vex && in->map == X86_MAP_0F38 &&
			    ((in->opcode >= 0x90 && in->opcode <= 0x93) || (in->opcode >= 0xa0 && in->opcode <= 0xa3) ||
			     (in->opcode >= 0xc6 && in->opcode <= 0xc7)))
				return false; /* VSIB: gathers and scatters */
			if (!(mod == 0 && (in->sib & 7) == 5)) {
				a += gpr[base];
				if (base == 4 || base == 5)
					dseg = X86_SEG_SS; /* RSP, RBP; R12, R13 use DS */
			}
			if (index != 4)
				a += gpr[index] << (in->sib >> 6);
		} else if (!(mod == 0 && rm == 5)) {
			unsigned int base = rm | ((in->rex & X86_REX_B) ? 8 : 0);
			a += gpr[base];
			if (base == 5)
				dseg = X86_SEG_SS;
		}
	}
	*ea = a & mask;
	*seg = in->seg != X86_SEG_NONE ? in->seg : dseg;
	return true;
}

static unsigned int mode_bits(enum x86_mode mode)
{
	return mode == X86_MODE_REAL ? 16 : (unsigned int)mode;
}

static uint8_t encoding_of(uint8_t vex)
{
	switch (vex) {
	case 0xc4:
	case 0xc5:
		return X86_ENC_VEX;
	case 0x62:
		return X86_ENC_EVEX;
	case 0x8f:
		return X86_ENC_XOP;
	default:
		return X86_ENC_LEGACY;
	}
}

bool x86_insn_decode(const uint8_t *b, size_t n, enum x86_mode mode, struct x86_insn *in)
{
	struct hand_insn h;

	if (!hand_decode(b, n, mode_bits(mode), &h))
		return false;
	*in = (struct x86_insn){
		.len = h.len,
		.mode = (uint8_t)mode,
		.opsize = h.opsize,
		.addrsize = h.addrsize,
		.seg = h.seg,
		.rex = h.rex,
		.has_rex = h.has_rex,
		.rep = h.rep,
		.lock = h.lock,
		.encoding = encoding_of(h.vex),
		.map = h.map,
		.opcode = h.opcode,
		.has_modrm = h.has_modrm,
		.modrm = h.modrm,
		.imm_size = h.imm_size,
		.imm = h.imm,
	};
	memcpy(in->bytes, b, h.len);
	return true;
}

bool x86_insn_mem_operand(const struct x86_insn *in, const uint64_t gpr[16], uint64_t next_rip, uint64_t *ea,
			  unsigned int *seg)
{
	struct hand_insn h;

	return hand_decode(in->bytes, in->len, mode_bits((enum x86_mode)in->mode), &h) &&
	       hand_effective_address(&h, gpr, next_rip, ea, seg);
}
