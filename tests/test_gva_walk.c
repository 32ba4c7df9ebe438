/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the guest page-table walker (kernel/core/gva_walk.c): hand-made page tables in a
 * 16 MiB guest memory for every paging mode, the result codes and their precedence, the
 * permission rules, SET_PAGE_TABLE_BITS, and a randomized robustness loop whose memories are
 * allocated at their exact size so that AddressSanitizer sees any access past the end.
 */
#include "check.h"
#include "gva_walk.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_SIZE (16ull << 20)

/* Entry bits, as the walker's private ones. */
#define P (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define A (1ull << 5)
#define D (1ull << 6)
#define PS (1ull << 7)
#define XD (1ull << 63)
#define PRU (P | RW | US)

#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define RFLAGS_AC (1ull << 18)

#define F_R HV_TRANSLATE_GVA_VALIDATE_READ
#define F_W HV_TRANSLATE_GVA_VALIDATE_WRITE
#define F_X HV_TRANSLATE_GVA_VALIDATE_EXECUTE
#define F_EXEMPT HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT
#define F_SET HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS
#define F_SUP HV_TRANSLATE_GVA_SUPERVISOR_ACCESS
#define F_USER HV_TRANSLATE_GVA_USER_ACCESS
#define F_ENFORCE HV_TRANSLATE_GVA_ENFORCE_SMAP
#define F_OVERRIDE HV_TRANSLATE_GVA_OVERRIDE_SMAP

#define OK HV_TRANSLATE_GVA_SUCCESS
#define NOT_PRESENT HV_TRANSLATE_GVA_PAGE_NOT_PRESENT
#define PRIV HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION
#define INVALID HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS
#define UNMAPPED HV_TRANSLATE_GVA_GPA_UNMAPPED

static struct sidecar_guest_memory mem;

static void set64(uint64_t gpa, uint64_t v)
{
	memcpy(mem.base + gpa, &v, sizeof(v));
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem.base + gpa, sizeof(v));
	return v;
}

static void set32(uint64_t gpa, uint32_t v)
{
	memcpy(mem.base + gpa, &v, sizeof(v));
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem.base + gpa, sizeof(v));
	return v;
}

/*
 * Translates `gva` with `flags` and checks the code and, on success, the GPA (the page that
 * holds `expect_gpa`), plus the invariants of every answer: status SUCCESS, cache type WB
 * exactly on success, gpa_page 0 on failure, all the rest zero.
 */
static void expect_at(int line, const struct sidecar_guest_memory *m, const struct sidecar_gva_walk_regs *regs,
		      uint64_t gva, uint64_t flags, uint32_t expect_code, uint64_t expect_gpa)
{
	struct hv_translate_virtual_address_ex_output_x64 out;
	hv_status st;
	uint32_t code;
	uint8_t cache;
	uint64_t gpa_page;
	const struct hv_x64_pending_event *ev;

	memset(&out, 0xa5, sizeof(out));
	st = sidecar_gva_translate(m, regs, gva >> 12, flags, &out);
	code = HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result);
	cache = HV_TRANSLATE_GVA_RESULT_CACHE_TYPE(out.translation_result.result);
	gpa_page = out.gpa_page;
	if (st != HV_STATUS_SUCCESS || code != expect_code || (code == OK && gpa_page != expect_gpa >> 12)) {
		fprintf(stderr,
			"%s:%d: gva %#" PRIx64 " flags %#" PRIx64 ": status %u code %u"
			" gpa_page %#" PRIx64 ", expected code %u gpa_page %#" PRIx64 "\n",
			__FILE__, line, gva, flags, st, code, gpa_page, expect_code, expect_gpa >> 12);
		check_failures++;
	}
	ev = &out.translation_result.event_info;
	if ((code == OK ? cache != HV_CACHE_TYPE_WRITE_BACK : cache != 0) ||
	    (out.translation_result.result >> 40) != 0 || (code != OK && gpa_page != 0) ||
	    out.translation_result.reserved || out.reserved || ev->reg_0[0] || ev->reg_0[1] || ev->reg_1[0] ||
	    ev->reg_1[1]) {
		fprintf(stderr, "%s:%d: gva %#" PRIx64 ": output not clean (result %#" PRIx64 ")\n", __FILE__, line,
			gva, out.translation_result.result);
		check_failures++;
	}
}

#define EXPECT(regs, gva, flags, code, gpa) expect_at(__LINE__, &mem, regs, gva, flags, code, gpa)
#define EXPECT_MEM(m, regs, gva, flags, code, gpa) expect_at(__LINE__, m, regs, gva, flags, code, gpa)

/* ---------------------------------------------------------------------------------------------
 * Layouts.
 *
 * Long mode: PML5 0x5000 -> PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000. Indices:
 * PML5 1, PML4 1 (and 511 for the upper half), PDPT 2, PD 3, PT 4 -> 4 KiB page 0x500000;
 * PD 5 -> 2 MiB page 0x600000; PDPT 3 -> 1 GiB page 0; PDPT 4 -> 1 GiB page 1 GiB (outside
 * memory); PD 6 -> PT at the last page of memory, whose entry 511 maps 0x501000.
 */
#define PML5 0x5000ull
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define PT 0x4000ull
#define PT_LAST (MEM_SIZE - 0x1000)
#define PAGE_4K 0x500000ull
#define PAGE_2M 0x600000ull

#define VA(i4, i3, i2, i1) ((uint64_t)(i4) << 39 | (uint64_t)(i3) << 30 | (uint64_t)(i2) << 21 | (uint64_t)(i1) << 12)
#define VA_4K VA(1, 2, 3, 4)
#define VA_2M VA(1, 2, 5, 0x1f3)
#define VA_1G (VA(1, 3, 0, 0xabc) + 0x123)
#define VA_1G_HIGH VA(1, 4, 0, 0)
#define VA_LAST VA(1, 2, 6, 511)
#define VA_UPPER (0xffff000000000000ull | VA(511, 2, 3, 4))
#define VA57(i5) ((uint64_t)(i5) << 48 | VA_4K)

#define E_PML5 (PML5 + 1 * 8)
#define E_PML4 (PML4 + 1 * 8)
#define E_PDPT (PDPT + 2 * 8)
#define E_PD (PD + 3 * 8)
#define E_PT (PT + 4 * 8)
#define E_PD_2M (PD + 5 * 8)
#define E_PDPT_1G (PDPT + 3 * 8)

static void build_long(void)
{
	memset(mem.base, 0, 0x10000);
	memset(mem.base + PT_LAST, 0, 0x1000);
	set64(E_PML5, PML4 | PRU);
	set64(E_PML4, PDPT | PRU);
	set64(PML4 + 511 * 8, PDPT | PRU);
	set64(E_PDPT, PD | PRU);
	set64(E_PDPT_1G, 0 | PRU | PS);
	set64(PDPT + 4 * 8, (1ull << 30) | PRU | PS);
	set64(E_PD, PT | PRU);
	set64(E_PD_2M, PAGE_2M | PRU | PS);
	set64(PD + 6 * 8, PT_LAST | PRU);
	set64(E_PT, PAGE_4K | PRU);
	set64(PT_LAST + 511 * 8, (PAGE_4K + 0x1000) | PRU);
}

