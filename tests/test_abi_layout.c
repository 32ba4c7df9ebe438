/* SPDX-License-Identifier: MIT */
/* Every size, offset and constant of the ABI (docs/abi.md), checked at run time as well (the
 * headers assert them at compile time): a test that fails if a header is edited wrongly
 * with the assertions removed. */
#include "check.h"

#include <sidecar/defs.h>
#include <sidecar/hvdef.h>
#include <sidecar/uapi.h>

#include <stdalign.h>

#define SZ(t, n) CHECK_EQ(sizeof(t), n)
#define OFF(t, f, n) CHECK_EQ(offsetof(t, f), n)

static void test_hvdef(void)
{
	SZ(struct hv_message_header, 16);
	OFF(struct hv_message_header, type, 0);
	OFF(struct hv_message_header, len, 4);
	OFF(struct hv_message_header, flags, 5);
	OFF(struct hv_message_header, rsvd, 6);
	OFF(struct hv_message_header, id, 8);
	SZ(struct hv_message, 256);
	CHECK_EQ(alignof(struct hv_message), 16);
	SZ(union hv_register_value, 16);
	CHECK_EQ(alignof(union hv_register_value), 16);
	SZ(struct hv_register_assoc, 32);
	OFF(struct hv_register_assoc, value, 16);
	SZ(struct hv_x64_segment_register, 16);
	OFF(struct hv_x64_segment_register, base, 0);
	OFF(struct hv_x64_segment_register, limit, 8);
	OFF(struct hv_x64_segment_register, selector, 12);
	OFF(struct hv_x64_segment_register, attributes, 14);
	SZ(struct hv_x64_intercept_message_header, 40);
	OFF(struct hv_x64_intercept_message_header, instruction_length_and_cr8, 4);
	OFF(struct hv_x64_intercept_message_header, intercept_access_type, 5);
	OFF(struct hv_x64_intercept_message_header, execution_state, 6);
	OFF(struct hv_x64_intercept_message_header, cs_segment, 8);
	OFF(struct hv_x64_intercept_message_header, rip, 24);
	OFF(struct hv_x64_intercept_message_header, rflags, 32);
	SZ(struct hv_x64_io_port_intercept_message, 128);
	OFF(struct hv_x64_io_port_intercept_message, port_number, 40);
	OFF(struct hv_x64_io_port_intercept_message, access_info, 42);
	OFF(struct hv_x64_io_port_intercept_message, instruction_byte_count, 43);
	OFF(struct hv_x64_io_port_intercept_message, reserved, 44);
	OFF(struct hv_x64_io_port_intercept_message, rax, 48);
	OFF(struct hv_x64_io_port_intercept_message, instruction_bytes, 56);
	OFF(struct hv_x64_io_port_intercept_message, ds_segment, 72);
	OFF(struct hv_x64_io_port_intercept_message, es_segment, 88);
	OFF(struct hv_x64_io_port_intercept_message, rcx, 104);
	OFF(struct hv_x64_io_port_intercept_message, rsi, 112);
	OFF(struct hv_x64_io_port_intercept_message, rdi, 120);
	SZ(struct hv_x64_memory_intercept_message, 80);
	OFF(struct hv_x64_memory_intercept_message, cache_type, 40);
	OFF(struct hv_x64_memory_intercept_message, instruction_byte_count, 44);
	OFF(struct hv_x64_memory_intercept_message, memory_access_info, 45);
	OFF(struct hv_x64_memory_intercept_message, tpr_priority, 46);
	OFF(struct hv_x64_memory_intercept_message, reserved, 47);
	OFF(struct hv_x64_memory_intercept_message, guest_virtual_address, 48);
	OFF(struct hv_x64_memory_intercept_message, guest_physical_address, 56);
	OFF(struct hv_x64_memory_intercept_message, instruction_bytes, 64);
	SZ(struct hv_x64_pending_event, 32);
	CHECK_EQ(alignof(struct hv_x64_pending_event), 16);
	SZ(struct hv_translate_gva_result_ex_x64, 48);
	OFF(struct hv_translate_gva_result_ex_x64, event_info, 16);
	SZ(struct hv_translate_virtual_address_ex_output_x64, 64);
	OFF(struct hv_translate_virtual_address_ex_output_x64, gpa_page, 48);
	OFF(struct hv_translate_virtual_address_ex_output_x64, reserved, 56);
	SZ(struct hv_x64_register_page, 4096);
	OFF(struct hv_x64_register_page, version, 0);
	OFF(struct hv_x64_register_page, is_valid, 2);
	OFF(struct hv_x64_register_page, vtl, 3);
	OFF(struct hv_x64_register_page, dirty, 4);
	OFF(struct hv_x64_register_page, gp_registers, 8);
	OFF(struct hv_x64_register_page, rip, 136);
	OFF(struct hv_x64_register_page, rflags, 144);
	OFF(struct hv_x64_register_page, reserved, 152);
	OFF(struct hv_x64_register_page, xmm, 160);
	OFF(struct hv_x64_register_page, segment, 256);
	OFF(struct hv_x64_register_page, cr0, 352);
	OFF(struct hv_x64_register_page, cr3, 360);
	OFF(struct hv_x64_register_page, cr4, 368);
	OFF(struct hv_x64_register_page, cr8, 376);
	OFF(struct hv_x64_register_page, efer, 384);
	OFF(struct hv_x64_register_page, dr7, 392);
	OFF(struct hv_x64_register_page, pending_interruption, 400);
	OFF(struct hv_x64_register_page, interrupt_state, 408);
	OFF(struct hv_x64_register_page, instruction_emulation_hints, 416);
	OFF(struct hv_x64_register_page, reserved_end, 424);
	SZ(struct x86_fxsave, 512);
	OFF(struct x86_fxsave, fip, 8);
	OFF(struct x86_fxsave, fdp, 16);
	OFF(struct x86_fxsave, mxcsr, 24);
	OFF(struct x86_fxsave, mxcsr_mask, 28);
	OFF(struct x86_fxsave, st, 32);
	OFF(struct x86_fxsave, xmm, 160);
	OFF(struct x86_fxsave, reserved2, 416);
	OFF(struct x86_fxsave, unused, 464);

	CHECK_EQ(sizeof(hv_status), 2);
	CHECK_EQ(HV_STATUS_SUCCESS, 0);
	CHECK_EQ(HV_STATUS_INVALID_PARAMETER, 5);
	CHECK_EQ(HV_STATUS_ACCESS_DENIED, 6);
	CHECK_EQ(HV_STATUS_INVALID_VP_STATE, 0x15);
	CHECK_EQ(HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT, 0x80010000u);
	CHECK_EQ(HV_MESSAGE_TYPE_GPA_INTERCEPT, 0x80000001u);
	CHECK_EQ(HV_MESSAGE_TYPE_UNMAPPED_GPA, 0x80000000u);
	CHECK_EQ(HV_MESSAGE_TYPE_X64_HALT, 0x80010007u);
	CHECK_EQ(HV_MESSAGE_TYPE_X64_CPUID_INTERCEPT, 0x80010002u);
	CHECK_EQ(HV_MESSAGE_TYPE_MSR_INTERCEPT, 0x80010001u);
	CHECK_EQ(HV_X64_REGISTER_RAX, 0x00020000u);
	CHECK_EQ(HV_X64_REGISTER_R15, 0x0002000fu);
	CHECK_EQ(HV_X64_REGISTER_RIP, 0x00020010u);
	CHECK_EQ(HV_X64_REGISTER_RFLAGS, 0x00020011u);
	CHECK_EQ(HV_X64_REGISTER_CR0, 0x00040000u);
	CHECK_EQ(HV_X64_REGISTER_CR2, 0x00040001u);
	CHECK_EQ(HV_X64_REGISTER_CR3, 0x00040002u);
	CHECK_EQ(HV_X64_REGISTER_CR4, 0x00040003u);
	CHECK_EQ(HV_X64_REGISTER_DR0, 0x00050000u);
	CHECK_EQ(HV_X64_REGISTER_ES, 0x00060000u);
	CHECK_EQ(HV_X64_REGISTER_EFER, 0x00080001u);
	CHECK_EQ(HV_X64_REGISTER_MSR_MTRR_CAP, 0x0008000du);
	CHECK_EQ(HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0, 0x00080010u);
	CHECK_EQ(HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0, 0x00080040u);
	CHECK_EQ(HV_X64_REGISTER_MSR_MTRR_FIX64K_00000, 0x00080070u);
	CHECK_EQ(HV_X64_REGISTER_MSR_MTRR_FIX4K_F8000, 0x0008007au);
	CHECK_EQ(HV_TRANSLATE_GVA_SUCCESS, 0);
	CHECK_EQ(HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 1);
	CHECK_EQ(HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 2);
	CHECK_EQ(HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 3);
	CHECK_EQ(HV_TRANSLATE_GVA_GPA_UNMAPPED, 4);
	CHECK_EQ(HV_TRANSLATE_GVA_VALIDATE_READ, 1);
	CHECK_EQ(HV_TRANSLATE_GVA_VALIDATE_WRITE, 2);
	CHECK_EQ(HV_TRANSLATE_GVA_VALIDATE_EXECUTE, 4);
	CHECK_EQ(HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT, 8);
	CHECK_EQ(HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS, 16);
}

