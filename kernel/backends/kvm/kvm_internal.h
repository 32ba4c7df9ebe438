/* SPDX-License-Identifier: MIT */
/*
 * The KVM VP backend's private interface: what its files share (docs/kvm.md).
 *
 * Each VP is a real vCPU of one KVM VM per backend. Guest RAM is the client's shared buffer at
 * GPA 0; anything above it is unbacked, so a guest access there is an "unmapped GPA"
 * intercept, as under Hyper-V. There is no in-kernel irqchip, so HLT exits to us. Every call
 * is made on the sidecar CPU's thread except vp_kick.
 *
 * The files, by concern:
 *   setup.c      probing this KVM, creating the VM (init, fini) and the ops table
 *   vcpu.c       a VP's vCPU: creation, reset state, destruction
 *   convert.c    state conversion between KVM's structures and Hyper-V's
 *   state.c      moving the caches and the FPU image in and out of KVM
 *   locate.c     the VP's view of its address space, and locating the exiting instruction
 *   insn.c       x86 decoding (Zydis), kvm_insn.h
 *   io.c         port I/O exits
 *   mmio.c       MMIO exits, and execution from unbacked GPAs
 *   exits.c      the intercept messages' common parts, HLT and shutdown exits, run errors
 *   run.c        the run loop, completing KVM's pending accesses, and the kick
 *   regs.c       get/set register: one table locates every register for both
 *   translate.c  GVA translation
 *   regpage.c    the register page
 *
 * Register homes while the VP is stopped: the GP registers but RSP, CR2 and the FXSAVE image
 * live in the command page's CPU context (kernel/core/regs_home.h); RSP, RIP, RFLAGS, the
 * segment and control registers and the event state live in the caches below, which ride in
 * and out of KVM_RUN through kvm_run->s.regs (KVM_CAP_SYNC_REGS) without an ioctl; the rest is
 * read and written with ioctls on demand.
 */
#ifndef SIDECAR_KVM_INTERNAL_H
#define SIDECAR_KVM_INTERNAL_H

#include "backend.h"
#include "kvm_insn.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#define PAGE_SIZE_4K 4096ull

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_PG (1ull << 31)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_RFLAGS_DF (1ull << 10)
#define X86_RFLAGS_VM (1ull << 17)

/* All the sync-register areas we use, when KVM offers them. */
#define SYNC_ALL (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

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

/* How many plain IN/OUT sites a VP remembers (struct io_site). */
#define IO_SITES 4

/* A port I/O exit whose completion is left to the next KVM_RUN. */
enum pending_io {
	PENDING_NONE,
	PENDING_FAST_PIO,
};

/* A plain IN/OUT resolved by decoding (io.c), for a device loop that exits at the same
 * instruction again. The choice there is a function of exactly these inputs, so equal inputs
 * give the same instruction: no invalidation. */
struct io_site {
	bool valid;
	bool out, advances;
	uint8_t mode, size, back; /* back: RIP at the exit minus the instruction's start */
	uint16_t port, dx;
	uint8_t have_before, have_after;
	uint8_t before[X86_INSN_MAX_LEN], after[X86_INSN_MAX_LEN];
	struct x86_insn insn;
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

	/* kvm_lin_to_gpa_any()'s memory, valid until the next KVM_RUN. */
	bool tcache_valid;
	uint64_t tcache_page, tcache_gpa;
	/* The software walk's (locate.c): one page it found in RAM, valid until the next
	 * KVM_RUN (the guest's tables do not change while it is out of the guest). */
	bool rcache_valid;
	uint64_t rcache_page, rcache_gpa;

	/* The last IO_SITES plain IN/OUT sites, replaced in turn: a driver that polls a status
	 * port and writes a data port exits at two sites alternately, and each would evict the
	 * other from a single entry. */
	struct io_site io_sites[IO_SITES];
	uint8_t io_site_next;

