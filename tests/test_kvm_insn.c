/* SPDX-License-Identifier: MIT */
/*
 * The x86 instruction decoder the KVM backend uses to reconcile RIP
 * (kernel/backends/kvm/kvm_insn.h):
 * lengths across encodings and modes, prefixes, operand/address sizes, effective addresses,
 * and refusal of truncated or over-long input. Needs no /dev/kvm.
 */
#include "check.h"
#include "kvm_insn.h"

#include <stdint.h>
#include <string.h>

struct len_case {
	unsigned int mode;
	uint8_t len;
	uint8_t bytes[15];
};

static const struct len_case cases[] = {
	/* port I/O */
	{16, 1, {0xee}},
	{16, 2, {0xe6, 0x80}},
	{16, 2, {0x66, 0xef}},
	{64, 2, {0x48, 0xef}},
	{32, 2, {0xf3, 0x6e}},
	{64, 1, {0xf4}},
	/* ModRM forms, 16-bit addressing */
	{16, 3, {0xa3, 0x00, 0x80}},                   /* mov [0x8000], ax */
	{16, 2, {0x89, 0x07}},                         /* mov [bx], ax */
	{16, 4, {0x89, 0x87, 0x34, 0x12}},             /* mov [bx+0x1234], ax */
	{16, 3, {0x89, 0x47, 0x10}},                   /* mov [bx+0x10], ax */
	{16, 4, {0x89, 0x06, 0x00, 0x90}},             /* mov [0x9000], ax */
	{16, 8, {0x67, 0x89, 0x04, 0x25, 0, 0, 0, 0}}, /* mov [dword 0], ax: SIB, disp32 */
	/* 32/64-bit addressing */
	{32, 2, {0x89, 0x07}},
	{32, 3, {0x89, 0x04, 0x24}},                                   /* mov [esp], eax */
	{32, 7, {0x89, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00}},           /* mov [0x1000], eax (SIB, no base) */
	{64, 6, {0x89, 0x05, 0x10, 0x00, 0x00, 0x00}},                 /* mov [rip+0x10], eax */
	{64, 3, {0x41, 0x89, 0x07}},                                   /* mov [r15], eax */
	{64, 10, {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}},                /* mov rax, imm64 */
	{64, 5, {0xb8, 1, 2, 3, 4}},                                   /* mov eax, imm32 */
	{64, 12, {0x48, 0xc7, 0x84, 0x24, 0x10, 0, 0, 0, 1, 2, 3, 4}}, /* mov qword [rsp+0x10], imm32 */
	{64, 10, {0x48, 0xa3, 0, 0, 0, 0, 1, 0, 0, 0}},                /* mov [moffs64], rax */
	{64, 6, {0x67, 0xa3, 0, 0, 1, 0}},                             /* mov [moffs32], eax */
	{64, 2, {0xf6, 0xd0}},                                         /* not al */
	{64, 3, {0xf6, 0xc0, 0x01}},                                   /* test al, 1 */
	{64, 6, {0xf7, 0xc0, 1, 0, 0, 0}},                             /* test eax, 1 */
	{64, 5, {0x66, 0xf7, 0xc0, 1, 0}},                             /* test ax, 1 */
	{64, 5, {0xe8, 0, 0, 0, 0}},                                   /* call rel32 */
	{16, 3, {0xe8, 0, 0}},                                         /* call rel16 */
	{64, 2, {0xeb, 0xfe}},                                         /* jmp $ */
	{64, 4, {0xc8, 0x10, 0x00, 0x01}},                             /* enter */
	{32, 7, {0x9a, 1, 2, 3, 4, 5, 6}},                             /* call far ptr16:32 */
	/* 0F, 0F38, 0F3A maps */
	{64, 2, {0x0f, 0xa2}},                         /* cpuid */
	{64, 3, {0x0f, 0xb6, 0xc0}},                   /* movzx eax, al */
	{64, 4, {0x66, 0x0f, 0x6f, 0x07}},             /* movdqa xmm0, [rdi] */
	{64, 4, {0x0f, 0x11, 0x04, 0x24}},             /* movups [rsp], xmm0 */
	{64, 6, {0x0f, 0x84, 0, 0, 0, 0}},             /* jz rel32 */
	{64, 5, {0x66, 0x0f, 0x38, 0x00, 0xc1}},       /* pshufb xmm0, xmm1 */
	{64, 6, {0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08}}, /* palignr xmm0, xmm1, 8 */
	{64, 4, {0x0f, 0xba, 0xe0, 0x05}},             /* bt eax, 5 */
	{64, 3, {0x0f, 0x20, 0xc0}},                   /* mov rax, cr0 */
	/* VEX / EVEX */
	{64, 4, {0xc5, 0xf8, 0x10, 0x07}},                   /* vmovups xmm0, [rdi] */
	{64, 5, {0xc4, 0xe2, 0x79, 0x18, 0x07}},             /* vbroadcastss xmm0, [rdi] */
	{64, 6, {0xc4, 0xe3, 0x79, 0x0f, 0xc1, 0x08}},       /* vpalignr */
	{64, 3, {0xc5, 0xf8, 0x77}},                         /* vzeroupper */
	{64, 6, {0x62, 0xf1, 0x7c, 0x48, 0x10, 0x07}},       /* vmovups zmm0, [rdi] */
	{64, 7, {0x62, 0xf1, 0x7c, 0x48, 0x10, 0x47, 0x01}}, /* vmovups zmm0, [rdi+64] (disp8*N) */
	{32, 2, {0xc5, 0x07}},                               /* lds eax, [edi] in 32-bit code */
	/* prefixes */
	{64, 4, {0xf0, 0x48, 0x01, 0x07}}, /* lock add [rdi], rax */
	{64, 3, {0x64, 0x89, 0x07}},       /* mov fs:[rdi], eax */
	{64, 2, {0x8f, 0x07}},             /* pop qword [rdi] */
};

