/* SPDX-License-Identifier: MIT */
/*
 * The x86 decoding the KVM backend uses to reconcile RIP (kernel/backends/kvm/kvm_insn.h, on
 * Zydis): lengths across encodings and the four machine modes (real, 16-bit protected, 32-bit,
 * 64-bit), prefixes, operand/address sizes, effective addresses of the explicit memory
 * operand, and refusal of truncated, over-long or invalid input, with the forms that are easy
 * to get wrong: MOV to/from CR/DR with mod != 3, and C4/C5/62 followed by a mod = 3 byte in
 * 16-bit protected mode (VEX/EVEX there, invalid in real mode).
 * Needs no /dev/kvm.
 */
#include "check.h"
#include "kvm_insn.h"

#include <stdint.h>
#include <string.h>

enum {
	REAL = 1 << 0,
	P16 = 1 << 1,
	P32 = 1 << 2,
	L64 = 1 << 3,
	M16 = REAL | P16, /* the same in both 16-bit modes */
	ALL = REAL | P16 | P32 | L64,
};

static const enum x86_mode modes[] = {X86_MODE_REAL, X86_MODE_PROT16, X86_MODE_PROT32, X86_MODE_LONG64};
static const char *const mode_names[] = {"real", "prot16", "prot32", "long64"};

struct len_case {
	unsigned int modes; /* the modes it decodes in, to `len` bytes */
	uint8_t len;
	uint8_t bytes[15];
	const char *what;
};

