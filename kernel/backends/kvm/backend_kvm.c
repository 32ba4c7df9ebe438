/* SPDX-License-Identifier: MIT */
/*
 * The KVM VP backend: each VP is a real vCPU of one KVM VM per backend (docs/kvm.md).
 *
 * Guest RAM is the client's shared buffer at GPA 0; anything above it is unbacked, so a
 * guest access there is an "unmapped GPA" intercept, as under Hyper-V. There is no in-kernel
 * irqchip, so HLT exits to us. Every call is made on the sidecar CPU's thread except
 * vp_kick.
 *
 * Exits become Hyper-V intercept messages with Hyper-V's RIP semantics (SPEC section 6): the
 * message names the intercepting instruction (RIP and length) and the VP's RIP stays on it.
 * KVM differs in two ways, reconciled here:
 *  - it may already have moved RIP past the instruction (HLT; MMIO writes and OUTS, which
 *    its emulator wrote back; OUT on some KVMs). The instruction's start is found by
 *    decoding (kernel/x86_insn.h) and verified against the exit (port, size, direction, the
 *    written GPA and data); the backend learns at init which port I/O exits come back with
 *    RIP advanced (probe_pio()).
 *  - the operation is incomplete until the next KVM_RUN (api.rst, KVM_RUN). For plain
 *    IN/OUT, when the probe showed that completing touches neither RIP nor RAX once they
 *    are past the instruction, the completion rides on the next KVM_RUN (the VMM's
 *    registers are loaded first); if the VMM put RIP elsewhere, it is completed explicitly
 *    first (resolve_pending()). Emulated exits (string I/O, MMIO) re-enter KVM's emulator on
 *    completion, which would clobber the VMM's registers: they are completed at once with
 *    immediate_exit = 1 and a KVM_RUN that returns EINTR, their side effects on guest memory
 *    neutralised by feeding back the bytes already there, and the state from before the
 *    instruction restored.
 *
 * Register homes while the VP is stopped: the GP registers but RSP, CR2 and the FXSAVE image
 * live in the command page's CPU context (kernel/regs_home.h); RSP, RIP, RFLAGS, the segment
 * and control registers and the event state live in this file's caches, which ride in and out
 * of KVM_RUN through kvm_run->s.regs (KVM_CAP_SYNC_REGS) without an ioctl; the rest is read
 * and written with ioctls on demand. The FXSAVE image needs KVM_GET_XSAVE (or KVM_GET_FPU),
 * as there is no sync area for it: with LAZY_FX that ioctl runs only when someone reads the
 * image (kvm_fx_sync), and KVM_SET_XSAVE only when the VMM changed it. A sync area is loaded
 * into KVM only when it differs from what KVM holds (enter()). docs/kvm.md, "Cost".
 *
 * Kick: vp_kick sets kvm_run->immediate_exit and sends a real-time signal, caught by an
 * empty handler, to the vCPU thread (QEMU's scheme; no KVM_SET_SIGNAL_MASK, whose mask swap
 * costs every KVM_RUN). The lost wake-up argument is at kvm_vp_kick().
 */
#include "backend.h"
#include "gva_walk.h"
#include "x86_insn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE_4K 4096ull

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_PG (1ull << 31)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_RFLAGS_DF (1ull << 10)

#define MSR_IA32_TSC 0x10
#define MSR_IA32_APICBASE 0x1b
#define MSR_IA32_SPEC_CTRL 0x48
#define MSR_MTRRCAP 0xfe
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MTRR_PHYS_BASE0 0x200
#define MSR_MTRR_FIX64K_00000 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268
#define MSR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_XSS 0xda0
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_EFER 0xc0000080
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

/* The architectural reset values the synthetic backend also uses. */
#define RESET_APIC_BASE 0xfee00000ull
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_ENABLE (1ull << 11)

/* HvX64PendingInterruptionRegister and HvX64InterruptStateRegister. */
#define HV_PENDING_INTERRUPTION_PENDING 0x1ull
#define HV_PENDING_TYPE_SHIFT 1
#define HV_PENDING_TYPE_MASK 0x7ull
#define HV_PENDING_DELIVER_ERROR_CODE (1ull << 4)
#define HV_PENDING_INSTRUCTION_LENGTH_MASK (0xfull << 5)
#define HV_PENDING_RESERVED_MASK (0x7full << 9) /* nested event and reserved bits */
#define HV_PENDING_VECTOR_SHIFT 16
#define HV_PENDING_TYPE_INTERRUPT 0
#define HV_PENDING_TYPE_NMI 2
#define HV_PENDING_TYPE_EXCEPTION 3
#define HV_PENDING_TYPE_SOFTWARE_INTERRUPT 4
#define HV_PENDING_TYPE_PRIV_SOFTWARE_EXCEPTION 5
#define HV_PENDING_TYPE_SOFTWARE_EXCEPTION 6
#define HV_INTERRUPT_STATE_SHADOW 0x1ull
#define HV_INTERRUPT_STATE_NMI_MASKED 0x2ull

/* All the sync-register areas we use, when KVM offers them. */
#define SYNC_ALL (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

/* Where KVM's private real-mode pages go on Intel (identity map, then 3 TSS pages). */
#define SPECIAL_PAGES_GPA 0xfeffc000ull

/* The kick signal: one real-time signal, SIGRTMIN + this offset (docs/kvm.md). */
#define KICK_SIGNAL_OFFSET 6

/* The XSAVE header's XSTATE_BV: which components the image holds (else: their init state). */
#define XSAVE_HDR_OFFSET 512
#define XFEATURE_MASK_FPSSE 0x3ull

/* Bytes of the FXSAVE image that KVM_GET/SET_FPU carry (MXCSR_MASK and the reserved tail
 * are not VP state). */
#define FX_HEAD_BYTES 28 /* fcw .. mxcsr */

/* Per backend: the VM and what the probe learned about this KVM. */
struct kvm_be {
	int kvm_fd;
	int vm_fd;
	int run_size;
	int kick_signal;
	struct kvm_cpuid2 *cpuid;
	uint8_t maxphyaddr;
	bool sync_regs;        /* KVM_CAP_SYNC_REGS covers SYNC_ALL */
	bool pio_out_advances; /* an OUT exit comes back with RIP past the OUT */
	bool pio_in_advances;  /* likewise for IN */
	/* KVM's completion of an OUT (IN) leaves RIP and RAX alone once userspace has put RIP
	 * after the instruction: the completion may then ride on the next KVM_RUN. */
	bool pio_out_lazy, pio_in_lazy;
	bool out_7e_advances; /* OUT to port 0x7e does (the quirk could not be disabled) */
	bool has_xcrs, has_debugregs, has_vcpu_events;
	/* FXSAVE state through KVM_GET/SET_XSAVE (its legacy area is an FXSAVE image, MXCSR
	 * included); else KVM_GET/SET_FPU, which carry no MXCSR. */
	bool fpu_xsave;
	size_t xsave_size;
	uint32_t mxcsr_mask;
};

/* A port I/O exit whose completion is left to the next KVM_RUN. */
enum pending_io {
	PENDING_NONE,
	PENDING_FAST_PIO,
};

struct sidecar_backend_vp {
	struct sidecar_backend *be;
	struct kvm_be *k;
	uint32_t vp_index;
	int fd;
	struct kvm_run *run;
	pid_t tid;             /* the vCPU thread, target of the kick signal */
	bool block_on_destroy; /* the kick signal was blocked in that thread before vp_create */
	/* 1 while vp_run may enter KVM_RUN: kickers signal only then (kvm_vp_kick). */
	_Atomic uint32_t in_run;

	/* The VP state that is not in the CPU context, as of the last exit. */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	uint64_t dirty; /* KVM_SYNC_X86_* areas to load at the next KVM_RUN */
	/* kvm_run->s.regs.regs is what KVM holds (stored by the last KVM_RUN, not written
	 * since): a dirty REGS cache equal to it need not be loaded. */
	bool sync_regs_current;
	/* What KVM's FPU holds, as an FXSAVE image; invalid: load the context's at the
	 * next run. */
	struct x86_fxsave fx_shadow;
	bool fx_shadow_valid;
	struct kvm_xsave *xsave; /* the last KVM_GET_XSAVE image (fpu_xsave) */
	bool xsave_valid;
	uint64_t dr7;                          /* last value read or written: for the register page */
	uint64_t emulation_hints, guest_os_id; /* no KVM counterpart: kept here */

	/* lin_to_gpa_any()'s memory, valid until the next KVM_RUN. */
	bool tcache_valid;
	uint64_t tcache_page, tcache_gpa;
	/* lin_to_gpa()'s: one page the software walk found in RAM, valid until the next
	 * KVM_RUN (the guest's tables do not change while it is out of the guest). */
	bool rcache_valid;
	uint64_t rcache_page, rcache_gpa;

	/* The last plain IN/OUT resolved by decoding (handle_io), for a device loop that
	 * exits at the same instruction again. handle_io's choice is a function of exactly
	 * these inputs, so equal inputs give the same instruction: no invalidation. */
	struct io_site {
		bool valid;
		bool out, advances;
		uint8_t mode, size, back; /* back: RIP at the exit minus the instruction's start */
		uint16_t port, dx;
		uint8_t have_before, have_after;
		uint8_t before[X86_INSN_MAX_LEN], after[X86_INSN_MAX_LEN];
		struct x86_insn insn;
	} io_site;

	enum pending_io pending;
	bool pending_lazy_ok;     /* the probe's verdict for this direction */
	uint64_t pending_lin_end; /* linear address right after the instruction */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static void set_err(struct sidecar_command_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct sidecar_command_error *err, const char *fmt, ...)
{
	char buf[sizeof(err->buf) + 1];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(err->buf))
		n = sizeof(err->buf);
	memcpy(err->buf, buf, (size_t)n);
	err->len = (uint8_t)n;
}

/* An ioctl: 0 (or its non-negative result) or -errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR && req != KVM_RUN);
	return rc < 0 ? -errno : rc;
}

static int check_ext(int fd, long cap)
{
	int rc = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return rc < 0 ? 0 : rc;
}

static void store_immediate_exit(struct kvm_run *run, uint8_t v)
{
	/* The byte is read by the kernel at KVM_RUN entry and written by kickers on other
	 * threads: an atomic store keeps the compiler from tearing or eliding it. */
	__atomic_store_n(&run->immediate_exit, v, __ATOMIC_RELAXED);
}

/* ---- the kick signal: one-time, process-wide installation ---------------------------------- */

/*
 * The only process-wide mutable state of the backend: the kick signal's handler, installed
 * once per process. It does nothing: what matters is that the signal is delivered (KVM_RUN
 * returns EINTR when one is pending, and its arrival forces the guest out). The disposition
 * must not be SIG_DFL (a real-time signal would kill the process) nor SIG_IGN (an ignored
 * signal is discarded at once and could not interrupt KVM_RUN). SA_RESTART: a late kick that
 * lands outside KVM_RUN restarts what the thread was doing. If another part of the process
 * already owns the signal, init fails with -EBUSY rather than stealing it.
 */
static pthread_mutex_t kick_signal_lock = PTHREAD_MUTEX_INITIALIZER;

static void kick_handler(int sig)
{
	(void)sig;
}

static int kick_signal_install(int sig)
{
	struct sigaction old, sa;
	int rc = 0;

	pthread_mutex_lock(&kick_signal_lock);
	if (sigaction(sig, NULL, &old)) {
		rc = -errno;
	} else if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == kick_handler) {
		rc = 0; /* ours, from an earlier backend */
	} else if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) {
		rc = -EBUSY;
	} else {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = kick_handler;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		if (sigaction(sig, &sa, NULL))
			rc = -errno;
	}
	pthread_mutex_unlock(&kick_signal_lock);
	return rc;
}

/* After a KVM_RUN that returned EINTR: clear immediate_exit, then look at the stop
 * condition again. The clear is an exchange: when it takes a kicker's 1 away, it reads that
 * store, which came after the kicker's stop store and fence (kvm_vp_kick), so it
 * synchronizes with the kicker and the look sees the stop. */
