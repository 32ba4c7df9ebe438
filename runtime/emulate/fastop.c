/* SPDX-License-Identifier: MIT */
/*
 * The ALU of the MMIO emulation, executed on this CPU (KVM's "fastop" idea): the guest's
 * arithmetic flags are loaded into RFLAGS, the instruction itself runs on register
 * operands of the same width, and RFLAGS is read back. So every flag, including those the
 * architecture leaves undefined (AF after AND, OF after BT, ...), is what the processor the
 * guest runs on produces, and the carry-in of ADC/SBB and the flags an instruction leaves
 * alone (CF across INC/DEC) come from the guest.
 *
 * The stack pointer steps over the red zone before PUSHF/POPF, which the compiler may be
 * using (this is leaf code); only the six arithmetic flags are taken from the guest, so DF,
 * TF and the rest of the host's RFLAGS are untouched.
 */
#include "emulate_internal.h"

#define FL_IN                                                \
	"lea -128(%%rsp), %%rsp\n\t"                         \
	"pushfq\n\t"                                         \
	"andq $-2262, (%%rsp)\n\t" /* ~0x8d5: clear arith */ \
	"orq %[fl], (%%rsp)\n\t"                             \
	"popfq\n\t"
#define FL_OUT           \
	"\n\tpushfq\n\t" \
	"popq %[fl]\n\t" \
	"lea 128(%%rsp), %%rsp"

/* Two operands: "op src, dst" in AT&T order, i.e. dst = dst OP src. */
#define OP2(mn, sfx, m) \
	asm volatile(FL_IN mn sfx " %" m "[s], %" m "[d]" FL_OUT : [d] "+r"(d), [fl] "+r"(fl) : [s] "r"(s) : "cc")
/* One operand. */
#define OP1(mn, sfx, m) asm volatile(FL_IN mn sfx " %" m "[d]" FL_OUT : [d] "+r"(d), [fl] "+r"(fl) : : "cc")

#define KEY(op, size) ((unsigned int)(op)*16u + (size))

/* The word, doubleword and quadword forms of `mn` through OPX (OP1 or OP2). */
#define CASES_WLQ(OPX, op, mn)     \
	case KEY(op, 2):           \
		OPX(mn, "w", "w"); \
		break;             \
	case KEY(op, 4):           \
		OPX(mn, "l", "k"); \
		break;             \
	case KEY(op, 8):           \
		OPX(mn, "q", "q"); \
		break;
/* Every width. */
#define CASES_BWLQ(OPX, op, mn)    \
	case KEY(op, 1):           \
		OPX(mn, "b", "b"); \
		break;             \
		CASES_WLQ(OPX, op, mn)

#define CASES2(op, mn) CASES_BWLQ(OP2, op, mn)
/* The BT family has no byte form. */
#define CASES_BT(op, mn) CASES_WLQ(OP2, op, mn)
#define CASES1(op, mn) CASES_BWLQ(OP1, op, mn)

uint64_t emu_alu(enum emu_alu op, unsigned int size, uint64_t dst, uint64_t src, uint64_t *rflags)
{
	uint64_t d = dst, s = src;
	uint64_t fl = *rflags & EMU_FL_ARITH;

	if (op == EMU_ALU_NOT)
		return ~dst & emu_mask(size); /* no flags */
	switch (KEY(op, size)) {
		CASES2(EMU_ALU_ADD, "add")
		CASES2(EMU_ALU_OR, "or")
		CASES2(EMU_ALU_ADC, "adc")
		CASES2(EMU_ALU_SBB, "sbb")
		CASES2(EMU_ALU_AND, "and")
		CASES2(EMU_ALU_SUB, "sub")
		CASES2(EMU_ALU_XOR, "xor")
		CASES2(EMU_ALU_CMP, "cmp")
		CASES2(EMU_ALU_TEST, "test")
		CASES_BT(EMU_ALU_BT, "bt")
		CASES_BT(EMU_ALU_BTS, "bts")
		CASES_BT(EMU_ALU_BTR, "btr")
		CASES_BT(EMU_ALU_BTC, "btc")
		CASES1(EMU_ALU_INC, "inc")
		CASES1(EMU_ALU_DEC, "dec")
		CASES1(EMU_ALU_NEG, "neg")
	default:
		return dst; /* not reached: the decoder gives only these */
	}
	*rflags = (*rflags & ~EMU_FL_ARITH) | (fl & EMU_FL_ARITH);
	return d & emu_mask(size);
}