static const struct len_case len_cases[] = {
	/* port I/O */
	{ALL, 1, {0xee}, "out dx, al"},
	{ALL, 2, {0xe6, 0x80}, "out 0x80, al"},
	{ALL, 2, {0x66, 0xef}, "out dx, (e)ax"},
	{L64, 2, {0x48, 0xef}, "rex.w out dx, eax"},
	{ALL, 2, {0xf3, 0x6e}, "rep outsb"},
	{ALL, 1, {0xf4}, "hlt"},
	/* ModRM forms, 16-bit addressing */
	{M16, 3, {0xa3, 0x00, 0x80}, "mov [0x8000], ax"},
	{M16, 2, {0x89, 0x07}, "mov [bx], ax"},
	{M16, 4, {0x89, 0x87, 0x34, 0x12}, "mov [bx+0x1234], ax"},
	{M16, 3, {0x89, 0x47, 0x10}, "mov [bx+0x10], ax"},
	{M16, 4, {0x89, 0x06, 0x00, 0x90}, "mov [0x9000], ax"},
	{M16, 8, {0x67, 0x89, 0x04, 0x25, 0, 0, 0, 0}, "mov [dword 0], ax: SIB, disp32"},
	{P32, 5, {0x67, 0x89, 0x06, 0x00, 0x90}, "mov [word 0x9000], eax"},
	/* 32/64-bit addressing */
	{P32 | L64, 2, {0x89, 0x07}, "mov [edi], eax"},
	{P32 | L64, 3, {0x89, 0x04, 0x24}, "mov [esp], eax"},
	{P32 | L64, 7, {0x89, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00}, "mov [0x1000], eax: SIB, no base"},
	{L64, 6, {0x89, 0x05, 0x10, 0x00, 0x00, 0x00}, "mov [rip+0x10], eax"},
	{L64, 3, {0x41, 0x89, 0x07}, "mov [r15], eax"},
	{L64, 10, {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, "mov rax, imm64"},
	{P32 | L64, 5, {0xb8, 1, 2, 3, 4}, "mov eax, imm32"},
	{M16, 3, {0xb8, 1, 2}, "mov ax, imm16"},
	{L64, 12, {0x48, 0xc7, 0x84, 0x24, 0x10, 0, 0, 0, 1, 2, 3, 4}, "mov qword [rsp+0x10], imm32"},
	{L64, 10, {0x48, 0xa3, 0, 0, 0, 0, 1, 0, 0, 0}, "mov [moffs64], rax"},
	{L64, 6, {0x67, 0xa3, 0, 0, 1, 0}, "mov [moffs32], eax"},
	{ALL, 2, {0xf6, 0xd0}, "not al"},
	{ALL, 3, {0xf6, 0xc0, 0x01}, "test al, 1"},
	{P32 | L64, 6, {0xf7, 0xc0, 1, 0, 0, 0}, "test eax, 1"},
	{P32 | L64, 5, {0x66, 0xf7, 0xc0, 1, 0}, "test ax, 1"},
	{P32 | L64, 5, {0xe8, 0, 0, 0, 0}, "call rel32"},
	{M16, 3, {0xe8, 0, 0}, "call rel16"},
	{ALL, 2, {0xeb, 0xfe}, "jmp $"},
	{ALL, 4, {0xc8, 0x10, 0x00, 0x01}, "enter"},
	{P32, 7, {0x9a, 1, 2, 3, 4, 5, 6}, "call far ptr16:32"},
	{M16, 5, {0x9a, 1, 2, 3, 4}, "call far ptr16:16"},
	/* 0F, 0F38, 0F3A maps */
	{ALL, 2, {0x0f, 0xa2}, "cpuid"},
	{P32 | L64, 3, {0x0f, 0xb6, 0xc0}, "movzx eax, al"},
	{L64, 4, {0x66, 0x0f, 0x6f, 0x07}, "movdqa xmm0, [rdi]"},
	{L64, 4, {0x0f, 0x11, 0x04, 0x24}, "movups [rsp], xmm0"},
	{P32 | L64, 6, {0x0f, 0x84, 0, 0, 0, 0}, "jz rel32"},
	{L64, 5, {0x66, 0x0f, 0x38, 0x00, 0xc1}, "pshufb xmm0, xmm1"},
	{L64, 6, {0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08}, "palignr xmm0, xmm1, 8"},
	{ALL, 4, {0x0f, 0xba, 0xe0, 0x05}, "bt (e)ax, 5"},
	/* MOV to/from CR/DR: registers whatever the mod field says, never a displacement */
	{ALL, 3, {0x0f, 0x20, 0xc0}, "mov eax, cr0 (mod 3)"},
	{ALL, 3, {0x0f, 0x20, 0x45}, "mov ebp, cr0 (mod 1)"},
	{ALL, 3, {0x0f, 0x22, 0x18}, "mov cr3, eax (mod 0)"},
	{ALL, 3, {0x0f, 0x22, 0x85}, "mov cr0, ebp (mod 2)"},
	{ALL, 3, {0x0f, 0x21, 0x45}, "mov ebp, dr0 (mod 1)"},
	{ALL, 3, {0x0f, 0x23, 0x80}, "mov dr0, eax (mod 2)"},
	{L64, 4, {0x44, 0x0f, 0x20, 0x45}, "mov rbp, cr8 (mod 1)"},
	/* VEX / EVEX: 64-bit, and 32-bit or 16-bit protected mode when the next byte has mod 3 */
	{P16 | P32 | L64, 4, {0xc5, 0xf8, 0x10, 0x07}, "vmovups xmm0, [(e/r)di or bx]"},
	{P16 | P32 | L64, 5, {0xc4, 0xe2, 0x79, 0x18, 0x07}, "vbroadcastss xmm0, [...]"},
	{P16 | P32 | L64, 6, {0xc4, 0xe3, 0x79, 0x0f, 0xc1, 0x08}, "vpalignr"},
	{P16 | P32 | L64, 3, {0xc5, 0xf8, 0x77}, "vzeroupper"},
	{P16 | P32 | L64, 6, {0x62, 0xf1, 0x7c, 0x48, 0x10, 0x07}, "vmovups zmm0, [...]"},
	{L64, 7, {0x62, 0xf1, 0x7c, 0x48, 0x10, 0x47, 0x01}, "vmovups zmm0, [rdi+64] (disp8*N)"},
	/* ... and LES/LDS/BOUND otherwise */
	{P32, 2, {0xc5, 0x07}, "lds eax, [edi]"},
	{M16, 2, {0xc5, 0x07}, "lds ax, [bx]"},
	{M16, 2, {0xc4, 0x07}, "les ax, [bx]"},
	{M16 | P32, 2, {0x62, 0x07}, "bound (e)ax, [...]"},
	/* prefixes */
	{L64, 4, {0xf0, 0x48, 0x01, 0x07}, "lock add [rdi], rax"},
	{ALL, 3, {0x64, 0x89, 0x07}, "mov fs:[...], (e)ax"},
	{ALL, 4, {0x26, 0x66, 0x89, 0x07}, "mov es:[...], other-size ax"},
	{P32 | L64, 3, {0x67, 0x89, 0x07}, "mov [di or edi], eax"},
	{M16, 3, {0x67, 0x89, 0x07}, "mov [edi], ax"},
	{L64, 2, {0x8f, 0x07}, "pop qword [rdi]"},
	{ALL, 3, {0xf2, 0xf3, 0x6c}, "f2 f3 insb"},
	{P16 | P32 | L64, 2, {0x63, 0xc0}, "arpl ax, ax / movsxd eax, eax"},
};

static void test_lengths(void)
{
	for (size_t i = 0; i < sizeof(len_cases) / sizeof(len_cases[0]); i++) {
		const struct len_case *c = &len_cases[i];
		for (size_t m = 0; m < 4; m++) {
			if (!(c->modes & (1u << m)))
				continue;
			struct x86_insn in;
			bool ok = x86_insn_decode(c->bytes, sizeof(c->bytes), modes[m], &in);
			if (!ok || in.len != c->len) {
				fprintf(stderr, "case %zu (%s) in %s mode: ok %d len %u, want %u\n", i, c->what,
					mode_names[m], ok, ok ? in.len : 0, c->len);
				check_failures++;
				continue;
			}
			CHECK_EQ(in.mode, modes[m]);
			CHECK(!memcmp(in.bytes, c->bytes, c->len));
			/* Truncated by one byte: refused. */
			if (x86_insn_decode(c->bytes, c->len - 1u, modes[m], &in)) {
				fprintf(stderr, "case %zu (%s) in %s mode: decodes truncated\n", i, c->what,
					mode_names[m]);
				check_failures++;
			}
		}
	}
}

static bool dec(enum x86_mode mode, const uint8_t *b, size_t n, struct x86_insn *in)
{
	return x86_insn_decode(b, n, mode, in);
}

#define DEC(mode, in, ...) dec(mode, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), in)

/* C4/C5/62/8F: VEX, EVEX and XOP exist outside real mode only. */
static void test_escapes_by_mode(void)
{
	struct x86_insn in;

	/* vzeroupper: VEX in 16-bit protected mode, no instruction at all in real mode (LDS
	 * with a register operand is #UD there) */
	REQUIRE(DEC(X86_MODE_PROT16, &in, 0xc5, 0xf8, 0x77));
	CHECK_EQ(in.encoding, X86_ENC_VEX);
	CHECK_EQ(in.map, X86_MAP_0F);
	CHECK_EQ(in.opcode, 0x77);
	CHECK(!DEC(X86_MODE_REAL, &in, 0xc5, 0xf8, 0x77));
	/* EVEX in 16-bit protected mode; BOUND with a register operand in real mode: invalid */
	REQUIRE(DEC(X86_MODE_PROT16, &in, 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x07));
	CHECK_EQ(in.encoding, X86_ENC_EVEX);
	CHECK(!DEC(X86_MODE_REAL, &in, 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x07));
	/* with a memory operand, LES/LDS in both 16-bit modes */
	REQUIRE(DEC(X86_MODE_PROT16, &in, 0xc4, 0x07));
	CHECK_EQ(in.encoding, X86_ENC_LEGACY);
	CHECK_EQ(in.opcode, 0xc4);
	REQUIRE(DEC(X86_MODE_REAL, &in, 0xc5, 0x07));
	CHECK_EQ(in.encoding, X86_ENC_LEGACY);
	/* XOP (AMD): not in real mode, where 8F is POP */
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x8f, 0xe9, 0x78, 0x01, 0xc8)); /* blcfill eax, eax */
	CHECK_EQ(in.encoding, X86_ENC_XOP);
	CHECK(!DEC(X86_MODE_REAL, &in, 0x8f, 0xe9, 0x78, 0x01, 0xc8));
	REQUIRE(DEC(X86_MODE_REAL, &in, 0x8f, 0x07)); /* pop word [bx] */
	CHECK_EQ(in.encoding, X86_ENC_LEGACY);
	CHECK_EQ(in.len, 2);
	/* protected-mode-only instructions are invalid in real mode */
	REQUIRE(DEC(X86_MODE_PROT16, &in, 0x63, 0xc0)); /* arpl ax, ax */
	CHECK(!DEC(X86_MODE_REAL, &in, 0x63, 0xc0));
}

