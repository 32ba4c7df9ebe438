/* SPDX-License-Identifier: MIT */
/*
 * The emulation helper against hand-made intercept messages on the synthetic backend (no
 * /dev/kvm needed): every emulated instruction shape with known results and flags, port
 * I/O incl. string I/O with REP, DF, address sizes and segment bases, GVA translation
 * through page tables, early stops, every refusal and its error string, and the two ways
 * of completing RIP.
 */
#include "emu_util.h"

#include <stdio.h>
#include <stdlib.h>

#define MMIO_BASE 0x10000000ull /* above the 64 MiB of RAM */
#define ACC (MMIO_BASE + 0x100) /* the device address most cases access */
#define RIP0 0x10000ull

static struct sidecar_client *client;
static struct sidecar_vp *vp;
static uint8_t *ram;
static size_t ram_size;
static struct sidecar_cpu_context_x64 *ctx;
static struct hv_x64_register_page *page;
static struct dev dev;
static struct sidecar_emulator *emu;

static uint64_t get_rip_via_api(void);

/* Each case's client, VP (after one run, so that its register page is valid), device and
 * helper. */
static void setup(void)
{
	void *base;
	bool intercept;

	memset(&dev, 0, sizeof(dev));
	REQUIRE(sidecar_client_open("sim:cpus=1", &client) == 0);
	REQUIRE(sidecar_client_guest_memory(client, &base, &ram_size) == 0);
	ram = base;
	REQUIRE(sidecar_vp_acquire(client, 1, &vp) == 0);
	/* The io guest: an OUT intercept. */
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0 && intercept);
	ctx = sidecar_vp_cpu_context(vp);
	page = sidecar_vp_register_page(vp);
	REQUIRE(page->is_valid);
	dev.base = MMIO_BASE;
	struct sidecar_emulate_config cfg = {.ops = &dev_ops, .opaque = &dev, .ram = ram, .ram_size = ram_size};
	REQUIRE(sidecar_emulate_create(vp, &cfg, &emu) == 0);
}

static void set_regs(void)
{
	static const uint64_t init[16] = {
		0x1122334455667788ull, 5, ~0ull, 0x8877665544332211ull, 0, 0, 0x4000, ACC, 0, 0x99, 0, 0, 0, 0, 0, 0,
	};
	memcpy(ctx->gps, init, sizeof(init));
	page->dirty = 0;
	page->rip = 0;
}

static uint64_t dev_u64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, dev.mem + (gpa - MMIO_BASE), 8);
	return v;
}

static void set_dev_u64(uint64_t gpa, uint64_t v)
{
	memcpy(dev.mem + (gpa - MMIO_BASE), &v, 8);
}

/* ---- MMIO: one instruction per row ---------------------------------------------------- */

struct mcase {
	const char *name;
	uint8_t len;
	uint8_t bytes[15];
	int64_t off;       /* the access's GPA relative to ACC */
	uint64_t dev_in;   /* u64 there before */
	uint64_t flags_in; /* arithmetic flags before */
	int reg;           /* register to check, -1 none */
	uint64_t reg_out;
	uint64_t dev_out; /* u64 there after */
	uint64_t fl_out;  /* expected flags & fl_mask; mask 0: flags untouched */
	uint64_t fl_mask;
};

#define AA 0xaaaaaaaaaaaaaaaaull
#define ALL 0x8d5ull   /* CF PF AF ZF SF OF */
#define LOGIC 0x8c5ull /* AF undefined */