static struct sidecar_gva_walk_regs long_regs(void)
{
	return (struct sidecar_gva_walk_regs){
		.cr0 = CR0_PG | CR0_WP | CR0_PE,
		.cr3 = PML4,
		.cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE,
		.rflags = 2,
		.cpl = 0,
	};
}

/* ---------------------------------------------------------------------------------------------
 * Tests.
 */
static void test_identity(void)
{
	struct sidecar_gva_walk_regs r = {.cr0 = CR0_PE | CR0_WP, .cr3 = 0xdead000, .rflags = 2};

	EXPECT(&r, 0, 0, OK, 0);
	EXPECT(&r, 0x123456, F_R | F_W | F_X, OK, 0x123000);
	EXPECT(&r, MEM_SIZE - 1, F_W, OK, MEM_SIZE - 0x1000);
	EXPECT(&r, MEM_SIZE, F_R, UNMAPPED, 0);
	EXPECT(&r, 0xfffff000, F_R, UNMAPPED, 0);
	/* No permission checks at all without paging. */
	r.cpl = 3;
	r.cr4 = CR4_SMAP | CR4_SMEP;
	EXPECT(&r, 0x7000, F_R | F_W | F_X | F_USER, OK, 0x7000);
	r.cpl = 0;
	EXPECT(&r, 0x7000, F_R | F_W | F_X, OK, 0x7000);
	/* Outside long mode the linear address is 32 bits. */
	EXPECT(&r, 0x100007000ull, F_R, OK, 0x7000);
	/* Identity never touches memory, SET_PAGE_TABLE_BITS or not. */
	memset(mem.base, 0, 0x10000);
	EXPECT(&r, 0x3000, F_SET | F_W, OK, 0x3000);
	CHECK(get64(0) == 0 && get64(0x3000) == 0);
	/* A partial last page is no page. */
	struct sidecar_guest_memory m = {.base = mem.base, .size = 0x2800};
	EXPECT_MEM(&m, &r, 0x1000, F_R, OK, 0x1000);
	EXPECT_MEM(&m, &r, 0x2000, F_R, UNMAPPED, 0);
	/* NULL base: no memory. */
	m.base = NULL;
	EXPECT_MEM(&m, &r, 0, 0, UNMAPPED, 0);
}

static void test_long_basic(void)
{
	struct sidecar_gva_walk_regs r = long_regs();

	build_long();
	EXPECT(&r, VA_4K, 0, OK, PAGE_4K);
	EXPECT(&r, VA_4K + 0xfff, F_R | F_W | F_X, OK, PAGE_4K);
	EXPECT(&r, VA_2M, F_R, OK, PAGE_2M + 0x1f3000);
	EXPECT(&r, VA(1, 2, 5, 0), F_R, OK, PAGE_2M);
	EXPECT(&r, VA(1, 2, 5, 511), F_R, OK, PAGE_2M + 0x1ff000);
	EXPECT(&r, VA_1G, F_R, OK, 0xabc000);
	EXPECT(&r, VA(1, 3, 7, 0x55), F_R, OK, 7ull << 21 | 0x55000);
	EXPECT(&r, VA_UPPER, F_R, OK, PAGE_4K);
	EXPECT(&r, VA_LAST, F_R, OK, PAGE_4K + 0x1000);
	/* PAT (bit 12) of a large page is no address bit. */
	set64(E_PD_2M, PAGE_2M | PRU | PS | (1ull << 12));
	EXPECT(&r, VA_2M, F_R, OK, PAGE_2M + 0x1f3000);
	/* Ignored bits 52..62 do not matter in long mode. */
	set64(E_PT, PAGE_4K | PRU | 0x7ff0000000000e00ull);
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
	/* CR3's control bits (63..52) and low flag bits are no address. */
	r.cr3 = PML4 | 0x8000000000000018ull;
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
	/* The PAE bit does not select long mode; LMA does (even without PAE). */
	r.cr4 = 0;
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
}

static void test_five_level(void)
{
	struct sidecar_gva_walk_regs r = long_regs();

	build_long();
	r.cr4 |= CR4_LA57;
	r.cr3 = PML5;
	EXPECT(&r, VA57(1), F_R, OK, PAGE_4K);
	EXPECT(&r, 1ull << 48 | VA_2M, F_R, OK, PAGE_2M + 0x1f3000);
	EXPECT(&r, VA57(2), F_R, NOT_PRESENT, 0);
	/* 4-level with the PML4 as CR3 still works on the same tables. */
	r.cr4 &= ~CR4_LA57;
	r.cr3 = PML4;
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
	/* PS in a PML5E is reserved. */
	r.cr4 |= CR4_LA57;
	r.cr3 = PML5;
	set64(E_PML5, PML4 | PRU | PS);
	EXPECT(&r, VA57(1), F_R, INVALID, 0);
	set64(E_PML5, (PML4 | PRU) & ~P);
	EXPECT(&r, VA57(1), F_R, NOT_PRESENT, 0);
}

static void test_non_canonical(void)
{
	struct sidecar_gva_walk_regs r = long_regs();

	build_long();
	EXPECT(&r, 0x0000800000000000ull, F_R, INVALID, 0);
	EXPECT(&r, 0xffff000000000000ull, F_R, INVALID, 0);
	EXPECT(&r, 0x8000000000000000ull, 0, INVALID, 0);
	EXPECT(&r, 0x00007ffffffff000ull, F_R, NOT_PRESENT, 0);
	EXPECT(&r, 0xffff800000000000ull, F_R, NOT_PRESENT, 0);
	EXPECT(&r, 0xfffffffffffff000ull, F_R, NOT_PRESENT, 0);
	r.cr4 |= CR4_LA57;
	r.cr3 = PML5;
	EXPECT(&r, 0x0000800000000000ull, F_R, NOT_PRESENT, 0);
	EXPECT(&r, 0x0100000000000000ull, F_R, INVALID, 0);
	EXPECT(&r, 0xfe00000000000000ull, F_R, INVALID, 0);
	EXPECT(&r, 0xff00000000000000ull, F_R, NOT_PRESENT, 0);
	/* Canonical-ness is no concern outside long mode (32-bit linear addresses). */
	r = long_regs();
	r.cr0 &= ~CR0_PG;
	r.efer = 0;
	EXPECT(&r, 0x0000800000001000ull, F_R, OK, 0x1000);
}