static void test_prefixes(void)
{
	struct x86_insn in;

	/* rep outsb: F3, and F2 (KVM's emulator repeats string I/O under either) */
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0xf3, 0x6e));
	CHECK_EQ(in.rep, 0xf3);
	CHECK_EQ(in.opcode, 0x6e);
	CHECK_EQ(in.map, X86_MAP_1BYTE);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xf2, 0x6d));
	CHECK_EQ(in.rep, 0xf2);
	REQUIRE(DEC(X86_MODE_REAL, &in, 0xf2, 0xf3, 0x6c)); /* the last one counts */
	CHECK_EQ(in.rep, 0xf3);
	REQUIRE(DEC(X86_MODE_REAL, &in, 0x6c));
	CHECK_EQ(in.rep, 0);

	/* operand size: 66 swaps 16 and 32 bits in every mode; REX.W makes 64 */
	REQUIRE(DEC(X86_MODE_REAL, &in, 0x66, 0xed)); /* in eax, dx */
	CHECK_EQ(in.opsize, 4);
	REQUIRE(DEC(X86_MODE_PROT16, &in, 0xed));
	CHECK_EQ(in.opsize, 2);
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x66, 0xed));
	CHECK_EQ(in.opsize, 2);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xed));
	CHECK_EQ(in.opsize, 4);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x48, 0x89, 0x07));
	CHECK_EQ(in.opsize, 8);
	CHECK_EQ(in.rex, X86_REX_W);
	CHECK(in.has_rex);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xe6, 0x80)); /* byte forms */
	CHECK_EQ(in.opsize, 1);

	/* address size: 67 swaps 16 and 32 bits, and 64 with 32 in long mode */
	REQUIRE(DEC(X86_MODE_REAL, &in, 0x6c));
	CHECK_EQ(in.addrsize, 2);
	REQUIRE(DEC(X86_MODE_PROT16, &in, 0x67, 0x6c));
	CHECK_EQ(in.addrsize, 4);
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x67, 0x6c));
	CHECK_EQ(in.addrsize, 2);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x6c));
	CHECK_EQ(in.addrsize, 8);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x67, 0x6c));
	CHECK_EQ(in.addrsize, 4);

	/* a REX prefix followed by a legacy prefix is ignored */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x48, 0x66, 0x89, 0x07));
	CHECK_EQ(in.rex, 0);
	CHECK(!in.has_rex);
	CHECK_EQ(in.opsize, 2);
	/* REX.R extends the ModRM reg field; 40 selects SPL..DIL for byte registers */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x44, 0x89, 0x07));
	CHECK_EQ(in.rex, X86_REX_R);
	CHECK(in.has_modrm);
	CHECK_EQ(in.modrm, 0x07);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x40, 0x88, 0x27)); /* mov [rdi], ah -> spl */
	CHECK(in.has_rex);
	CHECK_EQ(in.rex, 0);
	CHECK_EQ((in.modrm >> 3) & 7, 4);
	/* in 32-bit code 40..4F are INC/DEC, not REX */
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x48, 0x89, 0x07));
	CHECK_EQ(in.len, 1);

	/* segment overrides: the last one */
	REQUIRE(DEC(X86_MODE_REAL, &in, 0x26, 0x89, 0x07));
	CHECK_EQ(in.seg, X86_SEG_ES);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x2e, 0x65, 0x89, 0x07));
	CHECK_EQ(in.seg, X86_SEG_GS);
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x89, 0x07));
	CHECK_EQ(in.seg, X86_SEG_NONE);

	/* LOCK where it is allowed; refused on a register destination (#UD) */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xf0, 0x48, 0x01, 0x07));
	CHECK(in.lock);
	CHECK(!DEC(X86_MODE_LONG64, &in, 0xf0, 0x01, 0xc0));
	/* VEX after 66/F2/F3/REX/LOCK is #UD */
	CHECK(!DEC(X86_MODE_LONG64, &in, 0x66, 0xc5, 0xf8, 0x77));
	CHECK(!DEC(X86_MODE_LONG64, &in, 0x48, 0xc5, 0xf8, 0x77));

	/* immediates: zero-extended, with their size */
	REQUIRE(DEC(X86_MODE_REAL, &in, 0xe6, 0x80));
	CHECK_EQ(in.imm_size, 1);
	CHECK_EQ(in.imm, 0x80);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff));
	CHECK_EQ(in.imm_size, 4);
	CHECK_EQ(in.imm, 0xfffffffe);
	CHECK_EQ((uint64_t)x86_insn_sext(in.imm, in.imm_size), ~1ull);
	REQUIRE(DEC(X86_MODE_PROT16, &in, 0xc7, 0x07, 0x34, 0x12));
	CHECK_EQ(in.imm_size, 2);
	CHECK_EQ(in.imm, 0x1234);

	/* maps and encodings */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x66, 0x0f, 0x38, 0x00, 0xc1));
	CHECK_EQ(in.map, X86_MAP_0F38);
	CHECK_EQ(in.opcode, 0x00);
	CHECK_EQ(in.encoding, X86_ENC_LEGACY);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xf3, 0x0f, 0x7f, 0x07)); /* movdqu [rdi], xmm0 */
	CHECK_EQ(in.map, X86_MAP_0F);
	CHECK_EQ(in.opcode, 0x7f);
	CHECK_EQ(in.len, 4);
	CHECK(x86_insn_is(&(struct x86_insn){.map = X86_MAP_1BYTE, .opcode = 0xf4}, 0xf4));
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xc5, 0xf9, 0xf4, 0xc0)); /* vpmuludq: a VEX opcode F4 is no HLT */
	CHECK(!x86_insn_is(&in, 0xf4));
}

