/* SPDX-License-Identifier: MIT */
/*
 * The emulation helper against the processor: each random instruction runs twice in a
 * 64-bit guest on the KVM backend, with the same registers, flags and memory contents.
 *
 *   RAM run:  its memory operand is ordinary guest RAM: the processor executes it natively.
 *   MMIO run: the same guest-virtual window is mapped to a GPA without memory: the access
 *             exits, and sidecar_emulate_mmio completes it against a device whose contents
 *             are the window's bytes.
 *
 * Only the page-table entry of the window differs (the guest code flushes it with INVLPG
 * before the instruction; HLT follows it). After each run: the 16 GP registers, RIP,
 * RFLAGS, the window and a second RAM region (the other side of MOVS) must be identical, and
 * every intercept of the MMIO run must name the instruction the test wrote (RIP, length,
 * bytes), as Hyper-V's would. The INVLPG before it ends in 0x40, a REX prefix's value.
 *
 *   test_emulate_diff [cases [seed]]   (default 10000 cases, seed 1)
 *
 * Forms: MOV (r/m,r; r,r/m; r/m,imm; moffs; r/m,Sreg), MOVZX, MOVSX, MOVSXD, ADD OR ADC SBB
 * AND SUB XOR CMP (all three forms, imm8 and full immediates), TEST, BT BTS BTR BTC (register
 * and immediate offsets), INC DEC NEG NOT, XCHG, MOVS STOS LODS (REP, DF, 32-bit addressing,
 * FS/GS overrides), in every operand size, every addressing form (base, base+index*scale,
 * disp8/disp32, index only, absolute, RIP-relative, 32-bit addressing), LOCK where legal,
 * random registers and flags. Skips (77) without /dev/kvm.
 */
#include "kvm_util.h"

#include "emu_util.h"

#include <inttypes.h>
#include <stdlib.h>