static void test_not_present(void)
{
	struct sidecar_gva_walk_regs r = long_regs();
	static const uint64_t entries[] = {E_PML4, E_PDPT, E_PD, E_PT};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		build_long();
		set64(entries[i], get64(entries[i]) & ~P);
		EXPECT(&r, VA_4K, F_R, NOT_PRESENT, 0);
		EXPECT(&r, VA_4K, 0, NOT_PRESENT, 0);
		/* Not present: the other bits are the OS's, even "reserved" ones. */
		set64(entries[i], 0xfffffffffffffffeull);
		EXPECT(&r, VA_4K, F_R, NOT_PRESENT, 0);
	}
	build_long();
	set64(E_PD_2M, PAGE_2M | PS);
	EXPECT(&r, VA_2M, F_R, NOT_PRESENT, 0);
	set64(E_PDPT_1G, PS);
	EXPECT(&r, VA_1G, F_R, NOT_PRESENT, 0);
	/* Not present below beats a privilege violation above. */
	build_long();
	set64(E_PML4, PDPT | P | RW);
	set64(E_PT, 0);
	r.cpl = 3;
	EXPECT(&r, VA_4K, F_R, NOT_PRESENT, 0);
}

static void test_user_supervisor(void)
{
	struct sidecar_gva_walk_regs r = long_regs();

	build_long();
	/* U/S clear at any one level makes a supervisor page. */
	static const uint64_t entries[] = {E_PML4, E_PDPT, E_PD, E_PT};
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		build_long();
		set64(entries[i], get64(entries[i]) & ~US);
		r.cpl = 3;
		EXPECT(&r, VA_4K, F_R, PRIV, 0);
		EXPECT(&r, VA_4K, F_W, PRIV, 0);
		EXPECT(&r, VA_4K, F_X, PRIV, 0);
		/* Nothing validated, nothing checked. */
		EXPECT(&r, VA_4K, 0, OK, PAGE_4K);
		EXPECT(&r, VA_4K, F_SET, OK, PAGE_4K);
		EXPECT(&r, VA_4K, F_R | F_EXEMPT, OK, PAGE_4K);
		EXPECT(&r, VA_4K, F_R | F_SUP, OK, PAGE_4K);
		r.cpl = 0;
		EXPECT(&r, VA_4K, F_R | F_W | F_X, OK, PAGE_4K);
		EXPECT(&r, VA_4K, F_R | F_USER, PRIV, 0);
		EXPECT(&r, VA_4K, F_R | F_USER | F_EXEMPT, OK, PAGE_4K);
		r.cpl = 1;
		EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
		r.cpl = 2;
		EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
	}
	build_long();
	r.cpl = 3;
	EXPECT(&r, VA_4K, F_R | F_W | F_X, OK, PAGE_4K);
	set64(E_PD_2M, get64(E_PD_2M) & ~US);
	EXPECT(&r, VA_2M, F_R, PRIV, 0);
	set64(E_PDPT_1G, get64(E_PDPT_1G) & ~US);
	EXPECT(&r, VA_1G, F_R, PRIV, 0);
}

static void test_write_protect(void)
{
	struct sidecar_gva_walk_regs r = long_regs();
	static const uint64_t entries[] = {E_PML4, E_PDPT, E_PD, E_PT};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		build_long();
		set64(entries[i], get64(entries[i]) & ~RW);
		r = long_regs();
		r.cpl = 3;
		EXPECT(&r, VA_4K, F_W, PRIV, 0);
		EXPECT(&r, VA_4K, F_R | F_X, OK, PAGE_4K);
		r.cr0 &= ~CR0_WP;
		EXPECT(&r, VA_4K, F_W, PRIV, 0);
		/* The user rule holds even when exempt from the U/S check. */
		EXPECT(&r, VA_4K, F_W | F_EXEMPT, PRIV, 0);
		r.cpl = 0;
		EXPECT(&r, VA_4K, F_W, OK, PAGE_4K);
		EXPECT(&r, VA_4K, F_W | F_USER, PRIV, 0);
		r.cr0 |= CR0_WP;
		EXPECT(&r, VA_4K, F_W, PRIV, 0);
		EXPECT(&r, VA_4K, F_W | F_EXEMPT, PRIV, 0);
		EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
		r.cpl = 3;
		EXPECT(&r, VA_4K, F_W | F_SUP, PRIV, 0);
		r.cr0 &= ~CR0_WP;
		EXPECT(&r, VA_4K, F_W | F_SUP, OK, PAGE_4K);
	}
	build_long();
	r = long_regs();
	set64(E_PD_2M, get64(E_PD_2M) & ~RW);
	EXPECT(&r, VA_2M, F_W, PRIV, 0);
	set64(E_PDPT_1G, get64(E_PDPT_1G) & ~RW);
	EXPECT(&r, VA_1G, F_W, PRIV, 0);
}

static void test_nx(void)
{
	struct sidecar_gva_walk_regs r = long_regs();
	static const uint64_t entries[] = {E_PML4, E_PDPT, E_PD, E_PT};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		build_long();
		set64(entries[i], get64(entries[i]) | XD);
		r = long_regs();
		EXPECT(&r, VA_4K, F_X, PRIV, 0);
		EXPECT(&r, VA_4K, F_X | F_EXEMPT, PRIV, 0);
		EXPECT(&r, VA_4K, F_R | F_W, OK, PAGE_4K);
		r.cpl = 3;
		EXPECT(&r, VA_4K, F_X, PRIV, 0);
		EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
		/* Without NXE, bit 63 is reserved, whatever the access. */
		r.efer &= ~EFER_NXE;
		EXPECT(&r, VA_4K, F_R, INVALID, 0);
		EXPECT(&r, VA_4K, 0, INVALID, 0);
	}
	build_long();
	r = long_regs();
	r.efer &= ~EFER_NXE;
	EXPECT(&r, VA_4K, F_X, OK, PAGE_4K);
	set64(E_PD_2M, get64(E_PD_2M) | XD);
	EXPECT(&r, VA_2M, F_R, INVALID, 0);
	r.efer |= EFER_NXE;
	EXPECT(&r, VA_2M, F_X, PRIV, 0);
	EXPECT(&r, VA_2M, F_R, OK, PAGE_2M + 0x1f3000);
}

