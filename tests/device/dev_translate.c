/* SPDX-License-Identifier: MIT */
/*
 * TRANSLATE_GVA through the device. The module's guest memory (mem_mb) is not reachable
 * from user space, so its page tables are zero: with paging off a GVA translates to itself
 * inside guest memory and is GPA_UNMAPPED past its end; with long-mode paging on and CR3 in
 * that zeroed memory the walk finds no PML4 entry (PAGE_NOT_PRESENT); bad control flags are
 * refused by the hypervisor (HV_STATUS_INVALID_PARAMETER).
 */
#include "dev_util.h"

static uint64_t result_code(const struct hv_translate_virtual_address_ex_output_x64 *o)
{
	return o->translation_result.result & 0xffffffffu;
}

int main(void)
{
	struct hv_translate_virtual_address_ex_output_x64 out;
	struct sidecar_vp *vp;
	char mem[32];

	check_watchdog(120);
	dev_require_device();
	unsigned cpu = dev_first_sidecar_cpu();
	if (!dev_param("mem_mb", mem, sizeof(mem)) || atoi(mem) < 1)
		SKIP("needs guest memory (mem_mb >= 1)");
	uint64_t pages = (uint64_t)atoi(mem) << 8; /* 4 KiB pages */
	struct sidecar_client *c = dev_client();
	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);

	const uint64_t rw = HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_VALIDATE_WRITE;
	uint64_t gvns[] = {0, 1, 0x12, pages - 1};
	for (size_t i = 0; i < sizeof(gvns) / sizeof(gvns[0]); i++) {
		memset(&out, 0xff, sizeof(out));
		CHECK_EQ(sidecar_vp_translate_gva(vp, gvns[i], rw, &out), 0);
		CHECK_EQ(result_code(&out), HV_TRANSLATE_GVA_SUCCESS);
		CHECK_EQ(out.gpa_page, gvns[i]);
	}
	CHECK_EQ(sidecar_vp_translate_gva(vp, pages, rw, &out), 0);
	CHECK_EQ(result_code(&out), HV_TRANSLATE_GVA_GPA_UNMAPPED);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x80000, rw, &out), 0); /* 2 GiB */
	CHECK_EQ(result_code(&out), HV_TRANSLATE_GVA_GPA_UNMAPPED);

	/* Bad flags: reserved bits, supervisor and user at once. */
	CHECK_EQ(sidecar_vp_translate_gva(vp, 1, 1ull << 20, &out), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 1, HV_TRANSLATE_GVA_SUPERVISOR_ACCESS | HV_TRANSLATE_GVA_USER_ACCESS,
					  &out),
		 -SIDECAR_EHV);

	/* Long mode paging, CR3 at 64 KiB of zeroed guest memory. */
	struct hv_register_assoc regs[] = {
		{.name = HV_X64_REGISTER_CR4, .value.reg64 = 1u << 5},                 /* PAE */
		{.name = HV_X64_REGISTER_EFER, .value.reg64 = (1u << 8) | (1u << 10)}, /* LME | LMA */
		{.name = HV_X64_REGISTER_CR3, .value.reg64 = 0x10000},
		{.name = HV_X64_REGISTER_CR0, .value.reg64 = (1u << 31) | (1u << 0) | 0x10}, /* PG | PE | ET */
	};
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, regs, 4), 0);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x12, rw, &out), 0);
	CHECK_EQ(result_code(&out), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x7fffffffff, HV_TRANSLATE_GVA_VALIDATE_READ, &out), 0);
	CHECK(result_code(&out) != HV_TRANSLATE_GVA_SUCCESS);

	/* Back to the reset state's real mode. */
	regs[0].value.reg64 = 0;
	regs[1].value.reg64 = 0;
	regs[2].value.reg64 = 0;
	regs[3].value.reg64 = 0x60000010;
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, regs, 4), 0);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x12, rw, &out), 0);
	CHECK_EQ(result_code(&out), HV_TRANSLATE_GVA_SUCCESS);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_translate");
}