static const struct mcase mcases[] = {
	{"mov [rdi], al", 2, {0x88, 0x07}, 0, AA, 0, -1, 0, 0xaaaaaaaaaaaaaa88ull, 0, 0},
	{"mov [rdi], ah", 2, {0x88, 0x27}, 0, AA, 0, -1, 0, 0xaaaaaaaaaaaaaa77ull, 0, 0},
	{"mov [rdi], ax", 3, {0x66, 0x89, 0x07}, 0, AA, 0, -1, 0, 0xaaaaaaaaaaaa7788ull, 0, 0},
	{"mov [rdi], eax", 2, {0x89, 0x07}, 0, AA, 0, -1, 0, 0xaaaaaaaa55667788ull, 0, 0},
	{"mov [rdi], rax", 3, {0x48, 0x89, 0x07}, 0, AA, 0, -1, 0, 0x1122334455667788ull, 0, 0},
	{"mov [rdi], r9d", 3, {0x44, 0x89, 0x0f}, 0, AA, 0, -1, 0, 0xaaaaaaaa00000099ull, 0, 0},
	{"mov byte [rdi], 0x5a", 3, {0xc6, 0x07, 0x5a}, 0, AA, 0, -1, 0, 0xaaaaaaaaaaaaaa5aull, 0, 0},
	{"mov qword [rdi], -2", 7, {0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff}, 0, AA, 0, -1, 0, ~1ull, 0, 0},
	{"mov [rdi+rcx*8+0x10], dl", 4, {0x88, 0x54, 0xcf, 0x10}, 0x38, AA, 0, -1, 0, 0xaaaaaaaaaaaaaaffull, 0, 0},
	{"mov [rdi-0x20], spl", 4, {0x40, 0x88, 0x67, 0xe0}, -0x20, AA, 0, -1, 0, 0xaaaaaaaaaaaaaa00ull, 0, 0},
	{"mov eax, [rdi]", 2, {0x8b, 0x07}, 0, AA, 0, 0, 0xaaaaaaaaull, AA, 0, 0},
	{"mov al, [rdi]", 2, {0x8a, 0x07}, 0, AA, 0, 0, 0x11223344556677aaull, AA, 0, 0},
	{"mov bh, [rdi]", 2, {0x8a, 0x3f}, 0, AA, 0, 3, 0x887766554433aa11ull, AA, 0, 0},
	{"mov ax, [rdi]", 3, {0x66, 0x8b, 0x07}, 0, AA, 0, 0, 0x112233445566aaaaull, AA, 0, 0},
	{"mov r15, [rdi]",
	 3,
	 {0x4c, 0x8b, 0x3f},
	 0,
	 0x0123456789abcdefull,
	 0,
	 15,
	 0x0123456789abcdefull,
	 0x0123456789abcdefull,
	 0,
	 0},
	{"mov rax, [moffs64]", 10, {0x48, 0xa1, 0x00, 0x01, 0x00, 0x10, 0, 0, 0, 0}, 0, AA, 0, 0, AA, AA, 0, 0},
	{"mov [moffs64], al",
	 9,
	 {0xa2, 0x00, 0x01, 0x00, 0x10, 0, 0, 0, 0},
	 0,
	 AA,
	 0,
	 -1,
	 0,
	 0xaaaaaaaaaaaaaa88ull,
	 0,
	 0},
	/* rip-relative: 0x10006 + 0x0fff00fa = 0x10000100 */
	{"mov [rip+disp], eax", 6, {0x89, 0x05, 0xfa, 0x00, 0xff, 0x0f}, 0, AA, 0, -1, 0, 0xaaaaaaaa55667788ull, 0, 0},
	{"mov [rdi], es", 2, {0x8c, 0x07}, 0, AA, 0, -1, 0, 0xaaaaaaaaaaaa0000ull, 0, 0},
	{"movzx eax, byte [rdi]", 3, {0x0f, 0xb6, 0x07}, 0, AA, 0, 0, 0xaa, AA, 0, 0},
	{"movzx rax, word [rdi]", 4, {0x48, 0x0f, 0xb7, 0x07}, 0, AA, 0, 0, 0xaaaa, AA, 0, 0},
	{"movsx rax, word [rdi]", 4, {0x48, 0x0f, 0xbf, 0x07}, 0, AA, 0, 0, 0xffffffffffffaaaaull, AA, 0, 0},
	{"movsx ax, byte [rdi]", 4, {0x66, 0x0f, 0xbe, 0x07}, 0, AA, 0, 0, 0x112233445566ffaaull, AA, 0, 0},
	{"movsx ecx, byte [rdi]", 3, {0x0f, 0xbe, 0x0f}, 0, 0x7f, 0, 1, 0x7f, 0x7f, 0, 0},
	{"movsxd rax, dword [rdi]", 3, {0x48, 0x63, 0x07}, 0, AA, 0, 0, 0xffffffffaaaaaaaaull, AA, 0, 0},
	{"movsxd eax, dword [rdi]", 2, {0x63, 0x07}, 0, AA, 0, 0, 0xaaaaaaaaull, AA, 0, 0},
	{"add [rdi], al", 2, {0x00, 0x07}, 0, 0x78, 0, -1, 0, 0x00, 0x55, ALL},
	{"cmp dword [rdi], 5", 3, {0x83, 0x3f, 0x05}, 0, 3, 0, -1, 0, 3, 0x91, ALL},
	{"sub word [rdi], 1", 4, {0x66, 0x83, 0x2f, 0x01}, 0, 0x8000, 0, -1, 0, 0x7fff, 0x814, ALL},
	{"and [rdi], rbx",
	 3,
	 {0x48, 0x21, 0x1f},
	 0,
	 0xff00ff00ff00ff00ull,
	 0,
	 -1,
	 0,
	 0x8800660044002200ull,
	 0x84,
	 LOGIC},
	{"or eax, [rdi]", 2, {0x0b, 0x07}, 0, 1, 0, 0, 0x55667789ull, 1, 0, LOGIC},
	{"cmp eax, [rdi]", 2, {0x3b, 0x07}, 0, 0x55667788, 0, 0, 0x1122334455667788ull, 0x55667788, 0x44, ALL},
	{"xor [rdi], cl", 2, {0x30, 0x0f}, 0, 0x105, 0, -1, 0, 0x100, 0x44, LOGIC},
	{"adc byte [rdi], 1", 3, {0x80, 0x17, 0x01}, 0, 0xfe, 0x1, -1, 0, 0x00, 0x55, ALL},
	{"sbb al, [rdi]", 2, {0x1a, 0x07}, 0, 0x08, 0x1, 0, 0x112233445566777full, 0x08, 0x810, ALL},
	{"test byte [rdi], 0x80", 3, {0xf6, 0x07, 0x80}, 0, 0x80, 0, -1, 0, 0x80, 0x80, LOGIC},
	{"test [rdi], rdx", 3, {0x48, 0x85, 0x17}, 0, 0, ALL, -1, 0, 0, 0x44, LOGIC},
	{"bt dword [rdi], 33", 4, {0x0f, 0xba, 0x27, 0x21}, 0, 2, 0, -1, 0, 2, 0x1, 0x1},
	{"bts qword [rdi], rdx (-1)", 4, {0x48, 0x0f, 0xab, 0x17}, -8, 0, 0, -1, 0, 1ull << 63, 0x0, 0x1},
	{"btr word [rdi], cx", 4, {0x66, 0x0f, 0xb3, 0x0f}, 0, 0x20, 0, -1, 0, 0, 0x1, 0x1},
	{"btc dword [rdi], 3", 4, {0x0f, 0xba, 0x3f, 0x03}, 0, 0, 0x1, -1, 0, 8, 0x0, 0x1},
	{"inc byte [rdi]", 2, {0xfe, 0x07}, 0, 0x7f, 0x1, -1, 0, 0x80, 0x891, ALL},
	{"dec dword [rdi]", 2, {0xff, 0x0f}, 0, 1, 0, -1, 0, 0, 0x44, ALL},
	{"neg qword [rdi]", 3, {0x48, 0xf7, 0x1f}, 0, 0, 0x1, -1, 0, 0, 0x44, ALL},
	{"not word [rdi]", 3, {0x66, 0xf7, 0x17}, 0, 0x00ff, ALL, -1, 0, 0xff00, 0, 0},
	{"xchg [rdi], eax", 2, {0x87, 0x07}, 0, AA, 0, 0, 0xaaaaaaaaull, 0xaaaaaaaa55667788ull, 0, 0},
	{"xchg bl, [rdi]", 2, {0x86, 0x1f}, 0, AA, 0, 3, 0x88776655443322aaull, 0xaaaaaaaaaaaaaa11ull, 0, 0},
	{"lock add dword [rdi], 1", 4, {0xf0, 0x83, 0x07, 0x01}, 0, 0xffffffff, 0, -1, 0, 0, 0x55, ALL},
	{"lock btr qword [rdi], 63", 6, {0xf0, 0x48, 0x0f, 0xba, 0x37, 0x3f}, 0, ~0ull, 0, -1, 0, ~0ull >> 1, 0x1, 0x1},
};

static void run_mcase(const struct mcase *t)
{
	struct hv_message msg;
	uint64_t gpa = ACC + (uint64_t)t->off;
	uint64_t flags_in = 0x2 | t->flags_in;

	set_regs();
	memset(dev.mem, 0x5c, sizeof(dev.mem));
	set_dev_u64(gpa, t->dev_in);
	mk_mem(&msg, 64, RIP0, t->bytes, t->len, gpa, HV_INTERCEPT_ACCESS_READ, flags_in);
	int rc = sidecar_emulate_mmio(emu, &msg);
	if (rc) {
		fprintf(stderr, "%s: %s (%s)\n", t->name, sidecar_strerror(rc), sidecar_emulate_error(emu));
		check_failures++;
		return;
	}
	CHECK_STREQ(sidecar_emulate_error(emu), "");
	uint64_t got = dev_u64(gpa);
	if (got != t->dev_out) {
		fprintf(stderr, "%s: device %#llx, expected %#llx\n", t->name, (unsigned long long)got,
			(unsigned long long)t->dev_out);
		check_failures++;
	}
	if (t->reg >= 0 && ctx->gps[t->reg] != t->reg_out) {
		fprintf(stderr, "%s: register %d = %#llx, expected %#llx\n", t->name, t->reg,
			(unsigned long long)ctx->gps[t->reg], (unsigned long long)t->reg_out);
		check_failures++;
	}
	CHECK_EQ(page->rip, RIP0 + t->len);
	CHECK(page->dirty & HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER);
	if (t->fl_mask) {
		CHECK(page->dirty & HV_X64_REGISTER_PAGE_DIRTY_FLAGS);
		if ((page->rflags & t->fl_mask) != t->fl_out || (page->rflags & ~ALL) != (flags_in & ~ALL)) {
			fprintf(stderr, "%s: rflags %#llx, expected %#llx under %#llx\n", t->name,
				(unsigned long long)page->rflags, (unsigned long long)t->fl_out,
				(unsigned long long)t->fl_mask);
			check_failures++;
		}
	} else {
		CHECK(!(page->dirty & HV_X64_REGISTER_PAGE_DIRTY_FLAGS));
	}
	/* Only the device bytes of the access changed. */
	for (size_t i = 0; i < sizeof(dev.mem); i++)
		if ((i < gpa - MMIO_BASE || i >= gpa - MMIO_BASE + 8) && dev.mem[i] != 0x5c) {
			fprintf(stderr, "%s: device byte %#zx changed\n", t->name, i);
			check_failures++;
			break;
		}
}