static void test_reserved_bits(void)
{
	struct sidecar_gva_walk_regs r = long_regs();

	build_long();
	/* Address bits at or above MAXPHYADDR, in a leaf and in a table pointer. */
	r.maxphyaddr = 36;
	set64(E_PT, PAGE_4K | (1ull << 36) | PRU);
	EXPECT(&r, VA_4K, F_R, INVALID, 0);
	r.maxphyaddr = 37;
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	r.maxphyaddr = 0; /* 52 */
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	set64(E_PT, PAGE_4K | (1ull << 51) | PRU);
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	r.maxphyaddr = 51;
	EXPECT(&r, VA_4K, F_R, INVALID, 0);
	build_long();
	r.maxphyaddr = 39;
	set64(E_PDPT, PD | (1ull << 40) | PRU);
	EXPECT(&r, VA_4K, F_R, INVALID, 0);
	r.maxphyaddr = 46;
	set64(E_PDPT, PD | (1ull << 45) | PRU);
	EXPECT(&r, VA_4K, 0, UNMAPPED, 0);
	r.maxphyaddr = 45;
	EXPECT(&r, VA_4K, 0, INVALID, 0);
	/* Out-of-range widths clamp rather than misbehave. */
	r.maxphyaddr = 200;
	EXPECT(&r, VA_4K, 0, UNMAPPED, 0);
	r.maxphyaddr = 1;
	EXPECT(&r, VA_4K, 0, INVALID, 0);

	/* The low address bits of large pages. */
	build_long();
	r.maxphyaddr = 0;
	set64(E_PD_2M, PAGE_2M | (1ull << 13) | PRU | PS);
	EXPECT(&r, VA_2M, F_R, INVALID, 0);
	set64(E_PD_2M, PAGE_2M | (1ull << 20) | PRU | PS);
	EXPECT(&r, VA_2M, F_R, INVALID, 0);
	set64(E_PD_2M, PAGE_2M | (1ull << 23) | PRU | PS);
	EXPECT(&r, VA_2M, F_R, OK, PAGE_2M + (1ull << 23) + 0x1f3000);
	set64(E_PDPT_1G, (1ull << 29) | PRU | PS);
	EXPECT(&r, VA_1G, F_R, INVALID, 0);
	set64(E_PDPT_1G, (1ull << 13) | PRU | PS);
	EXPECT(&r, VA_1G, F_R, INVALID, 0);
	set64(E_PDPT_1G, (1ull << 21) | PRU | PS);
	EXPECT(&r, VA_1G, F_R, INVALID, 0);
	set64(E_PDPT_1G, (1ull << 12) | PRU | PS);
	EXPECT(&r, VA_1G, F_R, OK, 0xabc000);
	/* The same bits in a 4 KiB PTE are address. */
	set64(E_PT, (PAGE_4K | 1ull << 13) | PRU);
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K | 1ull << 13);
	/* PS (PAT) in a PTE is no large page. */
	set64(E_PT, PAGE_4K | PRU | PS);
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);

	/* PS in a PML4E. */
	build_long();
	set64(E_PML4, PDPT | PRU | PS);
	EXPECT(&r, VA_4K, F_R, INVALID, 0);
	EXPECT(&r, VA_4K, 0, INVALID, 0);

	/* Reserved bits are found before permissions are checked. */
	build_long();
	r.cpl = 3;
	set64(E_PML4, PDPT | P);
	set64(E_PT, PAGE_4K | PRU | (1ull << 40));
	r.maxphyaddr = 40;
	EXPECT(&r, VA_4K, F_W, INVALID, 0);
}

static void test_smep_smap(void)
{
	struct sidecar_gva_walk_regs r = long_regs();

	build_long();
	/* SMEP: supervisor execute of a user page. */
	EXPECT(&r, VA_4K, F_X, OK, PAGE_4K);
	r.cr4 |= CR4_SMEP;
	EXPECT(&r, VA_4K, F_X, PRIV, 0);
	EXPECT(&r, VA_4K, F_R | F_W, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_X | F_EXEMPT, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_X | F_USER, OK, PAGE_4K);
	/* SMEP does not depend on NXE. */
	r.efer &= ~EFER_NXE;
	EXPECT(&r, VA_4K, F_X, PRIV, 0);
	r.efer |= EFER_NXE;
	r.cpl = 3;
	EXPECT(&r, VA_4K, F_X, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_X | F_SUP, PRIV, 0);
	r.cpl = 0;
	/* A supervisor page at any level makes it no user page. */
	set64(E_PDPT, get64(E_PDPT) & ~US);
	EXPECT(&r, VA_4K, F_X, OK, PAGE_4K);
	set64(E_PDPT, get64(E_PDPT) | US);

	/* SMAP: supervisor data access to a user page. */
	r = long_regs();
	r.cr4 |= CR4_SMAP;
	EXPECT(&r, VA_4K, F_R, PRIV, 0);
	EXPECT(&r, VA_4K, F_W, PRIV, 0);
	EXPECT(&r, VA_4K, F_X, OK, PAGE_4K);
	EXPECT(&r, VA_4K, 0, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_R | F_OVERRIDE, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_R | F_ENFORCE, PRIV, 0);
	EXPECT(&r, VA_4K, F_R | F_ENFORCE | F_OVERRIDE, PRIV, 0);
	EXPECT(&r, VA_4K, F_R | F_EXEMPT, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_R | F_ENFORCE | F_EXEMPT, OK, PAGE_4K);
	r.rflags |= RFLAGS_AC;
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_W, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_R | F_OVERRIDE, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_R | F_ENFORCE, PRIV, 0);
	EXPECT(&r, VA_4K, F_W | F_ENFORCE | F_OVERRIDE, PRIV, 0);
	r.rflags &= ~RFLAGS_AC;
	/* User accesses are not SMAP's business. */
	r.cpl = 3;
	EXPECT(&r, VA_4K, F_R | F_W, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_R | F_SUP, PRIV, 0);
	r.cpl = 0;
	EXPECT(&r, VA_4K, F_R | F_USER, OK, PAGE_4K);
	/* Supervisor pages are not either. */
	set64(E_PML4, get64(E_PML4) & ~US);
	EXPECT(&r, VA_4K, F_R | F_W | F_ENFORCE, OK, PAGE_4K);
	set64(E_PML4, get64(E_PML4) | US);
	/* Large pages. */
	EXPECT(&r, VA_2M, F_R, PRIV, 0);
	EXPECT(&r, VA_1G, F_W, PRIV, 0);
	/* Both, with only one violated. */
	r.cr4 |= CR4_SMEP;
	r.rflags |= RFLAGS_AC;
	EXPECT(&r, VA_4K, F_R, OK, PAGE_4K);
	EXPECT(&r, VA_4K, F_R | F_X, PRIV, 0);
}

