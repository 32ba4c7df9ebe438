/* SPDX-License-Identifier: MIT */
/*
 * KVM backend: accesses to GPAs without memory become Hyper-V unmapped-GPA intercepts: GPA,
 * GVA, access type (read, write, execute), the instruction's RIP, length and bytes, and the
 * VP left before the instruction (also where KVM's emulator had already written RIP back,
 * or would touch registers or memory when the access completes). Also HLT and a triple
 * fault. The VMM emulates each instruction itself.
 */
#include "kvm_util.h"

#define MMIO_BASE 0x10000000ull /* far above the 64 MiB of RAM */

/* Each case's client and VP. */
static struct kvm_test kt;

static void setup(void)
{
	kt_open(&kt, "sim:backend=kvm,cpus=1");
}

static void teardown(void)
{
	kt_close(&kt);
}

static void check_mem(struct kvm_test *t, uint8_t access, uint64_t gpa, uint64_t rip, unsigned int len,
		      const uint8_t *bytes)
{
	const struct hv_x64_memory_intercept_message *m = kt_mem(t);

	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_UNMAPPED_GPA);
	CHECK_EQ(sidecar_vp_intercept_message(t->vp)->header.len, sizeof(*m));
	CHECK_EQ(m->header.intercept_access_type, access);
	CHECK_EQ(m->guest_physical_address, gpa);
	CHECK_EQ(m->header.rip, rip);
	CHECK_EQ(kt_len(&m->header), len);
	if (bytes) {
		CHECK_EQ(m->instruction_byte_count, len);
		CHECK_EQ(memcmp(m->instruction_bytes, bytes, len), 0);
	}
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RIP), rip);
}

static void test_real_mode(void)
{
	struct kvm_test *t = &kt;
	static const uint8_t code[] = {
		0xa3, 0x00, 0x80, /* 1000: mov [0x8000], ax        write */
		0x8b, 0x47, 0x10, /* 1003: mov ax, [bx+0x10]       read */
		0xe7, 0x80,       /* 1006: out 0x80, ax */
		0xc6, 0x04, 0x5a, /* 1008: mov byte [si], 0x5a     write */
		0x3e, 0x89, 0x1f, /* 100b: ds mov [bx], bx         write, redundant prefix */
		0x01, 0x07,       /* 100e: add [bx], ax            read-modify-write */
		0xf3, 0xa4,       /* 1010: rep movsb               MMIO -> RAM */
		0xaa,             /* 1012: stosb (ES = MMIO)       write */
		0xf4,             /* 1013: hlt */
	};
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(t->vp);
	const struct hv_x64_memory_intercept_message *m = kt_mem(t);

	memcpy(t->mem + 0x1000, code, sizeof(code));
	kt_real_mode(t, 0x1000);
	struct hv_x64_segment_register ds = {
		.base = MMIO_BASE, .limit = 0xffff, .selector = 0x1234, .attributes = 0x93};
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_DS};
	r.value.segment = ds;
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, &r, 1) == 0);
	ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0xbeef;
	ctx->gps[SIDECAR_CPU_CONTEXT_RBX] = 0x100;
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x200;

	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, MMIO_BASE + 0x8000, 0x1000, 3, code);
	CHECK_EQ(m->memory_access_info & HV_X64_MEMORY_ACCESS_GVA_VALID, HV_X64_MEMORY_ACCESS_GVA_VALID);
	CHECK_EQ(m->guest_virtual_address, MMIO_BASE + 0x8000);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0xbeef);
	kt_skip(t, &m->header);

	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_READ, MMIO_BASE + 0x110, 0x1003, 3, code + 3);
	CHECK_EQ(m->guest_virtual_address, MMIO_BASE + 0x110);
	/* Not completed: the destination is untouched until the VMM writes it. */
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0xbeef);
	ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x4321; /* the VMM's emulation */
	kt_skip(t, &m->header);
	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
	CHECK_EQ(kt_io(t)->rax & 0xffff, 0x4321);
	kt_skip(t, &kt_io(t)->header);

	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, MMIO_BASE + 0x200, 0x1008, 3, code + 8);
	kt_skip(t, &m->header);

	/* A redundant prefix: `89 1f` explains the write as well, but the VP entered at 0x100b
	 * (where the VMM's skip put RIP), an instruction boundary. */
	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, MMIO_BASE + 0x100, 0x100b, 3, code + 0xb);
	kt_skip(t, &m->header);

	/* Read-modify-write: the read is reported; flags and registers stay as they were. */
	uint64_t flags = get1(t->vp, HV_X64_REGISTER_RFLAGS);
	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_READ, MMIO_BASE + 0x100, 0x100e, 2, code + 0xe);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RFLAGS), flags);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0x4321);
	kt_skip(t, &m->header);

	/* REP MOVSB from MMIO to RAM: the RAM destination is not written behind the VMM's
	 * back, and RSI/RDI/RCX are the ones from before the instruction. */
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 4;
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x300;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0x6000;
	memset(t->mem + 0x6000, 0x77, 8);
	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_READ, MMIO_BASE + 0x300, 0x1010, 2, code + 0x10);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], 4);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RSI], 0x300);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], 0x6000);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(t->mem[0x6000 + i], 0x77);
	ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 0;
	kt_skip(t, &m->header);

	/* STOSB to an ES in MMIO: KVM wrote RDI back before the exit. */
	struct hv_register_assoc es = {.name = HV_X64_REGISTER_ES};
	es.value.segment = ds;
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, &es, 1) == 0);
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = 0x400;
	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, MMIO_BASE + 0x400, 0x1012, 1, code + 0x12);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RDI], 0x400);
	kt_skip(t, &m->header);

	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_X64_HALT);
	const struct hv_x64_intercept_message_header *h =
		(const struct hv_x64_intercept_message_header *)sidecar_vp_intercept_message(t->vp)->payload;
	CHECK_EQ(h->rip, 0x1013);
	CHECK_EQ(kt_len(h), 1);
	CHECK_EQ(h->intercept_access_type, HV_INTERCEPT_ACCESS_EXECUTE);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RIP), 0x1013);
	/* Not advanced: HLT again. */
	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_X64_HALT);
	CHECK_EQ(h->rip, 0x1013);
}