	/* Where the guest last entered (run.c, before each KVM_RUN that may run it): an
	 * instruction boundary from which the code can be decoded forward (locate.c). */
	bool entry_valid;
	uint8_t entry_mode;
	uint64_t entry_rip, entry_cs_base;

	enum pending_io pending;
	bool pending_lazy_ok;     /* the probe's verdict for this direction */
	uint64_t pending_lin_end; /* linear address right after the instruction */
};

/* ---- small helpers -------------------------------------------------------------------------- */

/* An ioctl: 0 (or its non-negative result) or -errno. */
static inline int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR && req != KVM_RUN);
	return rc < 0 ? -errno : rc;
}

/* The segment register `idx` (enum x86_seg order; 6 is LDTR, 7 TR) of a kvm_sregs. */
static inline struct kvm_segment *kvm_sreg_seg(struct kvm_sregs *s, unsigned int idx)
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

/* struct kvm_segment -> Hyper-V's segment register (convert.c has the other direction).
 * Inline: an I/O exit's message takes three (CS, DS, ES). */
static inline void kvm_seg_to_hv(const struct kvm_segment *s, struct hv_x64_segment_register *h)
{
	h->base = s->base;
	h->limit = s->limit;
	h->selector = s->selector;
	h->attributes =
		(uint16_t)((s->type & 0xf) | (s->s ? HV_X64_SEGMENT_ATTR_NON_SYSTEM : 0) |
			   ((s->dpl & 3) << HV_X64_SEGMENT_ATTR_DPL_SHIFT) |
			   (s->present ? HV_X64_SEGMENT_ATTR_PRESENT : 0) |
			   (s->avl ? HV_X64_SEGMENT_ATTR_AVAILABLE : 0) | (s->l ? HV_X64_SEGMENT_ATTR_LONG : 0) |
			   (s->db ? HV_X64_SEGMENT_ATTR_DEFAULT : 0) | (s->g ? HV_X64_SEGMENT_ATTR_GRANULARITY : 0));
}

/* ---- the VP's view of its own address space ------------------------------------------------ */