static void clear_immediate_exit(struct kvm_run *run)
{
	(void)__atomic_exchange_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/* ---- conversions --------------------------------------------------------------------------- */

static uint16_t seg_attr_from_kvm(const struct kvm_segment *s)
{
	return (uint16_t)((s->type & 0xf) | (s->s ? HV_X64_SEGMENT_ATTR_NON_SYSTEM : 0) |
			  ((s->dpl & 3) << HV_X64_SEGMENT_ATTR_DPL_SHIFT) |
			  (s->present ? HV_X64_SEGMENT_ATTR_PRESENT : 0) |
			  (s->avl ? HV_X64_SEGMENT_ATTR_AVAILABLE : 0) | (s->l ? HV_X64_SEGMENT_ATTR_LONG : 0) |
			  (s->db ? HV_X64_SEGMENT_ATTR_DEFAULT : 0) | (s->g ? HV_X64_SEGMENT_ATTR_GRANULARITY : 0));
}

static void seg_to_hv(const struct kvm_segment *s, struct hv_x64_segment_register *h)
{
	h->base = s->base;
	h->limit = s->limit;
	h->selector = s->selector;
	h->attributes = seg_attr_from_kvm(s);
}

/* Attribute bits 8..11 have no kvm_segment field (they are the descriptor's limit 19:16,
 * never part of the cached attributes): a value using them is rejected, not truncated. */
#define HV_SEG_ATTR_UNREPRESENTABLE 0x0f00

static bool seg_from_hv(const struct hv_x64_segment_register *h, struct kvm_segment *s)
{
	uint16_t a = h->attributes;

	if (a & HV_SEG_ATTR_UNREPRESENTABLE)
		return false;
	memset(s, 0, sizeof(*s));
	s->base = h->base;
	s->limit = h->limit;
	s->selector = h->selector;
	s->type = a & HV_X64_SEGMENT_ATTR_TYPE_MASK;
	s->s = !!(a & HV_X64_SEGMENT_ATTR_NON_SYSTEM);
	s->dpl = (a & HV_X64_SEGMENT_ATTR_DPL_MASK) >> HV_X64_SEGMENT_ATTR_DPL_SHIFT;
	s->present = !!(a & HV_X64_SEGMENT_ATTR_PRESENT);
	s->avl = !!(a & HV_X64_SEGMENT_ATTR_AVAILABLE);
	s->l = !!(a & HV_X64_SEGMENT_ATTR_LONG);
	s->db = !!(a & HV_X64_SEGMENT_ATTR_DEFAULT);
	s->g = !!(a & HV_X64_SEGMENT_ATTR_GRANULARITY);
	/* A not-present segment is unusable (VMX requires it for data segments); SVM then
	 * keeps no attributes at all, so such a segment reads back with attributes 0. */
	s->unusable = !s->present;
	return true;
}

static struct kvm_segment *sreg_seg(struct kvm_sregs *s, unsigned int idx)
{
	switch (idx) {
	case X86_SEG_ES:
		return &s->es;
	case X86_SEG_CS:
		return &s->cs;
	case X86_SEG_SS:
		return &s->ss;
	case X86_SEG_DS:
		return &s->ds;
	case X86_SEG_FS:
		return &s->fs;
	case X86_SEG_GS:
		return &s->gs;
	case 6:
		return &s->ldt;
	default:
		return &s->tr;
	}
}

/* The same, read-only (one switch for both). */
static const struct kvm_segment *sreg_seg_c(const struct kvm_sregs *s, unsigned int idx)
{
	return sreg_seg((struct kvm_sregs *)s, idx);
}

/* struct kvm_fpu -> FXSAVE image. KVM_GET_FPU does not report MXCSR (nor does
 * KVM_SET_FPU take it): the image keeps the one it had. */
static void fpu_to_fx(const struct kvm_fpu *f, struct x86_fxsave *fx, uint32_t mxcsr_mask)
{
	uint32_t mxcsr = fx->mxcsr;

	memset(fx, 0, offsetof(struct x86_fxsave, reserved2));
	fx->mxcsr = mxcsr;
	fx->fcw = f->fcw;
	fx->fsw = f->fsw;
	fx->ftw = f->ftwx;
	fx->fop = f->last_opcode;
	fx->fip = f->last_ip;
	fx->fdp = f->last_dp;
	fx->mxcsr_mask = mxcsr_mask;
	memcpy(fx->st, f->fpr, sizeof(fx->st));
	memcpy(fx->xmm, f->xmm, sizeof(fx->xmm));
}

static void fx_to_fpu(const struct x86_fxsave *fx, struct kvm_fpu *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = fx->fcw;
	f->fsw = fx->fsw;
	f->ftwx = fx->ftw;
	f->last_opcode = fx->fop;
	f->last_ip = fx->fip;
	f->last_dp = fx->fdp;
	f->mxcsr = fx->mxcsr;
	memcpy(f->fpr, fx->st, sizeof(f->fpr));
	memcpy(f->xmm, fx->xmm, sizeof(f->xmm));
}

/* Whether the VP-state parts of two FXSAVE images differ. */
static bool fx_differs(const struct x86_fxsave *a, const struct x86_fxsave *b)
{
	return memcmp(a, b, FX_HEAD_BYTES) != 0 || memcmp(a->st, b->st, sizeof(a->st) + sizeof(a->xmm)) != 0;
}

/* The CPU context's GP slots <-> struct kvm_regs (RSP's slot holds CR2, not RSP). */
static void gprs_from_ctx(struct kvm_regs *r, const struct sidecar_cpu_context_x64 *ctx)
{
	const uint64_t *g = ctx->gps;

	r->rax = g[0];
	r->rcx = g[1];
	r->rdx = g[2];
	r->rbx = g[3];
	r->rbp = g[5];
	r->rsi = g[6];
	r->rdi = g[7];
	r->r8 = g[8];
	r->r9 = g[9];
	r->r10 = g[10];
	r->r11 = g[11];
	r->r12 = g[12];
	r->r13 = g[13];
	r->r14 = g[14];
	r->r15 = g[15];
}

static void gprs_to_ctx(const struct kvm_regs *r, struct sidecar_cpu_context_x64 *ctx)
{
	uint64_t *g = ctx->gps;

	g[0] = r->rax;
	g[1] = r->rcx;
	g[2] = r->rdx;
	g[3] = r->rbx;
	g[5] = r->rbp;
	g[6] = r->rsi;
	g[7] = r->rdi;
	g[8] = r->r8;
	g[9] = r->r9;
	g[10] = r->r10;
	g[11] = r->r11;
	g[12] = r->r12;
	g[13] = r->r13;
	g[14] = r->r14;
	g[15] = r->r15;
}

/* The GP registers in encoding order, for effective addresses. */
static void gprs_encoding_order(const struct kvm_regs *r, uint64_t g[16])
{
	g[0] = r->rax;
	g[1] = r->rcx;
	g[2] = r->rdx;
	g[3] = r->rbx;
	g[4] = r->rsp;
	g[5] = r->rbp;
	g[6] = r->rsi;
	g[7] = r->rdi;
	g[8] = r->r8;
	g[9] = r->r9;
	g[10] = r->r10;
	g[11] = r->r11;
	g[12] = r->r12;
	g[13] = r->r13;
	g[14] = r->r14;
	g[15] = r->r15;
}

/* ---- the VP's view of its own address space -------------------------------------------- */

static unsigned int code_mode(const struct kvm_sregs *s)
{
	if ((s->efer & X86_EFER_LMA) && s->cs.l)
		return 64;
	return s->cs.db ? 32 : 16;
}

static uint64_t ip_mask(unsigned int mode)
{
	return mode == 64 ? ~0ull : mode == 32 ? 0xffffffffull : 0xffffull;
}

/* The linear address of seg:offset. In 64-bit code only FS and GS have a base. */
static uint64_t linear(const struct kvm_sregs *s, unsigned int mode, unsigned int seg, uint64_t off)
{
	if (mode == 64)
		return (seg == X86_SEG_FS || seg == X86_SEG_GS) ? sreg_seg_c(s, seg)->base + off : off;
	return (sreg_seg_c(s, seg)->base + off) & 0xffffffffull;
}

static uint8_t vp_cpl(const struct kvm_sregs *s)
{
	return (s->cr0 & X86_CR0_PE) ? (uint8_t)(s->ss.dpl & 3) : 0;
}

/* Linear -> GPA with the guest's page tables, in software (no ioctl on the exit path). An
 * exit reads the instruction's bytes two or three times: the last page is remembered. */
static bool lin_to_gpa(struct sidecar_backend_vp *vp, uint64_t lin, uint64_t *gpa)
{
	if (!(vp->sregs.cr0 & X86_CR0_PG)) {
		*gpa = lin;
		return true;
	}
	if (vp->rcache_valid && vp->rcache_page == (lin & ~0xfffull)) {
		*gpa = vp->rcache_gpa | (lin & 0xfff);
		return true;
	}
	struct sidecar_guest_memory mem = {.base = vp->be->cfg.mem, .size = vp->be->cfg.mem_size};
	struct sidecar_gva_walk_regs r = {
		.cr0 = vp->sregs.cr0,
		.cr3 = vp->sregs.cr3,
		.cr4 = vp->sregs.cr4,
		.efer = vp->sregs.efer,
		.rflags = vp->regs.rflags,
		.cpl = vp_cpl(&vp->sregs),
		.maxphyaddr = vp->k->maxphyaddr,
	};
	struct hv_translate_virtual_address_ex_output_x64 out;

	if (sidecar_gva_translate(&mem, &r, lin >> 12, 0, &out) != HV_STATUS_SUCCESS ||
	    HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result) != HV_TRANSLATE_GVA_SUCCESS)
		return false;
	*gpa = (out.gpa_page << 12) | (lin & 0xfff);
	vp->rcache_page = lin & ~0xfffull;
	vp->rcache_gpa = out.gpa_page << 12;
	vp->rcache_valid = true;
	return true;
}

/*
 * Linear -> GPA also where the GPA has no memory (the software walker reports only that):
 * the identity without paging, else KVM_TRANSLATE. For the MMIO paths only; one translation
 * is remembered until the next KVM_RUN.
 */
static bool lin_to_gpa_any(struct sidecar_backend_vp *vp, uint64_t lin, uint64_t *gpa)
{
	if (!(vp->sregs.cr0 & X86_CR0_PG)) {
		*gpa = lin;
		return true;
	}
	if (!vp->tcache_valid || vp->tcache_page != (lin & ~0xfffull)) {
		struct kvm_translation t = {.linear_address = lin & ~0xfffull};
		if (xioctl(vp->fd, KVM_TRANSLATE, &t) || !t.valid)
			return false;
		vp->tcache_page = lin & ~0xfffull;
		vp->tcache_gpa = t.physical_address & ~0xfffull;
		vp->tcache_valid = true;
	}
	*gpa = vp->tcache_gpa | (lin & 0xfff);
	return true;
}

/* Reads guest bytes at a linear address; returns how many could be read (stops at the first
 * page that does not translate to RAM). */
static size_t read_linear(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t lin, uint8_t *buf, size_t len)
{
	uint64_t wrap = mode == 64 ? ~0ull : 0xffffffffull;
	size_t done = 0;

	while (done < len) {
		uint64_t a = (lin + done) & wrap, gpa;
		size_t chunk = (size_t)(PAGE_SIZE_4K - (a & 0xfff));
		if (chunk > len - done)
			chunk = len - done;
		if (!lin_to_gpa(vp, a, &gpa) || gpa + chunk > vp->be->cfg.mem_size)
			break;
		memcpy(buf + done, vp->be->cfg.mem + gpa, chunk);
		done += chunk;
	}
	return done;
}

/* Decodes the instruction at `ip` (an offset in CS). */
static bool decode_at(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t ip, struct x86_insn *in)
{
	uint8_t b[X86_INSN_MAX_LEN];
	size_t n = read_linear(vp, mode, linear(&vp->sregs, mode, X86_SEG_CS, ip), b, sizeof(b));

	return n && x86_insn_decode(b, n, mode, in);
}

typedef bool (*insn_match_fn)(struct sidecar_backend_vp *vp, const struct x86_insn *in, uint64_t start, void *arg);

/*
 * The shortest instruction that ends exactly at `end_ip` and satisfies `match`: the decoder
 * runs on each of the 15 candidate starts. Shortest, because a longer candidate only adds
 * bytes that are either prefixes the instruction does not need (a match tells them apart
 * when they matter: operand size, segment, REX) or the tail of the previous instruction.
 */
/* The up to 15 bytes before `end_ip` (an offset in CS) into the tail of `b`, read backwards
 * page by page (the earlier page may not be mapped: only a suffix is then available).
 * Returns how many. */
static size_t read_before(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip,
			  uint8_t b[X86_INSN_MAX_LEN])
{
	uint64_t mask = ip_mask(mode);
	size_t have = 0;

	while (have < X86_INSN_MAX_LEN) {
		uint64_t lin = linear(&vp->sregs, mode, X86_SEG_CS, (end_ip - have - 1) & mask);
		size_t chunk = (size_t)(lin & 0xfff) + 1;
		if (chunk > X86_INSN_MAX_LEN - have)
			chunk = X86_INSN_MAX_LEN - have;
		size_t got = read_linear(vp, mode, lin - (chunk - 1), b + X86_INSN_MAX_LEN - have - chunk, chunk);
		if (got != chunk)
			break;
		have += chunk;
	}
	return have;
}

/* decode_ending_at() over bytes read_before() returned. */
static bool decode_ending_in(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip,
			     const uint8_t b[X86_INSN_MAX_LEN], size_t have, insn_match_fn match, void *arg,
			     struct x86_insn *in, uint64_t *start)
{
	uint64_t mask = ip_mask(mode);

	for (size_t k = 1; k <= have; k++) {
		uint64_t s = (end_ip - k) & mask;
		if (!x86_insn_decode(b + X86_INSN_MAX_LEN - k, k, mode, in) || in->len != k || !match(vp, in, s, arg))
			continue;
		/* Except for the mandatory prefixes of SSE instructions: 66/F2/F3 before a
		 * two- or three-byte opcode make it another instruction (F3 0F 7F is MOVDQU,
		 * 0F 7F an MMX MOVQ), so such a byte right before the match belongs to it. */
		while (in->map != X86_MAP_1BYTE && !in->vex && k < have) {
			uint8_t p = b[X86_INSN_MAX_LEN - k - 1];
			struct x86_insn longer;
			if ((p != 0x66 && p != 0xf2 && p != 0xf3) ||
			    !x86_insn_decode(b + X86_INSN_MAX_LEN - k - 1, k + 1, mode, &longer) ||
			    longer.len != k + 1 || !match(vp, &longer, (end_ip - k - 1) & mask, arg))
				break;
			*in = longer;
			k++;
		}
		*start = (end_ip - k) & mask;
		return true;
	}
	return false;
}

static bool decode_ending_at(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip, insn_match_fn match,
			     void *arg, struct x86_insn *in, uint64_t *start)
{
	uint8_t b[X86_INSN_MAX_LEN];
	size_t have = read_before(vp, mode, end_ip, b);

	return decode_ending_in(vp, mode, end_ip, b, have, match, arg, in, start);
}

/* ---- backend setup -------------------------------------------------------------------------- */

static int get_supported_cpuid(struct kvm_be *k)
{
	for (uint32_t n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		int rc = xioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (rc == 0) {
			k->cpuid = c;
			return 0;
		}
		free(c);
		if (rc != -E2BIG)
			return rc;
	}
	return -E2BIG;
}