static void test_long_mode(void)
{
	struct kvm_test *t = &kt;
	static const uint8_t code[] = {
		0x89, 0x07,                         /* 10000: mov [rdi], eax           write */
		0x48, 0x8b, 0x46, 0x08,             /* 10002: mov rax, [rsi+8]         read */
		0xf3, 0x0f, 0x6f, 0x06,             /* 10006: movdqu xmm0, [rsi]       read into XMM */
		0xf3, 0x0f, 0x7f, 0x47, 0x20,       /* 1000a: movdqu [rdi+0x20], xmm0  write from XMM */
		0x90, 0x90,                         /* 1000f: nop; nop */
		0x44, 0x89, 0x47, 0x04,             /* 10011: mov [rdi+4], r8d         write, REX.R */
		0xc7, 0x07, 0x78, 0x56, 0x34, 0x12, /* 10015: mov dword [rdi], 0x12345678 */
		0xff, 0xe3,                         /* 1001b: jmp rbx                  execute */
	};
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(t->vp);
	const struct hv_x64_memory_intercept_message *m = kt_mem(t);
	const uint64_t gpa = 0x8000000; /* 128 MiB: mapped by the page tables, no RAM */

	memcpy(t->mem + 0x10000, code, sizeof(code));
	kt_long_mode(t, 0x10000);
	ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0xaabbccdd;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = gpa;
	ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = gpa + 0x100;
	ctx->gps[SIDECAR_CPU_CONTEXT_RBX] = gpa + 0x2000;
	ctx->gps[8] = 0x11111111;                /* R8 */
	REQUIRE(sidecar_vp_sync_fx(t->vp) == 0); /* before touching fx_state (a lazy image) */
	memset(ctx->fx_state.xmm[0], 0x33, 16);

	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, gpa, 0x10000, 2, code);
	CHECK_EQ(m->guest_virtual_address, gpa);
	CHECK_EQ(m->memory_access_info & HV_X64_MEMORY_ACCESS_GVA_VALID, HV_X64_MEMORY_ACCESS_GVA_VALID);
	CHECK_EQ(m->header.execution_state & HV_X64_EXEC_STATE_EFER_LMA, HV_X64_EXEC_STATE_EFER_LMA);
	kt_skip(t, &m->header);

	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_READ, gpa + 0x108, 0x10002, 4, code + 2);
	CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0xaabbccdd);
	kt_skip(t, &m->header);

	/* The emulator would load XMM0 on completion: the context keeps the old value; the
	 * VMM's value goes into the VP and comes back. (The SSE instructions here are ones
	 * KVM emulates: some hosts' KVM cannot run guest x87/SSE code natively.) */
	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_READ, gpa + 0x100, 0x10006, 4, code + 6);
	REQUIRE(sidecar_vp_sync_fx(t->vp) == 0);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(ctx->fx_state.xmm[0][i], 0x33);
	for (int i = 0; i < 16; i++)
		ctx->fx_state.xmm[0][i] = (uint8_t)(0x40 + i);
	kt_skip(t, &m->header);
	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, gpa + 0x20, 0x1000a, 5, code + 0xa);
	REQUIRE(sidecar_vp_sync_fx(t->vp) == 0);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(ctx->fx_state.xmm[0][i], 0x40 + i);
	REQUIRE(set1(t->vp, HV_X64_REGISTER_RIP, 0x10011) == 0);

	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, gpa + 4, 0x10011, 4, code + 0x11);
	kt_skip(t, &m->header);

	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, gpa, 0x10015, 6, code + 0x15);
	kt_skip(t, &m->header);

	/* Instruction fetch from a GPA without memory. */
	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_UNMAPPED_GPA);
	CHECK_EQ(m->header.intercept_access_type, HV_INTERCEPT_ACCESS_EXECUTE);
	CHECK_EQ(m->guest_physical_address, gpa + 0x2000);
	CHECK_EQ(m->guest_virtual_address, gpa + 0x2000);
	CHECK_EQ(m->header.rip, gpa + 0x2000);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RIP), gpa + 0x2000);
}