#define CODE 0x10000ull
#define PD2 0x5000ull
#define WIN 0x40000000ull      /* the window's GVA: PDPT[1] -> PD2, one 2 MiB page */
#define WIN_RAM 0x1000000ull   /* its RAM backing (16 MiB) */
#define WIN_MMIO 0x10000000ull /* its device backing (256 MiB, no memory) */
#define OTHER 0x200000ull      /* the other RAM region (identity-mapped) */
#define REGION 8192
#define FS_BASE 0x1000ull
#define GS_BASE 0xffffffffffffe000ull

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static unsigned int rndn(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static bool chance(unsigned int percent)
{
	return rndn(100) < percent;
}

enum kind {
	K_MOV_ST,
	K_MOV_LD,
	K_MOV_IMM,
	K_MOV_MOFFS,
	K_MOV_SREG,
	K_MOVZX,
	K_MOVSX,
	K_MOVSXD,
	K_ALU_MR,
	K_ALU_RM,
	K_ALU_MI,
	K_TEST_MR,
	K_TEST_MI,
	K_BT_MR,
	K_BT_MI,
	K_UNARY,
	K_XCHG,
	K_MOVS,
	K_STOS,
	K_LODS,
	K_COUNT
};

static const char *const kind_names[K_COUNT] = {
	"mov m,r",  "mov r,m",         "mov m,imm", "mov moffs", "mov m,sreg", "movzx",      "movsx",
	"movsxd",   "alu m,r",         "alu r,m",   "alu m,imm", "test m,r",   "test m,imm", "bt m,r",
	"bt m,imm", "inc/dec/neg/not", "xchg",      "movs",      "stos",       "lods",
};

struct tcase {
	enum kind kind;
	uint8_t b[15];
	unsigned int n;
	uint64_t regs[16];
	uint64_t rflags;
};

/* ---- the encoder -------------------------------------------------------------------------- */

struct enc {
	uint8_t pfx[4];
	unsigned int npfx;
	uint8_t rex; /* 0: none; else 0x40 | WRXB */
	bool want_rex;
	uint8_t op[3];
	unsigned int nop;
	uint8_t modrm;
	bool has_modrm;
	uint8_t sib;
	bool has_sib;
	unsigned int disp_size;
	int64_t disp;
	bool riprel;
	uint64_t riprel_target; /* EA a RIP-relative operand must reach */
	uint8_t imm[8];
	unsigned int imm_size;
};

static void enc_imm(struct enc *e, uint64_t v, unsigned int size)
{
	memcpy(e->imm, &v, size);
	e->imm_size = size;
}

static void enc_finish(struct enc *e, struct tcase *t)
{
	unsigned int n = 0;
	uint8_t *b = t->b;

	for (unsigned int i = 0; i < e->npfx; i++)
		b[n++] = e->pfx[i];
	if (e->rex || e->want_rex)
		b[n++] = 0x40 | e->rex;
	for (unsigned int i = 0; i < e->nop; i++)
		b[n++] = e->op[i];
	if (e->has_modrm)
		b[n++] = e->modrm;
	if (e->has_sib)
		b[n++] = e->sib;
	unsigned int disp_at = n;
	n += e->disp_size;
	memcpy(b + n, e->imm, e->imm_size);
	n += e->imm_size;
	if (e->riprel) {
		uint64_t next = CODE + 8 + n; /* the INVLPG (8 bytes) precedes the instruction */
		e->disp = (int64_t)(e->riprel_target - next);
	}
	if (e->disp_size)
		memcpy(b + disp_at, &e->disp, e->disp_size);
	t->n = n;
}

/* A memory operand whose linear address is `la`: chooses an addressing form, sets the
 * base/index registers; `reg` is the ModRM reg field (a register number or /digit).
 * `avoid` (-1: none) must not be the base or index (a BT bit-offset register). */
static void enc_mem(struct enc *e, struct tcase *t, unsigned int reg, uint64_t la, bool addr32, int seg_base_idx,
		    int avoid)
{
	uint64_t seg = seg_base_idx == 4 ? FS_BASE : seg_base_idx == 5 ? GS_BASE : 0;
	uint64_t ea = la - seg;
	uint64_t amask = addr32 ? 0xffffffffull : ~0ull;

	e->has_modrm = true;
	e->rex |= (uint8_t)((reg >> 3) << 2); /* REX.R */
	for (;;) {
		unsigned int form = rndn(7);
		int b = (int)rndn(16), i = (int)rndn(16);
		unsigned int scale_log = rndn(4);
		if (b == avoid || i == avoid || i == 4 || b == i)
			continue;
		e->has_sib = false;
		e->disp_size = 0;
		e->disp = 0;
		e->riprel = false;
		e->rex &= (uint8_t)~3u;
		switch (form) {
		case 0: /* [base] */
		case 1: /* [base + disp8] */
		case 2: /* [base + disp32] */
			if (form == 0 && (b & 7) == 5)
				form = 1; /* rbp/r13 need a displacement */
			e->disp_size = form == 0 ? 0 : form == 1 ? 1 : 4;
			e->disp = form == 0 ? 0 : form == 1 ? (int8_t)rnd() : (int32_t)rnd();
			e->modrm = (uint8_t)((form == 0 ? 0 : form == 1 ? 0x40 : 0x80) | ((reg & 7) << 3));
			if ((b & 7) == 4) {
				e->modrm |= 4;
				e->has_sib = true;
				e->sib = 0x24; /* no index, base rsp/r12 */
			} else {
				e->modrm |= (uint8_t)(b & 7);
			}
			e->rex |= (uint8_t)(b >> 3); /* REX.B */
			t->regs[b] = (ea - (uint64_t)e->disp) & amask;
			if (addr32)
				t->regs[b] |= rnd() << 32;
			return;
		case 3: /* [base + index*scale (+ disp)] */ {
			unsigned int dsel = rndn(3);
			if (dsel == 0 && (b & 7) == 5)
				dsel = 1;
			e->disp_size = dsel == 0 ? 0 : dsel == 1 ? 1 : 4;
			e->disp = dsel == 1 ? (int8_t)rnd() : dsel == 2 ? (int32_t)rnd() : 0;
			e->modrm = (uint8_t)((dsel == 0 ? 0 : dsel == 1 ? 0x40 : 0x80) | ((reg & 7) << 3) | 4);
			e->has_sib = true;
			e->sib = (uint8_t)((scale_log << 6) | ((i & 7) << 3) | (b & 7));
			e->rex |= (uint8_t)(((i >> 3) << 1) | (b >> 3));
			uint64_t iv = t->regs[i];
			t->regs[b] = (ea - (iv << scale_log) - (uint64_t)e->disp) & amask;
			if (addr32)
				t->regs[b] |= rnd() << 32;
			return;
		}
		case 4: /* [index*scale + disp32] */ {
			e->modrm = (uint8_t)(((reg & 7) << 3) | 4);
			e->has_sib = true;
			e->sib = (uint8_t)((scale_log << 6) | ((i & 7) << 3) | 5);
			e->rex |= (uint8_t)((i >> 3) << 1);
			e->disp_size = 4;
			e->disp = (int32_t)rnd() >> rndn(20);
			/* index << scale == ea - disp: pick an index that does it, if one exists. */
			uint64_t want = (ea - (uint64_t)e->disp) & amask;
			if (want & ((1ull << scale_log) - 1))
				continue;
			t->regs[i] = want >> scale_log;
			if (addr32)
				t->regs[i] |= rnd() << 32; /* not part of the address */
			else if (scale_log)
				t->regs[i] |= rnd() << (64 - scale_log); /* shifted out */
			return;
		}
		case 5: /* [disp32]: absolute, sign-extended */
			if ((int64_t)ea != (int32_t)ea && !addr32)
				continue;
			e->modrm = (uint8_t)(((reg & 7) << 3) | 4);
			e->has_sib = true;
			e->sib = 0x25;
			e->disp_size = 4;
			e->disp = (int32_t)ea;
			return;
		case 6: /* RIP-relative */
			if (seg)
				continue; /* keep it simple: no override on RIP-relative */
			e->modrm = (uint8_t)(((reg & 7) << 3) | 5);
			e->disp_size = 4;
			e->riprel = true;
			e->riprel_target = ea;
			return;
		}
	}
}

static const uint8_t alu_base[8] = {0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38};

/* Operand-size prefix/REX.W and the byte/full opcode choice. */
static void enc_size(struct enc *e, unsigned int size)
{
	if (size == 2)
		e->pfx[e->npfx++] = 0x66;
	if (size == 8)
		e->rex |= 0x08;
}

static unsigned int rnd_size(bool bytes)
{
	static const unsigned int sizes[4] = {1, 2, 4, 8};
	return bytes ? sizes[rndn(4)] : sizes[1 + rndn(3)];
}

/* A window offset for an access of `size` bytes that does not cross a 4 KiB boundary (the
 * translation gives no GPA for a second device page). */
static uint64_t rnd_off(unsigned int size, bool aligned)
{
	for (;;) {
		uint64_t off = 0x800 + rndn(0x1000);
		if (aligned)
			off &= ~(uint64_t)(size - 1);
		if ((off & 0xfff) + size <= 0x1000)
			return off;
	}
}

static void gen(struct tcase *t)
{
	struct enc e;
	enum kind k = (enum kind)rndn(K_COUNT);

	memset(&e, 0, sizeof(e));
	memset(t, 0, sizeof(*t));
	t->kind = k;
	for (int i = 0; i < 16; i++)
		t->regs[i] = chance(30) ? rnd() >> rndn(64) : rnd();
	t->rflags = 0x2 | (rnd() & 0x8d5) | (chance(30) ? 0x400 : 0);

	bool addr32 = chance(15);
	int seg = -1;
	if (chance(15)) {
		seg = chance(50) ? 4 : 5;
		e.pfx[e.npfx++] = seg == 4 ? 0x64 : 0x65;
	} else if (chance(5)) {
		static const uint8_t ignored[4] = {0x26, 0x2e, 0x36, 0x3e};
		e.pfx[e.npfx++] = ignored[rndn(4)];
	}
	if (addr32)
		e.pfx[e.npfx++] = 0x67;

	unsigned int size = rnd_size(true);
	unsigned int reg = rndn(16);
	uint64_t la;
	bool lockable = false;

	switch (k) {
	case K_MOV_ST:
	case K_MOV_LD:
	case K_XCHG:
		enc_size(&e, size);
		e.op[e.nop++] = (uint8_t)((k == K_MOV_ST ? 0x88 : k == K_MOV_LD ? 0x8a : 0x86) | (size > 1));
		la = WIN + rnd_off(size, false);
		enc_mem(&e, t, reg, la, addr32, seg, -1);
		lockable = k == K_XCHG;
		break;
	case K_MOV_IMM:
		enc_size(&e, size);
		e.op[e.nop++] = size == 1 ? 0xc6 : 0xc7;
		enc_mem(&e, t, 0, WIN + rnd_off(size, false), addr32, seg, -1);
		enc_imm(&e, rnd(), size == 1 ? 1 : size == 2 ? 2 : 4);
		break;
	case K_MOV_MOFFS: {
		enc_size(&e, size);
		bool store = chance(50);
		e.op[e.nop++] = (uint8_t)((store ? 0xa2 : 0xa0) | (size > 1));
		la = WIN + rnd_off(size, false);
		uint64_t seg_base = seg == 4 ? FS_BASE : seg == 5 ? GS_BASE : 0;
		uint64_t moffs = la - seg_base;
		e.disp_size = addr32 ? 4 : 8;
		e.disp = (int64_t)moffs;
		if (addr32 && (moffs >> 32))
			e.disp = (int64_t)(uint32_t)moffs; /* 32-bit: the address wraps anyway */
		break;
	}
	case K_MOV_SREG:
		e.op[e.nop++] = 0x8c;
		enc_mem(&e, t, rndn(6), WIN + rnd_off(2, false), addr32, seg, -1);
		break;
	case K_MOVZX:
	case K_MOVSX: {
		unsigned int src = chance(50) ? 1 : 2;
		size = rnd_size(false);
		enc_size(&e, size);
		e.op[e.nop++] = 0x0f;
		e.op[e.nop++] = (uint8_t)((k == K_MOVZX ? 0xb6 : 0xbe) | (src == 2));
		enc_mem(&e, t, reg, WIN + rnd_off(src, false), addr32, seg, -1);
		break;
	}
	case K_MOVSXD: {
		size = rnd_size(false);
		enc_size(&e, size);
		e.op[e.nop++] = 0x63;
		enc_mem(&e, t, reg, WIN + rnd_off(size == 2 ? 2 : 4, false), addr32, seg, -1);
		break;
	}
	case K_ALU_MR:
	case K_ALU_RM: {
		unsigned int op = rndn(8);
		enc_size(&e, size);
		e.op[e.nop++] = (uint8_t)(alu_base[op] | (k == K_ALU_RM ? 2 : 0) | (size > 1));
		enc_mem(&e, t, reg, WIN + rnd_off(size, false), addr32, seg, -1);
		lockable = k == K_ALU_MR && op != 7;
		break;
	}
	case K_ALU_MI: {
		unsigned int op = rndn(8);
		bool imm8 = size > 1 && chance(50);
		enc_size(&e, size);
		e.op[e.nop++] = size == 1 ? 0x80 : imm8 ? 0x83 : 0x81;
		enc_mem(&e, t, op, WIN + rnd_off(size, false), addr32, seg, -1);
		enc_imm(&e, rnd(), size == 1 || imm8 ? 1 : size == 2 ? 2 : 4);
		lockable = op != 7;
		break;
	}
	case K_TEST_MR:
		enc_size(&e, size);
		e.op[e.nop++] = (uint8_t)(0x84 | (size > 1));
		enc_mem(&e, t, reg, WIN + rnd_off(size, false), addr32, seg, -1);
		break;
	case K_TEST_MI:
		enc_size(&e, size);
		e.op[e.nop++] = size == 1 ? 0xf6 : 0xf7;
		enc_mem(&e, t, 0, WIN + rnd_off(size, false), addr32, seg, -1);
		enc_imm(&e, rnd(), size == 1 ? 1 : size == 2 ? 2 : 4);
		break;
	case K_BT_MR: {
		static const uint8_t ops[4] = {0xa3, 0xab, 0xb3, 0xbb};
		unsigned int op = rndn(4);
		size = rnd_size(false);
		enc_size(&e, size);
		e.op[e.nop++] = 0x0f;
		e.op[e.nop++] = ops[op];
		/* A small signed bit offset: the access moves by whole operands around EA. */
		int64_t bit = (int64_t)rndn(512) - 256;
		int64_t unit = bit >> (size == 2 ? 4 : size == 4 ? 5 : 6);
		uint64_t acc = WIN + rnd_off(size, false);
		t->regs[reg] = (uint64_t)bit;
		if (size == 2)
			t->regs[reg] = (t->regs[reg] & 0xffff) | (rnd() << 16);
		else if (size == 4)
			t->regs[reg] = (t->regs[reg] & 0xffffffff) | (rnd() << 32);
		la = acc - (uint64_t)(unit * (int64_t)size);
		enc_mem(&e, t, reg, la, addr32, seg, (int)reg);
		lockable = op != 0;
		break;
	}
	case K_BT_MI: {
		unsigned int op = 4 + rndn(4);
		size = rnd_size(false);
		enc_size(&e, size);
		e.op[e.nop++] = 0x0f;
		e.op[e.nop++] = 0xba;
		enc_mem(&e, t, op, WIN + rnd_off(size, false), addr32, seg, -1);
		enc_imm(&e, rnd(), 1);
		lockable = op != 4;
		break;
	}
	case K_UNARY: {
		unsigned int which = rndn(4); /* inc dec not neg */
		enc_size(&e, size);
		if (which < 2)
			e.op[e.nop++] = size == 1 ? 0xfe : 0xff;
		else
			e.op[e.nop++] = size == 1 ? 0xf6 : 0xf7;
		enc_mem(&e, t, which, WIN + rnd_off(size, false), addr32, seg, -1);
		lockable = true;
		break;
	}
	case K_MOVS:
	case K_STOS:
	case K_LODS: {
		bool rep = chance(60);
		bool down = t->rflags & 0x400;
		uint64_t count = rep ? rndn(13) : 1;
		uint64_t win = WIN + rnd_off(size, true), other = OTHER + rnd_off(size, true);
		uint64_t src, dst;
		if (k == K_MOVS) {
			unsigned int w = rndn(10);
			if (w < 5) {
				src = win;
				dst = other;
			} else if (w < 9) {
				src = other;
				dst = win;
			} else {
				src = win;
				dst = WIN + rnd_off(size, true);
				if ((src > dst ? src - dst : dst - src) < 13 * 8)
					dst = src + (down ? -0x200 : 0x200);
			}
		} else {
			src = dst = win;
		}
		(void)down;
		if (rep)
			e.pfx[e.npfx++] = 0xf3;
		enc_size(&e, size);
		e.op[e.nop++] = (uint8_t)((k == K_MOVS ? 0xa4 : k == K_STOS ? 0xaa : 0xac) | (size > 1));
		/* Segment override: only the source (DS) of MOVS and LODS can take one. */
		uint64_t seg_base = (k != K_STOS && seg == 4) ? FS_BASE : (k != K_STOS && seg == 5) ? GS_BASE : 0;
		uint64_t hi = addr32 ? rnd() << 32 : 0;
		t->regs[6] = ((src - seg_base) & (addr32 ? 0xffffffffull : ~0ull)) | hi; /* RSI */
		t->regs[7] = dst | (addr32 ? rnd() << 32 : 0);                           /* RDI */
		if (rep)
			t->regs[1] = count | (addr32 ? rnd() << 32 : 0); /* RCX */
		break;
	}
	default:
		break;
	}
	if (lockable && chance(25))
		e.pfx[e.npfx++] = 0xf0;
	/* Byte registers 4..7 without REX are AH..BH, with an empty REX SPL..DIL. */
	if (size == 1 && !e.rex && chance(30))
		e.want_rex = true;
	enc_finish(&e, t);
}

/* ---- running it ----------------------------------------------------------------------------- */

struct outcome {
	uint64_t regs[16];
	uint64_t rip, rflags;
	uint8_t win[REGION];
	uint8_t other[REGION];
};

static struct kvm_test kt;
static struct dev dev;
static struct sidecar_emulator *emu;
static uint8_t win_init[REGION], other_init[REGION];
static uint64_t intercepts, rep_resumes, misreports;
static unsigned int misreports_shown;

static void load_case(const struct tcase *t, uint64_t window_pde)
{
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(kt.vp);
	struct hv_x64_register_page *page = sidecar_vp_register_page(kt.vp);
	static const uint8_t invlpg[8] = {0x0f, 0x01, 0x3c, 0x25, 0x00, 0x00, 0x00, 0x40}; /* invlpg [WIN] */

	memcpy(kt.mem + CODE, invlpg, sizeof(invlpg));
	memcpy(kt.mem + CODE + 8, t->b, t->n);
	kt.mem[CODE + 8 + t->n] = 0xf4; /* hlt */
	((uint64_t *)(kt.mem + PD2))[0] = window_pde;
	memcpy(kt.mem + OTHER, other_init, REGION);
	for (int i = 0; i < 16; i++) {
		ctx->gps[i] = t->regs[i];
		page->gp_registers[i] = t->regs[i];
	}
	page->rip = CODE;
	page->rflags = t->rflags;
	page->dirty = HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE | HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER |
		      HV_X64_REGISTER_PAGE_DIRTY_FLAGS;
}

static void collect(struct outcome *o, const uint8_t *win)
{
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(kt.vp);
	struct hv_x64_register_page *page = sidecar_vp_register_page(kt.vp);
	const struct hv_x64_intercept_message_header *h =
		(const struct hv_x64_intercept_message_header *)sidecar_vp_intercept_message(kt.vp)->payload;

	for (int i = 0; i < 16; i++)
		o->regs[i] = ctx->gps[i];
	o->regs[4] = page->gp_registers[4]; /* RSP (the context holds CR2 there) */
	o->rip = h->rip;
	o->rflags = page->rflags;
	memcpy(o->win, win, REGION);
	memcpy(o->other, kt.mem + OTHER, REGION);
}

/* The message must name the instruction the test wrote: its RIP, length and bytes. The KVM
 * backend finds it by decoding where KVM has moved RIP past it (docs/kvm.md, "RIP
 * reconciliation"); naming any other instruction, even one that would execute the same, is a
 * failure (counted, the first few shown). */
static void check_message(const struct tcase *t, const struct hv_message *m)
{
	const struct hv_x64_memory_intercept_message *mi = (const struct hv_x64_memory_intercept_message *)m->payload;
	unsigned int len = mi->header.instruction_length_and_cr8 & 0xf;

	if (mi->header.rip == CODE + 8 && len == t->n && mi->instruction_byte_count == t->n &&
	    !memcmp(mi->instruction_bytes, t->b, t->n))
		return;
	misreports++;
	if (misreports_shown++ < (getenv("EMU_DIFF_SHOW_ALL") ? 100000u : 10u)) {
		fprintf(stderr, "misreport: the backend reported RIP %#" PRIx64 ", %u bytes:", mi->header.rip, len);
		for (unsigned int i = 0; i < mi->instruction_byte_count; i++)
			fprintf(stderr, " %02x", mi->instruction_bytes[i]);
		fprintf(stderr, " for");
		for (unsigned int i = 0; i < t->n; i++)
			fprintf(stderr, " %02x", t->b[i]);
		fprintf(stderr, " at %#llx\n", CODE + 8);
	}
}

/* Runs until HLT; in the MMIO run every memory intercept goes to the helper. Returns a
 * description of what went wrong, or NULL. */
static const char *run_to_halt(const struct tcase *t, bool mmio, char *why, size_t len)
{
	for (int i = 0; i < 64; i++) {
		bool intercept;
		int rc = sidecar_vp_run_sync(kt.vp, &intercept);
		if (rc) {
			snprintf(why, len, "run: %s: %s", sidecar_strerror(rc), sidecar_vp_error_string(kt.vp));
			return why;
		}
		const struct hv_message *m = sidecar_vp_intercept_message(kt.vp);
		uint32_t type = sidecar_message_type(m);
		if (type == HV_MESSAGE_TYPE_X64_HALT)
			return NULL;
		if (mmio && type == HV_MESSAGE_TYPE_UNMAPPED_GPA) {
			intercepts++;
			if (i > 0)
				rep_resumes++;
			check_message(t, m);
			rc = sidecar_emulate_mmio(emu, m);
			if (rc) {
				snprintf(why, len, "helper: %s: %s", sidecar_strerror(rc), sidecar_emulate_error(emu));
				return why;
			}
			continue;
		}
		snprintf(why, len, "unexpected %s intercept at RIP %#" PRIx64, sidecar_message_type_name(type),
			 ((const struct hv_x64_intercept_message_header *)m->payload)->rip);
		return why;
	}
	snprintf(why, len, "no HLT after 64 intercepts");
	return why;
}

static void dump_case(const struct tcase *t)
{
	fprintf(stderr, "  %s:", kind_names[t->kind]);
	for (unsigned int i = 0; i < t->n; i++)
		fprintf(stderr, " %02x", t->b[i]);
	fprintf(stderr, "\n  rflags %#" PRIx64 "\n", t->rflags);
	for (int i = 0; i < 16; i++)
		fprintf(stderr, "  r%-2d %016" PRIx64 "%s", i, t->regs[i], i % 4 == 3 ? "\n" : "");
}

static unsigned int reported;

static bool compare(const struct tcase *t, const struct outcome *a, const struct outcome *b)
{
	char diff[512];
	size_t n = 0;

	for (int i = 0; i < 16; i++)
		if (a->regs[i] != b->regs[i])
			n += (size_t)snprintf(diff + n, sizeof(diff) - n,
					      "  r%d: cpu %#" PRIx64 " helper %#" PRIx64 "\n", i, a->regs[i],
					      b->regs[i]);
	if (n < sizeof(diff) && a->rip != b->rip)
		n += (size_t)snprintf(diff + n, sizeof(diff) - n, "  rip: cpu %#" PRIx64 " helper %#" PRIx64 "\n",
				      a->rip, b->rip);
	if (n < sizeof(diff) && a->rflags != b->rflags)
		n += (size_t)snprintf(diff + n, sizeof(diff) - n, "  rflags: cpu %#" PRIx64 " helper %#" PRIx64 "\n",
				      a->rflags, b->rflags);
	for (int i = 0; i < REGION && n < sizeof(diff); i++)
		if (a->win[i] != b->win[i]) {
			n += (size_t)snprintf(diff + n, sizeof(diff) - n, "  window+%#x: cpu %02x helper %02x\n", i,
					      a->win[i], b->win[i]);
			break;
		}
	for (int i = 0; i < REGION && n < sizeof(diff); i++)
		if (a->other[i] != b->other[i]) {
			n += (size_t)snprintf(diff + n, sizeof(diff) - n, "  other+%#x: cpu %02x helper %02x\n", i,
					      a->other[i], b->other[i]);
			break;
		}
	if (!n)
		return true;
	if (reported++ < 10) {
		fprintf(stderr, "mismatch:\n");
		dump_case(t);
		fputs(diff, stderr);
	}
	return false;
}

int main(int argc, char **argv)
{
	unsigned long cases = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
	static struct outcome ram_out, mmio_out;
	unsigned long failed = 0, per_kind[K_COUNT] = {0}, failed_kind[K_COUNT] = {0};
	char why[512];

	check_watchdog(cases / 20 + 120);
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	kt_open(&kt, "sim:backend=kvm,cpus=1");
	kt_long_mode(&kt, CODE);
	memset(kt.mem + PD2, 0, 4096);
	((uint64_t *)(kt.mem + KT_PDPT))[1] = PD2 | 0x7;
	struct hv_register_assoc segs[] = {
		regseg(HV_X64_REGISTER_FS, FS_BASE, 0xffffffff, 0x10, 0xc093),
		regseg(HV_X64_REGISTER_GS, GS_BASE, 0xffffffff, 0x10, 0xc093),
	};
	REQUIRE(sidecar_vp_set_registers(kt.vp, 0, segs, 2) == 0);
	/* One run (HLT) so that the register page is valid. */
	kt.mem[CODE] = 0xf4;
	kt_run(&kt);
	REQUIRE(kt_type(&kt) == HV_MESSAGE_TYPE_X64_HALT);
	REQUIRE(sidecar_vp_register_page(kt.vp)->is_valid);

	dev.base = WIN_MMIO;
	struct sidecar_emulate_config cfg = {.ops = &dev_ops, .opaque = &dev, .ram = kt.mem, .ram_size = kt.mem_size};
	REQUIRE(sidecar_emulate_create(kt.vp, &cfg, &emu) == 0);

	uint64_t t0 = now_ns();
	for (unsigned long c = 0; c < cases; c++) {
		struct tcase t;
		gen(&t);
		for (int i = 0; i < REGION; i += 8) {
			uint64_t a = rnd(), b = rnd();
			memcpy(win_init + i, &a, 8);
			memcpy(other_init + i, &b, 8);
		}
		per_kind[t.kind]++;

		memcpy(kt.mem + WIN_RAM, win_init, REGION);
		load_case(&t, WIN_RAM | 0x87);
		const char *err = run_to_halt(&t, false, why, sizeof(why));
		if (err) {
			if (reported++ < 10) {
				fprintf(stderr, "RAM run: %s\n", err);
				dump_case(&t);
			}
			failed++;
			failed_kind[t.kind]++;
			continue;
		}
		collect(&ram_out, kt.mem + WIN_RAM);

		memcpy(dev.mem, win_init, REGION);
		load_case(&t, WIN_MMIO | 0x87);
		err = run_to_halt(&t, true, why, sizeof(why));
		if (err) {
			if (reported++ < 10) {
				fprintf(stderr, "MMIO run: %s\n", err);
				dump_case(&t);
			}
			failed++;
			failed_kind[t.kind]++;
			continue;
		}
		collect(&mmio_out, dev.mem);
		if (!compare(&t, &ram_out, &mmio_out)) {
			failed++;
			failed_kind[t.kind]++;
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;

	printf("test_emulate_diff: %lu cases (seed %" PRIu64 "), %" PRIu64 " intercepts emulated (%" PRIu64
	       " resumed REPs), %lu mismatches, %" PRIu64 " misreports, %.1f s\n",
	       cases, seed, intercepts, rep_resumes, failed, misreports, secs);
	for (int k = 0; k < K_COUNT; k++)
		printf("  %-16s %lu%s\n", kind_names[k], per_kind[k], failed_kind[k] ? " (some differ)" : "");
	sidecar_emulate_destroy(emu);
	kt_close(&kt);
	if (failed || misreports) {
		if (failed)
			fprintf(stderr, "test_emulate_diff: %lu of %lu cases differ from the processor\n", failed,
				cases);
		if (misreports)
			fprintf(stderr,
				"test_emulate_diff: %" PRIu64 " intercepts named another instruction than the one "
				"that ran\n",
				misreports);
		return 1;
	}
	return check_report("test_emulate_diff");
}