static const struct kvm_cpuid_entry2 *find_cpuid(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/* Disables KVM's "OUT 0x7e increments RIP" quirk, so that port behaves like any other. */
static bool disable_out_7e_quirk(int vm_fd, int kvm_fd)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_DISABLE_QUIRKS2, .args = {KVM_X86_QUIRK_OUT_7E_INC_RIP}};

	if (check_ext(kvm_fd, KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_OUT_7E_INC_RIP)
		return xioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	if (check_ext(kvm_fd, KVM_CAP_DISABLE_QUIRKS)) {
		cap.cap = KVM_CAP_DISABLE_QUIRKS;
		return xioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	return false;
}

/*
 * Whether KVM_GET/SET_XSAVE really carry the legacy FXSAVE area here (a marker in XMM0 must
 * come back through both KVM_GET_XSAVE and KVM_GET_FPU). Some KVMs without hardware
 * virtualization do not; KVM_GET/SET_FPU are then used, without MXCSR.
 */
static void probe_xsave(struct kvm_be *k, int vcpu)
{
	struct kvm_xsave *x;
	struct kvm_fpu f;
	unsigned long get = k->xsave_size > sizeof(*x) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	bool ok = false;

	if (!k->fpu_xsave)
		return;
	x = calloc(1, k->xsave_size);
	if (!x) {
		k->fpu_xsave = false;
		return;
	}
	if (xioctl(vcpu, get, x) == 0) {
		uint8_t *legacy = (uint8_t *)x->region;
		uint64_t bv;
		legacy[offsetof(struct x86_fxsave, xmm)] = 0xa5;
		memcpy(&bv, legacy + XSAVE_HDR_OFFSET, sizeof(bv));
		bv |= XFEATURE_MASK_FPSSE;
		memcpy(legacy + XSAVE_HDR_OFFSET, &bv, sizeof(bv));
		if (xioctl(vcpu, KVM_SET_XSAVE, x) == 0) {
			memset(x, 0, k->xsave_size);
			ok = xioctl(vcpu, get, x) == 0 && legacy[offsetof(struct x86_fxsave, xmm)] == 0xa5 &&
			     xioctl(vcpu, KVM_GET_FPU, &f) == 0 && f.xmm[0][0] == 0xa5;
		}
	}
	free(x);
	k->fpu_xsave = ok;
}

/*
 * Learns how this KVM treats port I/O, which differs between kernel versions and vendors
 * (and guessing wrong would make the VMM skip or repeat an instruction): whether an exit
 * comes back with RIP on or past the instruction, and whether completing it (the next
 * KVM_RUN) leaves RIP and RAX alone once userspace has moved RIP past the instruction. A
 * throw-away VM runs `out 0x80, al; in al, 0x80; hlt` in real mode. On any failure the
 * cautious answers are kept: RIP stays on the instruction, and completions are explicit.
 */
static void probe_pio(struct kvm_be *k)
{
	static const uint8_t code[] = {0xe6, 0x80, 0xe4, 0x80, 0xf4};
	const uint64_t marker = 0x5a5a5a5a;
	int vm = -1, vcpu = -1;
	struct kvm_run *run = MAP_FAILED;
	uint8_t *mem = MAP_FAILED;
	struct kvm_sregs s;
	struct kvm_regs r;

	k->pio_out_advances = false;
	k->pio_in_advances = false;
	k->pio_out_lazy = false;
	k->pio_in_lazy = false;
	vm = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		goto out;
	ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)(SPECIAL_PAGES_GPA + PAGE_SIZE_4K));
	mem = mmap(NULL, PAGE_SIZE_4K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		goto out;
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = PAGE_SIZE_4K, .userspace_addr = (uintptr_t)mem};
	if (xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		goto out;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		goto out;
	run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || xioctl(vcpu, KVM_GET_SREGS, &s))
		goto out;
	s.cs.base = 0;
	s.cs.selector = 0;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	if (xioctl(vcpu, KVM_SET_SREGS, &s) || xioctl(vcpu, KVM_SET_REGS, &r))
		goto out;

	probe_xsave(k, vcpu);
	for (int step = 0; step < 2; step++) {
		bool in = step == 1;
		uint64_t end = in ? 4 : 2;

		if (xioctl(vcpu, KVM_RUN, NULL) || run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != (in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT) || xioctl(vcpu, KVM_GET_REGS, &r))
			goto out;
		if (in)
			k->pio_in_advances = r.rip == end;
		else
			k->pio_out_advances = r.rip == end;
		/* What a VMM does next: complete the instruction itself, move RIP past it. */
		memset((uint8_t *)run + run->io.data_offset, 0xa5, run->io.size);
		r.rip = end;
		r.rax = marker;
		if (xioctl(vcpu, KVM_SET_REGS, &r))
			goto out;
		run->immediate_exit = 1;
		int rc = xioctl(vcpu, KVM_RUN, NULL);
		run->immediate_exit = 0;
		if (rc != -EINTR || xioctl(vcpu, KVM_GET_REGS, &r))
			goto out;
		if (in)
			k->pio_in_lazy = r.rip == end && r.rax == marker;
		else
			k->pio_out_lazy = r.rip == end && r.rax == marker;
	}
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)k->run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (mem != MAP_FAILED)
		munmap(mem, PAGE_SIZE_4K);
}

static void kvm_fini(struct sidecar_backend *be)
{
	struct kvm_be *k = be->impl;

	if (!k)
		return;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k->cpuid);
	free(k);
	be->impl = NULL;
}

static int kvm_init(struct sidecar_backend *be)
{
	struct kvm_be *k;
	int rc;

	if (be->cfg.mem_size % PAGE_SIZE_4K || ((uintptr_t)be->cfg.mem % PAGE_SIZE_4K) ||
	    (be->cfg.mem_size && !be->cfg.mem))
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->kvm_fd = -1;
	k->vm_fd = -1;
	be->impl = k;

	k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
	if (rc != KVM_API_VERSION) {
		rc = rc < 0 ? -errno : -EPROTONOSUPPORT; /* not KVM at all, or another API */
		goto fail;
	}
	/* What this backend cannot do without. */
	if (!check_ext(k->kvm_fd, KVM_CAP_USER_MEMORY) || !check_ext(k->kvm_fd, KVM_CAP_IMMEDIATE_EXIT) ||
	    !check_ext(k->kvm_fd, KVM_CAP_EXT_CPUID)) {
		rc = -ENOTSUP;
		goto fail;
	}
	k->sync_regs = (check_ext(k->kvm_fd, KVM_CAP_SYNC_REGS) & SYNC_ALL) == SYNC_ALL;
	k->has_xcrs = check_ext(k->kvm_fd, KVM_CAP_XCRS);
	k->has_debugregs = check_ext(k->kvm_fd, KVM_CAP_DEBUGREGS);
	k->has_vcpu_events = check_ext(k->kvm_fd, KVM_CAP_VCPU_EVENTS);
	k->fpu_xsave = check_ext(k->kvm_fd, KVM_CAP_XSAVE);
	k->xsave_size = sizeof(struct kvm_xsave);
	if ((size_t)check_ext(k->kvm_fd, KVM_CAP_XSAVE2) > k->xsave_size)
		k->xsave_size = (size_t)check_ext(k->kvm_fd, KVM_CAP_XSAVE2);
	k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size < (int)sizeof(struct kvm_run)) {
		rc = k->run_size < 0 ? -errno : -EINVAL;
		goto fail;
	}

	k->kick_signal = SIGRTMIN + KICK_SIGNAL_OFFSET;
	rc = kick_signal_install(k->kick_signal);
	if (rc)
		goto fail;

	rc = get_supported_cpuid(k);
	if (rc)
		goto fail;
	const struct kvm_cpuid_entry2 *e = find_cpuid(k->cpuid, 0x80000008, 0);
	k->maxphyaddr = e ? (uint8_t)(e->eax & 0xff) : 36;
	{
		/* MXCSR_MASK is the processor's: what an FXSAVE would store. */
		struct x86_fxsave fx __attribute__((aligned(16)));
		memset(&fx, 0, sizeof(fx));
		__asm__ volatile("fxsave64 %0" : "=m"(fx));
		k->mxcsr_mask = fx.mxcsr_mask ? fx.mxcsr_mask : 0xffbf;
	}

	k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		rc = -errno;
		goto fail;
	}
	k->out_7e_advances = !disable_out_7e_quirk(k->vm_fd, k->kvm_fd);
	if (be->cfg.mem_size) {
		struct kvm_userspace_memory_region region = {
			.slot = 0,
			.guest_phys_addr = 0,
			.memory_size = be->cfg.mem_size,
			.userspace_addr = (uintptr_t)be->cfg.mem,
		};
		rc = xioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
		if (rc)
			goto fail;
	}
	/* Intel without unrestricted guest runs real mode through a TSS and an identity page
	 * table of its own (3 + 1 pages of GPA space, which that guest could then reach): put
	 * them above RAM, at the top of the 32-bit space under the firmware area, as QEMU does.
	 * With more RAM than that they are not set (such a host cannot run real mode anyway).
	 * Elsewhere (AMD) these calls are accepted and ignored. */
	if (be->cfg.mem_size <= SPECIAL_PAGES_GPA) {
		if (check_ext(k->kvm_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
			uint64_t ident = SPECIAL_PAGES_GPA;
			rc = xioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
			if (rc)
				goto fail;
		}
		rc = ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)(SPECIAL_PAGES_GPA + PAGE_SIZE_4K)) < 0 ? -errno
													      : 0;
		if (rc)
			goto fail;
	}
	probe_pio(k);
	return 0;

fail:
	kvm_fini(be);
	return rc;
}

/* ---- VP lifetime ------------------------------------------------------------------------------ */

static int pull_state(struct sidecar_backend_vp *vp, bool after_run);

static int set_vcpu_cpuid(struct sidecar_backend_vp *vp)
{
	const struct kvm_cpuid2 *src = vp->k->cpuid;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int rc;

	if (!c)
		return -ENOMEM;
	memcpy(c, src, size);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		/* The initial APIC ID is the VP index, as Hyper-V numbers them. */
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (vp->vp_index << 24);
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = vp->vp_index;
	}
	rc = xioctl(vp->fd, KVM_SET_CPUID2, c);
	free(c);
	return rc;
}

static void kseg(struct kvm_segment *s, uint16_t sel, uint64_t base, uint8_t type, bool system)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = !system;
}

/* The architectural reset state, as the synthetic backend creates a VP. */
static int reset_vcpu(struct sidecar_backend_vp *vp)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	int rc;

	rc = xioctl(vp->fd, KVM_GET_SREGS, &s);
	if (rc)
		return rc;
	kseg(&s.es, 0, 0, 0x3, false);
	kseg(&s.cs, 0xf000, 0xffff0000ull, 0xb, false);
	kseg(&s.ss, 0, 0, 0x3, false);
	kseg(&s.ds, 0, 0, 0x3, false);
	kseg(&s.fs, 0, 0, 0x3, false);
	kseg(&s.gs, 0, 0, 0x3, false);
	kseg(&s.ldt, 0, 0, 0x2, true);
	kseg(&s.tr, 0, 0, 0xb, true);
	s.idt.base = 0;
	s.idt.limit = 0xffff;
	s.gdt.base = 0;
	s.gdt.limit = 0xffff;
	s.cr0 = 0x60000010;
	s.cr2 = 0;
	s.cr3 = 0;
	s.cr4 = 0;
	s.cr8 = 0;
	s.efer = 0;
	s.apic_base = RESET_APIC_BASE | APIC_BASE_ENABLE | (vp->vp_index == 0 ? APIC_BASE_BSP : 0);
	rc = xioctl(vp->fd, KVM_SET_SREGS, &s);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.rip = 0xfff0;
	r.rflags = 0x2;
	return xioctl(vp->fd, KVM_SET_REGS, &r);
}

static void kvm_vp_destroy(struct sidecar_backend_vp *vp)
{
	if (!vp)
		return;
	if (vp->run && vp->run != MAP_FAILED)
		munmap(vp->run, (size_t)vp->k->run_size);
	if (vp->fd >= 0)
		close(vp->fd);
	if (vp->block_on_destroy) {
		/* Kicks in flight are over (the platform waits for them before destroying the
		 * VP); one still pending is taken by the handler. */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, vp->k->kick_signal);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	free(vp->xsave);
	free(vp);
}

static int kvm_vp_create(struct sidecar_backend *be, uint32_t vp_index, struct sidecar_backend_vp **out)
{
	struct kvm_be *k = be->impl;
	struct sidecar_backend_vp *vp;
	sigset_t block, old;
	int rc;

	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->be = be;
	vp->k = k;
	vp->vp_index = vp_index;
	vp->run = MAP_FAILED;
	vp->fd = -1;
	vp->tid = (pid_t)syscall(SYS_gettid);

	if (k->fpu_xsave) {
		vp->xsave = calloc(1, k->xsave_size);
		if (!vp->xsave) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	vp->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)vp_index);
	if (vp->fd < 0) {
		rc = -errno;
		goto fail;
	}
	vp->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vp->fd, 0);
	if (vp->run == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}

	/* The kick signal must reach this thread: unblocked, caught by the empty handler. */
	sigemptyset(&block);
	sigaddset(&block, k->kick_signal);
	rc = -pthread_sigmask(SIG_UNBLOCK, &block, &old);
	if (rc)
		goto fail;
	vp->block_on_destroy = sigismember(&old, k->kick_signal);

	rc = set_vcpu_cpuid(vp);
	if (rc)
		goto fail;
	rc = reset_vcpu(vp);
	if (rc)
		goto fail;
	if (k->sync_regs)
		vp->run->kvm_valid_regs = SYNC_ALL;
	rc = pull_state(vp, false);
	if (rc)
		goto fail;
	if (k->has_debugregs) {
		struct kvm_debugregs d;
		if (xioctl(vp->fd, KVM_GET_DEBUGREGS, &d) == 0)
			vp->dr7 = d.dr7;
	}
	*out = vp;
	return 0;

fail:
	kvm_vp_destroy(vp);
	return rc;
}

/* ---- moving state in and out of KVM --------------------------------------------------------- */

/* The caches from KVM: from the sync area after a KVM_RUN, else with ioctls. */
static int pull_state(struct sidecar_backend_vp *vp, bool after_run)
{
	int rc;

	if (after_run && vp->k->sync_regs) {
		vp->regs = vp->run->s.regs.regs;
		vp->sregs = vp->run->s.regs.sregs;
		vp->events = vp->run->s.regs.events;
		vp->sync_regs_current = true;
		return 0;
	}
	vp->sync_regs_current = false;
	rc = xioctl(vp->fd, KVM_GET_REGS, &vp->regs);
	if (!rc)
		rc = xioctl(vp->fd, KVM_GET_SREGS, &vp->sregs);
	if (!rc && vp->k->has_vcpu_events)
		rc = xioctl(vp->fd, KVM_GET_VCPU_EVENTS, &vp->events);
	return rc;
}

