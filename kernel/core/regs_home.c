/* SPDX-License-Identifier: MIT */
#include "regs_home.h"

int sidecar_regs_home_gp_index(uint32_t name)
{
	if (name == HV_X64_REGISTER_CR2)
		return SIDECAR_CPU_CONTEXT_CR2;
	if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_R15 && name != HV_X64_REGISTER_RSP)
		return (int)(name - HV_X64_REGISTER_RAX);
	return -1;
}

/* Byte range of `name` inside the FXSAVE image, or false. The FP control/status register is
 * FXSAVE bytes 0..15 (FCW, FSW, FTW, FOP, FIP) and the XMM one bytes 16..31 (FDP, MXCSR,
 * MXCSR_MASK), as Hyper-V lays them out. */
static bool fx_range(uint32_t name, size_t *off)
{
	if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM15) {
		*off = offsetof(struct x86_fxsave, xmm) + 16 * (name - HV_X64_REGISTER_XMM0);
		return true;
	}
	if (name >= HV_X64_REGISTER_FP_MMX0 && name <= HV_X64_REGISTER_FP_MMX7) {
		*off = offsetof(struct x86_fxsave, st) + 16 * (name - HV_X64_REGISTER_FP_MMX0);
		return true;
	}
	if (name == HV_X64_REGISTER_FP_CONTROL_STATUS) {
		*off = 0;
		return true;
	}
	if (name == HV_X64_REGISTER_XMM_CONTROL_STATUS) {
		*off = offsetof(struct x86_fxsave, fdp);
		return true;
	}
	return false;
}

bool sidecar_regs_home_is_fx(uint32_t name)
{
	size_t off;
	return fx_range(name, &off);
}

bool sidecar_regs_home_get(const struct sidecar_cpu_context_x64 *ctx, uint32_t name, union hv_register_value *out)
{
	int gp = sidecar_regs_home_gp_index(name);
	size_t off;

	if (gp >= 0) {
		memset(out, 0, sizeof(*out));
		out->reg64 = ctx->gps[gp];
		return true;
	}
	if (fx_range(name, &off)) {
		memcpy(out->bytes, (const uint8_t *)&ctx->fx_state + off, 16);
		return true;
	}
	return false;
}

bool sidecar_regs_home_set(struct sidecar_cpu_context_x64 *ctx, uint32_t name, const union hv_register_value *value)
{
	int gp = sidecar_regs_home_gp_index(name);
	size_t off;

	if (gp >= 0) {
		ctx->gps[gp] = value->reg64;
		return true;
	}
	if (fx_range(name, &off)) {
		memcpy((uint8_t *)&ctx->fx_state + off, value->bytes, 16);
		return true;
	}
	return false;
}

uint64_t sidecar_regs_home_load_page_gps(struct sidecar_cpu_context_x64 *ctx, const struct hv_x64_register_page *page)
{
	for (int i = 0; i < 16; i++)
		if (i != SIDECAR_CPU_CONTEXT_CR2) /* RSP's slot holds CR2 */
			ctx->gps[i] = page->gp_registers[i];
	return page->gp_registers[4];
}
