/* SPDX-License-Identifier: MIT */
/*
 * An x86-64 guest page-table walker with HvCallTranslateVirtualAddressEx semantics, over a
 * flat guest-physical memory buffer. The simulated backends answer TRANSLATE_GVA with it.
 *
 * The inputs come from another trust domain (the VMM's registers and the guest's page
 * tables): every combination is handled without undefined behaviour, the walk is bounded
 * (at most five levels) and no byte outside `mem` is ever read or written.
 *
 * Modes, chosen as the processor does: CR0.PG clear is the identity; EFER.LMA (with PG)
 * selects 4-level paging, or 5-level with CR4.LA57; otherwise CR4.PAE selects legacy PAE
 * paging and its absence 2-level 32-bit paging (4 MiB pages with CR4.PSE, PSE-36 style).
 * Outside long mode the linear address is 32 bits wide and higher GVA bits are ignored, as on
 * the processor (and in OpenVMM's walker); that includes CR0.PG clear.
 */
#ifndef SIDECAR_KERNEL_GVA_WALK_H
#define SIDECAR_KERNEL_GVA_WALK_H

#include "sidecar_env.h"

#include <sidecar/hvdef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The VP state a translation depends on. */
struct sidecar_gva_walk_regs {
	uint64_t cr0, cr3, cr4, efer, rflags;
	uint8_t cpl;        /* current privilege level 0..3: 3 is a user access, else supervisor */
	uint8_t maxphyaddr; /* physical address width; 0 means 52, others clamp to 32..52 */
};

/* Guest-physical memory: one flat range starting at GPA 0. A NULL base is empty memory. */
struct sidecar_guest_memory {
	uint8_t *base; /* guest physical address 0 */
	uint64_t size; /* bytes */
};

/*
 * Translates the page `gvn` (guest virtual address >> 12) per `control_flags`
 * (HV_TRANSLATE_GVA_*). Returns the status of the hypercall itself:
 * HV_STATUS_INVALID_PARAMETER when control_flags has reserved bits set
 * (HV_TRANSLATE_GVA_RESERVED_MASK) or contradictory ones (both SUPERVISOR_ACCESS and USER_ACCESS),
 * or when a pointer is NULL, else HV_STATUS_SUCCESS with the translation's own result in *out:
 * out->translation_result.result = result code (low 32 bits) | cache type (bits 32..39,
 * HV_CACHE_TYPE_WRITE_BACK on success, 0 otherwise); out->gpa_page = GPA >> 12 on success,
 * else 0; everything else zeroed (also when the call fails).
 *
 * The GVA is `gvn << 12`: gvn bits 52..63 cannot be part of a 64-bit address and are ignored.
 * The input-VTL byte (bits 56..63), TLB_FLUSH_INHIBIT and SHADOW_STACK are accepted and
 * ignored: the simulator has one VTL, no TLB and no CET shadow stacks.
 *
 * With HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS, a successful translation sets the Accessed bit in
 * every entry it used (not in PAE PDPTEs, where bit 5 is reserved) and the Dirty bit in the
 * leaf when VALIDATE_WRITE was requested. The updates are plain (not atomic) stores: the VP is
 * stopped while the sidecar kernel serves a command.
 */
hv_status sidecar_gva_translate(const struct sidecar_guest_memory *mem, const struct sidecar_gva_walk_regs *regs,
				uint64_t gvn, uint64_t control_flags,
				struct hv_translate_virtual_address_ex_output_x64 *out);

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_KERNEL_GVA_WALK_H */
