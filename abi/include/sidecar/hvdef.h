/* SPDX-License-Identifier: MIT */
/*
 * The subset of the Hyper-V hypervisor ABI that the sidecar ABI uses.
 *
 * Layouts follow the Hyper-V TLFS as encoded by OpenVMM's `hvdef` crate
 * (vm/hv1/hvdef) and `x86defs::xsave::Fxsave`. Little-endian x86-64 only.
 * Every size and offset of the upstream layout is a static assertion at the
 * bottom of this file. Data only: no functions beyond trivial inline helpers.
 */
#ifndef SIDECAR_HVDEF_H
#define SIDECAR_HVDEF_H

/* The fixed-width types: from libc, from the kernel in a kernel build, or from the including
 * environment when the sidecar kernel core is built freestanding (it defines
 * SIDECAR_FREESTANDING and the types before including this). */
#if defined(__KERNEL__)
#include <linux/stddef.h>
#include <linux/types.h>
#elif !defined(SIDECAR_FREESTANDING)
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#define SIDECAR_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
#define SIDECAR_ALIGNOF(type) alignof(type)
#else
#define SIDECAR_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)
#define SIDECAR_ALIGNOF(type) _Alignof(type)
#endif

#define SIDECAR_ALIGNED(n) __attribute__((aligned(n)))

