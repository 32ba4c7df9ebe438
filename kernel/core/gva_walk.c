/* SPDX-License-Identifier: MIT */
/*
 * x86 guest page-table walker (HvCallTranslateVirtualAddressEx semantics).
 *
 * The walk mirrors the processor's: each level is read, checked for presence, then for
 * reserved bits; only a complete walk is checked for permissions, so the structural results
 * (GPA_UNMAPPED, PAGE_NOT_PRESENT, INVALID_PAGE_TABLE_FLAGS) take precedence over
 * PRIVILEGE_VIOLATION, as a #PF with P=0 or RSVD=1 does over a protection fault. A final GPA
 * outside memory is checked after the permissions: the guest would take its #PF before the
 * access ever reached the (missing) memory.
 */
#include "gva_walk.h"

/* Paging-structure entry bits (shared by all formats, 4- and 8-byte). */
#define SC_X86_PTE_P (1ull << 0)
#define SC_X86_PTE_RW (1ull << 1)
#define SC_X86_PTE_US (1ull << 2)
#define SC_X86_PTE_A (1ull << 5)
#define SC_X86_PTE_D (1ull << 6)
#define SC_X86_PTE_PS (1ull << 7)
#define SC_X86_PTE_XD (1ull << 63)

/* Bits 51:12: the widest physical page address an 8-byte entry (or CR3) can hold. */
#define SC_X86_PTE_ADDR_MASK 0x000ffffffffff000ull
/* Bits 62:52 of a PAE entry are reserved (IA-32e paging leaves them to software). */
#define SC_X86_PAE_HIGH_RSVD 0x7ff0000000000000ull
/* PAE PDPTE: R/W, U/S and 8:5 do not exist there and must be zero. */
#define SC_X86_PAE_PDPTE_RSVD 0x1e6ull
/* 32-bit PDE with PS: bit 21 is reserved, 20:13 hold physical address bits 39:32 (PSE-36). */
#define SC_X86_PDE32_4M_RSVD (1ull << 21)

#define SC_X86_CR0_WP (1ull << 16)
#define SC_X86_CR0_PG (1ull << 31)
#define SC_X86_CR4_PSE (1ull << 4)
#define SC_X86_CR4_PAE (1ull << 5)
#define SC_X86_CR4_LA57 (1ull << 12)
#define SC_X86_CR4_SMEP (1ull << 20)
#define SC_X86_CR4_SMAP (1ull << 21)
#define SC_X86_EFER_LMA (1ull << 10)
#define SC_X86_EFER_NXE (1ull << 11)
#define SC_X86_RFLAGS_AC (1ull << 18)

#define SIDECAR_GVA_PAGE_SHIFT 12
#define SIDECAR_GVA_PAGE_SIZE (1ull << SIDECAR_GVA_PAGE_SHIFT)
#define SIDECAR_GVA_MAX_LEVELS 5

/* One walk in progress. */
struct sidecar_gva_walk {
	const struct sidecar_guest_memory *mem;
	uint64_t gva;
	uint64_t pa_rsvd; /* address bits 51:maxphyaddr, reserved in every entry */
	bool nxe;
	/* Effective rights: R/W and U/S are ANDed over the levels, XD is ORed (with NXE). */
	bool writable, user, nx;
	/* The entries used, top down, for SET_PAGE_TABLE_BITS. A size of 0 is never updated. */
	unsigned int nr_entries;
	uint64_t entry_gpa[SIDECAR_GVA_MAX_LEVELS];
	uint8_t entry_size[SIDECAR_GVA_MAX_LEVELS];
	uint64_t gpa; /* the result, valid once a walk returned SUCCESS */
};

/* Whether [gpa, gpa + len) lies inside guest memory; written so that nothing can wrap. */
static bool sidecar_gva_in_memory(const struct sidecar_guest_memory *mem, uint64_t gpa, uint64_t len)
{
	if (!mem->base)
		return false;
	return gpa <= mem->size && len <= mem->size - gpa;
}

/* Reads a 4- or 8-byte entry; memcpy because neither `base` nor the GPA need be aligned. */
static uint32_t sidecar_gva_read_entry(const struct sidecar_guest_memory *mem, uint64_t gpa, unsigned int size,
				       uint64_t *val)
{
	if (!sidecar_gva_in_memory(mem, gpa, size))
		return HV_TRANSLATE_GVA_GPA_UNMAPPED;
	if (size == 4) {
		uint32_t v;

		memcpy(&v, mem->base + gpa, sizeof(v));
		*val = v;
	} else {
		memcpy(val, mem->base + gpa, sizeof(*val));
	}
	return HV_TRANSLATE_GVA_SUCCESS;
}