static void test_set_bits(void)
{
	struct sidecar_gva_walk_regs r = long_regs();
	static const uint64_t walk[] = {E_PML4, E_PDPT, E_PD, E_PT};
	uint8_t *snap = malloc(0x10000);
	uint8_t *snap_last = malloc(0x1000);

	if (!snap || !snap_last) {
		CHECK(!"malloc");
		free(snap);
		free(snap_last);
		return;
	}

	/* Without the flag, nothing changes. */
	build_long();
	memcpy(snap, mem.base, 0x10000);
	EXPECT(&r, VA_4K, F_R | F_W | F_X, OK, PAGE_4K);
	EXPECT(&r, VA_2M, F_W, OK, PAGE_2M + 0x1f3000);
	CHECK(memcmp(snap, mem.base, 0x10000) == 0);

	/* A read sets A on every level and D nowhere. */
	EXPECT(&r, VA_4K, F_R | F_SET, OK, PAGE_4K);
	for (size_t i = 0; i < 4; i++)
		CHECK((get64(walk[i]) & (A | D)) == A);
	/* Only the entries used: the upper-half alias PML4E 511 and the others stay. */
	CHECK((get64(PML4 + 511 * 8) & (A | D)) == 0);
	CHECK((get64(E_PD_2M) & (A | D)) == 0);
	/* Nothing else changed. */
	for (size_t i = 0; i < 4; i++)
		set64(walk[i], get64(walk[i]) & ~A);
	CHECK(memcmp(snap, mem.base, 0x10000) == 0);

	/* A write: D only in the leaf. */
	EXPECT(&r, VA_4K, F_W | F_SET, OK, PAGE_4K);
	for (size_t i = 0; i < 3; i++)
		CHECK((get64(walk[i]) & (A | D)) == A);
	CHECK((get64(E_PT) & (A | D)) == (A | D));
	/* The same request again changes nothing more. */
	memcpy(snap, mem.base, 0x10000);
	EXPECT(&r, VA_4K, F_W | F_SET, OK, PAGE_4K);
	CHECK(memcmp(snap, mem.base, 0x10000) == 0);

	/* Large leaves get D; with no VALIDATE flag at all, A only. */
	build_long();
	EXPECT(&r, VA_2M, F_W | F_SET, OK, PAGE_2M + 0x1f3000);
	CHECK((get64(E_PD_2M) & (A | D)) == (A | D));
	CHECK((get64(E_PDPT) & (A | D)) == A);
	EXPECT(&r, VA_1G, F_SET, OK, 0xabc000);
	CHECK((get64(E_PDPT_1G) & (A | D)) == A);

	/* The upper-half walk marks PML4E 511. */
	build_long();
	EXPECT(&r, VA_UPPER, F_SET | F_R, OK, PAGE_4K);
	CHECK((get64(PML4 + 511 * 8) & A) && !(get64(E_PML4) & A));

	/* 5-level: the PML5E too. */
	build_long();
	r.cr4 |= CR4_LA57;
	r.cr3 = PML5;
	EXPECT(&r, VA57(1), F_SET | F_X, OK, PAGE_4K);
	CHECK((get64(E_PML5) & (A | D)) == A);
	CHECK((get64(E_PT) & (A | D)) == A);
	r = long_regs();

	/* Failures change nothing: privilege violation, not present, reserved, unmapped. */
	build_long();
	set64(E_PT, get64(E_PT) & ~RW);
	set64(E_PD, get64(E_PD) & ~US);
	set64(E_PD_2M, get64(E_PD_2M) & ~P);
	set64(E_PDPT_1G, get64(E_PDPT_1G) | 1ull << 14);
	set64(PD + 6 * 8, (MEM_SIZE - 0x1000) | PRU);
	set64(PT_LAST + 511 * 8, MEM_SIZE | PRU);
	memcpy(snap, mem.base, 0x10000);
	memcpy(snap_last, mem.base + PT_LAST, 0x1000);
	EXPECT(&r, VA_4K, F_W | F_SET, PRIV, 0);
	r.cpl = 3;
	EXPECT(&r, VA_4K, F_R | F_SET, PRIV, 0);
	r.cpl = 0;
	EXPECT(&r, VA_2M, F_R | F_SET, NOT_PRESENT, 0);
	EXPECT(&r, VA_1G, F_R | F_SET, INVALID, 0);
	EXPECT(&r, VA_1G_HIGH, F_R | F_SET, UNMAPPED, 0);
	EXPECT(&r, VA_LAST, F_R | F_SET, UNMAPPED, 0);
	CHECK(memcmp(snap, mem.base, 0x10000) == 0);
	CHECK(memcmp(snap_last, mem.base + PT_LAST, 0x1000) == 0);
	/* ... while the same walks succeed and write once the obstacle is gone. */
	set64(E_PT, get64(E_PT) | RW);
	EXPECT(&r, VA_4K, F_W | F_SET, OK, PAGE_4K);
	CHECK(memcmp(snap, mem.base, 0x10000) != 0);

	/* A recursive entry used at two levels keeps both updates. */
	build_long();
	set64(PML4 + 2 * 8, PML4 | PRU); /* PML4[2] -> PML4 itself */
	/* VA(2, 2, 1, 3): PML4[2] -> "PDPT" = PML4, [2] -> PML4 again as "PD", [1] -> PDPT as
	 * "PT", [3] -> the 1 GiB PDPTE read as a 4 KiB PTE: page 0. */
	EXPECT(&r, VA(2, 2, 1, 3), F_W | F_SET, OK, 0);
	CHECK((get64(PML4 + 2 * 8) & (A | D)) == A);
	CHECK((get64(E_PML4) & (A | D)) == A);
	CHECK((get64(E_PDPT_1G) & (A | D)) == (A | D));
	/* VA(2, 2, 2, 2) uses PML4[2] at all four levels, the last time as the leaf. */
	build_long();
	set64(PML4 + 2 * 8, PML4 | PRU);
	EXPECT(&r, VA(2, 2, 2, 2), F_W | F_SET, OK, PML4);
	CHECK(get64(PML4 + 2 * 8) == (PML4 | PRU | A | D));

	free(snap);
	free(snap_last);
}

static void test_unmapped(void)
{
	struct sidecar_gva_walk_regs r = long_regs();

	/* Tables outside memory, at each level. */
	build_long();
	r.cr3 = MEM_SIZE;
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	r.cr3 = 0x000ffffffffff000ull;
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	r = long_regs();
	set64(E_PML4, 0x2000000 | PRU);
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	build_long();
	set64(E_PDPT, MEM_SIZE | PRU);
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	build_long();
	set64(E_PD, 0x000ffffffffff000ull | PRU);
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	/* Final GPA outside memory, in 4 KiB, 2 MiB and 1 GiB pages. */
	build_long();
	set64(E_PT, MEM_SIZE | PRU);
	EXPECT(&r, VA_4K, F_R, UNMAPPED, 0);
	set64(E_PT, (MEM_SIZE - 0x1000) | PRU);
	EXPECT(&r, VA_4K, F_R, OK, MEM_SIZE - 0x1000);
	set64(E_PD_2M, (MEM_SIZE - 0x200000) | PRU | PS);
	EXPECT(&r, VA_2M, F_R, OK, MEM_SIZE - 0x200000 + 0x1f3000);
	set64(E_PD_2M, MEM_SIZE | PRU | PS);
	EXPECT(&r, VA(1, 2, 5, 0), F_R, UNMAPPED, 0);
	EXPECT(&r, VA_1G_HIGH, F_R, UNMAPPED, 0);
	EXPECT(&r, VA(1, 3, 8, 0), F_R, UNMAPPED, 0);
	/* A violation is the guest's #PF: reported before the missing memory. */
	set64(E_PT, MEM_SIZE | P | US);
	EXPECT(&r, VA_4K, F_W, PRIV, 0);
}

