/* SPDX-License-Identifier: MIT */
/*
 * libsidecar-emulate: completes port-I/O and memory (MMIO) intercepts for a VMM, so that
 * its run loop needs no instruction decoder of its own (docs/emulate.md).
 *
 * With Hyper-V's intercept semantics the VP stops with RIP on the intercepting instruction;
 * the VMM must perform the access and complete the instruction. An emulator does that for
 * one VP: it calls the VMM's device callbacks for the accesses, writes the destination
 * register, the arithmetic flags where the instruction sets them and RIP, and steps the
 * string registers of INS/OUTS/MOVS/STOS/LODS, element by element, with REP.
 *
 *   struct sidecar_emulator *emu;
 *   struct sidecar_emulate_config cfg = {.ops = &my_ops, .opaque = dev};
 *   sidecar_client_guest_memory(c, &cfg.ram, &cfg.ram_size);
 *   sidecar_emulate_create(vp, &cfg, &emu);
 *   while (sidecar_vp_run_sync(vp, &intercept) == 0) {
 *           int rc = sidecar_emulate_intercept(emu, sidecar_vp_intercept_message(vp));
 *           if (rc == -ENOMSG) ... the VMM's own intercepts (HLT, CPUID, MSR, ...)
 *           else if (rc) fprintf(stderr, "%s\n", sidecar_emulate_error(emu));
 *   }
 *
 * Where registers go (no extra round trip to the sidecar CPU): the GP registers into the
 * CPU context (sidecar_vp_cpu_context), RIP and RFLAGS into the register page with its
 * dirty bits (sidecar_vp_register_page), both applied by the next run. Only where the
 * register page is not valid, or for the rare instruction that writes RSP, does the helper
 * call sidecar_vp_set_registers. It reads RSP, segment bases and CR0 from the register page
 * (sidecar_vp_get_registers where it is not valid) and translates guest-virtual addresses
 * with sidecar_vp_translate_gva where paging is on and the message does not already give
 * the translation. The helper itself makes no system call and allocates nothing per
 * intercept; it is not thread-safe: one emulator per VP, called by the thread that owns it,
 * only while the VP is stopped.
 *
 * Every function returns 0 or a negative errno:
 *   -EINVAL   a NULL argument, a message that fails validation (<sidecar/message.h>), or
 *             one inconsistent with the instruction it names
 *   -ENOMSG   a message of a type this function does not complete
 *   -ENOTSUP  an instruction, operand form or access the helper does not emulate, or a
 *             callback the VMM did not provide; sidecar_emulate_error() names it
 *   -EFAULT   a guest-virtual address that does not translate (the VMM would inject #PF),
 *             or guest RAM outside what the emulator was given
 *   anything a callback returns (negative), and the errors of the libsidecar calls above
 * On an error the instruction is not completed: RIP, RFLAGS and the destination are left
 * as they were (a string instruction's registers record the elements already done, as an
 * interrupted REP does), so the next run executes it again. Accesses already made through
 * the callbacks (the read of a read-modify-write whose write failed) are not undone.
 */
#ifndef SIDECAR_EMULATE_H
#define SIDECAR_EMULATE_H

#include <sidecar/client.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sidecar_emulator;

/*
 * The VMM's side. Each callback returns 0 or a negative errno (returned by the helper as
 * is). Sizes are in bytes. Multi-byte values are little-endian numbers in the low bytes.
 */
struct sidecar_emulate_ops {
	/* Port I/O: size 1, 2 or 4. IN's result goes in the low `size` bytes of *value. */
	int (*io_read)(void *opaque, uint16_t port, uint8_t size, uint32_t *value);
	int (*io_write)(void *opaque, uint16_t port, uint8_t size, uint32_t value);
	/* Device memory: size 1, 2, 4 or 8, possibly unaligned. Called for the intercepted
	 * page and for every GPA outside guest RAM ([0, ram_size)). */
	int (*mmio_read)(void *opaque, uint64_t gpa, uint8_t size, uint64_t *value);
	int (*mmio_write)(void *opaque, uint64_t gpa, uint8_t size, uint64_t value);
	/* Guest RAM, optional: used when the configuration gives no `ram` pointer (a VMM
	 * whose RAM is not one flat mapping). len <= 8; gpa + len <= ram_size. */
	int (*ram_read)(void *opaque, uint64_t gpa, void *buf, size_t len);
	int (*ram_write)(void *opaque, uint64_t gpa, const void *buf, size_t len);
};

/* Flags of sidecar_emulate_config. */
/* Complete RIP/RFLAGS with sidecar_vp_set_registers (a round trip each) even where the
 * register page is valid. For comparison and for VMMs that set RIP themselves before the
 * next run; the default (register page) is cheaper and equally correct. */
