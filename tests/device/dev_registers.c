/* SPDX-License-Identifier: MIT */
/*
 * GET/SET_VP_REGISTERS through the device in chunks: a command carries at most 31
 * registers (SIDECAR_MAX_GET_SET_VP_REGISTERS), so 31, 32, 62 and 63 registers take one, two,
 * two and three commands. Every register set is read back; a bad name in a later chunk fails
 * with the hypervisor's status after the earlier chunks were applied.
 */
#include "dev_util.h"

#define MAX_REGS 63

/* 63 writable 64-bit registers of the synthetic VP. */
static unsigned names(uint32_t *out)
{
	unsigned n = 0;

	for (uint32_t r = HV_X64_REGISTER_RAX; r <= HV_X64_REGISTER_R15; r++)
		out[n++] = r; /* 16: the CPU context (RSP in the VP) */
	for (uint32_t r = HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0; r <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF; r++)
		out[n++] = r; /* 16 */
	for (uint32_t r = HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0; r <= HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF; r++)
		out[n++] = r; /* 16 */
	for (uint32_t r = HV_X64_REGISTER_MSR_MTRR_FIX64K_00000; r <= HV_X64_REGISTER_MSR_MTRR_FIX4K_F8000; r++)
		out[n++] = r; /* 11 */
	for (uint32_t r = HV_X64_REGISTER_DR0; r <= HV_X64_REGISTER_DR3; r++)
		out[n++] = r; /* 4 */
	return n;
}

int main(void)
{
	static const unsigned counts[] = {1, 31, 32, 62, 63};
	uint32_t all[MAX_REGS + 8];
	struct hv_register_assoc set[MAX_REGS], get[MAX_REGS];
	struct sidecar_vp *vp;

	check_watchdog(240);
	dev_require_device();
	unsigned cpu = dev_first_sidecar_cpu();
	REQUIRE(names(all) == MAX_REGS);
	struct sidecar_client *c = dev_client();
	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		unsigned n = counts[k];
		memset(set, 0, sizeof(set));
		memset(get, 0, sizeof(get));
		for (unsigned i = 0; i < n; i++) {
			set[i].name = all[i];
			set[i].value.reg64 = 0x1000000000000000ull * (k + 1) + 0x100 * i + 0x8; /* distinct per round */
			get[i].name = all[i];
		}
		CHECK_EQ(sidecar_vp_set_registers(vp, 0, set, n), 0);
		CHECK_EQ(sidecar_vp_get_registers(vp, 0, get, n), 0);
		for (unsigned i = 0; i < n; i++) {
			if (get[i].value.reg64 != set[i].value.reg64) {
				fprintf(stderr, "%u registers: #%u (0x%x) reads 0x%llx, set 0x%llx\n", n, i, all[i],
					(unsigned long long)get[i].value.reg64, (unsigned long long)set[i].value.reg64);
				check_failures++;
			}
		}
		/* The GP registers live in the CPU context while the VP is stopped. */
		if (n >= 16)
			CHECK_EQ(sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RBX], set[3].value.reg64);
	}

	/* A bad name at index 40 (the second chunk): the first chunk is applied, the call fails
	 * with the hypervisor status of that register. */
	for (unsigned i = 0; i < MAX_REGS; i++) {
		set[i].name = all[i];
		set[i].value.reg64 = 0xabc0 + i;
	}
	set[40].name = 0x7fffffff;
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, set, MAX_REGS), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	get[0].name = all[0];
	get[30].name = all[30];
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, &get[0], 1), 0);
	CHECK_EQ(get[0].value.reg64, 0xabc0);
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, &get[30], 1), 0);
	CHECK_EQ(get[30].value.reg64, 0xabc0 + 30);

	/* And the VP still runs with them (RIP back to a sane value first). */
	if (strcmp(dev_guest(), "spin") != 0) {
		bool intercept;
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		CHECK(intercept);
	}
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_registers");
}