/*
 * One KVM_RUN with the caches loaded first (through kvm_run->s.regs and kvm_dirty_regs, or
 * ioctls where sync registers are missing) and refreshed after. Returns 0, -EINTR (an
 * immediate exit or a signal: the caller re-checks its stop condition) or another -errno.
 */
static int enter(struct sidecar_backend_vp *vp)
{
	struct kvm_run *run = vp->run;
	int rc;

	if (vp->k->sync_regs) {
		/* Loading REGS costs KVM a __set_regs per entry; a VMM that moves RIP to where
		 * KVM already has it (past a port I/O instruction) changes nothing. */
		if ((vp->dirty & KVM_SYNC_X86_REGS) && vp->sync_regs_current &&
		    !memcmp(&run->s.regs.regs, &vp->regs, sizeof(vp->regs)))
			vp->dirty &= ~(uint64_t)KVM_SYNC_X86_REGS;
		if (vp->dirty & KVM_SYNC_X86_REGS) {
			run->s.regs.regs = vp->regs;
			vp->sync_regs_current = false;
		}
		if (vp->dirty & KVM_SYNC_X86_SREGS)
			run->s.regs.sregs = vp->sregs;
		if (vp->dirty & KVM_SYNC_X86_EVENTS)
			run->s.regs.events = vp->events;
		run->kvm_dirty_regs = vp->dirty;
	} else {
		rc = 0;
		if (vp->dirty & KVM_SYNC_X86_REGS)
			rc = xioctl(vp->fd, KVM_SET_REGS, &vp->regs);
		if (!rc && (vp->dirty & KVM_SYNC_X86_SREGS))
			rc = xioctl(vp->fd, KVM_SET_SREGS, &vp->sregs);
		if (!rc && (vp->dirty & KVM_SYNC_X86_EVENTS))
			rc = xioctl(vp->fd, KVM_SET_VCPU_EVENTS, &vp->events);
		if (rc)
			return rc;
	}
	/* Without an in-kernel LAPIC, KVM loads CR8 from kvm_run->cr8 at every entry. */
	run->cr8 = vp->sregs.cr8;

	rc = ioctl(vp->fd, KVM_RUN, NULL);
	int e = rc < 0 ? errno : 0;
	if (rc < 0 && e != EINTR) {
		/* KVM refused the entry (e.g. -EINVAL for registers it rejects): nothing was
		 * loaded, the caches still hold what the VMM asked for. */
		run->kvm_dirty_regs = 0;
		return -e;
	}
	/* Loaded (EINTR comes after KVM applied the sync registers and completed pending
	 * I/O, api.rst): refresh the caches from what KVM stored on the way out. */
	vp->dirty = 0;
	run->kvm_dirty_regs = 0;
	/* KVM_RUN finished any I/O it had pending before doing anything else. */
	vp->pending = PENDING_NONE;
	vp->tcache_valid = false;
	vp->rcache_valid = false;
	int prc = pull_state(vp, true);
	if (prc)
		return prc;
	vp->sregs.cr8 = run->cr8;
	return rc < 0 ? -EINTR : 0;
}

/* Fills the data of an MMIO read that is being completed only to retire the instruction.
 * `fill` may provide the bytes already at the destination, so that the write KVM's emulator
 * then makes (MOVS from MMIO to RAM) changes nothing. */
struct completion_fill {
	bool have;
	uint8_t data[8];
};

/*
 * Completes KVM's pending I/O or MMIO without running the guest: immediate_exit = 1, and
 * KVM_RUN returns EINTR after finishing the operation (api.rst). An operation that needs
 * more round trips (an MMIO access split in fragments, the write half of a read-modify-write)
 * comes back as another MMIO/IO exit, and is fed until KVM says EINTR. The caches are
 * refreshed from the result; the kick signal, if any, stays pending.
 */
static int complete_io(struct sidecar_backend_vp *vp, const struct completion_fill *fill,
		       struct sidecar_command_error *err)
{
	struct kvm_run *run = vp->run;
	int rc = -EIO;

	for (int i = 0; i < 64; i++) {
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write) {
			if (fill && fill->have)
				memcpy(run->mmio.data, fill->data, sizeof(run->mmio.data));
			else
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
		}
		store_immediate_exit(run, 1);
		rc = enter(vp);
		clear_immediate_exit(run);
		if (rc == -EINTR) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			set_err(err, "kvm: completing an intercepted access: %s", strerror(-rc));
			return rc;
		}
		if (run->exit_reason != KVM_EXIT_MMIO && run->exit_reason != KVM_EXIT_IO) {
			set_err(err, "kvm: unexpected exit %u while completing an intercepted access",
				run->exit_reason);
			return -EIO;
		}
		rc = -EIO;
	}
	if (rc) {
		set_err(err, "kvm: an intercepted access does not complete");
		return rc;
	}
	return 0;
}

/*
 * A pending plain IN/OUT. When the VMM did what a VMM does (RIP right after the instruction)
 * and the probe showed that KVM's completion then touches neither RIP nor RAX, the next
 * KVM_RUN completes it for free. Otherwise (the VMM re-executes the instruction or jumps
 * elsewhere, or this KVM's completion would skip or merge) it is completed explicitly first,
 * against KVM's own state, and the VMM's registers are loaded after it; the caches are
 * preserved across.
 */
static int resolve_pending(struct sidecar_backend_vp *vp, struct sidecar_command_error *err)
{
	unsigned int mode = code_mode(&vp->sregs);
	uint64_t lin = linear(&vp->sregs, mode, X86_SEG_CS, vp->regs.rip);

	if (vp->pending == PENDING_NONE)
		return 0;
	if (vp->pending_lazy_ok && lin == vp->pending_lin_end)
		return 0;

	struct kvm_regs regs = vp->regs;
	struct kvm_sregs sregs = vp->sregs;
	struct kvm_vcpu_events events = vp->events;
	uint64_t dirty = vp->dirty;
	/* Only what KVM has; the VMM's edits are loaded again below. */
	vp->dirty = 0;
	int rc = complete_io(vp, NULL, err);
	vp->regs = regs;
	vp->sregs = sregs;
	vp->events = events;
	vp->dirty = dirty | KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
	return rc;
}

static int get_xsave(struct sidecar_backend_vp *vp, struct kvm_xsave *x)
{
	return xioctl(vp->fd, vp->k->xsave_size > sizeof(*x) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, x);
}

static int load_fpu(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
		    struct sidecar_command_error *err)
{
	const struct x86_fxsave *fx = &ctx->fx_state;
	int rc;

	if (vp->fx_shadow_valid && !fx_differs(fx, &vp->fx_shadow))
		return 0;
	if (fx->mxcsr & ~vp->k->mxcsr_mask) {
		set_err(err, "kvm: invalid MXCSR %#x in the cpu context", fx->mxcsr);
		return -EINVAL;
	}
	if (vp->k->fpu_xsave) {
		/* The context's legacy area over KVM's own image (which keeps the other
		 * components, AVX and up), marked present. */
		struct x86_fxsave *legacy = (struct x86_fxsave *)vp->xsave->region;
		if (!vp->xsave_valid) {
			rc = get_xsave(vp, vp->xsave);
			if (rc) {
				set_err(err, "kvm: KVM_GET_XSAVE: %s", strerror(-rc));
				return rc;
			}
			vp->xsave_valid = true;
		}
		memcpy(legacy, fx, FX_HEAD_BYTES);
		memcpy(legacy->st, fx->st, sizeof(fx->st) + sizeof(fx->xmm));
		uint64_t bv;
		memcpy(&bv, (uint8_t *)vp->xsave->region + XSAVE_HDR_OFFSET, sizeof(bv));
		bv |= XFEATURE_MASK_FPSSE;
		memcpy((uint8_t *)vp->xsave->region + XSAVE_HDR_OFFSET, &bv, sizeof(bv));
		rc = xioctl(vp->fd, KVM_SET_XSAVE, vp->xsave);
		if (rc) {
			vp->xsave_valid = false;
			set_err(err, "kvm: KVM_SET_XSAVE: %s", strerror(-rc));
			return rc;
		}
	} else {
		struct kvm_fpu f;
		fx_to_fpu(fx, &f);
		rc = xioctl(vp->fd, KVM_SET_FPU, &f);
		if (rc) {
			set_err(err, "kvm: KVM_SET_FPU: %s", strerror(-rc));
			return rc;
		}
	}
	vp->fx_shadow = *fx;
	vp->fx_shadow_valid = true;
	return 0;
}

static int store_fpu(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
		     struct sidecar_command_error *err)
{
	int rc;

	if (vp->k->fpu_xsave) {
		rc = get_xsave(vp, vp->xsave);
		vp->xsave_valid = rc == 0;
		if (rc == 0) {
			/* The legacy area is the FXSAVE image (reserved tail aside). */
			memcpy(&ctx->fx_state, vp->xsave->region, offsetof(struct x86_fxsave, reserved2));
			uint64_t bv;
			memcpy(&bv, (uint8_t *)vp->xsave->region + XSAVE_HDR_OFFSET, sizeof(bv));
			/* Components in their init state are not written to the image. */
			if (!(bv & 1)) {
				memset(ctx->fx_state.st, 0, sizeof(ctx->fx_state.st));
				ctx->fx_state.fcw = 0x037f;
				ctx->fx_state.fsw = 0;
				ctx->fx_state.ftw = 0;
				ctx->fx_state.fop = 0;
				ctx->fx_state.fip = 0;
				ctx->fx_state.fdp = 0;
			}
			if (!(bv & 2))
				memset(ctx->fx_state.xmm, 0, sizeof(ctx->fx_state.xmm));
			ctx->fx_state.mxcsr_mask = vp->k->mxcsr_mask;
		}
	} else {
		struct kvm_fpu f;
		rc = xioctl(vp->fd, KVM_GET_FPU, &f);
		if (rc == 0)
			fpu_to_fx(&f, &ctx->fx_state, vp->k->mxcsr_mask);
	}
	if (rc) {
		set_err(err, "kvm: reading the FPU state: %s", strerror(-rc));
		vp->fx_shadow_valid = false;
		return rc;
	}
	vp->fx_shadow = ctx->fx_state;
	vp->fx_shadow_valid = true;
	return 0;
}

/* ---- intercept messages ---------------------------------------------------------------------- */

static void begin_message(struct hv_message *msg, uint32_t type, uint8_t len)
{
	memset(msg, 0, sizeof(*msg));
	msg->header.type = type;
	msg->header.len = len;
}

static void fill_header(const struct sidecar_backend_vp *vp, struct hv_x64_intercept_message_header *h, uint8_t access,
			uint64_t rip, unsigned int insn_len)
{
	const struct kvm_sregs *s = &vp->sregs;
	uint16_t state = vp_cpl(s);

	if (s->cr0 & X86_CR0_PE)
		state |= HV_X64_EXEC_STATE_CR0_PE;
	if (s->cr0 & X86_CR0_AM)
		state |= HV_X64_EXEC_STATE_CR0_AM;
	if (s->efer & X86_EFER_LMA)
		state |= HV_X64_EXEC_STATE_EFER_LMA;
	if (vp->events.exception.injected || vp->events.interrupt.injected || vp->events.nmi.injected)
		state |= HV_X64_EXEC_STATE_INTERRUPTION_PENDING;
	if (vp->events.interrupt.shadow)
		state |= HV_X64_EXEC_STATE_INTERRUPT_SHADOW;
	h->vp_index = vp->vp_index;
	h->instruction_length_and_cr8 = (uint8_t)((insn_len & 0xf) | ((s->cr8 & 0xf) << 4));
	h->intercept_access_type = access;
	h->execution_state = state;
	seg_to_hv(&s->cs, &h->cs_segment);
	h->rip = rip;
	h->rflags = vp->regs.rflags;
}

/* The instruction's own bytes (at most 16). */
static uint8_t insn_bytes(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t ip, unsigned int len,
			  uint8_t out[16])
{
	memset(out, 0, 16);
	if (len > 16)
		len = 16;
	return (uint8_t)read_linear(vp, mode, linear(&vp->sregs, mode, X86_SEG_CS, ip), out, len);
}

/* ---- port I/O ---------------------------------------------------------------------------------- */

enum io_kind { IO_NONE, IO_FAST, IO_STRING };

struct io_exit {
	bool out;
	uint8_t size;
	uint16_t port;
	uint32_t count;
};

static enum io_kind io_kind_of(const struct x86_insn *in, const struct io_exit *x, uint64_t rdx)
{
	uint8_t op = in->opcode;
	uint16_t port = (uint16_t)rdx;
	bool out, string = false;

	if (in->vex || in->map != X86_MAP_1BYTE || in->lock)
		return IO_NONE;
	switch (op) {
	case 0xe4:
	case 0xe5:
	case 0xe6:
	case 0xe7:
		port = (uint16_t)in->imm;
		break;
	case 0xec:
	case 0xed:
	case 0xee:
	case 0xef:
		break;
	case 0x6c:
	case 0x6d:
	case 0x6e:
	case 0x6f:
		string = true;
		break;
	default:
		return IO_NONE;
	}
	out = (op & 2) != 0; /* E6 E7 EE EF 6E 6F */
	uint8_t size = (op & 1) ? (in->opsize == 2 ? 2 : 4) : 1;
	if (out != x->out || size != x->size || port != x->port)
		return IO_NONE;
	return string ? IO_STRING : IO_FAST;
}

struct io_match_arg {
	const struct io_exit *x;
	enum io_kind want;
};

static bool io_match(struct sidecar_backend_vp *vp, const struct x86_insn *in, uint64_t start, void *arg)
{
	const struct io_match_arg *a = arg;
	(void)start;
	return io_kind_of(in, a->x, vp->regs.rdx) == a->want;
}