static void lengths(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct len_case *c = &cases[i];
		struct x86_insn in;
		uint8_t want = c->len;
		bool ok = x86_insn_decode(c->bytes, sizeof(c->bytes), (enum x86_mode)c->mode, &in);
		if (!ok || in.len != want) {
			fprintf(stderr, "case %zu (mode %u, %02x %02x %02x): ok %d len %u, want %u\n", i, c->mode,
				c->bytes[0], c->bytes[1], c->bytes[2], ok, ok ? in.len : 0, want);
			check_failures++;
			continue;
		}
		/* Truncated by one byte: refused. */
		CHECK(!x86_insn_decode(c->bytes, want - 1u, (enum x86_mode)c->mode, &in));
	}
}

static void details(void)
{
	struct x86_insn in;
	uint64_t g[16] = {0};
	uint64_t ea;
	unsigned int seg;

	/* rep outsb */
	REQUIRE(x86_insn_decode((const uint8_t[]){0xf3, 0x6e}, 2, X86_MODE_PROT32, &in));
	CHECK_EQ(in.rep, 0xf3);
	CHECK_EQ(in.opcode, 0x6e);

	/* in eax, dx with 66 in 16-bit code: 32-bit operand */
	REQUIRE(x86_insn_decode((const uint8_t[]){0x66, 0xed}, 2, X86_MODE_PROT16, &in));
	CHECK_EQ(in.opsize, 4);

	/* REX followed by a legacy prefix is ignored */
	REQUIRE(x86_insn_decode((const uint8_t[]){0x48, 0x66, 0x89, 0x07}, 4, X86_MODE_LONG64, &in));
	CHECK_EQ(in.rex, 0);
	CHECK_EQ(in.opsize, 2);

	/* effective addresses */
	g[3] = 0x100;                                                                           /* bx */
	g[6] = 0x20;                                                                            /* si */
	g[5] = 0x300;                                                                           /* bp */
	REQUIRE(x86_insn_decode((const uint8_t[]){0x89, 0x40, 0x04}, 3, X86_MODE_PROT16, &in)); /* [bx+si+4] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x124);
	CHECK_EQ(seg, X86_SEG_DS);
	REQUIRE(x86_insn_decode((const uint8_t[]){0x89, 0x46, 0xfe}, 3, X86_MODE_PROT16, &in)); /* [bp-2] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x2fe);
	CHECK_EQ(seg, X86_SEG_SS);
	REQUIRE(x86_insn_decode((const uint8_t[]){0x26, 0x89, 0x06, 0xff, 0xff}, 5, X86_MODE_PROT16,
				&in)); /* es:[0xffff] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0xffff);
	CHECK_EQ(seg, X86_SEG_ES);

	memset(g, 0, sizeof(g));
	g[15] = 0x5000;
	g[1] = 3;
	/* mov [r15 + rcx*8 + 0x10], eax: 41 89 44 cf 10 */
	REQUIRE(x86_insn_decode((const uint8_t[]){0x41, 0x89, 0x44, 0xcf, 0x10}, 5, X86_MODE_LONG64, &in));
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x5000 + 24 + 0x10);
	/* RIP-relative: next RIP + disp */
	REQUIRE(x86_insn_decode((const uint8_t[]){0x89, 0x05, 0x00, 0x01, 0x00, 0x00}, 6, X86_MODE_LONG64, &in));
	REQUIRE(x86_insn_mem_operand(&in, g, 0x7000, &ea, &seg));
	CHECK_EQ(ea, 0x7100);
	/* 32-bit addressing wraps */
	g[0] = 0xffffffffull;
	REQUIRE(x86_insn_decode((const uint8_t[]){0x67, 0x89, 0x48, 0x02}, 4, X86_MODE_LONG64, &in)); /* [eax+2] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 1);
	/* registers and control registers have no memory operand */
	REQUIRE(x86_insn_decode((const uint8_t[]){0x89, 0xc0}, 2, X86_MODE_LONG64, &in));
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	REQUIRE(x86_insn_decode((const uint8_t[]){0x0f, 0x22, 0x18}, 3, X86_MODE_LONG64,
				&in)); /* mov cr3, rax (mod 0) */
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));

	/* 15 prefixes and a NOP: 16 bytes, too long; 14 and a NOP: the longest legal */
	uint8_t many[16];
	memset(many, 0x66, sizeof(many));
	many[15] = 0x90;
	CHECK(!x86_insn_decode(many, sizeof(many), X86_MODE_LONG64, &in));
	many[14] = 0x90;
	REQUIRE(x86_insn_decode(many, sizeof(many), X86_MODE_LONG64, &in));
	CHECK_EQ(in.len, 15);
	/* far call is invalid in 64-bit code */
	CHECK(!x86_insn_decode((const uint8_t[]){0x9a, 1, 2, 3, 4, 5, 6}, 7, X86_MODE_LONG64, &in));
}

int main(void)
{
	lengths();
	details();
	return check_report("test_kvm_insn");
}