/* A paging-structure entry that must be present: read_entry's results, or PAGE_NOT_PRESENT. */
static uint32_t sidecar_gva_read_present(const struct sidecar_guest_memory *mem, uint64_t gpa, unsigned int size,
					 uint64_t *val)
{
	uint32_t rc = sidecar_gva_read_entry(mem, gpa, size, val);

	if (rc == HV_TRANSLATE_GVA_SUCCESS && !(*val & SC_X86_PTE_P))
		rc = HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
	return rc;
}

/* Accounts a present, well-formed entry. `size` 0: used, but never gets A/D (PAE PDPTE). */
static void sidecar_gva_record(struct sidecar_gva_walk *w, uint64_t gpa, unsigned int size, uint64_t entry,
			       bool has_rights)
{
	if (has_rights) {
		w->writable = w->writable && (entry & SC_X86_PTE_RW);
		w->user = w->user && (entry & SC_X86_PTE_US);
		w->nx = w->nx || (w->nxe && (entry & SC_X86_PTE_XD));
	}
	if (w->nr_entries < SIDECAR_GVA_MAX_LEVELS) {
		w->entry_gpa[w->nr_entries] = gpa;
		w->entry_size[w->nr_entries] = (uint8_t)size;
		w->nr_entries++;
	}
}

/* The GPA of a leaf mapping a page of 2^shift bytes: the offset comes from the GVA. */
static uint64_t sidecar_gva_leaf_gpa(uint64_t page_base, uint64_t gva, unsigned int shift)
{
	uint64_t offset_mask = (1ull << shift) - 1;

	return (page_base & ~offset_mask) | (gva & offset_mask);
}

/*
 * The 8-byte-entry levels shared by IA-32e (4- and 5-level) and PAE paging: from `level`
 * (1 = PT) down, starting at `table`. `high_rsvd` are the format's reserved bits above the
 * address (XD already included when NXE is clear).
 */
static uint32_t sidecar_gva_walk_64(struct sidecar_gva_walk *w, uint64_t table, unsigned int level, uint64_t high_rsvd)
{
	for (; level >= 1; level--) {
		unsigned int shift = SIDECAR_GVA_PAGE_SHIFT + 9 * (level - 1);
		uint64_t gpa = table + ((w->gva >> shift) & 0x1ff) * 8;
		uint64_t rsvd = w->pa_rsvd | high_rsvd;
		bool leaf = level == 1;
		uint64_t e;
		uint32_t rc;

		rc = sidecar_gva_read_present(w->mem, gpa, 8, &e);
		if (rc != HV_TRANSLATE_GVA_SUCCESS)
			return rc;
		if (e & SC_X86_PTE_PS) {
			/* PML5E/PML4E have no large pages; PDPTE (1 GiB) and PDE (2 MiB) do,
			 * and their address bits below the page size, except PAT (bit 12),
			 * must be zero. */
			if (level > 3)
				return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
			if (level > 1) {
				leaf = true;
				rsvd |= ((1ull << shift) - 1) & ~0x1fffull;
			}
		}
		if (e & rsvd)
			return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
		sidecar_gva_record(w, gpa, 8, e, true);
		if (leaf) {
			w->gpa = sidecar_gva_leaf_gpa(e & SC_X86_PTE_ADDR_MASK, w->gva, shift);
			return HV_TRANSLATE_GVA_SUCCESS;
		}
		table = e & SC_X86_PTE_ADDR_MASK;
	}
	/* Not reached: level 1 is always a leaf. */
	return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
}

static uint32_t sidecar_gva_walk_long(struct sidecar_gva_walk *w, const struct sidecar_gva_walk_regs *regs)
{
	bool la57 = regs->cr4 & SC_X86_CR4_LA57;
	unsigned int va_bits = la57 ? 57 : 48;
	uint64_t high = w->gva >> (va_bits - 1);

	/*
	 * A non-canonical GVA is no page-table fault at all (the processor raises #GP, or #SS),
	 * so neither PAGE_NOT_PRESENT nor PRIVILEGE_VIOLATION fits. Hyper-V, and OpenVMM's
	 * walker, report it as INVALID_PAGE_TABLE_FLAGS.
	 */
	if (high != 0 && high != (~0ull >> (va_bits - 1)))
		return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
	/* CR3 bits 63:52 are control bits (PCID no-flush, LAM), not address. */
	return sidecar_gva_walk_64(w, regs->cr3 & SC_X86_PTE_ADDR_MASK, la57 ? 5 : 4, w->nxe ? 0 : SC_X86_PTE_XD);
}