/* Steps an index register back over `count` elements of the string operation. */
static uint64_t unstep(uint64_t reg, const struct x86_insn *in, uint64_t rflags, uint64_t bytes)
{
	uint64_t mask = x86_insn_addr_mask(in->addrsize);
	uint64_t v = (rflags & X86_RFLAGS_DF) ? reg + bytes : reg - bytes;

	/* 32-bit addressing in 64-bit code writes the whole register, zero-extended. */
	if (in->addrsize == 4 && in->mode == 64)
		return v & mask;
	return (reg & ~mask) | (v & mask);
}

static uint64_t add_count(uint64_t rcx, const struct x86_insn *in, uint64_t n)
{
	uint64_t mask = x86_insn_addr_mask(in->addrsize);
	uint64_t v = rcx + n;

	if (in->addrsize == 4 && in->mode == 64)
		return v & mask;
	return (rcx & ~mask) | (v & mask);
}

/* Whether the data of an OUT exit is RAX's, as for a plain OUT (not OUTS). */
static bool out_data_is_rax(struct sidecar_backend_vp *vp, const struct io_exit *x)
{
	const uint8_t *data = (const uint8_t *)vp->run + vp->run->io.data_offset;
	uint64_t rax = vp->regs.rax;

	if (!x->out)
		return true;
	for (unsigned int i = 0; i < x->size; i++)
		if (data[i] != (uint8_t)(rax >> (8 * i)))
			return false;
	return true;
}

static void io_message(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_exit *x,
		       const struct x86_insn *in, uint64_t start, const struct kvm_regs *pre, bool string,
		       struct hv_message *msg)
{
	struct hv_x64_io_port_intercept_message *io = (struct hv_x64_io_port_intercept_message *)msg->payload;

	begin_message(msg, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT, sizeof(*io));
	fill_header(vp, &io->header, x->out ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ, start, in->len);
	io->header.rflags = pre->rflags;
	io->port_number = x->port;
	io->access_info = (uint8_t)(x->size | (string ? HV_X64_IO_ACCESS_STRING_OP : 0) |
				    (string && in->rep ? HV_X64_IO_ACCESS_REP_PREFIX : 0));
	io->instruction_byte_count = insn_bytes(vp, mode, start, in->len, io->instruction_bytes);
	io->rax = pre->rax;
	seg_to_hv(&vp->sregs.ds, &io->ds_segment);
	seg_to_hv(&vp->sregs.es, &io->es_segment);
	io->rcx = pre->rcx;
	io->rsi = pre->rsi;
	io->rdi = pre->rdi;
}

/* Is this exit, with these bytes around RIP, the one `site` remembers? */
static bool io_site_match(const struct io_site *site, unsigned int mode, const struct io_exit *x, uint16_t dx,
			  bool advances, const uint8_t *before, size_t hb, const uint8_t *after, size_t ha)
{
	return site->valid && site->mode == mode && site->out == x->out && site->size == x->size &&
	       site->port == x->port && x->count == 1 && site->dx == dx && site->advances == advances &&
	       site->have_before == hb && site->have_after == ha &&
	       !memcmp(site->before + X86_INSN_MAX_LEN - hb, before + X86_INSN_MAX_LEN - hb, hb) &&
	       !memcmp(site->after, after, ha);
}

static int handle_io(struct sidecar_backend_vp *vp, struct hv_message *msg, struct sidecar_command_error *err)
{
	const struct kvm_run *run = vp->run;
	struct io_exit x = {
		.out = run->io.direction == KVM_EXIT_IO_OUT,
		.size = run->io.size,
		.port = run->io.port,
		.count = run->io.count,
	};
	unsigned int mode = code_mode(&vp->sregs);
	uint64_t rip_exit = vp->regs.rip;
	struct x86_insn a, b, sb;
	uint64_t b_start = 0, sb_start = 0;
	struct io_match_arg fast = {.x = &x, .want = IO_FAST}, str = {.x = &x, .want = IO_STRING};
	bool advances =
		x.out ? vp->k->pio_out_advances || (x.port == 0x7e && vp->k->out_7e_advances) : vp->k->pio_in_advances;
	const struct x86_insn *in = NULL;
	uint64_t start = 0;

	/* The bytes the choice below depends on: up to 15 each side of RIP. */
	uint8_t before[X86_INSN_MAX_LEN], after[X86_INSN_MAX_LEN];
	size_t hb = read_before(vp, mode, rip_exit, before);
	size_t ha = read_linear(vp, mode, linear(&vp->sregs, mode, X86_SEG_CS, rip_exit), after, sizeof(after));
	struct io_site *site = &vp->io_site;
	if (io_site_match(site, mode, &x, (uint16_t)vp->regs.rdx, advances, before, hb, after, ha)) {
		in = &site->insn;
		start = (rip_exit - site->back) & ip_mask(mode);
		goto plain;
	}

	enum io_kind ka = ha && x86_insn_decode(after, ha, mode, &a) ? io_kind_of(&a, &x, vp->regs.rdx) : IO_NONE;

	/* Plain IN/OUT: the probe says where KVM left RIP; the decoder confirms. */
	if (ka == IO_FAST && !advances) {
		in = &a;
		start = rip_exit;
	} else if (decode_ending_in(vp, mode, rip_exit, before, hb, io_match, &fast, &b, &b_start) &&
		   (advances ? ka != IO_STRING || (x.out && out_data_is_rax(vp, &x)) : ka == IO_NONE)) {
		/* Behind RIP. When an INS/OUTS for the same port sits at RIP as well (an
		 * unfinished REP stays there), an OUT must have written RAX to be the plain one;
		 * an IN cannot tell, and the string instruction is taken. */
		in = &b;
		start = b_start;
	} else if (ka == IO_FAST) {
		in = &a;
		start = rip_exit;
	}
	if (in) {
		/* Not when RAX took part in the choice (a string instruction at RIP). */
		if (ka != IO_STRING && x.count == 1) {
			*site = (struct io_site){
				.valid = true,
				.out = x.out,
				.advances = advances,
				.mode = (uint8_t)mode,
				.size = x.size,
				.back = (uint8_t)((rip_exit - start) & ip_mask(mode)),
				.port = x.port,
				.dx = (uint16_t)vp->regs.rdx,
				.have_before = (uint8_t)hb,
				.have_after = (uint8_t)ha,
				.insn = *in,
			};
			memcpy(site->before, before, sizeof(before));
			memcpy(site->after, after, sizeof(after));
		}
plain:;
		struct kvm_regs pre = vp->regs;
		pre.rip = start;
		io_message(vp, mode, &x, in, start, &pre, false, msg);
		vp->regs.rip = start;
		vp->dirty |= KVM_SYNC_X86_REGS;
		/* KVM completes the I/O at the next KVM_RUN; resolve_pending() decides then
		 * whether that may happen with the VMM's registers loaded. */
		vp->pending = PENDING_FAST_PIO;
		vp->pending_lazy_ok = x.out ? vp->k->pio_out_lazy : vp->k->pio_in_lazy;
		vp->pending_lin_end = linear(&vp->sregs, mode, X86_SEG_CS, (start + in->len) & ip_mask(mode));
		return SIDECAR_RUN_INTERCEPT;
	}

	/*
	 * INS/OUTS go through KVM's emulator: complete now. An INS completion stores the data
	 * page into guest memory: fill it with the bytes already there, so the store changes
	 * nothing (the VMM performs the real one).
	 */
	bool have_sb = decode_ending_in(vp, mode, rip_exit, before, hb, io_match, &str, &sb, &sb_start);
	if (ka != IO_STRING && !have_sb) {
		set_err(err, "kvm: port %#x %s exit at RIP %#llx: cannot decode the instruction", x.port,
			x.out ? "write" : "read", (unsigned long long)rip_exit);
		return -EIO;
	}
	if (!x.out && ka == IO_STRING) {
		uint8_t *data = (uint8_t *)vp->run + vp->run->io.data_offset;
		uint64_t n = (uint64_t)x.size * x.count;
		uint64_t rdi = vp->regs.rdi & x86_insn_addr_mask(a.addrsize);
		bool down = vp->regs.rflags & X86_RFLAGS_DF;
		if (n <= PAGE_SIZE_4K) {
			for (uint32_t i = 0; i < x.count; i++) {
				uint64_t off = down ? rdi - (uint64_t)i * x.size : rdi + (uint64_t)i * x.size;
				read_linear(vp, mode,
					    linear(&vp->sregs, mode, X86_SEG_ES, off & x86_insn_addr_mask(a.addrsize)),
					    data + (size_t)i * x.size, x.size);
			}
		}
	}
	uint64_t rflags_exit = vp->regs.rflags;
	int rc = complete_io(vp, NULL, err);
	if (rc)
		return rc;

	/* Where the instruction is: KVM moved RIP during the completion only if it was on the
	 * instruction; an unfinished REP stays on it; else KVM had written RIP back before the
	 * exit. */
	if (vp->regs.rip != rip_exit || (ka == IO_STRING && a.rep) || (ka == IO_STRING && !have_sb)) {
		in = &a;
		start = rip_exit;
	} else {
		in = &sb;
		start = sb_start;
	}
	struct kvm_regs pre = vp->regs;
	uint64_t bytes = (uint64_t)x.size * x.count;
	if (x.out)
		pre.rsi = unstep(pre.rsi, in, rflags_exit, bytes);
	else
		pre.rdi = unstep(pre.rdi, in, rflags_exit, bytes);
	if (in->rep)
		pre.rcx = add_count(pre.rcx, in, x.count);
	pre.rip = start;
	pre.rflags = rflags_exit;
	io_message(vp, mode, &x, in, start, &pre, true, msg);
	vp->regs = pre;
	vp->dirty |= KVM_SYNC_X86_REGS;
	return SIDECAR_RUN_INTERCEPT;
}

/* ---- MMIO --------------------------------------------------------------------------------- */

struct mmio_exit {
	uint64_t gpa;
	uint8_t data[8];
	uint32_t len;
	bool write;
};

static bool is_string_store(const struct x86_insn *in)
{
	return !in->vex && in->map == X86_MAP_1BYTE &&
	       (in->opcode == 0xa4 || in->opcode == 0xa5 || in->opcode == 0xaa || in->opcode == 0xab);
}

static unsigned int string_elem(const struct x86_insn *in)
{
	return (in->opcode & 1) ? in->opsize : 1;
}

/* The GP register `r` (encoding order) as an 8-bit operand: AH..BH without REX. */
static uint64_t reg8(const uint64_t g[16], unsigned int r, bool rex)
{
	if (!rex && r >= 4 && r < 8)
		return (g[r - 4] >> 8) & 0xff;
	return g[r] & 0xff;
}

struct mmio_match_arg {
	const struct mmio_exit *x;
	unsigned int mode;
	struct sidecar_backend_vp *vp; /* the same VP, writable: translations are cached */
};

/*
 * Whether `in`, which ended where KVM left RIP, is the write the exit reports: its memory
 * operand must translate to the exit's GPA, and for the MOV forms the data must be the
 * source's. KVM wrote RIP (and a string store's index registers) back before the exit; the
 * other registers are still the instruction's inputs.
 */
static bool mmio_write_match(struct sidecar_backend_vp *cvp, const struct x86_insn *in, uint64_t start, void *arg)
{
	const struct mmio_match_arg *a = arg;
	struct sidecar_backend_vp *vp = a->vp;

	(void)cvp; /* == vp */
	const struct mmio_exit *x = a->x;
	uint64_t g[16], ea, lin, gpa;
	unsigned int seg;

	gprs_encoding_order(&vp->regs, g);
	if (is_string_store(in)) {
		unsigned int n = string_elem(in);
		uint64_t rdi = unstep(vp->regs.rdi, in, vp->regs.rflags, n) & x86_insn_addr_mask(in->addrsize);
		lin = linear(&vp->sregs, a->mode, X86_SEG_ES, rdi);
		return lin_to_gpa_any(vp, lin, &gpa) && gpa == x->gpa;
	}
	if (!x86_insn_effective_address(in, g, (start + in->len) & ip_mask(a->mode), &ea, &seg))
		return false;
	lin = linear(&vp->sregs, a->mode, seg, ea);
	if (!lin_to_gpa_any(vp, lin, &gpa) || gpa != x->gpa)
		return false;
	if (in->vex || in->map != X86_MAP_1BYTE)
		return true;

	/* MOV r/m, r and MOV r/m, imm: the written bytes are known. */
	uint64_t val;
	unsigned int size;
	unsigned int reg = ((in->modrm >> 3) & 7) | ((in->rex & X86_REX_R) ? 8 : 0);
	switch (in->opcode) {
	case 0x88:
		val = reg8(g, reg, in->has_rex);
		size = 1;
		break;
	case 0x89:
		val = g[reg];
		size = in->opsize;
		break;
	case 0xc6:
		val = in->imm;
		size = 1;
		break;
	case 0xc7:
		val = (uint64_t)x86_insn_sext(in->imm, in->imm_size);
		size = in->opsize;
		break;
	default:
		return true;
	}
	uint8_t want[8];
	for (unsigned int i = 0; i < 8; i++)
		want[i] = (uint8_t)(val >> (8 * i));
	size_t cmp = x->len < size ? x->len : size;
	return cmp <= 8 && memcmp(want, x->data, cmp) == 0;
}

static void mmio_message(struct sidecar_backend_vp *vp, unsigned int mode, const struct mmio_exit *x, uint8_t access,
			 const struct x86_insn *in, uint64_t start, bool gva_valid, uint64_t gva,
			 const struct kvm_regs *pre, struct hv_message *msg)
{
	struct hv_x64_memory_intercept_message *m = (struct hv_x64_memory_intercept_message *)msg->payload;

	begin_message(msg, HV_MESSAGE_TYPE_UNMAPPED_GPA, sizeof(*m));
	fill_header(vp, &m->header, access, start, in ? in->len : 0);
	m->header.rflags = pre->rflags;
	m->cache_type = HV_CACHE_TYPE_UNCACHED;
	m->instruction_byte_count = in ? insn_bytes(vp, mode, start, in->len, m->instruction_bytes) : 0;
	if (gva_valid) {
		uint64_t gpa;
		m->memory_access_info = HV_X64_MEMORY_ACCESS_GVA_VALID;
		if (lin_to_gpa_any(vp, gva, &gpa) && gpa == x->gpa)
			m->memory_access_info |= HV_X64_MEMORY_ACCESS_GVA_GPA_VALID;
		m->guest_virtual_address = gva;
	}
	m->guest_physical_address = x->gpa;
}

