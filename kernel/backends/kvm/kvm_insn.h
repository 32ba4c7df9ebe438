/* SPDX-License-Identifier: MIT */
/*
 * x86 instruction decoding for the KVM backend, by Zydis (docs/kvm.md, "RIP reconciliation").
 *
 * KVM may report an exit with RIP already past the instruction, so the backend must find where
 * the instruction starts, how long it is, and whether it is the one that exited. Zydis
 * decodes; this wrapper reduces its result to the few facts the backend checks against the
 * exit (opcode, prefixes, operand and address size, the ModRM reg field, the immediate) and
 * computes the address of the explicit memory operand. The checks themselves stay in the
 * backend (io.c, mmio.c).
 *
 * The header needs no Zydis declarations: the tests and the backend use these types only.
 */
#ifndef SIDECAR_KVM_INSN_H
#define SIDECAR_KVM_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X86_INSN_MAX_LEN 15

/*
 * The processor mode the bytes are decoded in. The values of the three protected/long modes
 * are the code size in bits (the backend masks addresses with them); real mode is 16-bit code
 * in which VEX, EVEX and XOP do not exist (C4/C5/62 are always LES/LDS/BOUND there, and 8F
 * always POP), and where the instructions that need protected mode are invalid.
 * Virtual-8086 mode decodes as real mode.
 */
enum x86_mode {
	X86_MODE_REAL = 0,
	X86_MODE_PROT16 = 16,
	X86_MODE_PROT32 = 32,
	X86_MODE_LONG64 = 64,
};

/* Segment registers in encoding order; X86_SEG_NONE: no override. */
enum x86_seg {
	X86_SEG_ES,
	X86_SEG_CS,
	X86_SEG_SS,
	X86_SEG_DS,
	X86_SEG_FS,
	X86_SEG_GS,
	X86_SEG_NONE = 7,
};

enum x86_map {
	X86_MAP_1BYTE,
	X86_MAP_0F,
	X86_MAP_0F38,
	X86_MAP_0F3A,
	X86_MAP_OTHER, /* EVEX maps 5/6, XOP maps 8..A, 3DNow! */
};

enum x86_encoding {
	X86_ENC_LEGACY,
	X86_ENC_3DNOW,
	X86_ENC_VEX,
	X86_ENC_EVEX,
	X86_ENC_XOP,
	X86_ENC_MVEX,
};

/* REX bits of a legacy-encoded instruction. */
#define X86_REX_B 0x01
#define X86_REX_X 0x02
#define X86_REX_R 0x04
#define X86_REX_W 0x08

struct x86_insn {
	uint8_t len;      /* bytes, 1..15 */
	uint8_t mode;     /* enum x86_mode it was decoded in */
	uint8_t opsize;   /* effective operand size in bytes (1 for the byte forms) */
	uint8_t addrsize; /* effective address size in bytes: 2, 4 or 8 */
	uint8_t seg;      /* enum x86_seg: the effective segment override, X86_SEG_NONE if none */
	uint8_t rex;      /* X86_REX_* of a REX prefix that takes effect, else 0 */
	bool has_rex;     /* such a REX prefix (even 0x40) is present: SPL..DIL, not AH..BH */
	/* The last F2/F3 prefix, or 0. KVM's emulator, like the processors, repeats INS, OUTS,
	 * MOVS, STOS and LODS under either, so both count as REP here. */
	uint8_t rep;
	/* The prefix (66, F2 or F3) that selects the instruction, as F3 makes 0F 7F a MOVDQU, or 0. */
	uint8_t mandatory;
	bool lock;
	uint8_t encoding; /* enum x86_encoding */
	uint8_t map;      /* enum x86_map */
	uint8_t opcode;
	bool has_modrm;
	uint8_t modrm;
	uint8_t imm_size; /* bytes of the first immediate: 0, 1, 2, 4 or 8 */
	uint64_t imm;     /* zero-extended */
	uint8_t bytes[X86_INSN_MAX_LEN];
};

/*
 * Decodes the instruction at b[0..n) in `mode`. Returns false if the bytes do not hold one
 * complete, valid instruction of at most 15 bytes (truncated, too long, or invalid in that
 * mode). Operands are not decoded: x86_insn_mem_operand() does that when it is asked.
 */