static uint32_t sidecar_gva_walk_pae(struct sidecar_gva_walk *w, const struct sidecar_gva_walk_regs *regs)
{
	/* The 4-entry PDPT is 32-byte aligned and, outside long mode, below 4 GiB. */
	uint64_t gpa = (regs->cr3 & 0xffffffe0ull) + ((w->gva >> 30) & 3) * 8;
	uint64_t e;
	uint32_t rc;

	rc = sidecar_gva_read_present(w->mem, gpa, 8, &e);
	if (rc != HV_TRANSLATE_GVA_SUCCESS)
		return rc;
	/* PDPTEs carry no rights and no XD: bit 63 is reserved whatever NXE says. */
	if (e & (w->pa_rsvd | SC_X86_PAE_HIGH_RSVD | SC_X86_PTE_XD | SC_X86_PAE_PDPTE_RSVD))
		return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
	/* Bit 5 of a PDPTE is reserved, not Accessed: the processor never writes it back. */
	sidecar_gva_record(w, gpa, 0, e, false);
	return sidecar_gva_walk_64(w, e & SC_X86_PTE_ADDR_MASK, 2, SC_X86_PAE_HIGH_RSVD | (w->nxe ? 0 : SC_X86_PTE_XD));
}

static uint32_t sidecar_gva_walk_32(struct sidecar_gva_walk *w, const struct sidecar_gva_walk_regs *regs,
				    unsigned int maxphyaddr)
{
	uint64_t gpa = (regs->cr3 & 0xfffff000ull) + ((w->gva >> 22) & 0x3ff) * 4;
	uint64_t e;
	uint32_t rc;

	/* 32-bit paging has no XD: nothing is ever non-executable. */
	rc = sidecar_gva_read_present(w->mem, gpa, 4, &e);
	if (rc != HV_TRANSLATE_GVA_SUCCESS)
		return rc;
	if ((e & SC_X86_PTE_PS) && (regs->cr4 & SC_X86_CR4_PSE)) {
		uint64_t high = (e >> 13) & 0xff; /* physical address bits 39:32 */

		if ((e & SC_X86_PDE32_4M_RSVD) || (maxphyaddr < 40 && (high >> (maxphyaddr - 32))))
			return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
		sidecar_gva_record(w, gpa, 4, e, true);
		w->gpa = sidecar_gva_leaf_gpa((e & 0xffc00000ull) | high << 32, w->gva, 22);
		return HV_TRANSLATE_GVA_SUCCESS;
	}
	sidecar_gva_record(w, gpa, 4, e, true);

	gpa = (e & 0xfffff000ull) + ((w->gva >> 12) & 0x3ff) * 4;
	rc = sidecar_gva_read_present(w->mem, gpa, 4, &e);
	if (rc != HV_TRANSLATE_GVA_SUCCESS)
		return rc;
	sidecar_gva_record(w, gpa, 4, e, true);
	w->gpa = sidecar_gva_leaf_gpa(e & 0xfffff000ull, w->gva, 12);
	return HV_TRANSLATE_GVA_SUCCESS;
}

/* The permission checks of a complete walk, for the accesses the caller asked to validate. */
static uint32_t sidecar_gva_check_access(const struct sidecar_gva_walk *w, const struct sidecar_gva_walk_regs *regs,
					 uint64_t flags)
{
	bool rd = flags & HV_TRANSLATE_GVA_VALIDATE_READ;
	bool wr = flags & HV_TRANSLATE_GVA_VALIDATE_WRITE;
	bool ex = flags & HV_TRANSLATE_GVA_VALIDATE_EXECUTE;
	/* Exempt removes only what depends on U/S: the user check, SMEP and SMAP. */
	bool exempt = flags & HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT;
	bool user_mode;

	if (flags & HV_TRANSLATE_GVA_USER_ACCESS)
		user_mode = true;
	else if (flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS)
		user_mode = false;
	else
		user_mode = regs->cpl == 3;

	if (ex && w->nx)
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	if (user_mode) {
		if (!exempt && (rd || wr || ex) && !w->user)
			return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
		if (wr && !w->writable)
			return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
		return HV_TRANSLATE_GVA_SUCCESS;
	}

	if (wr && !w->writable && (regs->cr0 & SC_X86_CR0_WP))
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	if (exempt || !w->user)
		return HV_TRANSLATE_GVA_SUCCESS;
	if (ex && (regs->cr4 & SC_X86_CR4_SMEP))
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	if ((rd || wr) && (regs->cr4 & SC_X86_CR4_SMAP)) {
		/* ENFORCE_SMAP wins over OVERRIDE_SMAP: it stands for implicit supervisor
		 * accesses, which the processor checks whatever RFLAGS.AC says. */
		bool smap = (flags & HV_TRANSLATE_GVA_ENFORCE_SMAP) ||
			    (!(flags & HV_TRANSLATE_GVA_OVERRIDE_SMAP) && !(regs->rflags & SC_X86_RFLAGS_AC));

		if (smap)
			return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	}
	return HV_TRANSLATE_GVA_SUCCESS;
}

/* SET_PAGE_TABLE_BITS after a successful walk. Each entry is re-read so that an entry the
 * walk used at two levels (recursive mappings) keeps all the bits set into it. */