static void test_invalid(void)
{
	struct x86_insn in;
	uint8_t many[16];

	/* 15 prefixes and a NOP: 16 bytes, too long; 14 and a NOP: the longest legal */
	memset(many, 0x66, sizeof(many));
	many[15] = 0x90;
	CHECK(!x86_insn_decode(many, sizeof(many), X86_MODE_LONG64, &in));
	many[14] = 0x90;
	REQUIRE(x86_insn_decode(many, sizeof(many), X86_MODE_LONG64, &in));
	CHECK_EQ(in.len, 15);
	/* far call and the BCD instructions are invalid in 64-bit code */
	CHECK(!DEC(X86_MODE_LONG64, &in, 0x9a, 1, 2, 3, 4, 5, 6));
	CHECK(!DEC(X86_MODE_LONG64, &in, 0x27));
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x27));
	/* an undefined opcode */
	CHECK(!DEC(X86_MODE_LONG64, &in, 0x0f, 0x04));
	/* nothing to decode */
	CHECK(!x86_insn_decode(many, 0, X86_MODE_LONG64, &in));
	CHECK(!DEC(X86_MODE_LONG64, &in, 0x66));
}

static void test_addresses(void)
{
	struct x86_insn in;
	uint64_t g[16] = {0};
	uint64_t ea;
	unsigned int seg;

	/* 16-bit addressing, in both 16-bit modes */
	g[3] = 0x100; /* bx */
	g[6] = 0x20;  /* si */
	g[5] = 0x300; /* bp */
	for (int m = 0; m < 2; m++) {
		enum x86_mode mode = m ? X86_MODE_PROT16 : X86_MODE_REAL;
		REQUIRE(DEC(mode, &in, 0x89, 0x40, 0x04)); /* [bx+si+4] */
		REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
		CHECK_EQ(ea, 0x124);
		CHECK_EQ(seg, X86_SEG_DS);
		REQUIRE(DEC(mode, &in, 0x89, 0x46, 0xfe)); /* [bp-2] */
		REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
		CHECK_EQ(ea, 0x2fe);
		CHECK_EQ(seg, X86_SEG_SS);
		REQUIRE(DEC(mode, &in, 0x26, 0x89, 0x06, 0xff, 0xff)); /* es:[0xffff] */
		REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
		CHECK_EQ(ea, 0xffff);
		CHECK_EQ(seg, X86_SEG_ES);
		REQUIRE(DEC(mode, &in, 0x89, 0x87, 0x00, 0xff)); /* [bx-0x100]: wraps in 16 bits */
		REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
		CHECK_EQ(ea, 0);
	}

	memset(g, 0, sizeof(g));
	g[15] = 0x5000;
	g[1] = 3;
	/* mov [r15 + rcx*8 + 0x10], eax: 41 89 44 cf 10 */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x41, 0x89, 0x44, 0xcf, 0x10));
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x5000 + 24 + 0x10);
	CHECK_EQ(seg, X86_SEG_DS);
	/* RIP-relative: next RIP + disp */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x89, 0x05, 0x00, 0x01, 0x00, 0x00));
	REQUIRE(x86_insn_mem_operand(&in, g, 0x7000, &ea, &seg));
	CHECK_EQ(ea, 0x7100);
	/* 32-bit addressing wraps, in 64-bit and in 32-bit code */
	g[0] = 0xffffffffull;
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x67, 0x89, 0x48, 0x02)); /* [eax+2] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 1);
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x89, 0x48, 0x02));
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 1);
	/* RSP/RBP bases use SS, R12/R13 DS; the override wins */
	memset(g, 0, sizeof(g));
	g[4] = 0x8000;
	g[13] = 0x9000;
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x89, 0x44, 0x24, 0x08)); /* [rsp+8] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x8008);
	CHECK_EQ(seg, X86_SEG_SS);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x41, 0x89, 0x45, 0x00)); /* [r13+0] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x9000);
	CHECK_EQ(seg, X86_SEG_DS);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x64, 0x89, 0x04, 0x24)); /* fs:[rsp] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(seg, X86_SEG_FS);
	/* moffs: the offset itself */
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0xa3, 0x00, 0x10, 0x00, 0x80));
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x80001000);
	CHECK_EQ(seg, X86_SEG_DS);
	/* PUSH from memory: the explicit operand is the source */
	g[7] = 0x4000;
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xff, 0x37)); /* push qword [rdi] */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x4000);
	/* a VEX store */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xc5, 0xf8, 0x11, 0x07)); /* vmovups [rdi], xmm0 */
	REQUIRE(x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	CHECK_EQ(ea, 0x4000);

	/* no accessed memory operand: registers, control registers (any mod), LEA, VSIB */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x89, 0xc0));
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x0f, 0x22, 0x18)); /* mov cr3, rax (mod 0) */
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x0f, 0x20, 0x45)); /* mov ebp, cr0 (mod 1) */
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x48, 0x8d, 0x07)); /* lea rax, [rdi] */
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xc4, 0xe2, 0x71, 0x92, 0x04,
		    0xd0)); /* vgatherdps xmm0, [rax+xmm2*8], xmm1 */
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xf4));
	CHECK(!x86_insn_mem_operand(&in, g, 0, &ea, &seg));
}