/*
 * Writes that KVM reports with RIP already past the instruction, where more than one decode
 * ends there: the message must name the instruction that ran, with all its prefixes and
 * nothing of the one before. Each store is entered either right before it (at a lead
 * instruction) or through `jmp rbx` elsewhere, so that the backend knows no instruction
 * boundary near it and the exit alone must decide.
 */
#define XCODE 0x30000ull /* the code under test */
#define XJMP 0x2f000ull  /* jmp rbx */

static void store_case(struct kvm_test *t, const char *what, const uint8_t *code, size_t n, unsigned int at,
		       unsigned int len, bool direct, uint64_t gpa)
{
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(t->vp);
	int failures = check_failures;

	memcpy(t->mem + XCODE, code, n);
	t->mem[XCODE + n] = 0xf4;
	t->mem[XJMP] = 0xff;
	t->mem[XJMP + 1] = 0xe3;
	ctx->gps[SIDECAR_CPU_CONTEXT_RBX] = XCODE;
	REQUIRE(set1(t->vp, HV_X64_REGISTER_RIP, direct ? XCODE : XJMP) == 0);
	kt_run(t);
	check_mem(t, HV_INTERCEPT_ACCESS_WRITE, gpa, XCODE + at, len, code + at);
	if (check_failures != failures)
		fprintf(stderr, "  in: %s (%s)\n", what, direct ? "entered before it" : "entered through jmp rbx");
}