static const struct mcase *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++)
		if (!strcmp(mcases[i].name, name))
			return &mcases[i];
	REQUIRE(!"no such case");
	return NULL;
}

static void test_mmio_forms(void)
{
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++)
		run_mcase(&mcases[i]);
	/* A read-only instruction never writes the device; a store never reads it. */
	dev.reads = dev.writes = 0;
	run_mcase(find_case("cmp dword [rdi], 5"));
	CHECK_EQ(dev.reads, 1);
	CHECK_EQ(dev.writes, 0);
	dev.reads = dev.writes = 0;
	run_mcase(find_case("mov [rdi], eax"));
	CHECK_EQ(dev.reads, 0);
	CHECK_EQ(dev.writes, 1);
	CHECK_EQ(dev.last_size, 4);
	CHECK_EQ(dev.last_value, 0x55667788);
}

/* MOVS/STOS/LODS, REP, DF, address size; the other side of MOVS in RAM. */
static void test_mmio_strings(void)
{
	struct hv_message msg;
	static const uint8_t rep_movsb[] = {0xf3, 0xa4}, rep_stosd[] = {0xf3, 0xab}, lodsw[] = {0x66, 0xad},
			     movsq_67[] = {0x67, 0x48, 0xa5}, rep_movsw_df[] = {0xf3, 0x66, 0xa5};

	/* Device -> RAM, 5 bytes. */
	set_regs();
	for (int i = 0; i < 16; i++)
		dev.mem[0x100 + i] = (uint8_t)(0x30 + i);
	memset(ram + 0x6000, 0, 16);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = ACC;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0x6000;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 5;
	mk_mem(&msg, 64, RIP0, rep_movsb, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(memcmp(ram + 0x6000, "01234", 5), 0);
	CHECK_EQ(ram[0x6005], 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], ACC + 5);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], 0x6005);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0);
	CHECK_EQ(page->rip, RIP0 + 2);

	/* REP STOSD RAX -> device, 3 dwords. */
	set_regs();
	memset(dev.mem, 0, sizeof(dev.mem));
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = ACC;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 3;
	mk_mem(&msg, 64, RIP0, rep_stosd, 2, ACC, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(*(uint32_t *)(dev.mem + 0x100 + 4 * i), 0x55667788);
	CHECK_EQ(*(uint32_t *)(dev.mem + 0x10c), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], ACC + 12);
	CHECK_EQ(dev.last_size, 4);

	/* LODSW: AX only. */
	set_regs();
	set_dev_u64(ACC, 0xbeef);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = ACC;
	mk_mem(&msg, 64, RIP0, lodsw, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0x112233445566beefull);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], ACC + 2);

	/* MOVSQ with 32-bit addressing: ESI/EDI, zero-extended. */
	set_regs();
	set_dev_u64(ACC, 0x0102030405060708ull);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0xffffffff00000000ull | ACC;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0xffffffff00006000ull;
	mk_mem(&msg, 64, RIP0, movsq_67, 3, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(*(uint64_t *)(ram + 0x6000), 0x0102030405060708ull);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], ACC + 8);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], 0x6008);

	/* DF=1: RAM -> device downwards, words. */
	set_regs();
	memset(dev.mem, 0, sizeof(dev.mem));
	memcpy(ram + 0x6000, "aabbccdd", 8);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x6006;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = ACC + 6;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 4;
	mk_mem(&msg, 64, RIP0, rep_movsw_df, 3, ACC + 6, HV_INTERCEPT_ACCESS_WRITE, 0x402);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(memcmp(dev.mem + 0x100, "aabbccdd", 8), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], 0x5ffe);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], ACC - 2);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0);

	/* REP with RCX = 0: nothing moves, RIP advances. */
	set_regs();
	dev.reads = dev.writes = 0;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 0;
	mk_mem(&msg, 64, RIP0, rep_stosd, 2, ACC, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(dev.writes, 0);
	CHECK_EQ(page->rip, RIP0 + 2);
}

/* max_rep: the REP stops early with RIP on the instruction, then resumes. */
static void test_max_rep(void)
{
	struct sidecar_emulator *e2;
	struct hv_message msg;
	static const uint8_t rep_stosb[] = {0xf3, 0xaa};
	struct sidecar_emulate_config cfg = {
		.ops = &dev_ops, .opaque = &dev, .ram = ram, .ram_size = ram_size, .max_rep = 2};

	REQUIRE(sidecar_emulate_create(vp, &cfg, &e2) == 0);
	set_regs();
	memset(dev.mem, 0, sizeof(dev.mem));
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = ACC;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 5;
	mk_mem(&msg, 64, RIP0, rep_stosb, 2, ACC, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 3);
	CHECK_EQ(page->dirty, 0); /* RIP stays */
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 1);
	CHECK_EQ(page->dirty, 0);
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0);
	CHECK_EQ(page->rip, RIP0 + 2);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(dev.mem[0x100 + i], 0x88);
	CHECK_EQ(dev.mem[0x105], 0);
	sidecar_emulate_destroy(e2);
}

