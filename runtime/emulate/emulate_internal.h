/* SPDX-License-Identifier: MIT */
/*
 * libsidecar-emulate's internals: the emulator object, the per-call view of the stopped VP
 * (registers, segments, translation) and the guest-memory layer shared by the port-I/O and
 * the MMIO paths. Uses libsidecar's public API only.
 */
#ifndef SIDECAR_EMULATE_INTERNAL_H
#define SIDECAR_EMULATE_INTERNAL_H

#include <sidecar/emulate.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define EMU_ERR_LEN 192

/* The functions shared between the files carry the library's prefix in the object code (a
 * static link must not clash with the VMM's names); the shared library exports none. */
#define emu_fail sidecar_emu_fail
#define emu_copy_io sidecar_emu_copy_io
#define emu_copy_memory sidecar_emu_copy_memory
#define emu_cpu_init sidecar_emu_cpu_init
#define emu_gpr_read sidecar_emu_gpr_read
#define emu_gpr_write sidecar_emu_gpr_write
#define emu_seg_base sidecar_emu_seg_base
#define emu_finish sidecar_emu_finish
#define emu_translate sidecar_emu_translate
#define emu_tlb_seed sidecar_emu_tlb_seed
#define emu_mem_read sidecar_emu_mem_read
#define emu_mem_write sidecar_emu_mem_write
#define emu_fetch sidecar_emu_fetch
#define emu_alu sidecar_emu_alu

struct sidecar_emulator {
	struct sidecar_vp *vp;
	struct sidecar_cpu_context_x64 *ctx; /* the VP's shared pages: fixed for its life */
	struct hv_x64_register_page *page;
	struct sidecar_emulate_ops ops;
	void *opaque;
	uint8_t *ram;
	uint64_t ram_size;
	uint32_t max_rep;
	uint32_t flags;
	char err[EMU_ERR_LEN];
};

/* RFLAGS bits the helper reads or writes. */
#define EMU_FL_CF (1ull << 0)
#define EMU_FL_PF (1ull << 2)
#define EMU_FL_AF (1ull << 4)
#define EMU_FL_ZF (1ull << 6)
#define EMU_FL_SF (1ull << 7)
#define EMU_FL_DF (1ull << 10)
#define EMU_FL_OF (1ull << 11)
#define EMU_FL_VM (1ull << 17)
#define EMU_FL_ARITH (EMU_FL_CF | EMU_FL_PF | EMU_FL_AF | EMU_FL_ZF | EMU_FL_SF | EMU_FL_OF)

/* Segment indices, the register page's order. */
enum emu_seg { EMU_ES = 0, EMU_CS = 1, EMU_SS = 2, EMU_DS = 3, EMU_FS = 4, EMU_GS = 5, EMU_NSEG = 6 };

#define EMU_TLB_SIZE 4

/* The stopped VP as one call sees it: built from the message's header, the CPU context and
 * the register page; what is not there is fetched once per call (a round trip). */
struct emu_cpu {
	struct sidecar_emulator *e;
	struct sidecar_cpu_context_x64 *ctx;
	struct hv_x64_register_page *page; /* NULL when the page is not valid */
	uint64_t rip;
	uint64_t rflags; /* current value; written back when flags_dirty */
	uint8_t len;     /* instruction length, 0 unknown */
	uint8_t cpl;
	uint8_t code_bits; /* 16, 32 or 64 */
	bool long_mode;    /* EFER.LMA */
	bool protected_mode;
	bool flags_dirty;
	int8_t paging; /* -1: not known yet */
	uint64_t cs_base;
	uint64_t seg_base[EMU_NSEG];
	uint8_t seg_known; /* bit per enum emu_seg */
	bool rsp_known;
	uint64_t rsp;
	uint64_t dev_gpn;   /* the intercepted page (GPA >> 12), or ~0 */
	uint64_t msg_gpa;   /* the intercepted access's GPA */
	uint8_t msg_access; /* HV_INTERCEPT_ACCESS_* of the message */
	/* Translations made during this call: GVA page -> GPA page, and for which accesses
	 * (HV_TRANSLATE_GVA_VALIDATE_READ/WRITE) they were validated. */
	struct {
		uint64_t gvn, gpn, validated;
	} tlb[EMU_TLB_SIZE];
	uint8_t tlb_count;
	/* The last translation failed with GPA_UNMAPPED: device memory other than the
	 * intercepted page (the hypervisor gives no GPA for it). A string instruction stops
	 * there and is resumed by the intercept its next run takes on that page. */
	bool unmapped;
};

