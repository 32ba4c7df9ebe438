/* SPDX-License-Identifier: MIT */
/*
 * The synthetic VP backend: a register file with the x86 reset state, guest memory shared
 * with the VMM, a real page walker for TRANSLATE_GVA, and canned guests (docs/platform.md):
 *
 *   io    each run ends with an IO-port write intercept: `out dx, al` (0xEE, one byte) at
 *         RIP, to the configured port (0x3f8), size 1, data from RAX.
 *   spin  never intercepts: only a stop ends the run.
 *   halt  each run ends with a HALT message (`hlt`, 0xF4, one byte).
 *
 * Hyper-V's RIP semantics: RIP stays on the intercepting instruction; the VMM completes it
 * and advances RIP. `work_ns` of busy work (a guest using its CPU) precede each intercept.
 * The GP registers, CR2 and the FXSAVE state live in the command page's CPU context while
 * the VP is stopped (kernel/core/regs_home.h); this VP reads them there while it "runs".
 */
#include "backend.h"
#include "gva_walk.h"
#include "regs_home.h"

#define SC_X86_CR0_PE (1ull << 0)
#define SC_X86_CR0_AM (1ull << 18)
#define SC_X86_EFER_LMA (1ull << 10)

#define MTRR_VAR_COUNT 16
#define MTRR_FIX_COUNT 11

struct synth {
	uint8_t maxphyaddr;
};

struct sidecar_backend_vp {
	struct sidecar_backend *be;
	uint32_t vp_index;
	uint64_t rsp, rip, rflags;
	struct hv_x64_segment_register seg[8]; /* ES CS SS DS FS GS LDTR TR */
	struct hv_x64_table_register idtr, gdtr;
	uint64_t cr0, cr3, cr4, cr8, xfem;
	uint64_t dr[6]; /* DR0..DR3, DR6, DR7 */
	int64_t tsc_offset;
	uint64_t efer, kernel_gs_base, apic_base, pat;
	uint64_t sysenter_cs, sysenter_eip, sysenter_esp;
	uint64_t star, lstar, cstar, sfmask, tsc_aux, spec_ctrl, xss;
	uint64_t mtrr_def_type, mtrr_base[MTRR_VAR_COUNT], mtrr_mask[MTRR_VAR_COUNT];
	uint64_t mtrr_fix[MTRR_FIX_COUNT];
	uint64_t pending_interruption, interrupt_state, emulation_hints, guest_os_id;
	struct hv_u128 pending_event0;
	/* Register-page bookkeeping: `gen` counts changes to the registers the page mirrors
	 * (other than those in the CPU context), `page_gen` is the count at the last full
	 * store. Runs do not change them (the canned guests do not), so most stores refresh
	 * only the context-derived fields. */
	uint64_t gen, page_gen;
};

static int synth_init(struct sidecar_backend *be)
{
	struct synth *s = sc_zalloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->maxphyaddr = be->cfg.maxphyaddr ? be->cfg.maxphyaddr : 36;
	be->impl = s;
	return 0;
}

static void synth_fini(struct sidecar_backend *be)
{
	sc_free(be->impl);
	be->impl = NULL;
}

static void set_segment(struct hv_x64_segment_register *s, uint16_t sel, uint64_t base, uint32_t limit, uint16_t attr)
{
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->attributes = attr;
}

/* The architectural reset state, as the hypervisor creates a VP. */
static void reset(struct sidecar_backend_vp *vp)
{
	vp->rip = 0xfff0;
	vp->rflags = 0x2;
	for (int i = 0; i < 6; i++)
		set_segment(&vp->seg[i], 0, 0, 0xffff, 0x93);
	set_segment(&vp->seg[1], 0xf000, 0xffff0000, 0xffff, 0x9b);
	set_segment(&vp->seg[6], 0, 0, 0xffff, 0x82);
	set_segment(&vp->seg[7], 0, 0, 0xffff, 0x8b);
	vp->idtr.limit = 0xffff;
	vp->gdtr.limit = 0xffff;
	vp->cr0 = 0x60000010;
	vp->xfem = 1;
	vp->dr[4] = 0xffff0ff0;
	vp->dr[5] = 0x400;
	vp->pat = 0x0007040600070406ull;
	vp->apic_base = 0xfee00000 | (1u << 11) | (vp->vp_index == 0 ? 1u << 8 : 0);
}

static int synth_vp_create(struct sidecar_backend *be, uint32_t vp_index, struct sidecar_backend_vp **out)
{
	struct sidecar_backend_vp *vp = sc_zalloc(sizeof(*vp));

	if (!vp)
		return -ENOMEM;
	vp->be = be;
	vp->vp_index = vp_index;
	reset(vp);
	vp->gen = 1;
	*out = vp;
	return 0;
}