/* 16- and 32-bit code: segment bases, 16-bit addressing, wrap-around of IP. */
static void test_legacy_modes(void)
{
	struct hv_message msg;
	struct hv_register_assoc ds = {.name = HV_X64_REGISTER_DS};
	bool intercept;

	/* DS in device memory (unreal mode); the next run stores it in the register page. */
	ds.value.segment.base = MMIO_BASE;
	ds.value.segment.limit = 0xffff;
	ds.value.segment.selector = 0x1234;
	ds.value.segment.attributes = 0x93;
	REQUIRE(sidecar_vp_set_registers(vp, 0, &ds, 1) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
	REQUIRE(page->is_valid && page->segment[HV_X64_REGISTER_PAGE_DS].base == MMIO_BASE);

	/* mov [bx+si+4], al (16-bit addressing), at IP 0xfffe: IP wraps. */
	static const uint8_t st16[] = {0x88, 0x40, 0x04};
	set_regs();
	memset(dev.mem, 0, sizeof(dev.mem));
	ctx->gps[SIDECAR_CPU_CONTEXT_RBX] = 0xffff0000000000f0ull;
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x000c;
	mk_mem(&msg, 16, 0xfffe, st16, 3, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(dev.mem[0x100], 0x88);
	CHECK_EQ(page->rip, 0x0001);

	/* 66 67 mov eax, [ebx+ecx*2] (32-bit operand and address in 16-bit code). */
	static const uint8_t ld32[] = {0x66, 0x67, 0x8b, 0x04, 0x4b};
	set_regs();
	set_dev_u64(MMIO_BASE + 0x100, 0xcafef00d);
	ctx->gps[SIDECAR_CPU_CONTEXT_RBX] = 0xf0;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 0x8;
	mk_mem(&msg, 16, 0x1000, ld32, 5, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0xcafef00dull);
	CHECK_EQ(page->rip, 0x1005);

	/* 32-bit code (paging off: CR0 from the register page), ADD with 16-bit addressing. */
	static const uint8_t add16[] = {0x67, 0x01, 0x07}; /* add [bx], eax */
	set_regs();
	set_dev_u64(MMIO_BASE + 0x100, 1);
	ctx->gps[SIDECAR_CPU_CONTEXT_RBX] = 0x100;
	mk_mem(&msg, 32, 0x20000, add16, 3, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(dev_u64(MMIO_BASE + 0x100), 0x55667789ull);
	CHECK_EQ(page->rip, 0x20003);

	/* 16-bit REP MOVSB with DI wrapping inside the segment: RAM ES = 0 -> device DS. */
	static const uint8_t movsb16[] = {0xf3, 0xa4};
	set_regs();
	memset(dev.mem, 0, sizeof(dev.mem));
	memcpy(ram + 0xfffe, "wxyz", 4);
	ram[0] = 'Y';
	ram[1] = 'Z';
	ds.value.segment.base = 0;
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0xabcd0000000000fcull; /* source DS:SI = device */
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0x0000fffe;            /* ES:DI = RAM, wraps to 0 */
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 0x12340004;            /* CX = 4 */
	memcpy(dev.mem + 0xfc, "1234", 4);
	mk_mem(&msg, 16, 0x1000, movsb16, 2, MMIO_BASE + 0xfc, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(memcmp(ram + 0xfffe, "12", 2), 0);
	CHECK_EQ(memcmp(ram, "34", 2), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], 0xabcd000000000100ull);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], 0x2);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0x12340000);

	ds.value.segment.base = 0;
	ds.value.segment.selector = 0;
	REQUIRE(sidecar_vp_set_registers(vp, 0, &ds, 1) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
}

/* ---- port I/O ------------------------------------------------------------------------ */

static void test_io(void)
{
	struct hv_message msg;
	bool intercept;

	/* The synthetic guest's own OUT (out dx, al to 0x3f8): complete it, run again. */
	set_regs();
	ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x4142;
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0 && intercept);
	const struct hv_message *m = sidecar_vp_intercept_message(vp);
	uint64_t rip = ((const struct hv_x64_io_port_intercept_message *)m->payload)->header.rip;
	dev.nout = 0;
	CHECK_EQ(sidecar_emulate_intercept(emu, m), 0);
	CHECK_EQ(dev.nout, 1);
	CHECK_EQ(dev.out[0], 0x42);
	CHECK_EQ(dev.last_port, 0x3f8);
	CHECK_EQ(page->rip, rip + 1);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0 && intercept);
	CHECK_EQ(((const struct hv_x64_io_port_intercept_message *)m->payload)->header.rip, rip + 1);
	CHECK_EQ(get_rip_via_api(), rip + 1);

	/* IN: AL and AX keep the rest of RAX, EAX zero-extends. */
	static const uint8_t in_al[] = {0xec}, in_ax[] = {0x66, 0xed}, in_eax[] = {0xed}, out_ax[] = {0xe7, 0x70};
	struct {
		const uint8_t *b;
		unsigned int len, size;
		uint64_t rax;
	} ins[] = {
		{in_al, 1, 1, 0x11223344556677d4ull},
		{in_ax, 2, 2, 0x112233445566c3d4ull},
		{in_eax, 1, 4, 0xa1b2c3d4ull},
	};
	for (size_t i = 0; i < 3; i++) {
		set_regs();
		dev.in_value = 0xa1b2c3d4;
		mk_io(&msg, 64, RIP0, ins[i].b, ins[i].len, 0x1234, (uint8_t)ins[i].size, false, 0x2, ctx, 0, 0);
		CHECK_EQ(sidecar_emulate_io(emu, &msg), 0);
		CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], ins[i].rax);
		CHECK_EQ(dev.last_port, 0x1234);
		CHECK_EQ(dev.last_io_size, ins[i].size);
		CHECK_EQ(page->rip, RIP0 + ins[i].len);
	}
	/* OUT imm8, AX: the message's data. */
	set_regs();
	dev.nout = 0;
	mk_io(&msg, 64, RIP0, out_ax, 2, 0x70, 2, true, 0x2, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), 0);
	CHECK_EQ(dev.nout, 2);
	CHECK_EQ(dev.out[0], 0x88);
	CHECK_EQ(dev.out[1], 0x77);
	CHECK_EQ(dev.last_port, 0x70);
}