static void sidecar_gva_set_bits(const struct sidecar_gva_walk *w, bool dirty)
{
	for (unsigned int i = 0; i < w->nr_entries; i++) {
		uint64_t bits = SC_X86_PTE_A;
		uint64_t e;

		if (!w->entry_size[i])
			continue;
		if (dirty && i == w->nr_entries - 1)
			bits |= SC_X86_PTE_D;
		if (sidecar_gva_read_entry(w->mem, w->entry_gpa[i], w->entry_size[i], &e) != HV_TRANSLATE_GVA_SUCCESS)
			continue;
		if ((e & bits) == bits)
			continue;
		e |= bits;
		if (w->entry_size[i] == 4) {
			uint32_t v = (uint32_t)e;

			memcpy(w->mem->base + w->entry_gpa[i], &v, sizeof(v));
		} else {
			memcpy(w->mem->base + w->entry_gpa[i], &e, sizeof(e));
		}
	}
}

/* The translation proper: a TRANSLATE_GVA result code, and the GPA in *gpa on success. */
static uint32_t sidecar_gva_translate_code(const struct sidecar_guest_memory *mem,
					   const struct sidecar_gva_walk_regs *regs, uint64_t gvn, uint64_t flags,
					   uint64_t *gpa)
{
	bool long_mode = regs->efer & SC_X86_EFER_LMA;
	unsigned int maxphyaddr = regs->maxphyaddr;
	struct sidecar_gva_walk w = {
		.mem = mem,
		/* gvn bits 52..63 cannot be part of an address: dropped, on purpose. */
		.gva = (gvn & (~0ull >> SIDECAR_GVA_PAGE_SHIFT)) << SIDECAR_GVA_PAGE_SHIFT,
		.nxe = regs->efer & SC_X86_EFER_NXE,
		.writable = true,
		.user = true,
	};
	uint32_t rc;

	if (!long_mode)
		w.gva &= 0xffffffffull;
	if (maxphyaddr == 0 || maxphyaddr > 52)
		maxphyaddr = 52;
	else if (maxphyaddr < 32)
		maxphyaddr = 32;
	w.pa_rsvd = SC_X86_PTE_ADDR_MASK & ~((1ull << maxphyaddr) - 1);

	if (!(regs->cr0 & SC_X86_CR0_PG)) {
		w.gpa = w.gva;
	} else {
		if (long_mode)
			rc = sidecar_gva_walk_long(&w, regs);
		else if (regs->cr4 & SC_X86_CR4_PAE)
			rc = sidecar_gva_walk_pae(&w, regs);
		else
			rc = sidecar_gva_walk_32(&w, regs, maxphyaddr);
		if (rc != HV_TRANSLATE_GVA_SUCCESS)
			return rc;
		rc = sidecar_gva_check_access(&w, regs, flags);
		if (rc != HV_TRANSLATE_GVA_SUCCESS)
			return rc;
	}

	/* The whole 4 KiB page must be memory: callers access the page, not one byte. */
	w.gpa &= ~(SIDECAR_GVA_PAGE_SIZE - 1);
	if (!sidecar_gva_in_memory(mem, w.gpa, SIDECAR_GVA_PAGE_SIZE))
		return HV_TRANSLATE_GVA_GPA_UNMAPPED;

	if (flags & HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS)
		sidecar_gva_set_bits(&w, flags & HV_TRANSLATE_GVA_VALIDATE_WRITE);
	*gpa = w.gpa;
	return HV_TRANSLATE_GVA_SUCCESS;
}

hv_status sidecar_gva_translate(const struct sidecar_guest_memory *mem, const struct sidecar_gva_walk_regs *regs,
				uint64_t gvn, uint64_t control_flags,
				struct hv_translate_virtual_address_ex_output_x64 *out)
{
	uint64_t gpa = 0;
	uint32_t rc;

	if (!out)
		return HV_STATUS_INVALID_PARAMETER;
	memset(out, 0, sizeof(*out));
	if (!mem || !regs)
		return HV_STATUS_INVALID_PARAMETER;
	if (control_flags & HV_TRANSLATE_GVA_RESERVED_MASK)
		return HV_STATUS_INVALID_PARAMETER;
	if ((control_flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS) && (control_flags & HV_TRANSLATE_GVA_USER_ACCESS))
		return HV_STATUS_INVALID_PARAMETER;

	rc = sidecar_gva_translate_code(mem, regs, gvn, control_flags, &gpa);
	out->translation_result.result = rc;
	if (rc == HV_TRANSLATE_GVA_SUCCESS) {
		out->translation_result.result |= (uint64_t)HV_CACHE_TYPE_WRITE_BACK << 32;
		out->gpa_page = gpa >> SIDECAR_GVA_PAGE_SHIFT;
	}
	return HV_STATUS_SUCCESS;
}