static void synth_vp_destroy(struct sidecar_backend_vp *vp)
{
	sc_free(vp);
}

static uint8_t cpl(const struct sidecar_backend_vp *vp)
{
	/* CPL is SS.DPL. */
	return (vp->seg[2].attributes & HV_X64_SEGMENT_ATTR_DPL_MASK) >> HV_X64_SEGMENT_ATTR_DPL_SHIFT;
}

static void fill_header(const struct sidecar_backend_vp *vp, struct hv_x64_intercept_message_header *h, uint8_t access,
			uint8_t insn_len)
{
	uint16_t state = cpl(vp);

	if (vp->cr0 & SC_X86_CR0_PE)
		state |= HV_X64_EXEC_STATE_CR0_PE;
	if (vp->cr0 & SC_X86_CR0_AM)
		state |= HV_X64_EXEC_STATE_CR0_AM;
	if (vp->efer & SC_X86_EFER_LMA)
		state |= HV_X64_EXEC_STATE_EFER_LMA;
	h->vp_index = vp->vp_index;
	h->instruction_length_and_cr8 = (uint8_t)((insn_len & 0xf) | ((vp->cr8 & 0xf) << 4));
	h->intercept_access_type = access;
	h->execution_state = state;
	h->cs_segment = vp->seg[1];
	h->rip = vp->rip;
	h->rflags = vp->rflags;
}

/* Builds the message in place: the payload is 16-byte aligned, like the structs in it. */
static void io_intercept(const struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
			 struct hv_message *msg)
{
	struct hv_x64_io_port_intercept_message *io = (struct hv_x64_io_port_intercept_message *)msg->payload;

	msg->header.type = HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT;
	msg->header.len = sizeof(*io);
	msg->header.flags = 0;
	msg->header.rsvd = 0;
	msg->header.id = 0;
	fill_header(vp, &io->header, HV_INTERCEPT_ACCESS_WRITE, 1);
	io->port_number = vp->be->cfg.io_port;
	io->access_info = 1; /* one byte, not a string op, no rep */
	io->instruction_byte_count = 1;
	io->reserved = 0;
	io->rax = ctx->gps[SIDECAR_CPU_CONTEXT_RAX];
	memset(io->instruction_bytes, 0, sizeof(io->instruction_bytes));
	io->instruction_bytes[0] = 0xee; /* out dx, al */
	io->ds_segment = vp->seg[3];
	io->es_segment = vp->seg[0];
	io->rcx = ctx->gps[SIDECAR_CPU_CONTEXT_RCX];
	io->rsi = ctx->gps[SIDECAR_CPU_CONTEXT_RSI];
	io->rdi = ctx->gps[SIDECAR_CPU_CONTEXT_RDI];
}

static void halt_intercept(const struct sidecar_backend_vp *vp, struct hv_message *msg)
{
	struct hv_x64_intercept_message_header h;

	memset(&h, 0, sizeof(h));
	fill_header(vp, &h, HV_INTERCEPT_ACCESS_EXECUTE, 1);
	msg->header.type = HV_MESSAGE_TYPE_X64_HALT;
	msg->header.len = sizeof(h);
	msg->header.flags = 0;
	msg->header.rsvd = 0;
	msg->header.id = 0;
	memcpy(msg->payload, &h, sizeof(h));
}

static int synth_vp_run(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
			const struct sidecar_run_ctl *ctl, struct sidecar_command_error *err)
{
	const struct sidecar_backend_config *cfg = &vp->be->cfg;

	if (cfg->work_ns) {
		uint64_t deadline = sc_now_ns() + cfg->work_ns;
		for (unsigned spins = 1; sc_now_ns() < deadline; spins++) {
			if (ctl->should_stop(ctl))
				return SIDECAR_RUN_STOPPED;
			sc_relax();
			if ((spins & 31) == 0)
				sc_yield_point();
		}
	}
	switch (cfg->guest) {
	case SIDECAR_GUEST_IO:
		io_intercept(vp, ctx, msg);
		return SIDECAR_RUN_INTERCEPT;
	case SIDECAR_GUEST_HALT:
		halt_intercept(vp, msg);
		return SIDECAR_RUN_INTERCEPT;
	case SIDECAR_GUEST_SPIN:
		for (unsigned spins = 1; !ctl->should_stop(ctl); spins++) {
			sc_relax();
			if ((spins & 255) == 0)
				sc_yield_point();
		}
		return SIDECAR_RUN_STOPPED;
	}
	return SIDECAR_RUN_STOPPED;
}

enum reg_kind { REG_NONE, REG_U64, REG_RO_U64, REG_SEGMENT, REG_TABLE, REG_U128 };