static void test_string_io(void)
{
	struct hv_message msg;
	static const uint8_t rep_outsb[] = {0xf3, 0x6e}, rep_outsw[] = {0xf3, 0x66, 0x6f}, rep_insb[] = {0xf3, 0x6c},
			     insd_67[] = {0x67, 0x6d}, fs_outsb[] = {0x64, 0x6e};
	const uint8_t rep = HV_X64_IO_ACCESS_STRING_OP | HV_X64_IO_ACCESS_REP_PREFIX;

	/* 64-bit REP OUTSB from RAM. */
	set_regs();
	memcpy(ram + 0x4000, "hello", 5);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x4000;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 5;
	dev.nout = 0;
	mk_io(&msg, 64, RIP0, rep_outsb, 2, 0x3f8, 1 | rep, true, 0x2, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), 0);
	CHECK_EQ(dev.nout, 5);
	CHECK_EQ(memcmp(dev.out, "hello", 5), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], 0x4005);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0);
	CHECK_EQ(page->rip, RIP0 + 2);

	/* DF=1, words, downwards. */
	set_regs();
	memcpy(ram + 0x4000, "AABBCCDD", 8);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x4006;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 3;
	dev.nout = 0;
	mk_io(&msg, 64, RIP0, rep_outsw, 3, 0x3f8, 2 | rep, true, 0x402, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), 0);
	CHECK_EQ(dev.nout, 6);
	CHECK_EQ(memcmp(dev.out, "DDCCBB", 6), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], 0x4000);

	/* Real mode REP INSB: ES base from the message, DI wraps at 64 KiB, the upper bits of
	 * RDI and RCX stay. */
	set_regs();
	memset(ram + 0x20000 - 2, 0, 4);
	memset(ram + 0x10000, 0, 4);
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0xdead00000000fffeull;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 0x7777000000000004ull;
	dev.in_value = 0x61;
	mk_io(&msg, 16, 0x100, rep_insb, 2, 0x60, 1 | rep, false, 0x2, ctx, 0, 0x10000);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), 0);
	CHECK_EQ(ram[0x1fffe], 'a');
	CHECK_EQ(ram[0x1ffff], 'b');
	CHECK_EQ(ram[0x10000], 'c');
	CHECK_EQ(ram[0x10001], 'd');
	CHECK_EQ(ram[0x20000], 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], 0xdead000000000002ull);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0x7777000000000000ull);
	CHECK_EQ(page->rip, 0x102);

	/* 64-bit INSD with 32-bit addressing: EDI, zero-extended after. */
	set_regs();
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0xffffffff00003000ull;
	dev.in_value = 0x01020304;
	mk_io(&msg, 64, RIP0, insd_67, 2, 0x60, 4 | HV_X64_IO_ACCESS_STRING_OP, false, 0x2, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), 0);
	CHECK_EQ(*(uint32_t *)(ram + 0x3000), 0x01020304u);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], 0x3004);

	/* An FS override on OUTS in real mode: the base comes from the register page. */
	struct hv_register_assoc fs = {.name = HV_X64_REGISTER_FS};
	bool intercept;
	fs.value.segment.base = 0x30000;
	fs.value.segment.limit = 0xffff;
	fs.value.segment.selector = 0x3000;
	fs.value.segment.attributes = 0x93;
	REQUIRE(sidecar_vp_set_registers(vp, 0, &fs, 1) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
	set_regs();
	ram[0x30010] = 'F';
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x10;
	dev.nout = 0;
	mk_io(&msg, 16, 0x100, fs_outsb, 2, 0x3f8, 1 | HV_X64_IO_ACCESS_STRING_OP, true, 0x2, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), 0);
	CHECK_EQ(dev.nout, 1);
	CHECK_EQ(dev.out[0], 'F');
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], 0x11);
	fs.value.segment.base = 0;
	fs.value.segment.selector = 0;
	REQUIRE(sidecar_vp_set_registers(vp, 0, &fs, 1) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
}

/* ---- translation ------------------------------------------------------------------------ */

#define PT_BASE 0x100000ull
#define GVA 0x00007f0000000000ull

/* Long mode on the synthetic VP with 4 KiB pages: GVA+0 -> 0x5000, GVA+0x1000 -> 0x9000,
 * GVA+0x2000 -> MMIO_BASE, GVA+0x3000 -> MMIO_BASE+0x1000, GVA+0x4000 not present,
 * GVA+0x1ff000 -> MMIO_BASE+0x1000; GVA+0x200000.. through a page table outside RAM. */
static void enter_paging(void)
{
	uint64_t *pml4 = (uint64_t *)(ram + PT_BASE), *pdpt = (uint64_t *)(ram + PT_BASE + 0x1000),
		 *pd = (uint64_t *)(ram + PT_BASE + 0x2000), *pt = (uint64_t *)(ram + PT_BASE + 0x3000);
	bool intercept;

	memset(ram + PT_BASE, 0, 0x4000);
	pml4[(GVA >> 39) & 511] = (PT_BASE + 0x1000) | 3;
	pdpt[0] = (PT_BASE + 0x2000) | 3;
	pd[0] = (PT_BASE + 0x3000) | 3;
	pt[0] = 0x5000 | 3;
	pt[1] = 0x9000 | 3;
	pt[2] = MMIO_BASE | 3;
	pt[3] = (MMIO_BASE + 0x1000) | 3;
	pt[511] = (MMIO_BASE + 0x1000) | 3;
	pd[1] = MMIO_BASE | 3;
	struct hv_register_assoc r[4];
	memset(r, 0, sizeof(r));
	r[0].name = HV_X64_REGISTER_CR3;
	r[0].value.reg64 = PT_BASE;
	r[1].name = HV_X64_REGISTER_CR4;
	r[1].value.reg64 = 0x20;
	r[2].name = HV_X64_REGISTER_EFER;
	r[2].value.reg64 = 0x500;
	r[3].name = HV_X64_REGISTER_CR0;
	r[3].value.reg64 = 0x80000011;
	REQUIRE(sidecar_vp_set_registers(vp, 0, r, 4) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
}

static void test_paging(void)
{
	struct hv_message msg;
	static const uint8_t rep_movsb[] = {0xf3, 0xa4}, movsq[] = {0x48, 0xa5}, ld[] = {0x8b, 0x07};

	enter_paging();
	/* Device (seeded by the message) -> RAM across a page boundary to a page elsewhere. */
	set_regs();
	for (int i = 0; i < 16; i++)
		dev.mem[0x100 + i] = (uint8_t)('A' + i);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = ACC;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0xff8;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 16;
	mk_mem(&msg, 64, RIP0, rep_movsb, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(memcmp(ram + 0x5ff8, "ABCDEFGH", 8), 0);
	CHECK_EQ(memcmp(ram + 0x9000, "IJKLMNOP", 8), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0);

	/* One quadword split over the two pages (byte by byte in RAM). */
	set_regs();
	set_dev_u64(ACC, 0x3837363534333231ull);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = ACC;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0xffc;
	mk_mem(&msg, 64, RIP0, movsq, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(memcmp(ram + 0x5ffc, "1234", 4), 0);
	CHECK_EQ(memcmp(ram + 0x9000, "5678", 4), 0);

	/* The message's GVA without a valid translation (here a wrong one): the operand's own
	 * address at the message GPA's page offset is taken to be that GPA (the access the
	 * hypervisor intercepted). */
	set_regs();
	set_dev_u64(ACC, 0xfeedface);
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0x2100;
	mk_mem(&msg, 64, RIP0, ld, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->memory_access_info = HV_X64_MEMORY_ACCESS_GVA_VALID;
	((struct hv_x64_memory_intercept_message *)msg.payload)->guest_virtual_address = GVA + 0x5000;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0xfeedface);
	/* Another page offset: the helper translates the operand. The hypervisor answers
	 * GPA_UNMAPPED for device memory (no GPA); the helper follows the tables to it. */
	set_regs();
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0x2100;
	mk_mem(&msg, 64, RIP0, ld, 2, ACC + 8, HV_INTERCEPT_ACCESS_READ, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->memory_access_info = HV_X64_MEMORY_ACCESS_GVA_VALID;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0xfeedface);
	/* Tables outside RAM: neither can follow them: -EFAULT. */
	set_regs();
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0x200100;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -EFAULT);
	CHECK(strstr(sidecar_emulate_error(emu), "cannot be followed") != NULL);
	CHECK_EQ(page->dirty, 0);
	/* A page that is not present: -EFAULT naming the result. */
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0x4100;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -EFAULT);
	CHECK(strstr(sidecar_emulate_error(emu), "page-not-present") != NULL);

	/* REP STOSB from the intercepted device page into the next device page. */
	static const uint8_t rep_stosb[] = {0xf3, 0xaa};
	set_regs();
	memset(dev.mem, 0, sizeof(dev.mem));
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0x2ffe;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 4;
	mk_mem(&msg, 64, RIP0, rep_stosb, 2, MMIO_BASE + 0xffe, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->guest_virtual_address = GVA + 0x2ffe;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(dev.mem[0xffe + i], 0x88);
	CHECK_EQ(dev.mem[0x1002], 0);
	CHECK_EQ(page->rip, RIP0 + 2);

	/* ... and into a page whose tables cannot be followed: it stops there with RIP on the
	 * instruction (the intercept the next run takes there resumes it). */
	set_regs();
	memset(dev.mem, 0, sizeof(dev.mem));
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = GVA + 0x1ffffe;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 4;
	mk_mem(&msg, 64, RIP0, rep_stosb, 2, MMIO_BASE + 0x1ffe, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->guest_virtual_address = GVA + 0x1ffffe;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_STREQ(sidecar_emulate_error(emu), "");
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 2);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], GVA + 0x200000);
	CHECK_EQ(page->dirty, 0);
	CHECK_EQ(dev.mem[0x1ffe], 0x88);
	CHECK_EQ(dev.mem[0x1fff], 0x88);
	/* Without a single element done, it is an error (no progress to resume from). */
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -EFAULT);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 2);

	/* A non-string access from a RAM page into a device page: refused. */
	static const uint8_t ld_rsi[] = {0x48, 0x8b, 0x06};
	set_regs();
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = GVA + 0x1ffc;
	mk_mem(&msg, 64, RIP0, ld_rsi, 3, MMIO_BASE, HV_INTERCEPT_ACCESS_READ, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->guest_virtual_address = GVA + 0x2000;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -ENOTSUP);
	CHECK(strstr(sidecar_emulate_error(emu), "spans two pages that are not contiguous") != NULL);
	CHECK_EQ(page->dirty, 0);

	/* Back to real mode for the rest. */
	struct hv_register_assoc r[2];
	bool intercept;
	memset(r, 0, sizeof(r));
	r[0].name = HV_X64_REGISTER_CR0;
	r[0].value.reg64 = 0x60000010;
	r[1].name = HV_X64_REGISTER_EFER;
	r[1].value.reg64 = 0;
	REQUIRE(sidecar_vp_set_registers(vp, 0, r, 2) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
}

