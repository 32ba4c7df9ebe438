/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the guest page-table walker (kernel/core/gva_walk.c), which answers
 * TRANSLATE_GVA from the VMM's registers and the guest's page tables (two untrusted inputs).
 *
 * Input (little-endian, zero padded when short):
 *   0   cr0, cr3, cr4, efer, rflags   5 x u64
 *   40  cpl, maxphyaddr               u8, u8 (raw: the walker clamps them)
 *   42  gvn, control_flags            u64, u64
 *   58  mem_size                      u32: bytes of guest memory, modulo MEM_MAX + 1
 *   62  mode                          u8: bit 0 NULL memory (of size mem_size), bit 1 clear
 *                                     the reserved control-flag bits (most inputs then valid)
 *   63  pokes                         then (u32 gpa, u64 value) pairs written into the
 *                                     zeroed memory: the page tables
 *
 * The memory is allocated at exactly mem_size bytes, so AddressSanitizer sees any access
 * past its end. Checked on every input:
 *   - the hypercall status is SUCCESS, or INVALID_PARAMETER exactly for reserved or
 *     contradictory control flags, and then the output is all zero;
 *   - the result code is a walker code (SUCCESS..GPA_UNMAPPED) with cache type WB exactly on
 *     success, every other output field zero, and the runtime's decoder agrees with it;
 *   - gpa_page is non-zero only on success, and then the whole page lies in memory; with
 *     CR0.PG clear the translation is the identity (32-bit outside long mode);
 *   - memory changes only on a success with SET_PAGE_TABLE_BITS, only by setting bits 5
 *     (Accessed) and 6 (Dirty, only with VALIDATE_WRITE) in the low byte of 4-byte-aligned
 *     entries;
 *   - the walk is idempotent: translating again gives the same answer and changes nothing,
 *     except where the A/D bits it set landed on the PAE PDPTE it started from (a PDPT page
 *     that is also a page directory or table): bits 5 and 6 are reserved in a PDPTE, so
 *     the next walk rightly fails, as a processor's next CR3 load would.
 */
#include "gva_walk.h"

#include <sidecar/message.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The invariant checks are not what is being explored: no coverage feedback (or cost). */
#ifdef __clang__
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

#define FUZZ_CHECK(cond)                                                                             \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

#define MEM_MAX (64u << 10)
#define HEADER_SIZE 63

#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PAE (1ull << 5)
#define X86_EFER_LMA (1ull << 10)

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++) {
		uint64_t b = 0;
		if (in->n) {
			b = *in->p++;
			in->n--;
		}
		v |= b << (8 * i);
	}
	return v;
}

NO_COVERAGE static bool bad_flags(uint64_t flags)
{
	return (flags & HV_TRANSLATE_GVA_RESERVED_MASK) ||
	       ((flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS) && (flags & HV_TRANSLATE_GVA_USER_ACCESS));
}

NO_COVERAGE static void check_output(const struct sidecar_guest_memory *mem, const struct sidecar_gva_walk_regs *regs,
				     uint64_t gvn, uint64_t flags, hv_status st,
				     const struct hv_translate_virtual_address_ex_output_x64 *out)
{
	const struct hv_x64_pending_event *ev = &out->translation_result.event_info;
	uint64_t result = out->translation_result.result;
	uint32_t code = HV_TRANSLATE_GVA_RESULT_CODE(result);
	uint8_t cache = HV_TRANSLATE_GVA_RESULT_CACHE_TYPE(result);

	/* Everything but result and gpa_page is always zero. */
	FUZZ_CHECK(out->translation_result.reserved == 0 && out->reserved == 0);
	FUZZ_CHECK(ev->reg_0[0] == 0 && ev->reg_0[1] == 0 && ev->reg_1[0] == 0 && ev->reg_1[1] == 0);

	if (bad_flags(flags)) {
		FUZZ_CHECK(st == HV_STATUS_INVALID_PARAMETER);
		FUZZ_CHECK(result == 0 && out->gpa_page == 0);
		return;
	}
	FUZZ_CHECK(st == HV_STATUS_SUCCESS);
	FUZZ_CHECK(code <= HV_TRANSLATE_GVA_GPA_UNMAPPED);
	FUZZ_CHECK((result >> 40) == 0);
	FUZZ_CHECK(cache == (code == HV_TRANSLATE_GVA_SUCCESS ? HV_CACHE_TYPE_WRITE_BACK : 0));
	if (code == HV_TRANSLATE_GVA_SUCCESS) {
		FUZZ_CHECK(mem->base != NULL);
		FUZZ_CHECK(out->gpa_page < mem->size / 4096);
	} else {
		FUZZ_CHECK(out->gpa_page == 0);
	}
	if (!(regs->cr0 & X86_CR0_PG)) {
		/* Identity; outside long mode the linear address is 32 bits. */
		uint64_t page = gvn & (~0ull >> 12);
		if (!(regs->efer & X86_EFER_LMA))
			page &= 0xfffff;
		bool in_memory = mem->base && page < mem->size / 4096;
		FUZZ_CHECK(code == (in_memory ? HV_TRANSLATE_GVA_SUCCESS : HV_TRANSLATE_GVA_GPA_UNMAPPED));
		if (in_memory)
			FUZZ_CHECK(out->gpa_page == page);
	}

	/* The runtime's decoder accepts what the walker produces. */
	uint32_t dcode;
	uint64_t gpa;
	FUZZ_CHECK(sidecar_translate_decode(out, &dcode, &gpa) == 0);
	FUZZ_CHECK(dcode == code);
	FUZZ_CHECK(gpa == (code == HV_TRANSLATE_GVA_SUCCESS ? out->gpa_page << 12 : 0));
}