/* Exact-size allocations, so that AddressSanitizer flags any access past the end. */
static void test_end_of_memory(void)
{
	struct sidecar_gva_walk_regs r = long_regs();
	/* PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000, entry 511 is the last 8 bytes. */
	const uint64_t size = 0x5000;
	const uint64_t va = VA(0, 0, 0, 511);
	struct sidecar_guest_memory m;
	uint8_t *buf = calloc(1, size);

	if (!buf) {
		CHECK(!"calloc");
		return;
	}
	m.base = buf;
	m.size = size;
	r.cr3 = 0x1000;
	memcpy(buf + 0x1000, &(uint64_t){0x2000 | PRU}, 8);
	memcpy(buf + 0x2000, &(uint64_t){0x3000 | PRU}, 8);
	memcpy(buf + 0x3000, &(uint64_t){0x4000 | PRU}, 8);
	memcpy(buf + 0x4ff8, &(uint64_t){0x4000 | PRU}, 8);
	EXPECT_MEM(&m, &r, va, F_W | F_SET, OK, 0x4000);
	uint64_t e;
	memcpy(&e, buf + 0x4ff8, 8);
	CHECK(e == (0x4000 | PRU | A | D));
	/* The table straddles the end: its last entry is not memory. */
	m.size = size - 4;
	EXPECT_MEM(&m, &r, va, F_R | F_SET, UNMAPPED, 0);
	m.size = size - 1;
	EXPECT_MEM(&m, &r, va, F_R, UNMAPPED, 0);
	m.size = size - 8;
	EXPECT_MEM(&m, &r, va, F_R, UNMAPPED, 0);
	/* ... but the entries before it still are; the leaf page then is not. */
	EXPECT_MEM(&m, &r, VA(0, 0, 0, 3), F_R, NOT_PRESENT, 0);
	memcpy(buf + 0x4ff0, &(uint64_t){0x3000 | PRU}, 8);
	EXPECT_MEM(&m, &r, VA(0, 0, 0, 510), F_R, OK, 0x3000);
	memcpy(buf + 0x4ff0, &(uint64_t){0x4000 | PRU}, 8);
	EXPECT_MEM(&m, &r, VA(0, 0, 0, 510), F_R, UNMAPPED, 0);
	free(buf);

	/* 32-bit paging, a 4-byte PTE in the very last bytes. */
	size_t size32 = 0x3000 + 4 * 1023 + 4;
	buf = calloc(1, size32);
	if (!buf) {
		CHECK(!"calloc");
		return;
	}
	m.base = buf;
	m.size = size32;
	r = (struct sidecar_gva_walk_regs){.cr0 = CR0_PG | CR0_PE, .cr3 = 0x1000};
	memcpy(buf + 0x1000, &(uint32_t){0x3000 | PRU}, 4);
	memcpy(buf + 0x3000 + 4 * 1023, &(uint32_t){0x2000 | PRU}, 4);
	EXPECT_MEM(&m, &r, 0x3ff000, F_SET | F_W, OK, 0x2000);
	uint32_t e32;
	memcpy(&e32, buf + 0x3000 + 4 * 1023, 4);
	CHECK(e32 == (0x2000 | PRU | A | D));
	m.size = size32 - 2;
	EXPECT_MEM(&m, &r, 0x3ff000, F_R, UNMAPPED, 0);
	free(buf);
}

/* Legacy PAE: CR3 0x7020 (32-byte aligned) -> PDPT[1] -> PD 0x8000 -> PT 0x9000. */
static void test_pae(void)
{
	struct sidecar_gva_walk_regs r = {
		.cr0 = CR0_PG | CR0_WP | CR0_PE,
		.cr3 = 0x7020,
		.cr4 = CR4_PAE,
		.efer = EFER_NXE,
		.rflags = 2,
	};
	const uint64_t pdpte = 0x7020 + 8, pde = 0x8000 + 2 * 8, pte = 0x9000 + 3 * 8;
	const uint64_t va = 1ull << 30 | 2ull << 21 | 3ull << 12;
	const uint64_t va_2m = 1ull << 30 | 4ull << 21 | 0x55ull << 12;

	memset(mem.base, 0, 0x10000);
	set64(pdpte, 0x8000 | P);
	set64(pde, 0x9000 | PRU);
	set64(0x8000 + 4 * 8, 0x800000 | PRU | PS);
	set64(pte, PAGE_4K | PRU);
	EXPECT(&r, va, F_R | F_W | F_X, OK, PAGE_4K);
	EXPECT(&r, va + 0xabc, F_R, OK, PAGE_4K);
	EXPECT(&r, va_2m, F_R, OK, 0x855000);
	/* 32-bit linear address: higher GVA bits are ignored, no canonical check. */
	EXPECT(&r, 0xabcd00000000ull | va, F_R, OK, PAGE_4K);
	/* LA57 means nothing outside long mode. */
	r.cr4 |= CR4_LA57;
	EXPECT(&r, va, F_R, OK, PAGE_4K);
	r.cr4 &= ~CR4_LA57;
	/* Other PDPTEs. */
	EXPECT(&r, 0, F_R, NOT_PRESENT, 0);
	EXPECT(&r, 3ull << 30, F_R, NOT_PRESENT, 0);
	/* PDPTE reserved bits: R/W, U/S, 5..8, 63 (even with NXE), address bits. */
	static const uint64_t pdpte_rsvd[] = {RW, US, A, D, PS, 1ull << 8, XD, 1ull << 52, 1ull << 62};
	for (size_t i = 0; i < sizeof(pdpte_rsvd) / sizeof(pdpte_rsvd[0]); i++) {
		set64(pdpte, 0x8000 | P | pdpte_rsvd[i]);
		EXPECT(&r, va, F_R, INVALID, 0);
	}
	set64(pdpte, 0x8000 | P | (1ull << 3) | (1ull << 4) | (7ull << 9));
	EXPECT(&r, va, F_R, OK, PAGE_4K);
	set64(pdpte, 0x8000);
	EXPECT(&r, va, F_R, NOT_PRESENT, 0);
	set64(pdpte, 0x8000 | P);
	/* PDE/PTE: bits 62..52 are reserved in PAE, and address bits past MAXPHYADDR. */
	set64(pte, PAGE_4K | PRU | 1ull << 55);
	EXPECT(&r, va, F_R, INVALID, 0);
	r.maxphyaddr = 36;
	set64(pte, PAGE_4K | PRU | 1ull << 36);
	EXPECT(&r, va, F_R, INVALID, 0);
	r.maxphyaddr = 0;
	set64(pte, PAGE_4K | PRU);
	set64(0x8000 + 4 * 8, 0x800000 | PRU | PS | 1ull << 14);
	EXPECT(&r, va_2m, F_R, INVALID, 0);
	set64(0x8000 + 4 * 8, 0x800000 | PRU | PS);
	/* XD with NXE, and reserved without. */
	set64(pde, 0x9000 | PRU | XD);
	EXPECT(&r, va, F_X, PRIV, 0);
	EXPECT(&r, va, F_R, OK, PAGE_4K);
	r.efer = 0;
	EXPECT(&r, va, F_R, INVALID, 0);
	r.efer = EFER_NXE;
	set64(pde, 0x9000 | PRU);
	/* Permissions. */
	set64(pte, PAGE_4K | P | US);
	r.cpl = 3;
	EXPECT(&r, va, F_W, PRIV, 0);
	EXPECT(&r, va, F_R, OK, PAGE_4K);
	set64(pte, PAGE_4K | P | RW);
	EXPECT(&r, va, F_R, PRIV, 0);
	r.cpl = 0;
	set64(pte, PAGE_4K | PRU);
	r.cr4 |= CR4_SMAP;
	EXPECT(&r, va, F_R, PRIV, 0);
	r.cr4 &= ~CR4_SMAP;
	/* SET_PAGE_TABLE_BITS leaves the PDPTE alone: its bit 5 is reserved. */
	EXPECT(&r, va, F_W | F_SET, OK, PAGE_4K);
	CHECK(get64(pdpte) == (0x8000 | P));
	CHECK(get64(pde) == (0x9000 | PRU | A));
	CHECK(get64(pte) == (PAGE_4K | PRU | A | D));
	EXPECT(&r, va, F_R, OK, PAGE_4K);
	/* The PDPT read straddling the end of memory. */
	struct sidecar_guest_memory m = {.base = mem.base, .size = 0x7020 + 12};
	EXPECT_MEM(&m, &r, va, F_R, UNMAPPED, 0);
}