/* Asserts that `type` is `size` bytes. */
#define SIDECAR_ASSERT_SIZE(type, size) SIDECAR_STATIC_ASSERT(sizeof(type) == (size), #type " size")
/* Asserts that `type.field` lives at byte offset `off`. */
#define SIDECAR_ASSERT_OFFSET(type, field, off) \
	SIDECAR_STATIC_ASSERT(offsetof(type, field) == (off), #type "." #field " offset")

/* ---------------------------------------------------------------------------------------------
 * Status codes (HV_STATUS_*). A 16-bit hypervisor result; 0 is success.
 */
typedef uint16_t hv_status;

#define HV_STATUS_SUCCESS 0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE 0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x0003
#define HV_STATUS_INVALID_ALIGNMENT 0x0004
#define HV_STATUS_INVALID_PARAMETER 0x0005
#define HV_STATUS_ACCESS_DENIED 0x0006
#define HV_STATUS_INVALID_PARTITION_STATE 0x0007
#define HV_STATUS_OPERATION_DENIED 0x0008
#define HV_STATUS_UNKNOWN_PROPERTY 0x0009
#define HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE 0x000a
#define HV_STATUS_INSUFFICIENT_MEMORY 0x000b
#define HV_STATUS_PARTITION_TOO_DEEP 0x000c
#define HV_STATUS_INVALID_PARTITION_ID 0x000d
#define HV_STATUS_INVALID_VP_INDEX 0x000e
#define HV_STATUS_NOT_FOUND 0x0010
#define HV_STATUS_INVALID_PORT_ID 0x0011
#define HV_STATUS_INVALID_CONNECTION_ID 0x0012
#define HV_STATUS_INSUFFICIENT_BUFFERS 0x0013
#define HV_STATUS_NOT_ACKNOWLEDGED 0x0014
#define HV_STATUS_INVALID_VP_STATE 0x0015
#define HV_STATUS_ACKNOWLEDGED 0x0016
#define HV_STATUS_INVALID_SAVE_RESTORE_STATE 0x0017
#define HV_STATUS_INVALID_SYNIC_STATE 0x0018
#define HV_STATUS_OBJECT_IN_USE 0x0019
#define HV_STATUS_INVALID_PROXIMITY_DOMAIN_INFO 0x001a
#define HV_STATUS_NO_DATA 0x001b
#define HV_STATUS_INACTIVE 0x001c
#define HV_STATUS_NO_RESOURCES 0x001d
#define HV_STATUS_FEATURE_UNAVAILABLE 0x001e
#define HV_STATUS_PARTIAL_PACKET 0x001f
#define HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED 0x0020
#define HV_STATUS_INSUFFICIENT_BUFFER 0x0033
#define HV_STATUS_INVALID_LP_INDEX 0x0041
#define HV_STATUS_INVALID_REGISTER_VALUE 0x0050
#define HV_STATUS_INVALID_VTL_STATE 0x0051
#define HV_STATUS_OPERATION_FAILED 0x0071
#define HV_STATUS_TIMEOUT 0x0078
#define HV_STATUS_VTL_ALREADY_ENABLED 0x0086
#define HV_STATUS_UNKNOWN_REGISTER_NAME 0x0087

/* ---------------------------------------------------------------------------------------------
 * Synthetic interrupt controller messages.
 */
#define HV_MESSAGE_TYPE_NONE 0x00000000u
#define HV_MESSAGE_TYPE_UNMAPPED_GPA 0x80000000u
#define HV_MESSAGE_TYPE_GPA_INTERCEPT 0x80000001u
#define HV_MESSAGE_TYPE_UNACCEPTED_GPA 0x80000003u
#define HV_MESSAGE_TYPE_TIMER_EXPIRED 0x80000010u
#define HV_MESSAGE_TYPE_INVALID_VP_REGISTER_VALUE 0x80000020u
#define HV_MESSAGE_TYPE_UNRECOVERABLE_EXCEPTION 0x80000021u
#define HV_MESSAGE_TYPE_UNSUPPORTED_FEATURE 0x80000022u
#define HV_MESSAGE_TYPE_HYPERCALL_INTERCEPT 0x80000050u
#define HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT 0x80010000u
#define HV_MESSAGE_TYPE_MSR_INTERCEPT 0x80010001u
#define HV_MESSAGE_TYPE_X64_CPUID_INTERCEPT 0x80010002u
#define HV_MESSAGE_TYPE_EXCEPTION_INTERCEPT 0x80010003u
#define HV_MESSAGE_TYPE_X64_APIC_EOI 0x80010004u
#define HV_MESSAGE_TYPE_REGISTER_INTERCEPT 0x80010006u
#define HV_MESSAGE_TYPE_X64_HALT 0x80010007u
#define HV_MESSAGE_TYPE_X64_INTERRUPTION_DELIVERABLE 0x80010008u
#define HV_MESSAGE_TYPE_X64_SIPI_INTERCEPT 0x80010009u

#define HV_MESSAGE_SIZE 256
#define HV_MESSAGE_PAYLOAD_SIZE 240

/* hv_message_header.flags */
#define HV_MESSAGE_FLAG_PENDING 0x01

struct hv_message_header {
	uint32_t type; /* HV_MESSAGE_TYPE_* */
	uint8_t len;   /* payload bytes in use */
	uint8_t flags; /* HV_MESSAGE_FLAG_* */
	uint16_t rsvd;
	uint64_t id; /* port id / partition id, message-type specific */
};

struct hv_message {
	struct hv_message_header header;
	uint8_t payload[HV_MESSAGE_PAYLOAD_SIZE];
} SIDECAR_ALIGNED(16);

/* ---------------------------------------------------------------------------------------------
 * Register values.
 */
struct hv_u128 {
	uint64_t low;
	uint64_t high;
};

struct hv_x64_segment_register {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attributes; /* HV_X64_SEGMENT_ATTR_* */
};

/* hv_x64_segment_register.attributes: the VMX access-rights layout, compacted to 16 bits. */
#define HV_X64_SEGMENT_ATTR_TYPE_MASK 0x000f
#define HV_X64_SEGMENT_ATTR_NON_SYSTEM 0x0010 /* S */
#define HV_X64_SEGMENT_ATTR_DPL_SHIFT 5
#define HV_X64_SEGMENT_ATTR_DPL_MASK 0x0060
#define HV_X64_SEGMENT_ATTR_PRESENT 0x0080     /* P */
#define HV_X64_SEGMENT_ATTR_AVAILABLE 0x1000   /* AVL */
#define HV_X64_SEGMENT_ATTR_LONG 0x2000        /* L */
#define HV_X64_SEGMENT_ATTR_DEFAULT 0x4000     /* D/B */
#define HV_X64_SEGMENT_ATTR_GRANULARITY 0x8000 /* G */

struct hv_x64_table_register {
	uint16_t pad[3];
	uint16_t limit;
	uint64_t base;
};

union hv_register_value {
	uint8_t bytes[16];
	uint64_t reg64;
	uint32_t reg32;
	uint16_t reg16;
	uint8_t reg8;
	struct hv_u128 reg128;
	struct hv_x64_segment_register segment;
	struct hv_x64_table_register table;
} SIDECAR_ALIGNED(16);

struct hv_register_assoc {
	uint32_t name; /* HV_X64_REGISTER_* */
	uint32_t pad[3];
	union hv_register_value value;
};

/* Register names (HvX64RegisterName). */
#define HV_X64_REGISTER_RAX 0x00020000u
#define HV_X64_REGISTER_RCX 0x00020001u
#define HV_X64_REGISTER_RDX 0x00020002u
#define HV_X64_REGISTER_RBX 0x00020003u
#define HV_X64_REGISTER_RSP 0x00020004u
#define HV_X64_REGISTER_RBP 0x00020005u
#define HV_X64_REGISTER_RSI 0x00020006u
#define HV_X64_REGISTER_RDI 0x00020007u
#define HV_X64_REGISTER_R8 0x00020008u
#define HV_X64_REGISTER_R9 0x00020009u
#define HV_X64_REGISTER_R10 0x0002000au
#define HV_X64_REGISTER_R11 0x0002000bu
#define HV_X64_REGISTER_R12 0x0002000cu
#define HV_X64_REGISTER_R13 0x0002000du
#define HV_X64_REGISTER_R14 0x0002000eu
#define HV_X64_REGISTER_R15 0x0002000fu
#define HV_X64_REGISTER_RIP 0x00020010u
#define HV_X64_REGISTER_RFLAGS 0x00020011u

#define HV_X64_REGISTER_XMM0 0x00030000u /* ... XMM15 = 0x0003000f */
#define HV_X64_REGISTER_XMM15 0x0003000fu
#define HV_X64_REGISTER_FP_MMX0 0x00030010u /* ... FP_MMX7 = 0x00030017 */
#define HV_X64_REGISTER_FP_MMX7 0x00030017u
#define HV_X64_REGISTER_FP_CONTROL_STATUS 0x00030018u
#define HV_X64_REGISTER_XMM_CONTROL_STATUS 0x00030019u

#define HV_X64_REGISTER_CR0 0x00040000u
#define HV_X64_REGISTER_CR2 0x00040001u
#define HV_X64_REGISTER_CR3 0x00040002u
#define HV_X64_REGISTER_CR4 0x00040003u
#define HV_X64_REGISTER_CR8 0x00040004u
#define HV_X64_REGISTER_XFEM 0x00040005u

#define HV_X64_REGISTER_DR0 0x00050000u
#define HV_X64_REGISTER_DR1 0x00050001u
#define HV_X64_REGISTER_DR2 0x00050002u
#define HV_X64_REGISTER_DR3 0x00050003u
#define HV_X64_REGISTER_DR6 0x00050004u
#define HV_X64_REGISTER_DR7 0x00050005u

#define HV_X64_REGISTER_ES 0x00060000u
#define HV_X64_REGISTER_CS 0x00060001u
#define HV_X64_REGISTER_SS 0x00060002u
#define HV_X64_REGISTER_DS 0x00060003u
#define HV_X64_REGISTER_FS 0x00060004u
#define HV_X64_REGISTER_GS 0x00060005u
#define HV_X64_REGISTER_LDTR 0x00060006u
#define HV_X64_REGISTER_TR 0x00060007u

#define HV_X64_REGISTER_IDTR 0x00070000u
#define HV_X64_REGISTER_GDTR 0x00070001u

#define HV_X64_REGISTER_TSC 0x00080000u
#define HV_X64_REGISTER_EFER 0x00080001u
#define HV_X64_REGISTER_KERNEL_GS_BASE 0x00080002u
#define HV_X64_REGISTER_APIC_BASE 0x00080003u
#define HV_X64_REGISTER_PAT 0x00080004u
#define HV_X64_REGISTER_SYSENTER_CS 0x00080005u
#define HV_X64_REGISTER_SYSENTER_EIP 0x00080006u
#define HV_X64_REGISTER_SYSENTER_ESP 0x00080007u
#define HV_X64_REGISTER_STAR 0x00080008u
#define HV_X64_REGISTER_LSTAR 0x00080009u
#define HV_X64_REGISTER_CSTAR 0x0008000au
#define HV_X64_REGISTER_SFMASK 0x0008000bu
#define HV_X64_REGISTER_INITIAL_APIC_ID 0x0008000cu
#define HV_X64_REGISTER_MSR_MTRR_CAP 0x0008000du
#define HV_X64_REGISTER_MSR_MTRR_DEF_TYPE 0x0008000eu
#define HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 0x00080010u /* ... BASE_F = 0x0008001f */
#define HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF 0x0008001fu
#define HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 0x00080040u /* ... MASK_F = 0x0008004f */
#define HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF 0x0008004fu
#define HV_X64_REGISTER_MSR_MTRR_FIX64K_00000 0x00080070u
#define HV_X64_REGISTER_MSR_MTRR_FIX16K_80000 0x00080071u
#define HV_X64_REGISTER_MSR_MTRR_FIX16K_A0000 0x00080072u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 0x00080073u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_C8000 0x00080074u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_D0000 0x00080075u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_D8000 0x00080076u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_E0000 0x00080077u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_E8000 0x00080078u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_F0000 0x00080079u
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_F8000 0x0008007au
#define HV_X64_REGISTER_TSC_AUX 0x0008007bu
#define HV_X64_REGISTER_SPEC_CTRL 0x00080084u
#define HV_X64_REGISTER_XSS 0x0008008bu

#define HV_REGISTER_INSTRUCTION_EMULATION_HINTS 0x00000002u
#define HV_REGISTER_PENDING_INTERRUPTION 0x00010002u
#define HV_REGISTER_INTERRUPT_STATE 0x00010003u
#define HV_REGISTER_PENDING_EVENT0 0x00010004u
#define HV_REGISTER_GUEST_OS_ID 0x00090002u
#define HV_REGISTER_VP_INDEX 0x00090003u

/* The input-VTL byte of a hypercall (HvInputVtl): 0 is the current VTL. */
#define HV_INPUT_VTL_TARGET_MASK 0x0f
#define HV_INPUT_VTL_USE_TARGET 0x10
#define HV_INPUT_VTL_CURRENT 0x00

/* ---------------------------------------------------------------------------------------------
 * Intercept messages.
 */
#define HV_INTERCEPT_ACCESS_READ 0
#define HV_INTERCEPT_ACCESS_WRITE 1
#define HV_INTERCEPT_ACCESS_EXECUTE 2

/* hv_x64_intercept_message_header.execution_state (HvX64VpExecutionState) */
#define HV_X64_EXEC_STATE_CPL_MASK 0x0003
#define HV_X64_EXEC_STATE_CR0_PE 0x0004
#define HV_X64_EXEC_STATE_CR0_AM 0x0008
#define HV_X64_EXEC_STATE_EFER_LMA 0x0010
#define HV_X64_EXEC_STATE_DEBUG_ACTIVE 0x0020
#define HV_X64_EXEC_STATE_INTERRUPTION_PENDING 0x0040
#define HV_X64_EXEC_STATE_VTL_SHIFT 7
#define HV_X64_EXEC_STATE_INTERRUPT_SHADOW 0x1000

struct hv_x64_intercept_message_header {
	uint32_t vp_index;
	uint8_t instruction_length_and_cr8; /* low nibble: instruction length; high: CR8 */
	uint8_t intercept_access_type;      /* HV_INTERCEPT_ACCESS_* */
	uint16_t execution_state;           /* HV_X64_EXEC_STATE_* */
	struct hv_x64_segment_register cs_segment;
	uint64_t rip; /* the intercepting instruction */
	uint64_t rflags;
};

/* hv_x64_io_port_intercept_message.access_info */
#define HV_X64_IO_ACCESS_SIZE_MASK 0x07 /* 1, 2 or 4 bytes */
#define HV_X64_IO_ACCESS_STRING_OP 0x08
#define HV_X64_IO_ACCESS_REP_PREFIX 0x10

struct hv_x64_io_port_intercept_message {
	struct hv_x64_intercept_message_header header;
	uint16_t port_number;
	uint8_t access_info; /* HV_X64_IO_ACCESS_* */
	uint8_t instruction_byte_count;
	uint32_t reserved;
	uint64_t rax;
	uint8_t instruction_bytes[16];
	struct hv_x64_segment_register ds_segment;
	struct hv_x64_segment_register es_segment;
	uint64_t rcx;
	uint64_t rsi;
	uint64_t rdi;
};

/* hv_x64_memory_intercept_message.memory_access_info */
#define HV_X64_MEMORY_ACCESS_GVA_VALID 0x01
#define HV_X64_MEMORY_ACCESS_GVA_GPA_VALID 0x02
#define HV_X64_MEMORY_ACCESS_HYPERCALL_OUTPUT_PENDING 0x04
#define HV_X64_MEMORY_ACCESS_TLB_LOCKED 0x08

#define HV_CACHE_TYPE_UNCACHED 0
#define HV_CACHE_TYPE_WRITE_COMBINING 1
#define HV_CACHE_TYPE_WRITE_THROUGH 4
#define HV_CACHE_TYPE_WRITE_PROTECTED 5
#define HV_CACHE_TYPE_WRITE_BACK 6

struct hv_x64_memory_intercept_message {
	struct hv_x64_intercept_message_header header;
	uint32_t cache_type; /* HV_CACHE_TYPE_* */
	uint8_t instruction_byte_count;
	uint8_t memory_access_info; /* HV_X64_MEMORY_ACCESS_* */
	uint8_t tpr_priority;
	uint8_t reserved;
	uint64_t guest_virtual_address;
	uint64_t guest_physical_address;
	uint8_t instruction_bytes[16];
};

/* Payload of HV_MESSAGE_TYPE_UNRECOVERABLE_EXCEPTION (and other header-only intercepts). */
struct hv_x64_unrecoverable_exception_message {
	struct hv_x64_intercept_message_header header;
};

/* ---------------------------------------------------------------------------------------------
 * GVA translation (HvCallTranslateVirtualAddressEx).
 */

/* Control flags (TranslateGvaControlFlagsX64). The input VTL lives in bits 56..63. */
#define HV_TRANSLATE_GVA_VALIDATE_READ (1ull << 0)
#define HV_TRANSLATE_GVA_VALIDATE_WRITE (1ull << 1)
#define HV_TRANSLATE_GVA_VALIDATE_EXECUTE (1ull << 2)
#define HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT (1ull << 3)
#define HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS (1ull << 4)
#define HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT (1ull << 5)
#define HV_TRANSLATE_GVA_SUPERVISOR_ACCESS (1ull << 6)
#define HV_TRANSLATE_GVA_USER_ACCESS (1ull << 7)
#define HV_TRANSLATE_GVA_ENFORCE_SMAP (1ull << 8)
#define HV_TRANSLATE_GVA_OVERRIDE_SMAP (1ull << 9)
#define HV_TRANSLATE_GVA_SHADOW_STACK (1ull << 10)
#define HV_TRANSLATE_GVA_INPUT_VTL_SHIFT 56
/* Bits that no hypervisor version defines: a request using them is invalid. */
#define HV_TRANSLATE_GVA_RESERVED_MASK (~0ull << 11 & ~(0xffull << 56))

/* Result codes (TranslateGvaResultCode). */
#define HV_TRANSLATE_GVA_SUCCESS 0
#define HV_TRANSLATE_GVA_PAGE_NOT_PRESENT 1
#define HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION 2
#define HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS 3
#define HV_TRANSLATE_GVA_GPA_UNMAPPED 4
#define HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS 5
#define HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS 6
#define HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS 7
#define HV_TRANSLATE_GVA_INTERCEPT 8
#define HV_TRANSLATE_GVA_GPA_UNACCEPTED 9

/* hv_translate_gva_result_ex_x64.result: result code in bits 0..31, cache type in 32..39,
 * overlay page in bit 40. */
#define HV_TRANSLATE_GVA_RESULT_CODE(r) ((uint32_t)((r)&0xffffffffu))
#define HV_TRANSLATE_GVA_RESULT_CACHE_TYPE(r) ((uint8_t)(((r) >> 32) & 0xff))
#define HV_TRANSLATE_GVA_RESULT_OVERLAY_PAGE (1ull << 40)

struct hv_x64_pending_event {
	uint64_t reg_0[2]; /* HvX64PendingEventReg0, a 128-bit bitfield */
	uint64_t reg_1[2];
} SIDECAR_ALIGNED(16);

struct hv_translate_gva_result_ex_x64 {
	uint64_t result;
	uint64_t reserved;
	struct hv_x64_pending_event event_info;
};

struct hv_translate_virtual_address_ex_output_x64 {
	struct hv_translate_gva_result_ex_x64 translation_result;
	uint64_t gpa_page;
	uint64_t reserved;
};

/* ---------------------------------------------------------------------------------------------
 * The register page the hypervisor shares with VTL2 (HvX64RegisterPage).
 */
#define HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE (1u << 0)
#define HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER (1u << 1)
#define HV_X64_REGISTER_PAGE_DIRTY_XMM (1u << 2)
#define HV_X64_REGISTER_PAGE_DIRTY_SEGMENTS (1u << 3)
#define HV_X64_REGISTER_PAGE_DIRTY_FLAGS (1u << 4)

/* Index of each segment in hv_x64_register_page.segment. */
#define HV_X64_REGISTER_PAGE_ES 0
#define HV_X64_REGISTER_PAGE_CS 1
#define HV_X64_REGISTER_PAGE_SS 2
#define HV_X64_REGISTER_PAGE_DS 3
#define HV_X64_REGISTER_PAGE_FS 4
#define HV_X64_REGISTER_PAGE_GS 5

struct hv_x64_register_page {
	uint16_t version;
	uint8_t is_valid;
	uint8_t vtl;
	uint32_t dirty;            /* HV_X64_REGISTER_PAGE_DIRTY_* */
	uint64_t gp_registers[16]; /* architectural order: RAX RCX RDX RBX RSP RBP RSI RDI R8..R15 */
	uint64_t rip;
	uint64_t rflags;
	uint64_t reserved;
	struct hv_u128 xmm[6];
	struct hv_x64_segment_register segment[6];
	uint64_t cr0; /* control registers: read-only through this page */
	uint64_t cr3;
	uint64_t cr4;
	uint64_t cr8;
	uint64_t efer;
	uint64_t dr7;
	uint64_t pending_interruption;
	uint64_t interrupt_state;
	uint64_t instruction_emulation_hints;
	uint8_t reserved_end[3672];
};

/* ---------------------------------------------------------------------------------------------
 * The legacy FXSAVE area (x86defs::xsave::Fxsave).
 */
struct x86_fxsave {
	uint16_t fcw;
	uint16_t fsw;
	uint8_t ftw;
	uint8_t reserved;
	uint16_t fop;
	uint64_t fip;
	uint64_t fdp;
	uint32_t mxcsr;
	uint32_t mxcsr_mask;
	uint8_t st[8][16];
	uint8_t xmm[16][16];
	uint8_t reserved2[48];
	uint8_t unused[48];
};

/* ---------------------------------------------------------------------------------------------
 * Layout assertions: every size and offset of the upstream layout.
 */
SIDECAR_ASSERT_SIZE(struct hv_message_header, 16);
SIDECAR_ASSERT_OFFSET(struct hv_message_header, type, 0);
SIDECAR_ASSERT_OFFSET(struct hv_message_header, len, 4);
SIDECAR_ASSERT_OFFSET(struct hv_message_header, flags, 5);
SIDECAR_ASSERT_OFFSET(struct hv_message_header, rsvd, 6);
SIDECAR_ASSERT_OFFSET(struct hv_message_header, id, 8);
SIDECAR_ASSERT_SIZE(struct hv_message, 256);
SIDECAR_STATIC_ASSERT(SIDECAR_ALIGNOF(struct hv_message) == 16, "hv_message alignment");
SIDECAR_ASSERT_OFFSET(struct hv_message, payload, 16);

SIDECAR_ASSERT_SIZE(union hv_register_value, 16);
SIDECAR_STATIC_ASSERT(SIDECAR_ALIGNOF(union hv_register_value) == 16, "hv_register_value alignment");
SIDECAR_ASSERT_SIZE(struct hv_register_assoc, 32);
SIDECAR_ASSERT_OFFSET(struct hv_register_assoc, name, 0);
SIDECAR_ASSERT_OFFSET(struct hv_register_assoc, pad, 4);
SIDECAR_ASSERT_OFFSET(struct hv_register_assoc, value, 16);

SIDECAR_ASSERT_SIZE(struct hv_x64_segment_register, 16);
SIDECAR_ASSERT_OFFSET(struct hv_x64_segment_register, base, 0);
SIDECAR_ASSERT_OFFSET(struct hv_x64_segment_register, limit, 8);
SIDECAR_ASSERT_OFFSET(struct hv_x64_segment_register, selector, 12);
SIDECAR_ASSERT_OFFSET(struct hv_x64_segment_register, attributes, 14);
SIDECAR_ASSERT_SIZE(struct hv_x64_table_register, 16);
SIDECAR_ASSERT_OFFSET(struct hv_x64_table_register, limit, 6);
SIDECAR_ASSERT_OFFSET(struct hv_x64_table_register, base, 8);

SIDECAR_ASSERT_SIZE(struct hv_x64_intercept_message_header, 40);
SIDECAR_ASSERT_OFFSET(struct hv_x64_intercept_message_header, vp_index, 0);
SIDECAR_ASSERT_OFFSET(struct hv_x64_intercept_message_header, instruction_length_and_cr8, 4);
SIDECAR_ASSERT_OFFSET(struct hv_x64_intercept_message_header, intercept_access_type, 5);
SIDECAR_ASSERT_OFFSET(struct hv_x64_intercept_message_header, execution_state, 6);
SIDECAR_ASSERT_OFFSET(struct hv_x64_intercept_message_header, cs_segment, 8);
SIDECAR_ASSERT_OFFSET(struct hv_x64_intercept_message_header, rip, 24);
SIDECAR_ASSERT_OFFSET(struct hv_x64_intercept_message_header, rflags, 32);

SIDECAR_ASSERT_SIZE(struct hv_x64_io_port_intercept_message, 128);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, port_number, 40);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, access_info, 42);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, instruction_byte_count, 43);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, reserved, 44);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, rax, 48);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, instruction_bytes, 56);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, ds_segment, 72);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, es_segment, 88);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, rcx, 104);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, rsi, 112);
SIDECAR_ASSERT_OFFSET(struct hv_x64_io_port_intercept_message, rdi, 120);

