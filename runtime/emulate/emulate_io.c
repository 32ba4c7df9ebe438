/* SPDX-License-Identifier: MIT */
/*
 * Port I/O: IN/OUT complete from the message alone (the port, the size, RAX); INS/OUTS step
 * element by element between the port and guest memory. The legacy prefixes that matter to
 * a string instruction (address size, segment override) are read from the message's
 * instruction bytes; no decoder is needed.
 */
#include "emulate_internal.h"

#include <errno.h>
#include <string.h>

/* The instruction's prefixes as far as INS/OUTS care. */
struct io_prefixes {
	bool addr_size; /* 0x67 */
	int8_t seg;     /* enum emu_seg of an override, -1 none */
	uint8_t opcode;
};

static int parse_prefixes(const uint8_t *b, unsigned int n, bool long64, struct io_prefixes *p)
{
	p->addr_size = false;
	p->seg = -1;
	for (unsigned int i = 0; i < n; i++) {
		switch (b[i]) {
		case 0x67:
			p->addr_size = true;
			continue;
		case 0x26:
			p->seg = EMU_ES;
			continue;
		case 0x2e:
			p->seg = EMU_CS;
			continue;
		case 0x36:
			p->seg = EMU_SS;
			continue;
		case 0x3e:
			p->seg = EMU_DS;
			continue;
		case 0x64:
			p->seg = EMU_FS;
			continue;
		case 0x65:
			p->seg = EMU_GS;
			continue;
		case 0x66:
		case 0xf0:
		case 0xf2:
		case 0xf3:
			continue;
		default:
			break;
		}
		if (long64 && (b[i] & 0xf0) == 0x40)
			continue; /* REX: no meaning for INS/OUTS */
		p->opcode = b[i];
		return 0;
	}
	return -EINVAL;
}

/* A string register after an element: the address size decides how much of it moves. */
static uint64_t addr_step(uint64_t reg, unsigned int abits, int64_t delta)
{
	uint64_t v = reg + (uint64_t)delta;
	if (abits == 16)
		return (reg & ~0xffffull) | (v & 0xffff);
	if (abits == 32)
		return (uint32_t)v;
	return v;
}

static uint64_t addr_of(uint64_t reg, unsigned int abits)
{
	return abits == 64 ? reg : abits == 32 ? (uint32_t)reg : (reg & 0xffff);
}

static int string_io(struct emu_cpu *c, const struct hv_x64_io_port_intercept_message *io)
{
	struct sidecar_emulator *e = c->e;
	struct sidecar_cpu_context_x64 *ctx = c->ctx;
	uint8_t bytes[16];
	unsigned int n = io->instruction_byte_count;
	bool write = io->header.intercept_access_type == HV_INTERCEPT_ACCESS_WRITE;
	bool rep = io->access_info & HV_X64_IO_ACCESS_REP_PREFIX;
	struct io_prefixes p;
	int rc;

	if (n) {
		memcpy(bytes, io->instruction_bytes, n);
	} else {
		rc = emu_fetch(c, bytes, &n);
		if (rc)
			return rc;
	}
	if (parse_prefixes(bytes, n, c->code_bits == 64, &p) || (p.opcode & 0xfc) != 0x6c ||
	    ((p.opcode & 2) != 0) != write)
		return emu_fail(e, -EINVAL, "the IO-port intercept's instruction bytes are not the %s it reports",
				write ? "OUTS" : "INS");

	unsigned int abits = c->code_bits == 64   ? (p.addr_size ? 32 : 64)
			     : c->code_bits == 32 ? (p.addr_size ? 16 : 32)
						  : (p.addr_size ? 32 : 16);
	/* The message carries DS and ES; other overrides come from the register page. */
	if (c->code_bits != 64) {
		c->seg_base[EMU_DS] = io->ds_segment.base;
		c->seg_base[EMU_ES] = io->es_segment.base;
		c->seg_known |= (1u << EMU_DS) | (1u << EMU_ES);
	}
	uint64_t base;
	rc = emu_seg_base(c, write ? (p.seg >= 0 ? (enum emu_seg)p.seg : EMU_DS) : EMU_ES, &base);
	if (rc)
		return rc;

	unsigned int size = io->access_info & HV_X64_IO_ACCESS_SIZE_MASK;
	uint16_t port = io->port_number;
	int64_t delta = (c->rflags & EMU_FL_DF) ? -(int64_t)size : (int64_t)size;
	uint64_t count = rep ? addr_of(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], abits) : 1;
	uint64_t limit = e->max_rep ? e->max_rep : ~0ull;

	for (uint64_t i = 0; i < count && i < limit; i++) {
		if (write) {
			uint64_t v;
			uint64_t rsi = ctx->gps[SIDECAR_CPU_CONTEXT_RSI];
			rc = emu_mem_read(c, base + addr_of(rsi, abits), size, &v);
			if (rc)
				return c->unmapped && i > 0 ? (e->err[0] = 0) : rc;
			rc = e->ops.io_write(e->opaque, port, (uint8_t)size, (uint32_t)v);
			if (rc)
				return emu_fail(e, rc, "io_write to port %#x failed", port);
			ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = addr_step(rsi, abits, delta);
		} else {
			uint32_t v = 0;
			uint64_t rdi = ctx->gps[SIDECAR_CPU_CONTEXT_RDI], gpa;
			/* The destination first: a port read cannot be taken back. */
			rc = emu_translate(c, base + addr_of(rdi, abits), true, &gpa);
			if (rc)
				return c->unmapped && i > 0 ? (e->err[0] = 0) : rc;
			rc = e->ops.io_read(e->opaque, port, (uint8_t)size, &v);
			if (rc)
				return emu_fail(e, rc, "io_read of port %#x failed", port);
			rc = emu_mem_write(c, base + addr_of(rdi, abits), size, v & emu_mask(size));
			if (rc)
				return rc;
			ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = addr_step(rdi, abits, delta);
		}
		if (rep)
			ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = addr_step(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], abits, -1);
	}
	if (rep && addr_of(ctx->gps[SIDECAR_CPU_CONTEXT_RCX], abits) != 0)
		return 0; /* max_rep reached: the next run resumes the REP */
	return emu_finish(c, c->rip + c->len);
}