#define SIDECAR_EMULATE_F_SET_REGISTERS (1u << 0)
/* A plain IN/OUT of the VP's own stop (`msg` is sidecar_vp_intercept_message(vp)) goes the
 * short way: its port, size and value from sidecar_vp_io_exit(), its completion by
 * sidecar_vp_complete_io(), so that the round trip touches neither the message nor the
 * register page (docs/runtime.md). RIP and an IN's RAX then change when the VP next runs,
 * not at once; the VMM must leave them alone until then. Not with SET_REGISTERS. */
#define SIDECAR_EMULATE_F_IO_SHORT (1u << 1)

struct sidecar_emulate_config {
	const struct sidecar_emulate_ops *ops; /* required */
	void *opaque;                          /* passed to every callback */
	/* Guest RAM at GPA 0 (what sidecar_client_guest_memory gives), or NULL with the
	 * ram_read/ram_write callbacks. GPAs at or beyond ram_size are device memory. */
	void *ram;
	size_t ram_size;
	/* Most elements one call performs of a REP string instruction; 0: all of them. When
	 * the count is not exhausted RIP stays on the instruction and the next run resumes it
	 * (as after an interrupt between iterations). */
	uint32_t max_rep;
	uint32_t flags; /* SIDECAR_EMULATE_F_* */
};

/* One emulator for `vp` (which must outlive it). The configuration is copied. -EINVAL for
 * a NULL argument, no ops, or neither ram nor ram callbacks with a ram_size; -ENOMEM. */
int sidecar_emulate_create(struct sidecar_vp *vp, const struct sidecar_emulate_config *cfg,
			   struct sidecar_emulator **out);
void sidecar_emulate_destroy(struct sidecar_emulator *emu);

/* Completes the intercept in `msg` (normally sidecar_vp_intercept_message(vp)): an IO-port
 * intercept through sidecar_emulate_io, a memory intercept (unmapped GPA, GPA intercept)
 * through sidecar_emulate_mmio; -ENOMSG for any other message type, touching nothing. */
int sidecar_emulate_intercept(struct sidecar_emulator *emu, const struct hv_message *msg);

/* IN/OUT: calls io_read/io_write; an IN's value goes into AL/AX (the rest of RAX kept) or
 * EAX (zero-extended into RAX). INS/OUTS (REP, DF, 16/32/64-bit addressing, segment
 * override on OUTS, segment bases): each element moves between the port and guest memory
 * (translated where paging is on). RIP advances past the instruction. */
int sidecar_emulate_io(struct sidecar_emulator *emu, const struct hv_message *msg);

/* A memory intercept: decodes the instruction (the message's bytes, else fetched at CS:RIP),
 * performs its accesses through mmio_read/mmio_write (and RAM for the other operand of
 * MOVS), completes it. Emulated, in every operand size and addressing form:
 *   MOV (reg<->mem, imm->mem, moffs, Sreg->mem), MOVZX, MOVSX, MOVSXD,
 *   MOVS, STOS, LODS (REP, DF, address size, segment override),
 *   ADD OR ADC SBB AND SUB XOR CMP (mem,reg / reg,mem / mem,imm), TEST,
 *   BT BTS BTR BTC (reg or imm bit offset), INC DEC NEG NOT, XCHG,
 * with LOCK where the instruction allows it; flags as the processor computes them (the
 * undefined ones included: the operation is executed on this CPU). Anything else is
 * -ENOTSUP, e.g. "unsupported instruction: movdqu xmm0, [rsi]". */
int sidecar_emulate_mmio(struct sidecar_emulator *emu, const struct hv_message *msg);

/* What a memory intercept's instruction does, without doing it: no callback, no register
 * or RIP change (registers are read for the value of a write). */
struct sidecar_emulate_access {
	char mnemonic[16]; /* "mov", "movzx", "add", "movsb", ... */
	uint64_t gpa;      /* the intercepted access (from the message) */
	uint8_t size;      /* bytes per access at gpa: 1, 2, 4 or 8 */
	bool read;         /* the instruction reads device memory */
	bool write;        /* ... writes it (both: read-modify-write) */
	bool string;       /* MOVS/STOS/LODS: one access per element */
	bool rep;          /* with a REP prefix */
	bool sets_flags;   /* the instruction writes arithmetic flags */
	bool has_value;    /* value below is known: what a plain write stores */
	uint64_t value;
	int8_t reg;       /* the register operand (0..15 = RAX..R15), -1 none */
	uint8_t reg_size; /* its width in bytes */
	bool reg_high8;   /* AH, CH, DH or BH */
	bool reg_is_dest; /* a read into it (with the extension below) */
	bool sign_extend; /* MOVSX/MOVSXD: sign-extended from size to reg_size, else zero */
	uint8_t instruction_len;
};
int sidecar_emulate_decode(struct sidecar_emulator *emu, const struct hv_message *msg,
			   struct sidecar_emulate_access *out);

/* Why the last call on `emu` failed: one sentence naming the instruction, the address or
 * the callback ("" after success). Valid until the next call on emu. */
const char *sidecar_emulate_error(const struct sidecar_emulator *emu);

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_EMULATE_H */