/* ---- refusals and errors ------------------------------------------------------------------- */

static void expect_notsup(const uint8_t *b, unsigned int len, const char *needle)
{
	struct hv_message msg;

	set_regs();
	dev.reads = dev.writes = 0;
	mk_mem(&msg, 64, RIP0, b, len, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -ENOTSUP);
	const char *err = sidecar_emulate_error(emu);
	if (!strstr(err, needle)) {
		fprintf(stderr, "error \"%s\" does not name \"%s\"\n", err, needle);
		check_failures++;
	}
	CHECK_EQ(page->dirty, 0);
	CHECK_EQ(dev.reads + dev.writes, 0);
}

static void test_refusals(void)
{
	static const uint8_t movdqu[] = {0xf3, 0x0f, 0x6f, 0x06}, push[] = {0xff, 0x37}, cmpxchg[] = {0x0f, 0xb1, 0x0f},
			     movds[] = {0x8e, 0x1f}, imul[] = {0x0f, 0xaf, 0x07}, cmpsb[] = {0xa6},
			     bad[] = {0xff, 0xff}, shl[] = {0xd1, 0x27}, movsd_sse[] = {0xf2, 0x0f, 0x10, 0x07},
			     xadd[] = {0x0f, 0xc1, 0x07}, jmp[] = {0xff, 0x27};

	expect_notsup(movdqu, sizeof(movdqu), "unsupported instruction: movdqu xmm0");
	expect_notsup(push, sizeof(push), "unsupported instruction: push");
	expect_notsup(cmpxchg, sizeof(cmpxchg), "unsupported instruction: cmpxchg");
	expect_notsup(movds, sizeof(movds), "segment register load");
	expect_notsup(imul, sizeof(imul), "unsupported instruction: imul");
	expect_notsup(cmpsb, sizeof(cmpsb), "unsupported instruction: cmpsb");
	expect_notsup(bad, sizeof(bad), "cannot decode the instruction at RIP 0x10000: ff ff");
	expect_notsup(shl, sizeof(shl), "unsupported instruction: shl");
	expect_notsup(movsd_sse, sizeof(movsd_sse), "unsupported instruction: movsd xmm0");
	expect_notsup(xadd, sizeof(xadd), "unsupported instruction: xadd");
	expect_notsup(jmp, sizeof(jmp), "unsupported instruction: jmp");
}