/* Where register `name` lives in the VP, and how: one table (a range check per register
 * array, then a case per single register) that GET and SET both use, which is why it is
 * long and why it stays one function. */
static enum reg_kind locate(struct sidecar_backend_vp *vp, uint32_t name, void **where)
{
#define AT(field, kind) (*where = &vp->field, kind)
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR)
		return AT(seg[name - HV_X64_REGISTER_ES], REG_SEGMENT);
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR7)
		return AT(dr[name - HV_X64_REGISTER_DR0], REG_U64);
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF)
		return AT(mtrr_base[name - HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0], REG_U64);
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF)
		return AT(mtrr_mask[name - HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0], REG_U64);
	if (name >= HV_X64_REGISTER_MSR_MTRR_FIX64K_00000 && name <= HV_X64_REGISTER_MSR_MTRR_FIX4K_F8000)
		return AT(mtrr_fix[name - HV_X64_REGISTER_MSR_MTRR_FIX64K_00000], REG_U64);
	switch (name) {
	case HV_X64_REGISTER_RSP:
		return AT(rsp, REG_U64);
	case HV_X64_REGISTER_RIP:
		return AT(rip, REG_U64);
	case HV_X64_REGISTER_RFLAGS:
		return AT(rflags, REG_U64);
	case HV_X64_REGISTER_CR0:
		return AT(cr0, REG_U64);
	case HV_X64_REGISTER_CR3:
		return AT(cr3, REG_U64);
	case HV_X64_REGISTER_CR4:
		return AT(cr4, REG_U64);
	case HV_X64_REGISTER_CR8:
		return AT(cr8, REG_U64);
	case HV_X64_REGISTER_XFEM:
		return AT(xfem, REG_U64);
	case HV_X64_REGISTER_IDTR:
		return AT(idtr, REG_TABLE);
	case HV_X64_REGISTER_GDTR:
		return AT(gdtr, REG_TABLE);
	case HV_X64_REGISTER_EFER:
		return AT(efer, REG_U64);
	case HV_X64_REGISTER_KERNEL_GS_BASE:
		return AT(kernel_gs_base, REG_U64);
	case HV_X64_REGISTER_APIC_BASE:
		return AT(apic_base, REG_U64);
	case HV_X64_REGISTER_PAT:
		return AT(pat, REG_U64);
	case HV_X64_REGISTER_SYSENTER_CS:
		return AT(sysenter_cs, REG_U64);
	case HV_X64_REGISTER_SYSENTER_EIP:
		return AT(sysenter_eip, REG_U64);
	case HV_X64_REGISTER_SYSENTER_ESP:
		return AT(sysenter_esp, REG_U64);
	case HV_X64_REGISTER_STAR:
		return AT(star, REG_U64);
	case HV_X64_REGISTER_LSTAR:
		return AT(lstar, REG_U64);
	case HV_X64_REGISTER_CSTAR:
		return AT(cstar, REG_U64);
	case HV_X64_REGISTER_SFMASK:
		return AT(sfmask, REG_U64);
	case HV_X64_REGISTER_TSC_AUX:
		return AT(tsc_aux, REG_U64);
	case HV_X64_REGISTER_SPEC_CTRL:
		return AT(spec_ctrl, REG_U64);
	case HV_X64_REGISTER_XSS:
		return AT(xss, REG_U64);
	case HV_X64_REGISTER_MSR_MTRR_DEF_TYPE:
		return AT(mtrr_def_type, REG_U64);
	case HV_REGISTER_PENDING_INTERRUPTION:
		return AT(pending_interruption, REG_U64);
	case HV_REGISTER_INTERRUPT_STATE:
		return AT(interrupt_state, REG_U64);
	case HV_REGISTER_INSTRUCTION_EMULATION_HINTS:
		return AT(emulation_hints, REG_U64);
	case HV_REGISTER_GUEST_OS_ID:
		return AT(guest_os_id, REG_U64);
	case HV_REGISTER_PENDING_EVENT0:
		return AT(pending_event0, REG_U128);
	case HV_X64_REGISTER_TSC:
	case HV_X64_REGISTER_MSR_MTRR_CAP:
	case HV_X64_REGISTER_INITIAL_APIC_ID:
	case HV_REGISTER_VP_INDEX:
		*where = NULL;
		return REG_RO_U64;
	}
	return REG_NONE;
#undef AT
}

static hv_status synth_get_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
				    union hv_register_value *out)
{
	void *where;