static int handle_mmio(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		       bool *fpu_stored, struct sidecar_command_error *err)
{
	const struct kvm_run *run = vp->run;
	struct mmio_exit x = {.gpa = run->mmio.phys_addr, .len = run->mmio.len, .write = run->mmio.is_write};
	unsigned int mode = code_mode(&vp->sregs);
	uint64_t rip_exit = vp->regs.rip;
	struct kvm_regs r0 = vp->regs;
	struct kvm_sregs s0 = vp->sregs;
	struct kvm_vcpu_events e0 = vp->events;
	struct completion_fill fill = {.have = false};
	struct x86_insn a, b;
	bool have_a = decode_at(vp, mode, rip_exit, &a);
	int rc;

	memcpy(x.data, run->mmio.data, sizeof(x.data));

	/* The completion may load the destination into an FP/SSE register: take the FXSAVE
	 * state from before it, and have the context's loaded again at the next run. */
	rc = store_fpu(vp, ctx, err);
	if (rc)
		return rc;
	*fpu_stored = true;

	if (!x.write && have_a && !a.vex && a.map == X86_MAP_1BYTE && (a.opcode == 0xa4 || a.opcode == 0xa5)) {
		/* MOVS from MMIO: KVM's emulator stores the data at ES:RDI; give it the bytes
		 * that are there. */
		uint64_t rdi = r0.rdi & x86_insn_addr_mask(a.addrsize);
		size_t n = x.len < 8 ? x.len : 8;
		fill.have = read_linear(vp, mode, linear(&s0, mode, X86_SEG_ES, rdi), fill.data, n) == n;
	}
	rc = complete_io(vp, &fill, err);
	if (rc)
		return rc;
	uint64_t rip_done = vp->regs.rip;

	const struct x86_insn *in = NULL;
	uint64_t start = rip_exit;
	struct kvm_regs pre = r0;
	if (!x.write) {
		/* KVM writes nothing back before a read: the exit state is the one from
		 * before the instruction. */
		if (have_a)
			in = &a;
	} else {
		struct mmio_match_arg arg = {.x = &x, .mode = mode, .vp = vp};
		struct kvm_regs done = vp->regs;
		bool written_back = true;
		uint64_t b_start;

		vp->regs = r0; /* match against the state at the exit */
		if (rip_done != rip_exit && have_a) {
			in = &a; /* KVM finished it only now: it had not written back */
			written_back = false;
		} else if (have_a && a.rep && is_string_store(&a) && mmio_write_match(vp, &a, rip_exit, &arg)) {
			in = &a; /* an unfinished REP keeps RIP on the instruction */
		} else if (decode_ending_at(vp, mode, rip_exit, mmio_write_match, &arg, &b, &b_start)) {
			in = &b;
			start = b_start;
		}
		vp->regs = done;
		if (!in) {
			set_err(err, "kvm: MMIO write to GPA %#llx at RIP %#llx: cannot find the instruction",
				(unsigned long long)x.gpa, (unsigned long long)rip_exit);
			return -EIO;
		}
		if (written_back && is_string_store(in)) {
			unsigned int n = string_elem(in);
			pre.rdi = unstep(pre.rdi, in, r0.rflags, n);
			if (in->opcode <= 0xa5)
				pre.rsi = unstep(pre.rsi, in, r0.rflags, n);
			if (in->rep)
				pre.rcx = add_count(pre.rcx, in, 1);
		}
	}
	pre.rip = start;

	/* The GVA, when the operand's address is known. */
	bool gva_valid = false;
	uint64_t gva = 0, ea;
	unsigned int seg;
	if (in) {
		uint64_t gp[16];
		gprs_encoding_order(&pre, gp);
		if (is_string_store(in) || (!x.write && !in->vex && in->map == X86_MAP_1BYTE &&
					    (in->opcode == 0xa4 || in->opcode == 0xa5 || in->opcode == 0xac ||
					     in->opcode == 0xad || in->opcode == 0xa6 || in->opcode == 0xa7))) {
			bool src = !x.write && (in->opcode == 0xa4 || in->opcode == 0xa5 || in->opcode == 0xac ||
						in->opcode == 0xad || in->opcode == 0xa6 || in->opcode == 0xa7);
			uint64_t off = (src ? pre.rsi : pre.rdi) & x86_insn_addr_mask(in->addrsize);
			unsigned int sg = src ? (in->seg != X86_SEG_NONE ? in->seg : X86_SEG_DS) : X86_SEG_ES;
			gva = linear(&s0, mode, sg, off);
			gva_valid = true;
		} else if (x86_insn_effective_address(in, gp, (start + in->len) & ip_mask(mode), &ea, &seg)) {
			gva = linear(&s0, mode, seg, ea);
			gva_valid = true;
		}
	}
	/* Put the VP back as it was before the instruction: the completion retired it. */
	vp->regs = pre;
	vp->dirty |= KVM_SYNC_X86_REGS;
	if (memcmp(&vp->sregs, &s0, sizeof(s0))) {
		vp->sregs = s0;
		vp->dirty |= KVM_SYNC_X86_SREGS;
	}
	if (memcmp(&vp->events, &e0, sizeof(e0))) {
		vp->events = e0;
		vp->dirty |= KVM_SYNC_X86_EVENTS;
	}
	vp->fx_shadow_valid = false;

	mmio_message(vp, mode, &x, x.write ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ, in, start, gva_valid,
		     gva, &pre, msg);
	if (!in) {
		set_err(err, "kvm: MMIO read of GPA %#llx at RIP %#llx: cannot decode the instruction",
			(unsigned long long)x.gpa, (unsigned long long)rip_exit);
		return -EIO;
	}
	return SIDECAR_RUN_INTERCEPT;
}

/* ---- other exits ------------------------------------------------------------------------------ */

static bool is_hlt(struct sidecar_backend_vp *vp, const struct x86_insn *in, uint64_t start, void *arg)
{
	(void)vp;
	(void)start;
	(void)arg;
	return !in->vex && in->map == X86_MAP_1BYTE && in->opcode == 0xf4;
}

/* KVM retired the HLT before exiting: put RIP back on it. */
static int handle_hlt(struct sidecar_backend_vp *vp, struct hv_message *msg)
{
	struct hv_x64_intercept_message_header h;
	unsigned int mode = code_mode(&vp->sregs);
	struct x86_insn in;
	uint64_t start;

	if (!decode_ending_at(vp, mode, vp->regs.rip, is_hlt, NULL, &in, &start)) {
		start = (vp->regs.rip - 1) & ip_mask(mode);
		in.len = 1;
	}
	vp->regs.rip = start;
	vp->dirty |= KVM_SYNC_X86_REGS;
	memset(&h, 0, sizeof(h));
	fill_header(vp, &h, HV_INTERCEPT_ACCESS_EXECUTE, start, in.len);
	begin_message(msg, HV_MESSAGE_TYPE_X64_HALT, sizeof(h));
	memcpy(msg->payload, &h, sizeof(h));
	return SIDECAR_RUN_INTERCEPT;
}

static int handle_shutdown(struct sidecar_backend_vp *vp, struct hv_message *msg)
{
	struct hv_x64_unrecoverable_exception_message m;

	memset(&m, 0, sizeof(m));
	fill_header(vp, &m.header, HV_INTERCEPT_ACCESS_EXECUTE, vp->regs.rip, 0);
	begin_message(msg, HV_MESSAGE_TYPE_UNRECOVERABLE_EXCEPTION, sizeof(m));
	memcpy(msg->payload, &m, sizeof(m));
	return SIDECAR_RUN_INTERCEPT;
}

/*
 * KVM cannot fetch instructions from a GPA without memory: its emulator fails. When that is
 * what happened (RIP translates outside RAM), it is Hyper-V's unmapped-GPA execute intercept;
 * anything else is a run error.
 */
static int handle_internal_error(struct sidecar_backend_vp *vp, struct hv_message *msg,
				 struct sidecar_command_error *err)
{
	const struct kvm_run *run = vp->run;
	unsigned int mode = code_mode(&vp->sregs);
	uint64_t lin = linear(&vp->sregs, mode, X86_SEG_CS, vp->regs.rip);

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		struct kvm_translation t = {.linear_address = lin};
		if (xioctl(vp->fd, KVM_TRANSLATE, &t) == 0 && t.valid && t.physical_address >= vp->be->cfg.mem_size) {
			struct mmio_exit x = {.gpa = t.physical_address};
			mmio_message(vp, mode, &x, HV_INTERCEPT_ACCESS_EXECUTE, NULL, vp->regs.rip, true, lin,
				     &vp->regs, msg);
			return SIDECAR_RUN_INTERCEPT;
		}
	}
	char data[96] = "";
	size_t used = 0;
	for (uint32_t i = 0; i < run->internal.ndata && i < 4 && used < sizeof(data); i++)
		used += (size_t)snprintf(data + used, sizeof(data) - used, " %#llx",
					 (unsigned long long)run->internal.data[i]);
	set_err(err, "kvm: internal error (suberror %u) at RIP %#llx, data:%s", run->internal.suberror,
		(unsigned long long)vp->regs.rip, data);
	return -EIO;
}

/* ---- run --------------------------------------------------------------------------------------- */

/* Brings the context's FXSAVE image up to date from the VP (the kernel calls it before a
 * GET/SET of an FX register while fx_stale is set). */
static int kvm_fx_sync(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
		       struct sidecar_command_error *err)
{
	int rc = store_fpu(vp, ctx, err);

	if (rc == 0)
		*sidecar_cpu_context_fx_stale(ctx) = 0;
	return rc;
}

static int kvm_vp_run(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		      const struct sidecar_run_ctl *ctl, struct sidecar_command_error *err)
{
	struct kvm_run *run = vp->run;
	bool entered = false, fpu_stored = false;
	int result, rc;

	/*
	 * Announce that KVM_RUN may be entered, then check the stop condition (below, before
	 * every KVM_RUN): with the full fence between, either this thread sees a stop stored
	 * before a kick, or the kicker sees in_run and signals (kvm_vp_kick).
	 */
	atomic_store_explicit(&vp->in_run, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);

	/* The VMM may have changed the tables or CR3 since the last exit. */
	vp->rcache_valid = false;
	rc = resolve_pending(vp, err);
	if (rc) {
		result = rc;
		goto out;
	}
	/* The VMM's registers from the context. */
	gprs_from_ctx(&vp->regs, ctx);
	vp->dirty |= KVM_SYNC_X86_REGS;
	if (ctx->gps[SIDECAR_CPU_CONTEXT_CR2] != vp->sregs.cr2) {
		vp->sregs.cr2 = ctx->gps[SIDECAR_CPU_CONTEXT_CR2];
		vp->dirty |= KVM_SYNC_X86_SREGS;
	}
	/* A stale image (fx_stale: the last run left the FPU state in the VP, LAZY_FX) must
	 * not be loaded over the newer state the VP holds. */
	if (!*sidecar_cpu_context_fx_stale(ctx)) {
		rc = load_fpu(vp, ctx, err);
		if (rc) {
			result = rc;
			goto out;
		}
	}

	for (;;) {
		if (ctl->should_stop(ctl)) {
			result = SIDECAR_RUN_STOPPED;
			break;
		}
		rc = enter(vp);
		entered = true;
		if (rc == -EINTR) {
			/* A kick, or a leftover one: clear, re-check the stop (kvm_vp_kick). */
			clear_immediate_exit(run);
			continue;
		}
		if (rc < 0) {
			set_err(err, "kvm: KVM_RUN: %s", strerror(-rc));
			result = rc;
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			result = handle_io(vp, msg, err);
			break;
		case KVM_EXIT_MMIO:
			result = handle_mmio(vp, ctx, msg, &fpu_stored, err);
			break;
		case KVM_EXIT_HLT:
			result = handle_hlt(vp, msg);
			break;
		case KVM_EXIT_SHUTDOWN:
			result = handle_shutdown(vp, msg);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			result = handle_internal_error(vp, msg, err);
			break;
		case KVM_EXIT_INTR:
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			continue;
		case KVM_EXIT_FAIL_ENTRY:
			set_err(err, "kvm: VM entry failed: hardware reason %#llx on cpu %u",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason, run->fail_entry.cpu);
			result = -EIO;
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			set_err(err, "kvm: system event %u", run->system_event.type);
			result = -EIO;
			break;
		default:
			set_err(err, "kvm: unexpected exit reason %u at RIP %#llx", run->exit_reason,
				(unsigned long long)vp->regs.rip);
			result = -EIO;
			break;
		}
		break;
	}

out:
	/* The CPU context gets the VP's registers back, as the upstream kernel saves the real
	 * CPU's after the dispatch. */
	if (entered) {
		gprs_to_ctx(&vp->regs, ctx);
		ctx->gps[SIDECAR_CPU_CONTEXT_CR2] = vp->sregs.cr2;
		if (fpu_stored) {
			*sidecar_cpu_context_fx_stale(ctx) = 0;
		} else if (ctl->lazy_fx) {
			/* Reading the FPU state is a vCPU ioctl (microseconds under nested
			 * virtualization): leave it in the VP until someone asks (kvm_fx_sync). */
			*sidecar_cpu_context_fx_stale(ctx) = 1;
			vp->fx_shadow_valid = false;
		} else {
			rc = store_fpu(vp, ctx, err);
			if (rc && result >= 0)
				result = rc;
			if (rc == 0)
				*sidecar_cpu_context_fx_stale(ctx) = 0;
		}
	}
	atomic_store_explicit(&vp->in_run, 0, memory_order_relaxed);
	return result;
}