bool x86_insn_decode(const uint8_t *b, size_t n, enum x86_mode mode, struct x86_insn *in);

/*
 * The effective address (offset within its segment) of the instruction's explicit memory
 * operand, from the GP registers in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
 * R8..R15) and the address of the next instruction (for RIP-relative operands). *seg receives
 * the segment the access uses: the override, else SS for RSP/RBP-based addresses, else DS.
 * Returns false if there is no such operand: none at all, an address that is not accessed
 * (LEA, MPX's MIB forms), or one with a vector index (VSIB: gathers and scatters).
 */
bool x86_insn_mem_operand(const struct x86_insn *in, const uint64_t gpr[16], uint64_t next_rip, uint64_t *ea,
			  unsigned int *seg);

/* Where the bytes a store takes from the VP's state come from (struct x86_mem_access). */
enum x86_src_kind {
	X86_SRC_NONE,      /* none of the below: what is stored is not described */
	X86_SRC_GPR,       /* a GP register, encoding order (AH..BH: RAX..RBX at byte offset 1) */
	X86_SRC_GPR_BSWAP, /* likewise, its bytes reversed (MOVBE) */
	X86_SRC_IMM,       /* the immediate, sign-extended */
	X86_SRC_XMM,       /* an XMM register */
	X86_SRC_MM,        /* an MMX register */
	X86_SRC_SREG,      /* a segment register's selector (enum x86_seg) */
	X86_SRC_SETCC,     /* SETcc: 1 if condition src_reg (the opcode's low nibble) holds, else 0 */
	X86_SRC_CR0,       /* SMSW */
	X86_SRC_FCW,       /* FNSTCW */
	X86_SRC_FSW,       /* FNSTSW */
};

/* What the explicit memory operand of an instruction accesses, and for a store whose bytes
 * are a register's, the immediate or a condition (MOV, MOVNTI, MOVBE, MOVD/MOVQ, the SSE and
 * MMX moves, SETcc, SMSW, FNSTCW, FNSTSW) which bytes it stores. */
struct x86_mem_access {
	uint64_t ea;        /* as x86_insn_mem_operand() */
	unsigned int seg;   /* likewise */
	unsigned int size;  /* bytes accessed */
	bool written;       /* the instruction writes the operand (perhaps conditionally) */
	bool read;          /* it reads it (perhaps conditionally), as a read-modify-write does */
	uint8_t src_kind;   /* enum x86_src_kind */
	uint8_t src_reg;    /* the register, for GPR, XMM, MM and SREG */
	uint8_t src_offset; /* the stored bytes start at this byte of the source (AH, MOVHPS) */
	uint64_t imm;       /* X86_SRC_IMM */
};

/*
 * x86_insn_mem_operand() and what the access is: its size, whether it writes, the source of
 * the bytes of a plain move. Returns false where x86_insn_mem_operand() does.
 */
bool x86_insn_mem_access(const struct x86_insn *in, const uint64_t gpr[16], uint64_t next_rip,
			 struct x86_mem_access *acc);

/* Whether `b` is a prefix byte in `mode`: the legacy prefixes, and REX in 64-bit code (40..4F
 * are INC/DEC elsewhere). */
static inline bool x86_is_prefix(uint8_t b, enum x86_mode mode)
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
	default:
		return mode == X86_MODE_LONG64 && (b & 0xf0) == 0x40;
	}
}

static inline uint64_t x86_insn_addr_mask(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static inline int64_t x86_insn_sext(uint64_t v, unsigned int size)
{
	switch (size) {
	case 1:
		return (int8_t)v;
	case 2:
		return (int16_t)v;
	case 4:
		return (int32_t)v;
	}
	return (int64_t)v;
}

/* Whether `in` is a legacy-encoded instruction of the one-byte map with this opcode. */
static inline bool x86_insn_is(const struct x86_insn *in, uint8_t opcode)
{
	return in->encoding == X86_ENC_LEGACY && in->map == X86_MAP_1BYTE && in->opcode == opcode;
}

#endif /* SIDECAR_KVM_INSN_H */