static void test_errors(void)
{
	struct hv_message msg;
	struct sidecar_emulator *bare;
	static const uint8_t add[] = {0x00, 0x07}, st[] = {0x89, 0x07}, outb[] = {0xee};
	struct sidecar_emulate_config cfg = {.ops = &dev_ops, .opaque = &dev, .ram = ram, .ram_size = ram_size};
	static const struct sidecar_emulate_ops none = {0};

	/* Creation. */
	CHECK_EQ(sidecar_emulate_create(NULL, &cfg, &bare), -EINVAL);
	CHECK_EQ(sidecar_emulate_create(vp, NULL, &bare), -EINVAL);
	CHECK_EQ(sidecar_emulate_create(vp, &cfg, NULL), -EINVAL);
	cfg.flags = 0x80;
	CHECK_EQ(sidecar_emulate_create(vp, &cfg, &bare), -EINVAL);
	cfg.flags = SIDECAR_EMULATE_F_SET_REGISTERS | SIDECAR_EMULATE_F_IO_SHORT; /* two ways at once */
	CHECK_EQ(sidecar_emulate_create(vp, &cfg, &bare), -EINVAL);
	cfg.flags = 0;
	cfg.ram = NULL;
	CHECK_EQ(sidecar_emulate_create(vp, &cfg, &bare), -EINVAL); /* ram_size but no way to reach it */
	cfg.ram = ram;
	cfg.ops = NULL;
	CHECK_EQ(sidecar_emulate_create(vp, &cfg, &bare), -EINVAL);
	sidecar_emulate_destroy(NULL);

	/* NULLs and wrong message types. */
	set_regs();
	mk_mem(&msg, 64, RIP0, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(NULL, &msg), -EINVAL);
	CHECK_EQ(sidecar_emulate_mmio(emu, NULL), -EINVAL);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), -ENOMSG);
	CHECK_EQ(sidecar_emulate_intercept(NULL, &msg), -EINVAL);
	struct hv_message halt;
	memset(&halt, 0, sizeof(halt));
	halt.header.type = HV_MESSAGE_TYPE_X64_HALT;
	halt.header.len = sizeof(struct hv_x64_intercept_message_header);
	CHECK_EQ(sidecar_emulate_intercept(emu, &halt), -ENOMSG);
	CHECK_EQ(sidecar_emulate_mmio(emu, &halt), -ENOMSG);
	CHECK_EQ(sidecar_emulate_io(emu, &halt), -ENOMSG);
	CHECK_EQ(page->dirty, 0);

	/* A message that fails validation: short payload; a length the bytes contradict;
	 * an instruction fetch. */
	msg.header.len = 8;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -EINVAL);
	CHECK(strstr(sidecar_emulate_error(emu), "invalid memory intercept") != NULL);
	mk_mem(&msg, 64, RIP0, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->header.instruction_length_and_cr8 = 3;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -EINVAL);
	CHECK(strstr(sidecar_emulate_error(emu), "instruction length 3") != NULL);
	mk_mem(&msg, 64, RIP0, add, 2, ACC, HV_INTERCEPT_ACCESS_EXECUTE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -ENOTSUP);
	CHECK(strstr(sidecar_emulate_error(emu), "instruction fetch") != NULL);
	CHECK_EQ(page->dirty, 0);

	/* IO messages that fail validation: a size of 3, a short payload; the wrong type. */
	mk_io(&msg, 64, RIP0, outb, 1, 0x3f8, 3, true, 0x2, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), -EINVAL);
	CHECK(strstr(sidecar_emulate_error(emu), "an invalid IO-port intercept message") != NULL);
	mk_io(&msg, 64, RIP0, outb, 1, 0x3f8, 1, true, 0x2, ctx, 0, 0);
	msg.header.len = 100;
	CHECK_EQ(sidecar_emulate_io(emu, &msg), -EINVAL);
	CHECK(strstr(sidecar_emulate_error(emu), "(payload length 100)") != NULL);
	mk_mem(&msg, 64, RIP0, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), -ENOMSG);
	CHECK(strstr(sidecar_emulate_error(emu), "not an IO-port intercept") != NULL);
	CHECK_EQ(page->dirty, 0);

	/* No instruction bytes, and RIP in device memory: nothing to decode. */
	mk_mem(&msg, 64, MMIO_BASE + 0x10, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->instruction_byte_count = 0;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -ENOTSUP);
	CHECK(strstr(sidecar_emulate_error(emu), "no instruction bytes") != NULL);
	/* ... but in RAM they are fetched. */
	memcpy(ram + 0x8000, add, 2);
	set_regs();
	set_dev_u64(ACC, 1);
	mk_mem(&msg, 64, 0x8000, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	((struct hv_x64_memory_intercept_message *)msg.payload)->instruction_byte_count = 0;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), 0);
	CHECK_EQ(dev_u64(ACC), 0x89); /* add [rdi], al */
	CHECK_EQ(page->rip, 0x8002);
	page->dirty = 0;

	/* An IO message whose bytes are not the string instruction it reports. */
	mk_io(&msg, 64, RIP0, outb, 1, 0x3f8, 1 | HV_X64_IO_ACCESS_STRING_OP, true, 0x2, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), -EINVAL);
	CHECK(strstr(sidecar_emulate_error(emu), "OUTS") != NULL);

	/* A callback's error comes back as is; nothing is completed. */
	set_regs();
	set_dev_u64(ACC, 5);
	dev.fail_read = -EIO;
	mk_mem(&msg, 64, RIP0, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -EIO);
	CHECK(strstr(sidecar_emulate_error(emu), "device read of 1 bytes at GPA 0x10000100 failed") != NULL);
	CHECK_EQ(page->dirty, 0);
	CHECK_EQ(dev_u64(ACC), 5);
	dev.fail_write = -EIO;
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -EIO);
	CHECK_EQ(page->dirty, 0);
	CHECK_EQ(dev_u64(ACC), 5);
	dev.fail_write = -EAGAIN;
	mk_io(&msg, 64, RIP0, outb, 1, 0x3f8, 1, true, 0x2, ctx, 0, 0);
	CHECK_EQ(sidecar_emulate_io(emu, &msg), -EAGAIN);
	CHECK_EQ(page->dirty, 0);

	/* Missing callbacks: -ENOTSUP naming them. */
	cfg.ops = &none;
	REQUIRE(sidecar_emulate_create(vp, &cfg, &bare) == 0);
	CHECK_EQ(sidecar_emulate_io(bare, &msg), -ENOTSUP);
	CHECK(strstr(sidecar_emulate_error(bare), "io_write") != NULL);
	mk_mem(&msg, 64, RIP0, st, 2, ACC, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(bare, &msg), -ENOTSUP);
	CHECK(strstr(sidecar_emulate_error(bare), "mmio_write") != NULL);
	sidecar_emulate_destroy(bare);

	/* An access straddling the end of RAM. */
	static const uint8_t ld_rsi[] = {0x8b, 0x06};
	set_regs();
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = ram_size - 2;
	mk_mem(&msg, 64, RIP0, ld_rsi, 2, ram_size, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(emu, &msg), -ENOTSUP);
	CHECK(strstr(sidecar_emulate_error(emu), "straddles") != NULL);
}

/* ---- decode, completion paths, RAM callbacks ----------------------------------------------- */

static void test_decode(void)
{
	struct hv_message msg;
	struct sidecar_emulate_access a;
	static const uint8_t st[] = {0x89, 0x07}, movsx[] = {0x48, 0x0f, 0xbf, 0x07}, add[] = {0x00, 0x27},
			     stos[] = {0xf3, 0x48, 0xab};

	set_regs();
	mk_mem(&msg, 64, RIP0, st, 2, ACC, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_decode(emu, &msg, &a), 0);
	CHECK_STREQ(a.mnemonic, "mov");
	CHECK(a.write && !a.read && a.has_value && !a.sets_flags);
	CHECK_EQ(a.size, 4);
	CHECK_EQ(a.value, 0x55667788);
	CHECK_EQ(a.reg, 0);
	CHECK_EQ(a.gpa, ACC);
	CHECK_EQ(a.instruction_len, 2);
	mk_mem(&msg, 64, RIP0, movsx, 4, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_decode(emu, &msg, &a), 0);
	CHECK_STREQ(a.mnemonic, "movsx");
	CHECK(a.read && !a.write && a.reg_is_dest && a.sign_extend);
	CHECK_EQ(a.size, 2);
	CHECK_EQ(a.reg_size, 8);
	mk_mem(&msg, 64, RIP0, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_decode(emu, &msg, &a), 0);
	CHECK(a.read && a.write && a.sets_flags && a.reg_high8 && !a.reg_is_dest);
	CHECK_EQ(a.reg, 0);
	mk_mem(&msg, 64, RIP0, stos, 3, ACC, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_decode(emu, &msg, &a), 0);
	CHECK(a.string && a.rep && a.write && a.has_value);
	CHECK_EQ(a.size, 8);
	CHECK_EQ(a.value, 0x1122334455667788ull);
	/* Nothing happened. */
	CHECK_EQ(page->dirty, 0);
	CHECK_EQ(sidecar_emulate_decode(emu, &msg, NULL), -EINVAL);
}