/*
 * Any thread. The lost wake-up argument, with K the kicker and V the vCPU thread:
 *
 *   K: the caller stored the stop condition;  fence;  load in_run;  if set: immediate_exit = 1,
 *      tgkill(V, kick signal)
 *   V: in_run = 1;  fence;  loop { check stop;  KVM_RUN;  on EINTR: exchange(immediate_exit,
 *      0) (acquire);  loop }
 *
 * Suppose one of V's checks misses the stop; R is the KVM_RUN after it. Dekker on (stop,
 * in_run): K saw in_run = 1, so it stores immediate_exit = 1 and signals V. No clear of V's
 * before that check took K's store away: that exchange would have read K's 1, synchronizing
 * with K's fence, and the check after it would see the stop. So R reads either K's 1, or an
 * older value:
 *  - 1: R returns EINTR without entering the guest; V's exchange then reads K's 1 (or a later
 *    one), so V's next check sees the stop.
 *  - older: K's store, and the signal sent after it, come after R passed that test. If R is
 *    still in the kernel, the signal sets TIF_SIGPENDING, which KVM tests with interrupts off
 *    before every guest entry, and the signal's wake-up of a running task interrupts its CPU,
 *    forcing a VM exit: R returns EINTR. The handler runs on the way out, and delivery
 *    synchronizes with the sending (the kernel's signal lock), so V's next check sees the
 *    stop. If R had already returned with an exit, the run ends with it: the stop asked for
 *    nothing more. The late signal lands in the empty handler wherever V is (SA_RESTART),
 *    and the leftover immediate_exit costs the next run one KVM_RUN that returns at once.
 * No signal mask is swapped around KVM_RUN: the signal is simply unblocked in V. A kick while
 * V is parked, before the VP exists or after it is gone does nothing: in_run is 0 then, and
 * the platform keeps `vp` alive while kicks are in flight (plat_vp_online).
 */
static void kvm_vp_kick(struct sidecar_backend_vp *vp)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&vp->in_run, memory_order_relaxed))
		return;
	store_immediate_exit(vp->run, 1);
	syscall(SYS_tgkill, (pid_t)getpid(), vp->tid, vp->k->kick_signal);
}

/* ---- registers ---------------------------------------------------------------------------------- */

static bool msr_of(uint32_t name, uint32_t *msr)
{
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF) {
		*msr = MSR_MTRR_PHYS_BASE0 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0);
		return true;
	}
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF) {
		*msr = MSR_MTRR_PHYS_BASE0 + 1 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0);
		return true;
	}
	if (name >= HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 && name <= HV_X64_REGISTER_MSR_MTRR_FIX4K_F8000) {
		*msr = MSR_MTRR_FIX4K_C0000 + (name - HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000);
		return true;
	}
	switch (name) {
	case HV_X64_REGISTER_MSR_MTRR_FIX64K_00000:
		*msr = MSR_MTRR_FIX64K_00000;
		return true;
	case HV_X64_REGISTER_MSR_MTRR_FIX16K_80000:
		*msr = MSR_MTRR_FIX16K_80000;
		return true;
	case HV_X64_REGISTER_MSR_MTRR_FIX16K_A0000:
		*msr = MSR_MTRR_FIX16K_A0000;
		return true;
	case HV_X64_REGISTER_MSR_MTRR_CAP:
		*msr = MSR_MTRRCAP;
		return true;
	case HV_X64_REGISTER_MSR_MTRR_DEF_TYPE:
		*msr = MSR_MTRR_DEF_TYPE;
		return true;
	case HV_X64_REGISTER_TSC:
		*msr = MSR_IA32_TSC;
		return true;
	case HV_X64_REGISTER_KERNEL_GS_BASE:
		*msr = MSR_KERNEL_GS_BASE;
		return true;
	case HV_X64_REGISTER_PAT:
		*msr = MSR_PAT;
		return true;
	case HV_X64_REGISTER_SYSENTER_CS:
		*msr = MSR_SYSENTER_CS;
		return true;
	case HV_X64_REGISTER_SYSENTER_EIP:
		*msr = MSR_SYSENTER_EIP;
		return true;
	case HV_X64_REGISTER_SYSENTER_ESP:
		*msr = MSR_SYSENTER_ESP;
		return true;
	case HV_X64_REGISTER_STAR:
		*msr = MSR_STAR;
		return true;
	case HV_X64_REGISTER_LSTAR:
		*msr = MSR_LSTAR;
		return true;
	case HV_X64_REGISTER_CSTAR:
		*msr = MSR_CSTAR;
		return true;
	case HV_X64_REGISTER_SFMASK:
		*msr = MSR_SFMASK;
		return true;
	case HV_X64_REGISTER_TSC_AUX:
		*msr = MSR_TSC_AUX;
		return true;
	case HV_X64_REGISTER_SPEC_CTRL:
		*msr = MSR_IA32_SPEC_CTRL;
		return true;
	case HV_X64_REGISTER_XSS:
		*msr = MSR_IA32_XSS;
		return true;
	}
	return false;
}

/* Each PAT entry must name a memory type: UC, WC, WT, WP, WB or UC- (not all KVMs check). */
static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = (uint8_t)(pat >> (8 * i));
		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

static hv_status msr_get(struct sidecar_backend_vp *vp, uint32_t msr, uint64_t *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = msr;
	if (xioctl(vp->fd, KVM_GET_MSRS, &m) != 1)
		return HV_STATUS_INVALID_PARAMETER;
	*v = m.e.data;
	return HV_STATUS_SUCCESS;
}

static hv_status msr_set(struct sidecar_backend_vp *vp, uint32_t msr, uint64_t v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = msr;
	m.e.data = v;
	/* KVM_SET_MSRS answers how many it took: 0 means it rejected the value (or the MSR). */
	return xioctl(vp->fd, KVM_SET_MSRS, &m) == 1 ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

/* Applies an edited copy of the special registers (KVM validates it now, not at the next
 * run), then reads back what KVM made of it. */
static hv_status sregs_apply(struct sidecar_backend_vp *vp, struct kvm_sregs *s)
{
	if (xioctl(vp->fd, KVM_SET_SREGS, s))
		return HV_STATUS_INVALID_PARAMETER;
	vp->dirty &= ~(uint64_t)KVM_SYNC_X86_SREGS;
	if (xioctl(vp->fd, KVM_GET_SREGS, &vp->sregs)) {
		vp->sregs = *s;
		return HV_STATUS_OPERATION_FAILED;
	}
	return HV_STATUS_SUCCESS;
}

/*
 * EFER.LMA is the processor's, not software's: set exactly when LME and CR0.PG are. KVM wants
 * userspace to supply it consistently; deriving it lets a VMM enter long mode one register at
 * a time (CR4.PAE, EFER.LME, CR0.PG), as the guest itself would.
 */
static void efer_lma(struct kvm_sregs *s)
{
	if ((s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG))
		s->efer |= X86_EFER_LMA;
	else
		s->efer &= ~X86_EFER_LMA;
}

static hv_status events_apply(struct sidecar_backend_vp *vp, struct kvm_vcpu_events *e)
{
	if (!vp->k->has_vcpu_events || xioctl(vp->fd, KVM_SET_VCPU_EVENTS, e))
		return HV_STATUS_INVALID_PARAMETER;
	vp->dirty &= ~(uint64_t)KVM_SYNC_X86_EVENTS;
	if (xioctl(vp->fd, KVM_GET_VCPU_EVENTS, &vp->events))
		vp->events = *e;
	return HV_STATUS_SUCCESS;
}

static uint64_t pending_interruption_of(const struct kvm_vcpu_events *e)
{
	uint64_t type, vector, v = HV_PENDING_INTERRUPTION_PENDING;

	if (e->exception.injected) {
		vector = e->exception.nr;
		type = (vector == 3 || vector == 4) ? HV_PENDING_TYPE_SOFTWARE_EXCEPTION : HV_PENDING_TYPE_EXCEPTION;
		if (e->exception.has_error_code) {
			v |= HV_PENDING_DELIVER_ERROR_CODE;
			v |= (uint64_t)e->exception.error_code << 32;
		}
	} else if (e->nmi.injected) {
		vector = 2;
		type = HV_PENDING_TYPE_NMI;
	} else if (e->interrupt.injected) {
		vector = e->interrupt.nr;
		type = e->interrupt.soft ? HV_PENDING_TYPE_SOFTWARE_INTERRUPT : HV_PENDING_TYPE_INTERRUPT;
	} else {
		return 0;
	}
	return v | (type << HV_PENDING_TYPE_SHIFT) | (vector << HV_PENDING_VECTOR_SHIFT);
}

static hv_status set_pending_interruption(struct sidecar_backend_vp *vp, uint64_t v)
{
	struct kvm_vcpu_events e = vp->events;
	uint64_t type = (v >> HV_PENDING_TYPE_SHIFT) & HV_PENDING_TYPE_MASK;
	uint8_t vector = (uint8_t)(v >> HV_PENDING_VECTOR_SHIFT);

	if (v & HV_PENDING_RESERVED_MASK || (v >> HV_PENDING_VECTOR_SHIFT & 0xffff) > 0xff)
		return HV_STATUS_INVALID_PARAMETER;
	e.exception.injected = 0;
	e.exception.pending = 0;
	e.interrupt.injected = 0;
	e.nmi.injected = 0;
	if (v & HV_PENDING_INTERRUPTION_PENDING) {
		switch (type) {
		case HV_PENDING_TYPE_INTERRUPT:
		case HV_PENDING_TYPE_SOFTWARE_INTERRUPT:
			e.interrupt.injected = 1;
			e.interrupt.nr = vector;
			e.interrupt.soft = type == HV_PENDING_TYPE_SOFTWARE_INTERRUPT;
			break;
		case HV_PENDING_TYPE_NMI:
			e.nmi.injected = 1;
			break;
		case HV_PENDING_TYPE_EXCEPTION:
		case HV_PENDING_TYPE_PRIV_SOFTWARE_EXCEPTION:
		case HV_PENDING_TYPE_SOFTWARE_EXCEPTION:
			if (vector >= 32)
				return HV_STATUS_INVALID_PARAMETER;
			e.exception.injected = 1;
			e.exception.nr = vector;
			e.exception.has_error_code = !!(v & HV_PENDING_DELIVER_ERROR_CODE);
			e.exception.error_code = (uint32_t)(v >> 32);
			break;
		default:
			return HV_STATUS_INVALID_PARAMETER;
		}
	}
	e.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	return events_apply(vp, &e);
}

static hv_status set_interrupt_state(struct sidecar_backend_vp *vp, uint64_t v)
{
	struct kvm_vcpu_events e = vp->events;

	if (v & ~(HV_INTERRUPT_STATE_SHADOW | HV_INTERRUPT_STATE_NMI_MASKED))
		return HV_STATUS_INVALID_PARAMETER;
	if (!(v & HV_INTERRUPT_STATE_SHADOW))
		e.interrupt.shadow = 0;
	else if (!e.interrupt.shadow)
		e.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	e.nmi.masked = !!(v & HV_INTERRUPT_STATE_NMI_MASKED);
	e.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SMM;
	e.flags |= KVM_VCPUEVENT_VALID_SHADOW;
	return events_apply(vp, &e);
}

static hv_status kvm_get_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
				  union hv_register_value *out)
{
	const struct kvm_sregs *s = &vp->sregs;
	uint32_t msr;

	(void)vtl;
	memset(out, 0, sizeof(*out));
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		seg_to_hv(sreg_seg(&vp->sregs, name - HV_X64_REGISTER_ES), &out->segment);
		return HV_STATUS_SUCCESS;
	}
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR7) {
		struct kvm_debugregs d;
		if (!vp->k->has_debugregs || xioctl(vp->fd, KVM_GET_DEBUGREGS, &d))
			return HV_STATUS_INVALID_PARAMETER;
		vp->dr7 = d.dr7;
		unsigned int i = name - HV_X64_REGISTER_DR0;
		out->reg64 = i < 4 ? d.db[i] : i == 4 ? d.dr6 : d.dr7;
		return HV_STATUS_SUCCESS;
	}
	switch (name) {
	case HV_X64_REGISTER_RSP:
		out->reg64 = vp->regs.rsp;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_RIP:
		out->reg64 = vp->regs.rip;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_RFLAGS:
		out->reg64 = vp->regs.rflags;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR0:
		out->reg64 = s->cr0;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR3:
		out->reg64 = s->cr3;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR4:
		out->reg64 = s->cr4;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR8:
		out->reg64 = s->cr8;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_EFER:
		out->reg64 = s->efer;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_APIC_BASE:
		out->reg64 = s->apic_base;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_IDTR:
		out->table.limit = s->idt.limit;
		out->table.base = s->idt.base;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_GDTR:
		out->table.limit = s->gdt.limit;
		out->table.base = s->gdt.base;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_XFEM: {
		struct kvm_xcrs x;
		if (!vp->k->has_xcrs || xioctl(vp->fd, KVM_GET_XCRS, &x))
			return HV_STATUS_INVALID_PARAMETER;
		for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (x.xcrs[i].xcr == 0)
				out->reg64 = x.xcrs[i].value;
		return HV_STATUS_SUCCESS;
	}
	case HV_REGISTER_PENDING_INTERRUPTION:
		if (!vp->k->has_vcpu_events)
			return HV_STATUS_INVALID_PARAMETER;
		out->reg64 = pending_interruption_of(&vp->events);
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_INTERRUPT_STATE:
		if (!vp->k->has_vcpu_events)
			return HV_STATUS_INVALID_PARAMETER;
		out->reg64 = (vp->events.interrupt.shadow ? HV_INTERRUPT_STATE_SHADOW : 0) |
			     (vp->events.nmi.masked ? HV_INTERRUPT_STATE_NMI_MASKED : 0);
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_INSTRUCTION_EMULATION_HINTS:
		out->reg64 = vp->emulation_hints;
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_GUEST_OS_ID:
		out->reg64 = vp->guest_os_id;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_INITIAL_APIC_ID:
	case HV_REGISTER_VP_INDEX:
		out->reg64 = vp->vp_index;
		return HV_STATUS_SUCCESS;
	}
	if (msr_of(name, &msr))
		return msr_get(vp, msr, &out->reg64);
	return HV_STATUS_INVALID_PARAMETER;
}