	memset(out, 0, sizeof(*out));
	switch (locate(vp, name, &where)) {
	case REG_NONE:
		return HV_STATUS_INVALID_PARAMETER;
	case REG_U64:
		memcpy(&out->reg64, where, 8);
		return HV_STATUS_SUCCESS;
	case REG_SEGMENT:
	case REG_TABLE:
	case REG_U128:
		memcpy(out->bytes, where, 16);
		return HV_STATUS_SUCCESS;
	case REG_RO_U64:
		break;
	}
	switch (name) {
	case HV_X64_REGISTER_TSC:
		out->reg64 = sc_rdtsc() + (uint64_t)vp->tsc_offset;
		break;
	case HV_X64_REGISTER_MSR_MTRR_CAP:
		out->reg64 = 0x508; /* WC supported, fixed ranges, 8 variable ranges */
		break;
	case HV_X64_REGISTER_INITIAL_APIC_ID:
	case HV_REGISTER_VP_INDEX:
		out->reg64 = vp->vp_index;
		break;
	}
	return HV_STATUS_SUCCESS;
}

static hv_status synth_set_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
				    const union hv_register_value *value)
{
	void *where;

	switch (locate(vp, name, &where)) {
	case REG_NONE:
		return HV_STATUS_INVALID_PARAMETER;
	case REG_U64:
		memcpy(where, &value->reg64, 8);
		vp->gen++;
		return HV_STATUS_SUCCESS;
	case REG_SEGMENT:
	case REG_TABLE:
	case REG_U128:
		memcpy(where, value->bytes, 16);
		vp->gen++;
		return HV_STATUS_SUCCESS;
	case REG_RO_U64:
		break;
	}
	if (name == HV_X64_REGISTER_TSC) {
		vp->tsc_offset = (int64_t)(value->reg64 - sc_rdtsc());
		return HV_STATUS_SUCCESS;
	}
	return HV_STATUS_ACCESS_DENIED; /* read-only */
}

static hv_status synth_translate_gva(struct sidecar_backend_vp *vp, uint64_t gvn, uint64_t control_flags,
				     struct hv_translate_virtual_address_ex_output_x64 *out)
{
	const struct synth *s = vp->be->impl;
	struct sidecar_guest_memory mem = {.base = vp->be->cfg.mem, .size = vp->be->cfg.mem_size};
	struct sidecar_gva_walk_regs regs = {
		.cr0 = vp->cr0,
		.cr3 = vp->cr3,
		.cr4 = vp->cr4,
		.efer = vp->efer,
		.rflags = vp->rflags,
		.cpl = cpl(vp),
		.maxphyaddr = s->maxphyaddr,
	};
	return sidecar_gva_translate(&mem, &regs, gvn, control_flags, out);
}

static void synth_register_page_store(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
				      struct hv_x64_register_page *page)
{
	memcpy(page->gp_registers, ctx->gps, sizeof(page->gp_registers));
	page->gp_registers[4] = vp->rsp; /* the context holds CR2 in RSP's slot */
	page->rip = vp->rip;
	page->rflags = vp->rflags;
	memcpy(page->xmm, ctx->fx_state.xmm, sizeof(page->xmm));
	page->dirty = 0;
	if (vp->page_gen == vp->gen && page->is_valid)
		return;
	vp->page_gen = vp->gen;
	memcpy(page->segment, vp->seg, sizeof(page->segment));
	page->cr0 = vp->cr0;
	page->cr3 = vp->cr3;
	page->cr4 = vp->cr4;
	page->cr8 = vp->cr8;
	page->efer = vp->efer;
	page->dr7 = vp->dr[5];
	page->pending_interruption = vp->pending_interruption;
	page->interrupt_state = vp->interrupt_state;
	page->instruction_emulation_hints = vp->emulation_hints;
}

static void synth_register_page_load(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
				     struct hv_x64_register_page *page)
{
	uint32_t dirty = page->dirty;

	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE) {
		vp->rsp = sidecar_regs_home_load_page_gps(ctx, page);
	}
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER)
		vp->rip = page->rip;
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_FLAGS)
		vp->rflags = page->rflags;
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_XMM)
		memcpy(ctx->fx_state.xmm, page->xmm, sizeof(page->xmm));
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_SEGMENTS)
		memcpy(vp->seg, page->segment, sizeof(page->segment));
	if (dirty)
		vp->gen++;
	page->dirty = 0;
}

const struct sidecar_backend_ops sidecar_backend_synthetic_ops = {
	.name = "synthetic",
	.init = synth_init,
	.fini = synth_fini,
	.vp_create = synth_vp_create,
	.vp_destroy = synth_vp_destroy,
	.vp_run = synth_vp_run,
	.vp_kick = NULL,
	.get_register = synth_get_register,
	.set_register = synth_set_register,
	.translate_gva = synth_translate_gva,
	.register_page_store = synth_register_page_store,
	.register_page_load = synth_register_page_load,
};
