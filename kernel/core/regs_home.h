/* SPDX-License-Identifier: MIT */
/*
 * Registers whose home, while the VP is stopped, is the command page's CPU context: the GP
 * registers but RSP, CR2 (in RSP's slot), and the FXSAVE state (XMM0..15, the x87/MMX
 * registers, and the FP and XMM control/status words). RUN_VP loads them into the VP and
 * stores them back (upstream does so with the real CPU's registers), so GET/SET of these
 * names act on the CPU context and stay coherent with what the next run sees.
 */
#ifndef SIDECAR_KERNEL_REGS_HOME_H
#define SIDECAR_KERNEL_REGS_HOME_H

#include "sidecar_env.h"

#include <sidecar/defs.h>

/* Returns false when `name` does not live in the CPU context. */
bool sidecar_regs_home_get(const struct sidecar_cpu_context_x64 *ctx, uint32_t name, union hv_register_value *out);
bool sidecar_regs_home_set(struct sidecar_cpu_context_x64 *ctx, uint32_t name, const union hv_register_value *value);

/* Does `name` live in the FXSAVE image (XMM, x87/MMX, the FP/XMM control-status words)? */
bool sidecar_regs_home_is_fx(uint32_t name);

/* A register page's general-purpose registers into the CPU context (all but RSP, whose home
 * is the VP's); returns RSP for the caller's VP. For a page with the GP dirty bit. */
uint64_t sidecar_regs_home_load_page_gps(struct sidecar_cpu_context_x64 *ctx, const struct hv_x64_register_page *page);

/* Index into ctx->gps for a GP register name (RAX..R15 but RSP, and CR2), or -1. */
int sidecar_regs_home_gp_index(uint32_t name);

#endif