static hv_status kvm_set_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
				  const union hv_register_value *value)
{
	struct kvm_sregs s = vp->sregs;
	uint64_t v = value->reg64;
	uint32_t msr;

	(void)vtl;
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		if (!seg_from_hv(&value->segment, sreg_seg(&s, name - HV_X64_REGISTER_ES)))
			return HV_STATUS_INVALID_PARAMETER;
		return sregs_apply(vp, &s);
	}
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR7) {
		struct kvm_debugregs d;
		if (!vp->k->has_debugregs || xioctl(vp->fd, KVM_GET_DEBUGREGS, &d))
			return HV_STATUS_INVALID_PARAMETER;
		unsigned int i = name - HV_X64_REGISTER_DR0;
		if (i < 4)
			d.db[i] = v;
		else if (i == 4)
			d.dr6 = v;
		else
			d.dr7 = v;
		d.flags = 0;
		if (xioctl(vp->fd, KVM_SET_DEBUGREGS, &d))
			return HV_STATUS_INVALID_PARAMETER;
		vp->dr7 = d.dr7;
		return HV_STATUS_SUCCESS;
	}
	switch (name) {
	case HV_X64_REGISTER_RSP:
		vp->regs.rsp = v;
		vp->dirty |= KVM_SYNC_X86_REGS;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_RIP:
		vp->regs.rip = v;
		vp->dirty |= KVM_SYNC_X86_REGS;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_RFLAGS:
		vp->regs.rflags = v;
		vp->dirty |= KVM_SYNC_X86_REGS;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR0:
		s.cr0 = v;
		efer_lma(&s);
		return sregs_apply(vp, &s);
	case HV_X64_REGISTER_CR3:
		s.cr3 = v;
		return sregs_apply(vp, &s);
	case HV_X64_REGISTER_CR4:
		s.cr4 = v;
		return sregs_apply(vp, &s);
	case HV_X64_REGISTER_EFER:
		/* KVM_SET_SREGS takes any EFER; the MSR write checks it against what the
		 * guest's CPUID allows (LMA aside, which follows below). */
		if (msr_set(vp, MSR_EFER, (v & ~X86_EFER_LMA) | (vp->sregs.efer & X86_EFER_LMA)) != HV_STATUS_SUCCESS)
			return HV_STATUS_INVALID_PARAMETER;
		s.efer = v;
		efer_lma(&s);
		return sregs_apply(vp, &s);
	case HV_X64_REGISTER_APIC_BASE:
		s.apic_base = v;
		return sregs_apply(vp, &s);
	case HV_X64_REGISTER_CR8:
		if (v > 0xf)
			return HV_STATUS_INVALID_PARAMETER;
		/* Loaded from kvm_run->cr8 at the next entry (enter()). */
		vp->sregs.cr8 = v;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_IDTR:
		s.idt.limit = value->table.limit;
		s.idt.base = value->table.base;
		return sregs_apply(vp, &s);
	case HV_X64_REGISTER_GDTR:
		s.gdt.limit = value->table.limit;
		s.gdt.base = value->table.base;
		return sregs_apply(vp, &s);
	case HV_X64_REGISTER_XFEM: {
		struct kvm_xcrs x;
		if (!vp->k->has_xcrs)
			return HV_STATUS_INVALID_PARAMETER;
		memset(&x, 0, sizeof(x));
		x.nr_xcrs = 1;
		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = v;
		return xioctl(vp->fd, KVM_SET_XCRS, &x) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	}
	case HV_REGISTER_PENDING_INTERRUPTION:
		return set_pending_interruption(vp, v);
	case HV_REGISTER_INTERRUPT_STATE:
		return set_interrupt_state(vp, v);
	case HV_REGISTER_INSTRUCTION_EMULATION_HINTS:
		vp->emulation_hints = v;
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_GUEST_OS_ID:
		vp->guest_os_id = v;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_INITIAL_APIC_ID:
	case HV_REGISTER_VP_INDEX:
	case HV_X64_REGISTER_MSR_MTRR_CAP:
		return HV_STATUS_ACCESS_DENIED; /* read-only */
	}
	if (msr_of(name, &msr)) {
		if (msr == MSR_PAT && !pat_valid(v))
			return HV_STATUS_INVALID_PARAMETER;
		return msr_set(vp, msr, v);
	}
	return HV_STATUS_INVALID_PARAMETER;
}

/* ---- GVA translation ----------------------------------------------------------------------------- */

#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_CR4_PKE (1ull << 22)
#define X86_RFLAGS_AC (1ull << 18)

/*
 * KVM_TRANSLATE for `lin`: valid and GPA. KVM walks for an explicit supervisor data read
 * (x86: kvm_mmu_gva_to_gpa_system), so with CR4.SMAP on and RFLAGS.AC clear it also fails on
 * user pages; RFLAGS.AC is set around the call to keep the answer about the walk alone, and
 * the VP's RFLAGS put back (the next run loads them anyway).
 */
static int kvm_walk(struct sidecar_backend_vp *vp, uint64_t lin, bool *valid, uint64_t *gpa, bool *writeable)
{
	/* Whatever the cached RFLAGS says: KVM's own copy is loaded only by the next run. */
	bool smap = (vp->sregs.cr4 & X86_CR4_SMAP) && (vp->sregs.cr0 & X86_CR0_PG);
	struct kvm_translation t = {.linear_address = lin};
	int rc;

	if (smap) {
		struct kvm_regs r = vp->regs;
		r.rflags |= X86_RFLAGS_AC;
		rc = xioctl(vp->fd, KVM_SET_REGS, &r);
		if (rc)
			return rc;
	}
	rc = xioctl(vp->fd, KVM_TRANSLATE, &t);
	if (smap) {
		int rc2 = xioctl(vp->fd, KVM_SET_REGS, &vp->regs);
		if (!rc)
			rc = rc2;
	}
	*valid = t.valid;
	*gpa = t.physical_address;
	*writeable = t.writeable;
	return rc;
}

/*
 * HvCallTranslateVirtualAddressEx through KVM_TRANSLATE, which answers only "valid" and the
 * GPA of a supervisor read (its `writeable` and `usermode` fields are constants, 1 and 0, on
 * x86: they carry no information). What it can express, answered by KVM alone:
 *
 *   SUCCESS + GPA, PAGE_NOT_PRESENT and GPA_UNMAPPED (the final GPA is beyond RAM), for
 *   requests that validate at most READ as a supervisor (CPL < 3 or SUPERVISOR_ACCESS;
 *   neither USER_ACCESS nor PRIVILEGE_EXEMPT), without SET_PAGE_TABLE_BITS, with CR4.SMEP,
 *   SMAP and PKE clear; with paging off, any request (the identity).
 *
 * Anything else (validate write or execute, user-mode accesses, SMEP/SMAP, A/D bits) is
 * decided in two steps: KVM answers for the walk (present, and where to), the software walker
 * (kernel/gva_walk.h) over the same registers and tables for the permissions KVM cannot
 * report, and sets the A/D bits. What KVM cannot say at all: a walk it fails is
 * PAGE_NOT_PRESENT even where Hyper-V says INVALID_PAGE_TABLE_FLAGS (reserved bits, a 1 GiB
 * page the guest's CPUID lacks, a non-canonical GVA) or GPA_UNMAPPED (a table outside RAM), or
 * where a protection key (CR4.PKE) refused it. KVM's walk also sets Accessed bits by itself.
 */
static hv_status kvm_translate_gva(struct sidecar_backend_vp *vp, uint64_t gvn, uint64_t control_flags,
				   struct hv_translate_virtual_address_ex_output_x64 *out)
{
	const struct kvm_sregs *s = &vp->sregs;
	bool paging = s->cr0 & X86_CR0_PG;
	uint64_t gva = (gvn & (~0ull >> 12)) << 12;
	uint64_t gpa = 0;
	bool valid, writeable;
	uint32_t code;

	memset(out, 0, sizeof(*out));
	if (control_flags & HV_TRANSLATE_GVA_RESERVED_MASK)
		return HV_STATUS_INVALID_PARAMETER;
	if ((control_flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS) && (control_flags & HV_TRANSLATE_GVA_USER_ACCESS))
		return HV_STATUS_INVALID_PARAMETER;
	if (!(s->efer & X86_EFER_LMA))
		gva &= 0xffffffffull;

	if (kvm_walk(vp, gva, &valid, &gpa, &writeable))
		return HV_STATUS_OPERATION_FAILED;
	if (!valid) {
		code = HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		goto done;
	}
	gpa &= ~(PAGE_SIZE_4K - 1);
	code = HV_TRANSLATE_GVA_SUCCESS;

	bool user = (control_flags & HV_TRANSLATE_GVA_USER_ACCESS) ||
		    (!(control_flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS) && vp_cpl(s) == 3);
	bool expressible =
		!(s->cr4 & (X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE)) && !user &&
		!(control_flags & (HV_TRANSLATE_GVA_VALIDATE_WRITE | HV_TRANSLATE_GVA_VALIDATE_EXECUTE |
				   HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS | HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT));
	if ((control_flags & HV_TRANSLATE_GVA_VALIDATE_WRITE) && !writeable)
		code = HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION; /* never, on x86: writeable is 1 */
	if (code == HV_TRANSLATE_GVA_SUCCESS && paging && !expressible) {
		struct sidecar_guest_memory mem = {.base = vp->be->cfg.mem, .size = vp->be->cfg.mem_size};
		struct sidecar_gva_walk_regs r = {
			.cr0 = s->cr0,
			.cr3 = s->cr3,
			.cr4 = s->cr4,
			.efer = s->efer,
			.rflags = vp->regs.rflags,
			.cpl = vp_cpl(s),
			.maxphyaddr = vp->k->maxphyaddr,
		};
		struct hv_translate_virtual_address_ex_output_x64 w;
		hv_status st = sidecar_gva_translate(&mem, &r, gvn, control_flags, &w);
		if (st != HV_STATUS_SUCCESS)
			return st;
		/* Only its permission verdict: the walk itself is KVM's. */
		if (HV_TRANSLATE_GVA_RESULT_CODE(w.translation_result.result) == HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION)
			code = HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	}
	if (code == HV_TRANSLATE_GVA_SUCCESS &&
	    (gpa >= vp->be->cfg.mem_size || vp->be->cfg.mem_size - gpa < PAGE_SIZE_4K))
		code = HV_TRANSLATE_GVA_GPA_UNMAPPED;
done:
	out->translation_result.result = code;
	if (code == HV_TRANSLATE_GVA_SUCCESS) {
		out->translation_result.result |= (uint64_t)HV_CACHE_TYPE_WRITE_BACK << 32;
		out->gpa_page = gpa >> 12;
	}
	return HV_STATUS_SUCCESS;
}

/* ---- register page --------------------------------------------------------------------------------- */

static void kvm_register_page_store(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
				    struct hv_x64_register_page *page)
{
	for (int i = 0; i < 16; i++)
		page->gp_registers[i] = ctx->gps[i];
	page->gp_registers[4] = vp->regs.rsp; /* the context holds CR2 in RSP's slot */
	page->rip = vp->regs.rip;
	page->rflags = vp->regs.rflags;
	memcpy(page->xmm, ctx->fx_state.xmm, sizeof(page->xmm));
	for (unsigned int i = 0; i < 6; i++)
		seg_to_hv(sreg_seg(&vp->sregs, i), &page->segment[i]);
	page->cr0 = vp->sregs.cr0;
	page->cr3 = vp->sregs.cr3;
	page->cr4 = vp->sregs.cr4;
	page->cr8 = vp->sregs.cr8;
	page->efer = vp->sregs.efer;
	/* DR7 has no sync area: the last value read or written through the register API. */
	page->dr7 = vp->dr7;
	page->pending_interruption = pending_interruption_of(&vp->events);
	page->interrupt_state = (vp->events.interrupt.shadow ? HV_INTERRUPT_STATE_SHADOW : 0) |
				(vp->events.nmi.masked ? HV_INTERRUPT_STATE_NMI_MASKED : 0);
	page->instruction_emulation_hints = vp->emulation_hints;
	page->dirty = 0;
}

static void kvm_register_page_load(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
				   struct hv_x64_register_page *page)
{
	uint32_t dirty = page->dirty;

	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE) {
		for (int i = 0; i < 16; i++)
			if (i != 4)
				ctx->gps[i] = page->gp_registers[i];
		vp->regs.rsp = page->gp_registers[4];
		vp->dirty |= KVM_SYNC_X86_REGS;
	}
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER) {
		vp->regs.rip = page->rip;
		vp->dirty |= KVM_SYNC_X86_REGS;
	}
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_FLAGS) {
		vp->regs.rflags = page->rflags;
		vp->dirty |= KVM_SYNC_X86_REGS;
	}
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_XMM)
		memcpy(ctx->fx_state.xmm, page->xmm, sizeof(page->xmm));
	if (dirty & HV_X64_REGISTER_PAGE_DIRTY_SEGMENTS) {
		/* Validated by KVM when the run loads them: a value it rejects fails the run. */
		for (unsigned int i = 0; i < 6; i++) {
			struct kvm_segment seg;
			if (seg_from_hv(&page->segment[i], &seg))
				*sreg_seg(&vp->sregs, i) = seg;
		}
		vp->dirty |= KVM_SYNC_X86_SREGS;
	}
	page->dirty = 0;
}

const struct sidecar_backend_ops sidecar_backend_kvm_ops = {
	.name = "kvm",
	.init = kvm_init,
	.fini = kvm_fini,
	.vp_create = kvm_vp_create,
	.vp_destroy = kvm_vp_destroy,
	.vp_run = kvm_vp_run,
	.vp_kick = kvm_vp_kick,
	.get_register = kvm_get_register,
	.set_register = kvm_set_register,
	.translate_gva = kvm_translate_gva,
	.register_page_store = kvm_register_page_store,
	.fx_sync = kvm_fx_sync,
	.register_page_load = kvm_register_page_load,
};