int emu_fail(struct sidecar_emulator *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copies an intercept message's payload out of the shared page once and checks what
 * <sidecar/message.h>'s decoders check (type, claimed length, access type, instruction
 * length and byte count, IO access info), without their general-purpose extra copying:
 * 0, -ENOMSG (another type) or -EINVAL, with the error set. */
/* A plain IN/OUT of the VP's own stop the short way (SIDECAR_EMULATE_F_IO_SHORT): 0 or a
 * negative errno when it was handled so, 1 when it is not for this way. */
int emu_io_short(struct sidecar_emulator *e, const struct hv_message *msg);
int emu_copy_io(struct sidecar_emulator *e, const struct hv_message *m, struct hv_x64_io_port_intercept_message *io);
int emu_copy_memory(struct sidecar_emulator *e, const struct hv_message *m, struct hv_x64_memory_intercept_message *mi);

/* Fills `c` from an intercept header. */
void emu_cpu_init(struct emu_cpu *c, struct sidecar_emulator *e, const struct hv_x64_intercept_message_header *h);

/* Registers: index 0..15 in the architectural order (RAX..R15). RSP comes from the register
 * page (or a GET); the others from the CPU context. */
int emu_gpr_read(struct emu_cpu *c, unsigned int idx, uint64_t *v);
/* Writes the low `size` bytes of GPR `idx` (high8: bits 8..15) as the processor does: 1 and
 * 2 keep the rest, 4 zero-extends to 64 bits, 8 the whole register. */
int emu_gpr_write(struct emu_cpu *c, unsigned int idx, bool high8, unsigned int size, uint64_t v);
/* A segment's base as the processor uses it (0 for ES/CS/SS/DS in 64-bit mode). */
int emu_seg_base(struct emu_cpu *c, enum emu_seg s, uint64_t *base);
/* Completes the instruction: RIP (wrapped to the code size) and RFLAGS when changed. */
int emu_finish(struct emu_cpu *c, uint64_t new_rip);

/* Linear address -> GPA (paging per CR0.PG / EFER.LMA). `write`: validate for a write. */
int emu_translate(struct emu_cpu *c, uint64_t la, bool write, uint64_t *gpa);
/* Seeds the translation of the page of `gva` (one the hypervisor reported, or the operand
 * the intercepted access was made through). */
void emu_tlb_seed(struct emu_cpu *c, uint64_t gva, uint64_t gpa);
/* One access of 1..8 bytes at a linear address: translated, then routed to device memory
 * (the intercepted page or outside RAM) or guest RAM. */
int emu_mem_read(struct emu_cpu *c, uint64_t la, unsigned int size, uint64_t *v);
int emu_mem_write(struct emu_cpu *c, uint64_t la, unsigned int size, uint64_t v);
/* Up to 15 bytes at CS:RIP (the instruction, where the message has none). */
int emu_fetch(struct emu_cpu *c, uint8_t *buf, unsigned int *n);

static inline uint64_t emu_mask(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* The ALU, executed on this CPU so that the flags (undefined ones included) are the
 * processor's: fastop.c. */
enum emu_alu {
	EMU_ALU_ADD,
	EMU_ALU_OR,
	EMU_ALU_ADC,
	EMU_ALU_SBB,
	EMU_ALU_AND,
	EMU_ALU_SUB,
	EMU_ALU_XOR,
	EMU_ALU_CMP,
	EMU_ALU_TEST,
	EMU_ALU_BT,
	EMU_ALU_BTS,
	EMU_ALU_BTR,
	EMU_ALU_BTC,
	EMU_ALU_INC,
	EMU_ALU_DEC,
	EMU_ALU_NEG,
	EMU_ALU_NOT,
};
/* dst OP src in `size` bytes (1, 2, 4, 8; the BT family 2, 4, 8); *rflags' arithmetic
 * flags are the input (CF for ADC/SBB, the unchanged ones) and receive the result. Returns
 * the result (dst for CMP, TEST, BT). */
uint64_t emu_alu(enum emu_alu op, unsigned int size, uint64_t dst, uint64_t src, uint64_t *rflags);

#endif /* SIDECAR_EMULATE_INTERNAL_H */