/* SIDECAR_EMULATE_F_SET_REGISTERS: RIP and RFLAGS through a SET; the page's dirty bits stay
 * clear. Also a guest whose RAM the VMM reaches through callbacks only. */
static int ram_read_cb(void *opaque, uint64_t gpa, void *buf, size_t len)
{
	(void)opaque;
	memcpy(buf, ram + gpa, len);
	return 0;
}

static int ram_write_cb(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
	(void)opaque;
	memcpy(ram + gpa, buf, len);
	return 0;
}

static uint64_t get_rip_via_api(void)
{
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_RIP};
	REQUIRE(sidecar_vp_get_registers(vp, 0, &r, 1) == 0);
	return r.value.reg64;
}

static void test_set_registers_and_ram_callbacks(void)
{
	struct sidecar_emulator *e2;
	struct hv_message msg;
	struct sidecar_emulate_ops ops = dev_ops;
	static const uint8_t add[] = {0x00, 0x07}, rep_movsb[] = {0xf3, 0xa4};

	ops.ram_read = ram_read_cb;
	ops.ram_write = ram_write_cb;
	struct sidecar_emulate_config cfg = {
		.ops = &ops, .opaque = &dev, .ram_size = ram_size, .flags = SIDECAR_EMULATE_F_SET_REGISTERS};
	REQUIRE(sidecar_emulate_create(vp, &cfg, &e2) == 0);
	set_regs();
	set_dev_u64(ACC, 0x78);
	mk_mem(&msg, 64, 0x1000, add, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	CHECK_EQ(page->dirty, 0);
	CHECK_EQ(get_rip_via_api(), 0x1002);
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_RFLAGS};
	REQUIRE(sidecar_vp_get_registers(vp, 0, &r, 1) == 0);
	CHECK_EQ(r.value.reg64 & ALL, 0x55);
	CHECK_EQ(dev_u64(ACC), 0);

	set_regs();
	memcpy(dev.mem + 0x100, "xyz", 3);
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = ACC;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0x7000;
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 3;
	mk_mem(&msg, 64, 0x1000, rep_movsb, 2, ACC, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	CHECK_EQ(memcmp(ram + 0x7000, "xyz", 3), 0);
	sidecar_emulate_destroy(e2);
	/* Leave RFLAGS sane for the next runs. */
	r.value.reg64 = 0x2;
	REQUIRE(sidecar_vp_set_registers(vp, 0, &r, 1) == 0);
}

/* Before a VP's first run its register page is not valid: RSP, segment bases and CR0 come
 * from GETs, RIP and RFLAGS go out with a SET. */
static void test_no_register_page(void)
{
	struct sidecar_client *c2;
	struct sidecar_vp *vp2;
	struct sidecar_emulator *e2;
	struct hv_message msg;
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_RSP};
	static const uint8_t st_rsp[] = {0x88, 0x44, 0x24, 0x08}, st32[] = {0x89, 0x03}, ld_rsp[] = {0x48, 0x8b, 0x27};

	REQUIRE(sidecar_client_open("sim:cpus=1", &c2) == 0);
	REQUIRE(sidecar_vp_acquire(c2, 1, &vp2) == 0);
	struct hv_x64_register_page *p2 = sidecar_vp_register_page(vp2);
	struct sidecar_cpu_context_x64 *ctx2 = sidecar_vp_cpu_context(vp2);
	REQUIRE(!p2->is_valid);
	struct sidecar_emulate_config cfg = {.ops = &dev_ops, .opaque = &dev, .ram = ram, .ram_size = ram_size};
	REQUIRE(sidecar_emulate_create(vp2, &cfg, &e2) == 0);
	r.value.reg64 = MMIO_BASE + 0x200;
	REQUIRE(sidecar_vp_set_registers(vp2, 0, &r, 1) == 0);

	/* mov [rsp+8], al: RSP by a GET, RIP by a SET. */
	memset(dev.mem, 0, sizeof(dev.mem));
	ctx2->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x5a;
	mk_mem(&msg, 64, 0x3000, st_rsp, 4, MMIO_BASE + 0x208, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	CHECK_EQ(dev.mem[0x208], 0x5a);
	struct hv_register_assoc rip = {.name = HV_X64_REGISTER_RIP};
	REQUIRE(sidecar_vp_get_registers(vp2, 0, &rip, 1) == 0);
	CHECK_EQ(rip.value.reg64, 0x3004);
	CHECK_EQ(p2->dirty, 0);

	/* 32-bit code: DS's base and CR0 (paging off) by GETs. */
	ctx2->gps[SIDECAR_CPU_CONTEXT_RBX] = MMIO_BASE + 0x300;
	ctx2->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x01020304;
	mk_mem(&msg, 32, 0x4000, st32, 2, MMIO_BASE + 0x300, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	CHECK_EQ(*(uint32_t *)(dev.mem + 0x300), 0x01020304u);
	REQUIRE(sidecar_vp_get_registers(vp2, 0, &rip, 1) == 0);
	CHECK_EQ(rip.value.reg64, 0x4002);

	/* mov rsp, [rdi]: the destination RSP by a SET. */
	set_dev_u64(MMIO_BASE + 0x400, 0x7ff0);
	ctx2->gps[SIDECAR_CPU_CONTEXT_RDI] = MMIO_BASE + 0x400;
	mk_mem(&msg, 64, 0x5000, ld_rsp, 3, MMIO_BASE + 0x400, HV_INTERCEPT_ACCESS_READ, 0x2);
	CHECK_EQ(sidecar_emulate_mmio(e2, &msg), 0);
	REQUIRE(sidecar_vp_get_registers(vp2, 0, &r, 1) == 0);
	CHECK_EQ(r.value.reg64, 0x7ff0);

	sidecar_emulate_destroy(e2);
	sidecar_vp_release(vp2);
	sidecar_client_close(c2);
}

static void teardown(void)
{
	page->dirty = 0;
	sidecar_emulate_destroy(emu);
	sidecar_vp_release(vp);
	sidecar_client_close(client);
}

static const struct check_case cases[] = {
	CHECK_CASE(mmio_forms),
	CHECK_CASE(mmio_strings),
	CHECK_CASE(max_rep),
	CHECK_CASE(legacy_modes),
	CHECK_CASE(io),
	CHECK_CASE(string_io),
	CHECK_CASE(paging),
	CHECK_CASE(refusals),
	CHECK_CASE(errors),
	CHECK_CASE(decode),
	CHECK_CASE(set_registers_and_ram_callbacks),
	CHECK_CASE(no_register_page),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_emulate_unit", CHECK_CASES(cases), .watchdog_s = 60,
						 .setup = setup, .teardown = teardown};
	return check_main(argc, argv, &suite);
}