SIDECAR_ASSERT_SIZE(struct hv_x64_memory_intercept_message, 80);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, cache_type, 40);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, instruction_byte_count, 44);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, memory_access_info, 45);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, tpr_priority, 46);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, reserved, 47);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, guest_virtual_address, 48);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, guest_physical_address, 56);
SIDECAR_ASSERT_OFFSET(struct hv_x64_memory_intercept_message, instruction_bytes, 64);

SIDECAR_ASSERT_SIZE(struct hv_x64_pending_event, 32);
SIDECAR_STATIC_ASSERT(SIDECAR_ALIGNOF(struct hv_x64_pending_event) == 16, "pending event alignment");
SIDECAR_ASSERT_SIZE(struct hv_translate_gva_result_ex_x64, 48);
SIDECAR_ASSERT_OFFSET(struct hv_translate_gva_result_ex_x64, result, 0);
SIDECAR_ASSERT_OFFSET(struct hv_translate_gva_result_ex_x64, reserved, 8);
SIDECAR_ASSERT_OFFSET(struct hv_translate_gva_result_ex_x64, event_info, 16);
SIDECAR_ASSERT_SIZE(struct hv_translate_virtual_address_ex_output_x64, 64);
SIDECAR_ASSERT_OFFSET(struct hv_translate_virtual_address_ex_output_x64, translation_result, 0);
SIDECAR_ASSERT_OFFSET(struct hv_translate_virtual_address_ex_output_x64, gpa_page, 48);
SIDECAR_ASSERT_OFFSET(struct hv_translate_virtual_address_ex_output_x64, reserved, 56);

SIDECAR_ASSERT_SIZE(struct hv_x64_register_page, 4096);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, version, 0);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, is_valid, 2);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, vtl, 3);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, dirty, 4);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, gp_registers, 8);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, rip, 136);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, rflags, 144);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, reserved, 152);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, xmm, 160);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, segment, 256);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, cr0, 352);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, cr3, 360);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, cr4, 368);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, cr8, 376);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, efer, 384);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, dr7, 392);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, pending_interruption, 400);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, interrupt_state, 408);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, instruction_emulation_hints, 416);
SIDECAR_ASSERT_OFFSET(struct hv_x64_register_page, reserved_end, 424);

SIDECAR_ASSERT_SIZE(struct x86_fxsave, 512);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, fcw, 0);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, fsw, 2);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, ftw, 4);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, reserved, 5);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, fop, 6);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, fip, 8);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, fdp, 16);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, mxcsr, 24);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, mxcsr_mask, 28);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, st, 32);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, xmm, 160);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, reserved2, 416);
SIDECAR_ASSERT_OFFSET(struct x86_fxsave, unused, 464);

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_HVDEF_H */