static void test_exact_stores(void)
{
	struct kvm_test *t = &kt;

	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(t->vp);
	const uint64_t gpa = 0x8000000; /* mapped by the page tables, no RAM */
	uint64_t *g = ctx->gps;

	kt_long_mode(t, XCODE);
	g[SIDECAR_CPU_CONTEXT_RAX] = 0x1122334455667788ull;
	g[SIDECAR_CPU_CONTEXT_RDI] = gpa;

	/* Operand size: the store without its 66 or REX.W is also one to this GPA, of a
	 * longer width whose first bytes are the same data. */
	static const uint8_t st16[] = {0x90, 0x66, 0x89, 0x07};                            /* mov [rdi], ax */
	static const uint8_t st64[] = {0x90, 0x48, 0x89, 0x07};                            /* mov [rdi], rax */
	static const uint8_t imm64[] = {0x48, 0xc7, 0x07, 0xf0, 0xff, 0xff, 0xff};         /* mov qword [rdi], -16 */
	static const uint8_t moffs16[] = {0x66, 0xa3, 0x10, 0x00, 0x00, 0x08, 0, 0, 0, 0}; /* mov [0x8000010], ax */
	for (int d = 0; d < 2; d++) {
		store_case(t, "66 89 07", st16, sizeof(st16), 1, 3, d, gpa);
		store_case(t, "48 89 07", st64, sizeof(st64), 1, 3, d, gpa);
		store_case(t, "48 c7 07 imm32", imm64, sizeof(imm64), 0, 7, d, gpa);
		store_case(t, "66 a3 moffs64", moffs16, sizeof(moffs16), 0, 10, d, gpa + 0x10);
	}

	/* Address size: RDI's upper half is not part of a 32-bit address (67); as a 64-bit
	 * address it is not mapped, or not canonical. */
	static const uint8_t a32[] = {0x90, 0x67, 0x89, 0x07}; /* mov [edi], eax */
	g[SIDECAR_CPU_CONTEXT_RDI] = 0x100000000ull | gpa;
	store_case(t, "67 89 07", a32, sizeof(a32), 1, 3, false, gpa);
	g[SIDECAR_CPU_CONTEXT_RDI] = 0xdead000000000000ull | gpa;
	store_case(t, "67 89 07, not canonical", a32, sizeof(a32), 1, 3, false, gpa);
	g[SIDECAR_CPU_CONTEXT_RDI] = gpa;

	/* Segment: FS and GS have bases. A store through either, and a MOVS whose override
	 * is on its source (the destination, ES:RDI, is the same with or without it): the data
	 * tells them apart. */
	struct hv_register_assoc segs[] = {
		regseg(HV_X64_REGISTER_FS, 0x100000, 0xffffffff, 0x10, 0xc093),
		regseg(HV_X64_REGISTER_GS, 0x200000, 0xffffffff, 0x10, 0xc093),
	};
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, segs, 2) == 0);
	static const uint8_t fs_st[] = {0x90, 0x64, 0x89, 0x07};   /* mov fs:[rdi], eax */
	static const uint8_t gs_st[] = {0x90, 0x65, 0x88, 0x07};   /* mov gs:[rdi], al */
	static const uint8_t fs_movs[] = {0x90, 0x64, 0xa4};       /* movsb fs:[rsi] -> [rdi] */
	static const uint8_t gs_movs[] = {0x90, 0x65, 0x48, 0xa5}; /* movsq gs:[rsi] -> [rdi] */
	g[SIDECAR_CPU_CONTEXT_RDI] = gpa - 0x100000;
	store_case(t, "64 89 07", fs_st, sizeof(fs_st), 1, 3, false, gpa);
	g[SIDECAR_CPU_CONTEXT_RDI] = gpa - 0x200000;
	store_case(t, "65 88 07", gs_st, sizeof(gs_st), 1, 3, false, gpa);
	g[SIDECAR_CPU_CONTEXT_RDI] = gpa;
	g[SIDECAR_CPU_CONTEXT_RSI] = 0x6000;
	for (int i = 0; i < 8; i++) {
		t->mem[0x6000 + i] = (uint8_t)(0x10 + i);   /* DS:RSI */
		t->mem[0x106000 + i] = (uint8_t)(0x20 + i); /* FS:RSI */
		t->mem[0x206000 + i] = (uint8_t)(0x30 + i); /* GS:RSI */
	}
	store_case(t, "64 a4", fs_movs, sizeof(fs_movs), 1, 2, false, gpa);
	CHECK_EQ(g[SIDECAR_CPU_CONTEXT_RSI], 0x6000); /* stepped back over the iteration */
	CHECK_EQ(g[SIDECAR_CPU_CONTEXT_RDI], gpa);
	store_case(t, "65 48 a5", gs_movs, sizeof(gs_movs), 1, 3, false, gpa);
	CHECK_EQ(g[SIDECAR_CPU_CONTEXT_RSI], 0x6000);

	/* The previous instruction ends in a prefix's value: `lea rdi, [rdi+0x40]` in 0x40 (an
	 * empty REX), `mov al, 0x48` in REX.W, `mov al, 0xf3` in REP. Each longer decode would
	 * execute the same (or, REP, cannot be behind RIP): the instruction is the one without. */
	static const uint8_t lea40[] = {0x48, 0x8d, 0x7f, 0x40, 0x89, 0x07}; /* ...; mov [rdi], eax */
	static const uint8_t mov48[] = {0xb0, 0x48, 0x88, 0x07};             /* ...; mov [rdi], al */
	static const uint8_t movf3[] = {0xb0, 0xf3, 0xaa};                   /* ...; stosb */
	for (int d = 0; d < 2; d++) {
		g[SIDECAR_CPU_CONTEXT_RDI] = gpa - 0x40;
		store_case(t, "lea ending in 40; 89 07", lea40, sizeof(lea40), 4, 2, d, gpa);
		g[SIDECAR_CPU_CONTEXT_RDI] = gpa;
		store_case(t, "mov al, 0x48; 88 07", mov48, sizeof(mov48), 2, 2, d, gpa);
		g[SIDECAR_CPU_CONTEXT_RCX] = 0; /* what a finished REP would leave */
		store_case(t, "mov al, 0xf3; aa", movf3, sizeof(movf3), 2, 1, d, gpa);
		CHECK_EQ(g[SIDECAR_CPU_CONTEXT_RDI], gpa);
		CHECK_EQ(g[SIDECAR_CPU_CONTEXT_RCX], 0);
	}

	/* A prefix with no effect here (DS in 64-bit code): with a known boundary before it
	 * (the NOP, where the VP entered) it is part of the instruction; without one, the
	 * instruction is taken without it (docs/kvm.md: such a byte is far more often the end of
	 * the previous instruction). */
	static const uint8_t ds_st[] = {0x90, 0x3e, 0x89, 0x07}; /* ds mov [rdi], eax */
	store_case(t, "nop; 3e 89 07", ds_st, sizeof(ds_st), 1, 3, true, gpa);
	store_case(t, "3e 89 07 by its bytes", ds_st, sizeof(ds_st), 2, 2, false, gpa);

	/* REP STOSB, count 1: KVM leaves RIP on it through its last iteration. */
	static const uint8_t rep_stos[] = {0x90, 0xf3, 0xaa};
	g[SIDECAR_CPU_CONTEXT_RCX] = 1;
	store_case(t, "f3 aa", rep_stos, sizeof(rep_stos), 1, 2, true, gpa);
	CHECK_EQ(g[SIDECAR_CPU_CONTEXT_RCX], 1);
	CHECK_EQ(g[SIDECAR_CPU_CONTEXT_RDI], gpa);

	/* Across a page boundary KVM splits the access. RAM then MMIO: the exit is the second
	 * page's part (the first is written at once). MMIO on both sides: the first part, and
	 * completing it brings the second, which tells a 2-byte store at the page's end from a
	 * 4-byte one. */
	static const uint8_t st32[] = {0x90, 0x89, 0x07};                                /* mov [rdi], eax */
	static const uint8_t end16[] = {0x66, 0xa3, 0xfe, 0x0f, 0x00, 0x08, 0, 0, 0, 0}; /* mov [0x8000ffe], ax */
	g[SIDECAR_CPU_CONTEXT_RDI] = t->mem_size - 2;
	store_case(t, "89 07 from RAM into MMIO", st32, sizeof(st32), 1, 2, false, t->mem_size);
	g[SIDECAR_CPU_CONTEXT_RDI] = gpa + 0xffe;
	store_case(t, "89 07 across two MMIO pages", st32, sizeof(st32), 1, 2, false, gpa + 0xffe);
	store_case(t, "66 a3 at a page's end", end16, sizeof(end16), 0, 10, false, gpa + 0xffe);
}

/* An exception with no IDT to deliver it: triple fault, an unrecoverable exception. */
static void test_triple_fault(void)
{
	struct kvm_test *t = &kt;
	/* mov eax, [0x40000000]: above the 1 GiB the page tables map, a #PF */
	static const uint8_t code[] = {0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40};
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_IDTR};

	memcpy(t->mem + 0x20000, code, sizeof(code));
	kt_long_mode(t, 0x20000);
	r.value.table.base = 0;
	r.value.table.limit = 0;
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, &r, 1) == 0);
	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_UNRECOVERABLE_EXCEPTION);
	CHECK_EQ(((const struct hv_x64_intercept_message_header *)sidecar_vp_intercept_message(t->vp)->payload)
			 ->vp_index,
		 1);
}

static const struct check_case cases[] = {
	CHECK_CASE(real_mode),
	CHECK_CASE(long_mode),
	CHECK_CASE(triple_fault),
	CHECK_CASE(exact_stores),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kvm_mmio", CHECK_CASES(cases), .watchdog_s = 60, .setup = setup,
						 .teardown = teardown};
	return check_main(argc, argv, &suite);
}