int emu_io_short(struct sidecar_emulator *e, const struct hv_message *msg)
{
	struct sidecar_io_exit x;
	int rc;

	if (!(e->flags & SIDECAR_EMULATE_F_IO_SHORT) || msg != sidecar_vp_intercept_message(e->vp) ||
	    sidecar_vp_io_exit(e->vp, &x) != 0)
		return 1; /* not this way: the message says what it is */
	if (x.write ? !e->ops.io_write : !e->ops.io_read)
		return emu_fail(e, -ENOTSUP, "no %s callback (port %#x)", x.write ? "io_write" : "io_read", x.port);
	e->err[0] = 0;
	uint32_t v = 0;
	if (x.write) {
		rc = e->ops.io_write(e->opaque, x.port, x.size, x.value);
		if (rc)
			return emu_fail(e, rc, "io_write to port %#x failed", x.port);
	} else {
		rc = e->ops.io_read(e->opaque, x.port, x.size, &v);
		if (rc)
			return emu_fail(e, rc, "io_read of port %#x failed", x.port);
	}
	rc = sidecar_vp_complete_io(e->vp, v);
	if (rc)
		return emu_fail(e, rc, "completing the port %#x access: %s", x.port, sidecar_strerror(rc));
	return 0;
}

int sidecar_emulate_io(struct sidecar_emulator *e, const struct hv_message *msg)
{
	struct hv_x64_io_port_intercept_message io;
	struct emu_cpu c;
	int rc;

	if (!e || !msg)
		return -EINVAL;
	if ((rc = emu_io_short(e, msg)) <= 0)
		return rc;
	if ((rc = emu_copy_io(e, msg, &io)))
		return rc;
	bool write = io.header.intercept_access_type == HV_INTERCEPT_ACCESS_WRITE;
	uint8_t size = io.access_info & HV_X64_IO_ACCESS_SIZE_MASK;
	if (write ? !e->ops.io_write : !e->ops.io_read)
		return emu_fail(e, -ENOTSUP, "no %s callback (port %#x)", write ? "io_write" : "io_read",
				io.port_number);
	emu_cpu_init(&c, e, &io.header);
	e->err[0] = 0;
	if (io.access_info & HV_X64_IO_ACCESS_STRING_OP)
		return string_io(&c, &io);
	if (write) {
		rc = e->ops.io_write(e->opaque, io.port_number, size, sidecar_io_value(io.rax, size));
		if (rc)
			return emu_fail(e, rc, "io_write to port %#x failed", io.port_number);
	} else {
		uint32_t v = 0;
		rc = e->ops.io_read(e->opaque, io.port_number, size, &v);
		if (rc)
			return emu_fail(e, rc, "io_read of port %#x failed", io.port_number);
		c.ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = sidecar_io_merge_in(c.ctx->gps[SIDECAR_CPU_CONTEXT_RAX], size, v);
	}
	return emu_finish(&c, c.rip + c.len);
}