/* In PAE paging (PG, PAE, not long mode), the PDPTE the walk of `gvn` starts from, else 0. */
NO_COVERAGE static uint64_t read_pdpte(const struct sidecar_guest_memory *mem, const struct sidecar_gva_walk_regs *regs,
				       uint64_t gvn)
{
	uint64_t gpa = (regs->cr3 & 0xffffffe0ull) + (((gvn << 12) >> 30) & 3) * 8, v = 0;

	if (!(regs->cr0 & X86_CR0_PG) || (regs->efer & X86_EFER_LMA) || !(regs->cr4 & X86_CR4_PAE))
		return 0;
	if (mem->base && gpa + 8 <= mem->size)
		memcpy(&v, mem->base + gpa, sizeof(v));
	return v;
}

NO_COVERAGE static bool pdpte_changed(const struct sidecar_guest_memory *mem, const struct sidecar_gva_walk_regs *regs,
				      uint64_t gvn, uint64_t was)
{
	return read_pdpte(mem, regs, gvn) != was;
}

/* Memory changes only on a success with SET_PAGE_TABLE_BITS, and only by A (and, with
 * VALIDATE_WRITE, D) bits set in the low byte of 4-byte-aligned entries. Then `before`
 * catches up. */
NO_COVERAGE static void check_writes(const struct sidecar_guest_memory *mem, uint8_t *before, bool success,
				     uint64_t flags)
{
	if (memcmp(before, mem->base, mem->size) == 0)
		return;
	bool may_write = success && (flags & HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS);
	uint8_t bits = (flags & HV_TRANSLATE_GVA_VALIDATE_WRITE) ? 0x60 : 0x20;
	for (uint64_t i = 0; i < mem->size; i++) {
		if (mem->base[i] == before[i])
			continue;
		if (!may_write || i % 4 != 0 || (before[i] & ~mem->base[i]) || (mem->base[i] & ~before[i] & ~bits)) {
			fprintf(stderr, "memory byte %#llx changed %#x -> %#x (flags %#llx)\n", (unsigned long long)i,
				before[i], mem->base[i], (unsigned long long)flags);
			abort();
		}
	}
	memcpy(before, mem->base, mem->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct sidecar_gva_walk_regs regs;

	regs.cr0 = take(&in, 8);
	regs.cr3 = take(&in, 8);
	regs.cr4 = take(&in, 8);
	regs.efer = take(&in, 8);
	regs.rflags = take(&in, 8);
	regs.cpl = (uint8_t)take(&in, 1);
	regs.maxphyaddr = (uint8_t)take(&in, 1);
	uint64_t gvn = take(&in, 8);
	uint64_t flags = take(&in, 8);
	uint32_t mem_size = (uint32_t)(take(&in, 4) % (MEM_MAX + 1));
	uint8_t mode = (uint8_t)take(&in, 1);

	if (mode & 2)
		flags &= ~HV_TRANSLATE_GVA_RESERVED_MASK;

	struct sidecar_guest_memory mem = {NULL, 0};
	uint8_t *before = NULL;
	if (mode & 1) {
		mem.size = mem_size; /* a size without memory: nothing is mapped */
	} else {
		mem.base = calloc(1, mem_size ? mem_size : 1);
		before = malloc(mem_size ? mem_size : 1);
		FUZZ_CHECK(mem.base && before);
		mem.size = mem_size;
		while (in.n) {
			uint32_t gpa = (uint32_t)take(&in, 4);
			uint64_t v = take(&in, 8);
			if (mem_size == 0)
				break;
			gpa %= mem_size;
			size_t n = mem_size - gpa < 8 ? mem_size - gpa : 8;
			memcpy(mem.base + gpa, &v, n);
		}
		memcpy(before, mem.base, mem_size);
	}

	uint64_t pdpte = read_pdpte(&mem, &regs, gvn);
	struct hv_translate_virtual_address_ex_output_x64 out;
	memset(&out, 0xa5, sizeof(out));
	hv_status st = sidecar_gva_translate(&mem, &regs, gvn, flags, &out);
	check_output(&mem, &regs, gvn, flags, st, &out);
	uint32_t code = HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result);

	if (mem.base)
		check_writes(&mem, before, st == HV_STATUS_SUCCESS && code == HV_TRANSLATE_GVA_SUCCESS, flags);

	/* Idempotent: the same translation again, over the updated memory. */
	struct hv_translate_virtual_address_ex_output_x64 again;
	memset(&again, 0x5a, sizeof(again));
	hv_status st2 = sidecar_gva_translate(&mem, &regs, gvn, flags, &again);
	FUZZ_CHECK(st2 == st);
	if (!pdpte_changed(&mem, &regs, gvn, pdpte)) {
		FUZZ_CHECK(memcmp(&again, &out, sizeof(out)) == 0);
		if (mem.base)
			FUZZ_CHECK(memcmp(before, mem.base, mem_size) == 0);
	}

	/* NULL arguments are refused with a zeroed output. */
	memset(&again, 0x5a, sizeof(again));
	FUZZ_CHECK(sidecar_gva_translate(NULL, &regs, gvn, flags, &again) == HV_STATUS_INVALID_PARAMETER);
	FUZZ_CHECK(again.translation_result.result == 0 && again.gpa_page == 0);
	FUZZ_CHECK(sidecar_gva_translate(&mem, NULL, gvn, flags, &again) == HV_STATUS_INVALID_PARAMETER);
	FUZZ_CHECK(sidecar_gva_translate(&mem, &regs, gvn, flags, NULL) == HV_STATUS_INVALID_PARAMETER);

	free(mem.base);
	free(before);
	return 0;
}