/* Legacy 32-bit paging: CR3 0xa000 -> PDE[1] -> PT 0xb000 -> PTE[2]; PDE[3] a 4 MiB page. */
static void test_legacy32(void)
{
	struct sidecar_gva_walk_regs r = {
		.cr0 = CR0_PG | CR0_WP | CR0_PE,
		.cr3 = 0xa000,
		.rflags = 2,
	};
	const uint64_t pde = 0xa000 + 1 * 4, pte = 0xb000 + 2 * 4, pde4m = 0xa000 + 3 * 4;
	const uint64_t va = 1ull << 22 | 2ull << 12, va_4m = 3ull << 22 | 0x123ull << 12;

	memset(mem.base, 0, 0x10000);
	set32(pde, 0xb000 | PRU);
	set32(pte, PAGE_4K | PRU);
	set32(pte + 4, 0xdeadb000 | PRU); /* the neighbour, to see 4-byte accesses */
	set32(pde4m, 0xc00000 | PRU | PS);
	EXPECT(&r, va, F_R | F_W | F_X, OK, PAGE_4K);
	EXPECT(&r, va + 0x1000, F_R, UNMAPPED, 0);
	EXPECT(&r, 0xffffffffull << 32 | va, F_R, OK, PAGE_4K);
	EXPECT(&r, 0, F_R, NOT_PRESENT, 0);
	/* PS needs CR4.PSE; without it the PDE points to a page table (here all zero). */
	EXPECT(&r, va_4m, F_R, NOT_PRESENT, 0);
	r.cr4 = CR4_PSE;
	EXPECT(&r, va_4m, F_R, OK, 0xd23000);
	/* PSE-36: PDE bits 20:13 are physical address bits 39:32; bit 21 is reserved. */
	set32(pde4m, 0xc00000 | PRU | PS | 1u << 21);
	EXPECT(&r, va_4m, F_R, INVALID, 0);
	set32(pde4m, 0xc00000 | PRU | PS | 1u << 13);
	EXPECT(&r, va_4m, F_R, UNMAPPED, 0);
	r.maxphyaddr = 32;
	EXPECT(&r, va_4m, F_R, INVALID, 0);
	r.maxphyaddr = 33;
	EXPECT(&r, va_4m, F_R, UNMAPPED, 0);
	set32(pde4m, 0xc00000 | PRU | PS | 1u << 14);
	EXPECT(&r, va_4m, F_R, INVALID, 0);
	r.maxphyaddr = 0;
	/* PAT (bit 12) is no address bit. */
	set32(pde4m, 0xc00000 | PRU | PS | 1u << 12);
	EXPECT(&r, va_4m, F_R, OK, 0xd23000);
	/* PAE paging's notion of reserved does not apply: bit 7 of a PTE is PAT. */
	set32(pte, PAGE_4K | PRU | PS);
	EXPECT(&r, va, F_R, OK, PAGE_4K);
	set32(pte, PAGE_4K | PRU);
	/* No XD in 32-bit paging: execute is always allowed, NXE or not. */
	r.efer = EFER_NXE;
	EXPECT(&r, va, F_X, OK, PAGE_4K);
	r.efer = 0;
	/* Not present at each level. */
	set32(pde, 0xb000 | RW | US);
	EXPECT(&r, va, F_R, NOT_PRESENT, 0);
	set32(pde, 0xb000 | PRU);
	set32(pte, PAGE_4K | RW | US);
	EXPECT(&r, va, F_R, NOT_PRESENT, 0);
	set32(pte, PAGE_4K | PRU);
	/* Permissions ANDed over both levels. */
	set32(pde, 0xb000 | P | US);
	r.cpl = 3;
	EXPECT(&r, va, F_W, PRIV, 0);
	EXPECT(&r, va, F_R, OK, PAGE_4K);
	set32(pde, 0xb000 | P | RW);
	EXPECT(&r, va, F_R, PRIV, 0);
	r.cpl = 0;
	set32(pde, 0xb000 | P);
	EXPECT(&r, va, F_W, PRIV, 0);
	r.cr0 &= ~CR0_WP;
	EXPECT(&r, va, F_W, OK, PAGE_4K);
	r.cr0 |= CR0_WP;
	set32(pde, 0xb000 | PRU);
	r.cr4 |= CR4_SMEP;
	EXPECT(&r, va, F_X, PRIV, 0);
	r.cr4 &= ~CR4_SMEP;
	/* SET_PAGE_TABLE_BITS with 4-byte entries: the neighbours are untouched. */
	EXPECT(&r, va, F_W | F_SET, OK, PAGE_4K);
	CHECK(get32(pde) == (0xb000 | PRU | A));
	CHECK(get32(pte) == (PAGE_4K | PRU | A | D));
	CHECK(get32(pte + 4) == (0xdeadb000 | PRU));
	CHECK(get32(pde + 4) == 0 && get32(pde - 4) == 0 && get32(pte - 4) == 0);
	EXPECT(&r, va_4m, F_W | F_SET, OK, 0xd23000);
	CHECK(get32(pde4m) == (0xc00000 | PRU | PS | 1u << 12 | A | D));
	/* Page table outside memory (4 GiB - 4 KiB). */
	set32(pde, 0xfffff000u | PRU);
	EXPECT(&r, va, F_R, UNMAPPED, 0);
}

static void test_control_flags(void)
{
	struct sidecar_gva_walk_regs r = long_regs();
	struct hv_translate_virtual_address_ex_output_x64 out;
	static const uint64_t bad[] = {
		1ull << 11,     1ull << 12,           1ull << 31, 1ull << 55, HV_TRANSLATE_GVA_RESERVED_MASK,
		F_SUP | F_USER, F_SUP | F_USER | F_R, ~0ull,
	};

	build_long();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&out, 0xa5, sizeof(out));
		CHECK(sidecar_gva_translate(&mem, &r, VA_4K >> 12, bad[i], &out) == HV_STATUS_INVALID_PARAMETER);
		CHECK(out.translation_result.result == 0 && out.gpa_page == 0 && out.reserved == 0);
	}
	/* The input VTL byte and the other defined flags are accepted. */
	EXPECT(&r, VA_4K, 0xffull << 56 | F_R, OK, PAGE_4K);
	EXPECT(&r, VA_4K, HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT | HV_TRANSLATE_GVA_SHADOW_STACK, OK, PAGE_4K);
	EXPECT(&r, VA_4K, 0x7ffull & ~F_USER, OK, PAGE_4K);
	/* NULL pointers. */
	CHECK(sidecar_gva_translate(&mem, &r, 0, 0, NULL) == HV_STATUS_INVALID_PARAMETER);
	CHECK(sidecar_gva_translate(NULL, &r, 0, 0, &out) == HV_STATUS_INVALID_PARAMETER);
	CHECK(sidecar_gva_translate(&mem, NULL, 0, 0, &out) == HV_STATUS_INVALID_PARAMETER);
}