static void test_defs(void)
{
	CHECK_EQ(SIDECAR_PAGE_SIZE, 4096);
	CHECK_EQ(SIDECAR_MAX_NODES, 128);
	CHECK_EQ(SIDECAR_STACK_PAGES, 3);
	CHECK_EQ(SIDECAR_PER_VP_PAGES, 11);
	CHECK_EQ(SIDECAR_PER_VP_SHMEM_PAGES, 2);
	CHECK_EQ(sidecar_required_memory(0), 4096);
	CHECK_EQ(sidecar_required_memory(1), (1 + 13) * 4096);
	CHECK_EQ(sidecar_required_memory(4032), (1 + 13 * 4032ull) * 4096);
	SZ(struct sidecar_node_params, 24);
	OFF(struct sidecar_node_params, base_vp, 16);
	OFF(struct sidecar_node_params, vp_count, 20);
	SZ(struct sidecar_params, 4096);
	CHECK_EQ(alignof(struct sidecar_params), 4096);
	OFF(struct sidecar_params, enable_logging, 8);
	OFF(struct sidecar_params, node_count, 12);
	OFF(struct sidecar_params, nodes, 16);
	SZ(struct sidecar_command_error, 256);
	SZ(struct sidecar_node_output, 24);
	SZ(struct sidecar_output, 3328);
	OFF(struct sidecar_output, nodes, 256);
	SZ(struct sidecar_control_page, 4096);
	OFF(struct sidecar_control_page, base_cpu, 4);
	OFF(struct sidecar_control_page, cpu_count, 8);
	OFF(struct sidecar_control_page, request_vector, 12);
	OFF(struct sidecar_control_page, response_cpu, 16);
	OFF(struct sidecar_control_page, response_vector, 20);
	OFF(struct sidecar_control_page, needs_attention, 24);
	OFF(struct sidecar_control_page, reserved, 28);
	OFF(struct sidecar_control_page, cpu_status, 64);
	CHECK_EQ(sizeof(((struct sidecar_control_page *)0)->cpu_status), 4032);
	CHECK_EQ(SIDECAR_CPU_REMOVED, 0);
	CHECK_EQ(SIDECAR_CPU_IDLE, 1);
	CHECK_EQ(SIDECAR_CPU_RUN, 2);
	CHECK_EQ(SIDECAR_CPU_STOP, 3);
	CHECK_EQ(SIDECAR_CPU_REMOVE, 4);
	CHECK_EQ(SIDECAR_COMMAND_NONE, 0);
	CHECK_EQ(SIDECAR_COMMAND_RUN_VP, 1);
	CHECK_EQ(SIDECAR_COMMAND_GET_VP_REGISTERS, 2);
	CHECK_EQ(SIDECAR_COMMAND_SET_VP_REGISTERS, 3);
	CHECK_EQ(SIDECAR_COMMAND_TRANSLATE_GVA, 4);
	SZ(struct sidecar_cpu_context_x64, 1024);
	CHECK_EQ(alignof(struct sidecar_cpu_context_x64), 16);
	OFF(struct sidecar_cpu_context_x64, fx_state, 128);
	OFF(struct sidecar_cpu_context_x64, reserved, 640);
	CHECK_EQ(SIDECAR_CPU_CONTEXT_RAX, 0);
	CHECK_EQ(SIDECAR_CPU_CONTEXT_CR2, 4);
	CHECK_EQ(SIDECAR_CPU_CONTEXT_R15, 15);
	SZ(struct sidecar_command_page, 4096);
	OFF(struct sidecar_command_page, has_error, 4);
	OFF(struct sidecar_command_page, padding, 5);
	OFF(struct sidecar_command_page, cpu_context, 16);
	OFF(struct sidecar_command_page, intercept_message, 1040);
	OFF(struct sidecar_command_page, error, 1296);
	OFF(struct sidecar_command_page, request_data, 1552);
	OFF(struct sidecar_command_page, reserved, 2576);
	CHECK_EQ(sizeof(((struct sidecar_command_page *)0)->reserved), 190 * 8);
	SZ(struct sidecar_get_set_vp_register_request, 16);
	OFF(struct sidecar_get_set_vp_register_request, target_vtl, 2);
	OFF(struct sidecar_get_set_vp_register_request, status, 4);
	CHECK_EQ(SIDECAR_MAX_GET_SET_VP_REGISTERS, 31);
	SZ(struct sidecar_translate_gva_request, 16);
	SZ(struct sidecar_translate_gva_response, 80);
	OFF(struct sidecar_translate_gva_response, output, 16);
	SZ(struct sidecar_run_vp_response, 1);
	SZ(struct sidecar_vp_shared_pages, 8192);
	/* The extension lives in reserved space, one aligned line. */
	SZ(struct sidecar_fast_line, 64);
	CHECK(SIDECAR_FAST_LINE_OFFSET >= 2576 && SIDECAR_FAST_LINE_OFFSET + 64 <= 4096);
	CHECK_EQ(SIDECAR_FAST_LINE_OFFSET % 64, 0);
}

static void test_uapi(void)
{
	SZ(struct mshv_vtl_sidecar_info, 12);
	CHECK_EQ(MSHV_VTL_SIDECAR_START, 0xb8f0);
	CHECK_EQ(MSHV_VTL_SIDECAR_STOP, 0xb8f1);
	CHECK_EQ(MSHV_VTL_SIDECAR_RUN, 0xb8f2);
	CHECK_EQ(MSHV_VTL_SIDECAR_INFO, 0x800cb8f3);
}

static const struct check_case cases[] = {
	CHECK_CASE(hvdef),
	CHECK_CASE(defs),
	CHECK_CASE(uapi),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_abi_layout", CHECK_CASES(cases), .watchdog_s = 60};
	return check_main(argc, argv, &suite);
}