/* What a store's operand is: its size, whether it is only written (a read-modify-write
 * reads it first), and where the bytes it stores come from. */
static void test_accesses(void)
{
	struct x86_insn in;
	struct x86_mem_access a;
	uint64_t g[16] = {0};

	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x66, 0x89, 0x27)); /* mov [rdi], sp */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 2);
	CHECK(a.written && !a.read);
	CHECK_EQ(a.src_kind, X86_SRC_GPR);
	CHECK_EQ(a.src_reg, 4);
	CHECK_EQ(a.src_offset, 0);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x88, 0x27)); /* mov [rdi], ah */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.src_kind, X86_SRC_GPR);
	CHECK_EQ(a.src_reg, 0);
	CHECK_EQ(a.src_offset, 1);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x40, 0x88, 0x27)); /* mov [rdi], spl */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.src_reg, 4);
	CHECK_EQ(a.src_offset, 0);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x48, 0xc7, 0x07, 0xf0, 0xff, 0xff, 0xff)); /* mov qword [rdi], -16 */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 8);
	CHECK_EQ(a.src_kind, X86_SRC_IMM);
	CHECK_EQ(a.imm, ~0xfull);
	REQUIRE(DEC(X86_MODE_PROT32, &in, 0x66, 0xa3, 0x00, 0x10, 0x00, 0x80)); /* mov [0x80001000], ax */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 2);
	CHECK_EQ(a.src_kind, X86_SRC_GPR); /* the accumulator, implied by the opcode */
	CHECK_EQ(a.src_reg, 0);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x48, 0x8c, 0x1f)); /* mov [rdi], ds: 16 bits whatever REX.W */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 2);
	CHECK_EQ(a.src_kind, X86_SRC_SREG);
	CHECK_EQ(a.src_reg, X86_SEG_DS);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xf3, 0x0f, 0x7f, 0x4f, 0x20)); /* movdqu [rdi+0x20], xmm1 */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 16);
	CHECK_EQ(a.src_kind, X86_SRC_XMM);
	CHECK_EQ(a.src_reg, 1);
	CHECK_EQ(in.mandatory, 0xf3);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x0f, 0x7f, 0x4f, 0x20)); /* movq [rdi+0x20], mm1 */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 8);
	CHECK_EQ(a.src_kind, X86_SRC_MM);
	CHECK_EQ(in.mandatory, 0);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x0f, 0x17, 0x17)); /* movhps [rdi], xmm2: the upper half */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 8);
	CHECK_EQ(a.src_kind, X86_SRC_XMM);
	CHECK_EQ(a.src_offset, 8);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x0f, 0x94, 0x07)); /* setz [rdi] */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 1);
	CHECK_EQ(a.src_kind, X86_SRC_SETCC);
	CHECK_EQ(a.src_reg, 4);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x0f, 0x38, 0xf1, 0x07)); /* movbe [rdi], eax */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.src_kind, X86_SRC_GPR_BSWAP);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xd9, 0x3f)); /* fnstcw [rdi] */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK_EQ(a.size, 2);
	CHECK_EQ(a.src_kind, X86_SRC_FCW);
	/* read-modify-writes, and stores whose bytes are not described */
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x01, 0x07)); /* add [rdi], eax */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK(a.written && a.read);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x87, 0x07)); /* xchg [rdi], eax */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK(a.written && a.read);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0xdb, 0x0b)); /* fisttp dword [rbx] */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK(a.written && !a.read);
	CHECK_EQ(a.src_kind, X86_SRC_NONE);
	REQUIRE(DEC(X86_MODE_LONG64, &in, 0x8b, 0x07)); /* mov eax, [rdi] */
	REQUIRE(x86_insn_mem_access(&in, g, 0, &a));
	CHECK(!a.written && a.read);
}

static const struct check_case cases[] = {
	CHECK_CASE(lengths), CHECK_CASE(escapes_by_mode), CHECK_CASE(prefixes),
	CHECK_CASE(invalid), CHECK_CASE(addresses),       CHECK_CASE(accesses),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kvm_insn", CHECK_CASES(cases), .watchdog_s = 60};
	return check_main(argc, argv, &suite);
}