/* ---------------------------------------------------------------------------------------------
 * Randomized robustness: garbage registers, flags, GVNs and tables.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A value that is often a plausible entry (or CR3) pointing into the `pages`-page memory. */
static uint64_t rnd_entry(uint64_t pages)
{
	uint64_t v = rnd();

	switch (rnd() % 8) {
	case 0:
		return v;
	case 1:
		return v & 0xfff;
	case 2:
		return (rnd() % (pages + 2)) << 12 | (v & 0xfff) | (v & 0xfff0000000000000ull);
	case 3:
		return (rnd() % (pages + 1)) << 12 | (v & 0xff) | P;
	default:
		return (rnd() % (pages + 1)) << 12 | (v & 0x7f) | P;
	}
}

static void test_random(void)
{
	enum { ITERATIONS = 200000, MAX_PAGES = 4, EPOCH = 32 };
	struct sidecar_guest_memory m = {0};
	uint8_t *copy = NULL;
	uint64_t pages = 0;
	unsigned long successes = 0, set_writes = 0, codes[16] = {0};

	for (unsigned int it = 0; it < ITERATIONS; it++) {
		if (it % EPOCH == 0) {
			free(m.base);
			free(copy);
			/* Odd sizes too, so that tables straddle the end; sometimes none. */
			m.size = rnd() % 8 == 0 ? rnd() % 64 : rnd() % (MAX_PAGES * 4096 + 16);
			m.base = malloc(m.size ? m.size : 1);
			copy = malloc(m.size ? m.size : 1);
			if (!m.base || !copy) {
				CHECK(!"malloc");
				break;
			}
			pages = m.size / 4096;
			for (uint64_t off = 0; off < m.size; off += 8) {
				uint64_t v = rnd_entry(pages);

				memcpy(m.base + off, &v, m.size - off < 8 ? m.size - off : 8);
			}
			if (rnd() % 16 == 0) {
				free(m.base);
				m.base = NULL;
				m.size = rnd();
			}
		}
		if (m.base)
			memcpy(copy, m.base, m.size);

		struct sidecar_gva_walk_regs r = {
			.cr0 = (rnd() % 8 ? CR0_PG : 0) | (rnd() % 2 ? CR0_WP : 0),
			.cr3 = rnd_entry(pages),
			.cr4 = rnd() & (CR4_PSE | CR4_PAE | CR4_LA57 | CR4_SMEP | CR4_SMAP),
			.efer = rnd() & (EFER_LMA | EFER_NXE),
			.rflags = rnd() & RFLAGS_AC,
			.cpl = (uint8_t)(rnd() % 5 ? rnd() % 4 : rnd()),
			.maxphyaddr = (uint8_t)(rnd() % 2 ? 0 : rnd()),
		};
		if (rnd() % 16 == 0) {
			r.cr0 = rnd();
			r.cr4 = rnd();
			r.efer = rnd();
			r.rflags = rnd();
		}
		uint64_t gvn = rnd();
		switch (rnd() % 4) {
		case 0:
			gvn &= 0xfffff; /* 32-bit */
			break;
		case 1:
			gvn = (gvn & 0x1ff) * 0x8040201ull; /* the same index at every level */
			break;
		case 2:
			gvn = (gvn & 0x3ff) | (gvn & 0x3ff) << 10;
			break;
		default:
			break;
		}
		uint64_t flags = rnd() % 32 ? rnd() & 0x7ff : rnd();

		struct hv_translate_virtual_address_ex_output_x64 out;
		hv_status st = sidecar_gva_translate(&m, &r, gvn, flags, &out);
		uint32_t code = HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result);
		bool bad_flags = (flags & HV_TRANSLATE_GVA_RESERVED_MASK) || ((flags & F_SUP) && (flags & F_USER));

		if (bad_flags) {
			CHECK(st == HV_STATUS_INVALID_PARAMETER);
			CHECK(out.translation_result.result == 0 && out.gpa_page == 0);
		} else {
			CHECK(st == HV_STATUS_SUCCESS);
			CHECK(code <= HV_TRANSLATE_GVA_GPA_UNMAPPED);
		}
		codes[code & 15]++;
		if (code == OK && st == HV_STATUS_SUCCESS) {
			successes++;
			CHECK(m.base && out.gpa_page < m.size / 4096);
		} else {
			CHECK(out.gpa_page == 0);
		}
		if (!m.base)
			continue;
		/* Only a success with SET_PAGE_TABLE_BITS writes, and only A/D bits of the low
		 * byte of 4-byte-aligned entries (8-byte entries included). */
		if (memcmp(copy, m.base, m.size) == 0)
			continue;
		set_writes++;
		CHECK(st == HV_STATUS_SUCCESS && code == OK && (flags & F_SET));
		for (uint64_t i = 0; i < m.size; i++) {
			if (copy[i] == m.base[i])
				continue;
			if (i % 4 != 0 || (m.base[i] & ~copy[i] & ~(uint8_t)(A | D)) || (copy[i] & ~m.base[i])) {
				fprintf(stderr, "%s:%d: random: byte %#" PRIx64 " %#x -> %#x\n", __FILE__, __LINE__, i,
					copy[i], m.base[i]);
				check_failures++;
				break;
			}
		}
	}
	free(m.base);
	free(copy);
	printf("random: %d iterations, %lu successes, %lu with A/D updates; codes 0..4: "
	       "%lu %lu %lu %lu %lu\n",
	       ITERATIONS, successes, set_writes, codes[0], codes[1], codes[2], codes[3], codes[4]);
	CHECK(successes > 1000 && set_writes > 100);
}

/* Each case's guest memory: MEM_SIZE bytes, zero. */
static void setup(void)
{
	mem.size = MEM_SIZE;
	mem.base = calloc(1, MEM_SIZE);
	REQUIRE(mem.base != NULL);
}

static void teardown(void)
{
	free(mem.base);
	mem.base = NULL;
}

static const struct check_case cases[] = {
	CHECK_CASE(identity),      CHECK_CASE(long_basic),  CHECK_CASE(five_level),
	CHECK_CASE(non_canonical), CHECK_CASE(not_present), CHECK_CASE(user_supervisor),
	CHECK_CASE(write_protect), CHECK_CASE(nx),          CHECK_CASE(reserved_bits),
	CHECK_CASE(smep_smap),     CHECK_CASE(set_bits),    CHECK_CASE(unmapped),
	CHECK_CASE(end_of_memory), CHECK_CASE(pae),         CHECK_CASE(legacy32),
	CHECK_CASE(control_flags), CHECK_CASE(random),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_gva_walk", CHECK_CASES(cases), .watchdog_s = 120, .setup = setup,
						 .teardown = teardown};
	return check_main(argc, argv, &suite);
}