/* The mode the VP's code runs in (enum x86_mode): decoding and address arithmetic follow it. */
static inline enum x86_mode kvm_code_mode(const struct sidecar_backend_vp *vp)
{
	const struct kvm_sregs *s = &vp->sregs;

	if (!(s->cr0 & X86_CR0_PE) || (vp->regs.rflags & X86_RFLAGS_VM))
		return X86_MODE_REAL;
	if ((s->efer & X86_EFER_LMA) && s->cs.l)
		return X86_MODE_LONG64;
	return s->cs.db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

static inline uint64_t ip_mask(unsigned int mode)
{
	return mode == X86_MODE_LONG64 ? ~0ull : mode == X86_MODE_PROT32 ? 0xffffffffull : 0xffffull;
}

/* The linear address of seg:offset. In 64-bit code only FS and GS have a base. */
static inline uint64_t linear(const struct kvm_sregs *s, unsigned int mode, unsigned int seg, uint64_t off)
{
	const struct kvm_segment *sg = kvm_sreg_seg((struct kvm_sregs *)s, seg);

	if (mode == X86_MODE_LONG64)
		return (seg == X86_SEG_FS || seg == X86_SEG_GS) ? sg->base + off : off;
	return (sg->base + off) & 0xffffffffull;
}

static inline uint8_t vp_cpl(const struct kvm_sregs *s)
{
	return (s->cr0 & X86_CR0_PE) ? (uint8_t)(s->ss.dpl & 3) : 0;
}

/* ---- convert.c ------------------------------------------------------------------------------- */

bool kvm_seg_from_hv(const struct hv_x64_segment_register *h, struct kvm_segment *s);
void kvm_fpu_to_fx(const struct kvm_fpu *f, struct x86_fxsave *fx, uint32_t mxcsr_mask);
void kvm_fx_to_fpu(const struct x86_fxsave *fx, struct kvm_fpu *f);
bool kvm_fx_differs(const struct x86_fxsave *a, const struct x86_fxsave *b);
void kvm_gprs_encoding_order(const struct kvm_regs *r, uint64_t g[16]);
void kvm_gprs_from_ctx(struct kvm_regs *r, const struct sidecar_cpu_context_x64 *ctx);
void kvm_gprs_to_ctx(const struct kvm_regs *r, struct sidecar_cpu_context_x64 *ctx);
uint64_t kvm_pending_interruption_of(const struct kvm_vcpu_events *e);
uint64_t kvm_interrupt_state_of(const struct kvm_vcpu_events *e);
hv_status kvm_events_set_pending_interruption(struct kvm_vcpu_events *e, uint64_t v);
hv_status kvm_events_set_interrupt_state(struct kvm_vcpu_events *e, uint64_t v);

/* ---- state.c --------------------------------------------------------------------------------- */

int kvm_pull_state(struct sidecar_backend_vp *vp, bool after_run);
int kvm_load_fpu(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
		 struct sidecar_command_error *err);
int kvm_store_fpu(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
		  struct sidecar_command_error *err);
int kvm_fx_sync(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct sidecar_command_error *err);

/* ---- locate.c -------------------------------------------------------------------------------- */

/* Whether `in`, starting at `start` (an offset in CS), is the instruction an exit reports. */
typedef bool (*insn_match_fn)(struct sidecar_backend_vp *vp, const struct x86_insn *in, uint64_t start, void *arg);

bool kvm_lin_to_gpa_any(struct sidecar_backend_vp *vp, uint64_t lin, uint64_t *gpa);
size_t kvm_read_linear(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t lin, uint8_t *buf, size_t len);
bool kvm_decode_at(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t ip, struct x86_insn *in);
size_t kvm_read_before(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip, uint8_t b[X86_INSN_MAX_LEN]);
/* How kvm_decode_ending_in() chooses among candidates that all match exactly (locate.c). */
enum locate_ties {
	/* By the bytes alone: the choice is then a function of the code before RIP, which the
	 * I/O site memory relies on (io.c). */
	TIES_BY_BYTES,
	/* By the code's flow from where the VP entered KVM_RUN, else by the bytes. */
	TIES_BY_FLOW,
};

bool kvm_decode_ending_in(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip,
			  const uint8_t b[X86_INSN_MAX_LEN], size_t have, enum locate_ties ties, insn_match_fn match,
			  void *arg, struct x86_insn *in, uint64_t *start);
bool kvm_decode_ending_at(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t end_ip, enum locate_ties ties,
			  insn_match_fn match, void *arg, struct x86_insn *in, uint64_t *start);
uint64_t kvm_unstep(uint64_t reg, const struct x86_insn *in, uint64_t rflags, uint64_t bytes);
uint64_t kvm_add_count(uint64_t rcx, const struct x86_insn *in, uint64_t n);

/* ---- exits.c --------------------------------------------------------------------------------- */

#define kvm_set_err sidecar_kernel_format_error /* the core's (kernel/core/backend.h) */
void kvm_fill_header(const struct sidecar_backend_vp *vp, struct hv_x64_intercept_message_header *h, uint8_t access,
		     uint64_t rip, unsigned int insn_len);
int kvm_handle_hlt(struct sidecar_backend_vp *vp, struct hv_message *msg);

int kvm_handle_shutdown(struct sidecar_backend_vp *vp, struct hv_message *msg);

/* Every intercept message starts with these two: inline, for the exit path. */
static inline void kvm_begin_message(struct hv_message *msg, uint32_t type, uint8_t len)
{
	memset(msg, 0, sizeof(*msg));
	msg->header.type = type;
	msg->header.len = len;
}

/* The instruction's own bytes (at most 16), for the message. */
static inline uint8_t kvm_insn_bytes(struct sidecar_backend_vp *vp, unsigned int mode, uint64_t ip, unsigned int len,
				     uint8_t out[16])
{
	memset(out, 0, 16);
	if (len > 16)
		len = 16;
	return (uint8_t)kvm_read_linear(vp, mode, linear(&vp->sregs, mode, X86_SEG_CS, ip), out, len);
}

/* ---- io.c, mmio.c ---------------------------------------------------------------------------- */

int kvm_handle_io(struct sidecar_backend_vp *vp, struct hv_message *msg, struct sidecar_command_error *err);
int kvm_handle_mmio(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		    bool *fpu_stored, struct sidecar_command_error *err);
int kvm_handle_internal_error(struct sidecar_backend_vp *vp, struct hv_message *msg, struct sidecar_command_error *err);

/* ---- run.c ----------------------------------------------------------------------------------- */

/* The data of an MMIO read that is being completed only to retire the instruction: the
 * bytes already at the destination, if known, so that the write KVM's emulator then makes
 * (MOVS from MMIO to RAM) changes nothing. */
struct completion_fill {
	bool have;
	uint8_t data[8];
};

int kvm_kick_signal_install(int sig);
/* immediate_exit, shared with the kickers (run.c, enter.c). */
static inline void store_immediate_exit(struct kvm_run *run, uint8_t v)
{
	/* The byte is read by the kernel at KVM_RUN entry and written by kickers on other
	 * threads: an atomic store keeps the compiler from tearing or eliding it. */
	__atomic_store_n(&run->immediate_exit, v, __ATOMIC_RELAXED);
}

/* After a KVM_RUN that returned EINTR: clear immediate_exit, then look at the stop
 * condition again. The clear is an exchange: when it takes a kicker's 1 away, it reads that
 * store, which came after the kicker's stop store and fence (kvm_vp_kick), so it
 * synchronizes with the kicker and the look sees the stop. */
static inline void clear_immediate_exit(struct kvm_run *run)
{
	(void)__atomic_exchange_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/* The pieces of an MMIO write as KVM reports them: one exit each, at most 8 bytes, the
 * exit's first and then every further one that completing it brings (kvm_complete_io): an
 * access longer than 8 bytes, or split at a page boundary. As many as the completion allows
 * rounds. */
#define MMIO_PIECES 64
struct mmio_pieces {
	unsigned int n;
	struct {
		uint64_t gpa;
		uint32_t len;
		uint8_t data[8];
	} p[MMIO_PIECES];
};

int kvm_enter(struct sidecar_backend_vp *vp);
int kvm_complete_io(struct sidecar_backend_vp *vp, const struct completion_fill *fill, struct mmio_pieces *pieces,
		    struct sidecar_command_error *err);
int kvm_vp_run(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
	       const struct sidecar_run_ctl *ctl, struct sidecar_command_error *err);
void kvm_vp_kick(struct sidecar_backend_vp *vp);

/* ---- the remaining operations ---------------------------------------------------------------- */

int kvm_vp_create(struct sidecar_backend *be, uint32_t vp_index, struct sidecar_backend_vp **out);
void kvm_vp_destroy(struct sidecar_backend_vp *vp);
hv_status kvm_get_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name, union hv_register_value *out);
hv_status kvm_set_register(struct sidecar_backend_vp *vp, uint8_t vtl, uint32_t name,
			   const union hv_register_value *value);
hv_status kvm_translate_gva(struct sidecar_backend_vp *vp, uint64_t gvn, uint64_t control_flags,
			    struct hv_translate_virtual_address_ex_output_x64 *out);
void kvm_register_page_store(struct sidecar_backend_vp *vp, const struct sidecar_cpu_context_x64 *ctx,
			     struct hv_x64_register_page *page);
void kvm_register_page_load(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
			    struct hv_x64_register_page *page);

#endif /* SIDECAR_KVM_INTERNAL_H */
