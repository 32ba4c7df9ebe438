/* SPDX-License-Identifier: MIT */
/*
 * Port I/O exits -> HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT (docs/kvm.md, "RIP
 * reconciliation").
 *
 * Plain IN/OUT: the probe says whether KVM left RIP on or past the instruction, decoding finds
 * it and checks it against the exit (direction, size, port from imm8 or DX), and KVM's
 * completion is left to the next KVM_RUN (run.c, resolve_pending). INS/OUTS go through KVM's
 * emulator, which would clobber the VMM's registers on completion: they are completed at once,
 * and the registers from before the instruction put back.
 *
 * The last IO_SITES plain IN/OUT sites are remembered (struct io_site): a device loop that
 * exits at the same instructions again is answered from the bytes around RIP alone, without
 * decoding (a Zydis decode costs ten times the lookup; docs/kvm.md, "Cost").
 */
#include "kvm_internal.h"

#include <string.h>

enum io_kind { IO_NONE, IO_FAST, IO_STRING };

struct io_exit {
	bool out;
	uint8_t size;
	uint16_t port;
	uint32_t count;
};

/* The code around RIP at the exit: what the choice of instruction depends on. */
struct io_code {
	uint8_t before[X86_INSN_MAX_LEN], after[X86_INSN_MAX_LEN];
	size_t hb, ha; /* how many of each could be read */
};

/* Whether `in` is an IN/OUT (IO_FAST) or INS/OUTS (IO_STRING) of the exit's direction, size
 * and port. */
static enum io_kind io_kind_of(const struct x86_insn *in, const struct io_exit *x, uint64_t rdx)
{
	uint8_t op = in->opcode;
	uint16_t port = (uint16_t)rdx;
	bool out, string = false;

	if (in->encoding != X86_ENC_LEGACY || in->map != X86_MAP_1BYTE || in->lock)
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

/*
 * An OUTS behind RIP, exactly. Only a plain OUTS gets there: KVM writes nothing back before
 * an INS exit (it needs the data first), and leaves RIP on a REP string instruction through
 * the iteration that takes the count to 0. KVM's emulator had written RSI back, so it must be
 * what this instruction leaves (zero-extended under 32-bit addressing in 64-bit code), and
 * the exit's data is what its segment (DS or the override) and address size read: the memory
 * at RSI from before the instruction, element by element in the direction of DF.
 */
static bool io_string_match(struct sidecar_backend_vp *vp, const struct x86_insn *in, uint64_t start, void *arg)
{
	const struct io_match_arg *a = arg;
	const struct io_exit *x = a->x;
	const struct kvm_regs *r = &vp->regs;
	uint64_t amask = x86_insn_addr_mask(in->addrsize);

	(void)start;
	if (!x->out || in->rep || io_kind_of(in, x, r->rdx) != IO_STRING)
		return false;
	if (in->addrsize == 4 && in->mode == X86_MODE_LONG64 && (r->rsi >> 32))
		return false;

	const uint8_t *data = (const uint8_t *)vp->run + vp->run->io.data_offset;
	uint64_t bytes = (uint64_t)x->size * x->count;
	uint64_t rsi = kvm_unstep(r->rsi, in, r->rflags, bytes) & amask;
	unsigned int seg = in->seg != X86_SEG_NONE ? in->seg : X86_SEG_DS;
	bool down = r->rflags & X86_RFLAGS_DF;
	uint8_t elem[4];

	if (bytes > PAGE_SIZE_4K)
		return false;
	for (uint32_t i = 0; i < x->count; i++) {
		uint64_t off = (down ? rsi - (uint64_t)i * x->size : rsi + (uint64_t)i * x->size) & amask;
		if (kvm_read_linear(vp, in->mode, linear(&vp->sregs, in->mode, seg, off), elem, x->size) != x->size ||
		    memcmp(elem, data + (size_t)i * x->size, x->size))
			return false;
	}
	return true;
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

/* The instruction's bytes for the message: from the code read around RIP at the exit when
 * they lie within it (they do for a plain IN/OUT, located there), else read again. */
static uint8_t insn_bytes(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_code *c, uint64_t rip_exit,
			  uint64_t start, unsigned int len, uint8_t out[16])
{
	uint64_t back = (rip_exit - start) & ip_mask(mode); /* the instruction's bytes before RIP */

	if (c && len <= 16 && back <= c->hb && back <= len && len - back <= c->ha) {
		memset(out, 0, 16);
		memcpy(out, c->before + X86_INSN_MAX_LEN - back, (size_t)back);
		memcpy(out + back, c->after, len - (size_t)back);
		return (uint8_t)len;
	}
	return kvm_insn_bytes(vp, mode, start, len, out);
}

/* `c`: the code read around `rip_exit` (NULL: read the instruction's bytes again). */
static void io_message(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_exit *x,
		       const struct x86_insn *in, uint64_t start, const struct kvm_regs *pre, bool string,
		       const struct io_code *c, uint64_t rip_exit, struct hv_message *msg)
{
	struct hv_x64_io_port_intercept_message *io = (struct hv_x64_io_port_intercept_message *)msg->payload;

	kvm_begin_message(msg, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT, sizeof(*io));
	kvm_fill_header(vp, &io->header, x->out ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ, start, in->len);
	io->header.rflags = pre->rflags;
	io->port_number = x->port;
	io->access_info = (uint8_t)(x->size | (string ? HV_X64_IO_ACCESS_STRING_OP : 0) |
				    (string && in->rep ? HV_X64_IO_ACCESS_REP_PREFIX : 0));
	io->instruction_byte_count = insn_bytes(vp, mode, c, rip_exit, start, in->len, io->instruction_bytes);
	io->rax = pre->rax;
	kvm_seg_to_hv(&vp->sregs.ds, &io->ds_segment);
	kvm_seg_to_hv(&vp->sregs.es, &io->es_segment);
	io->rcx = pre->rcx;
	io->rsi = pre->rsi;
	io->rdi = pre->rdi;
}

/* Is this exit, with this code around RIP, the one `site` remembers? */
static bool io_site_match(const struct io_site *site, unsigned int mode, const struct io_exit *x, uint16_t dx,
			  bool advances, const struct io_code *c)
{
	size_t hb = c->hb, ha = c->ha;

	return site->valid && site->mode == mode && site->out == x->out && site->size == x->size &&
	       site->port == x->port && x->count == 1 && site->dx == dx && site->advances == advances &&
	       site->have_before == hb && site->have_after == ha &&
	       !memcmp(site->before + X86_INSN_MAX_LEN - hb, c->before + X86_INSN_MAX_LEN - hb, hb) &&
	       !memcmp(site->after, c->after, ha);
}

static const struct io_site *io_site_find(const struct sidecar_backend_vp *vp, unsigned int mode,
					  const struct io_exit *x, bool advances, const struct io_code *c)
{
	for (unsigned int i = 0; i < IO_SITES; i++)
		if (io_site_match(&vp->io_sites[i], mode, x, (uint16_t)vp->regs.rdx, advances, c))
			return &vp->io_sites[i];
	return NULL;
}

/* Into the next entry in turn (an exit that matched one is never remembered again). */
static void io_site_remember(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_exit *x, bool advances,
			     const struct io_code *c, const struct x86_insn *in, uint64_t back)
{
	struct io_site *site = &vp->io_sites[vp->io_site_next];

	vp->io_site_next = (uint8_t)((vp->io_site_next + 1) % IO_SITES);

	*site = (struct io_site){
		.valid = true,
		.out = x->out,
		.advances = advances,
		.mode = (uint8_t)mode,
		.size = x->size,
		.back = (uint8_t)back,
		.port = x->port,
		.dx = (uint16_t)vp->regs.rdx,
		.have_before = (uint8_t)c->hb,
		.have_after = (uint8_t)c->ha,
		.insn = *in,
	};
	memcpy(site->before, c->before, sizeof(c->before));
	memcpy(site->after, c->after, sizeof(c->after));
}

/* A plain IN/OUT located at `start`: the message, RIP on the instruction, and KVM's
 * completion left to the next KVM_RUN (resolve_pending() decides then whether that may
 * happen with the VMM's registers loaded). */
static int io_plain(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_exit *x,
		    const struct x86_insn *in, uint64_t start, const struct io_code *c, uint64_t rip_exit,
		    struct hv_message *msg)
{
	struct kvm_regs pre = vp->regs;

	pre.rip = start;
	io_message(vp, mode, x, in, start, &pre, false, c, rip_exit, msg);
	vp->regs.rip = start;
	vp->dirty |= KVM_SYNC_X86_REGS;
	vp->pending = PENDING_FAST_PIO;
	vp->pending_lazy_ok = x->out ? vp->k->pio_out_lazy : vp->k->pio_in_lazy;
	vp->pending_lin_end = linear(&vp->sregs, mode, X86_SEG_CS, (start + in->len) & ip_mask(mode));
	return SIDECAR_RUN_INTERCEPT;
}

/* An INS completion stores the data page into guest memory: fill it with the bytes already
 * there, so the store changes nothing (the VMM performs the real one). */
static void ins_fill_from_guest(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_exit *x,
				const struct x86_insn *a)
{
	uint8_t *data = (uint8_t *)vp->run + vp->run->io.data_offset;
	uint64_t n = (uint64_t)x->size * x->count;
	uint64_t mask = x86_insn_addr_mask(a->addrsize);
	uint64_t rdi = vp->regs.rdi & mask;
	bool down = vp->regs.rflags & X86_RFLAGS_DF;

	if (n > PAGE_SIZE_4K)
		return;
	for (uint32_t i = 0; i < x->count; i++) {
		uint64_t off = down ? rdi - (uint64_t)i * x->size : rdi + (uint64_t)i * x->size;
		kvm_read_linear(vp, mode, linear(&vp->sregs, mode, X86_SEG_ES, off & mask), data + (size_t)i * x->size,
				x->size);
	}
}

/*
 * INS/OUTS: KVM's emulator performed the iteration(s); complete now, then report the
 * instruction with the registers from before it. `a` is the instruction at RIP, `ka` its kind.
 */
static int io_string(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_exit *x, uint64_t rip_exit,
		     const struct io_code *c, enum io_kind ka, const struct x86_insn *a, struct hv_message *msg,
		     struct sidecar_command_error *err)
{
	struct io_match_arg str = {.x = x, .want = IO_STRING};
	struct x86_insn sb;
	uint64_t sb_start = 0;
	bool have_sb = kvm_decode_ending_in(vp, mode, rip_exit, c->before, c->hb, TIES_BY_FLOW, io_string_match, &str,
					    &sb, &sb_start);

	if (ka != IO_STRING && !have_sb) {
		kvm_set_err(err, "kvm: port %#x %s exit at RIP %#llx: cannot decode the instruction", x->port,
			    x->out ? "write" : "read", (unsigned long long)rip_exit);
		return -EIO;
	}
	if (!x->out && ka == IO_STRING)
		ins_fill_from_guest(vp, mode, x, a);
	uint64_t rflags_exit = vp->regs.rflags;
	int rc = kvm_complete_io(vp, NULL, NULL, err);
	if (rc)
		return rc;

	/* Where the instruction is: KVM moved RIP during the completion only if it was on the
	 * instruction; an unfinished REP stays on it; else KVM had written RIP back before the
	 * exit. */
	const struct x86_insn *in = &sb;
	uint64_t start = sb_start;
	if (vp->regs.rip != rip_exit || (ka == IO_STRING && a->rep) || (ka == IO_STRING && !have_sb)) {
		in = a;
		start = rip_exit;
	}
	struct kvm_regs pre = vp->regs;
	uint64_t bytes = (uint64_t)x->size * x->count;
	if (x->out)
		pre.rsi = kvm_unstep(pre.rsi, in, rflags_exit, bytes);
	else
		pre.rdi = kvm_unstep(pre.rdi, in, rflags_exit, bytes);
	if (in->rep)
		pre.rcx = kvm_add_count(pre.rcx, in, x->count);
	pre.rip = start;
	pre.rflags = rflags_exit;
	io_message(vp, mode, x, in, start, &pre, true, NULL, 0, msg);
	vp->regs = pre;
	vp->dirty |= KVM_SYNC_X86_REGS;
	return SIDECAR_RUN_INTERCEPT;
}

/* Does an OUTS that explains the exit end at RIP? (A decode: for the rare exits that need it.) */
static bool string_behind(struct sidecar_backend_vp *vp, unsigned int mode, const struct io_exit *x, uint64_t rip_exit,
			  const struct io_code *c)
{
	struct io_match_arg str = {.x = x, .want = IO_STRING};
	struct x86_insn sb;
	uint64_t sb_start = 0;

	return kvm_decode_ending_in(vp, mode, rip_exit, c->before, c->hb, TIES_BY_FLOW, io_string_match, &str, &sb,
				    &sb_start);
}

int kvm_handle_io(struct sidecar_backend_vp *vp, struct hv_message *msg, struct sidecar_command_error *err)
{
	const struct kvm_run *run = vp->run;
	struct io_exit x = {
		.out = run->io.direction == KVM_EXIT_IO_OUT,
		.size = run->io.size,
		.port = run->io.port,
		.count = run->io.count,
	};
	unsigned int mode = kvm_code_mode(vp);
	uint64_t rip_exit = vp->regs.rip;
	bool advances =
		x.out ? vp->k->pio_out_advances || (x.port == 0x7e && vp->k->out_7e_advances) : vp->k->pio_in_advances;
	struct io_code c;

	c.hb = kvm_read_before(vp, mode, rip_exit, c.before);
	c.ha = kvm_read_linear(vp, mode, linear(&vp->sregs, mode, X86_SEG_CS, rip_exit), c.after, sizeof(c.after));
	const struct io_site *site = io_site_find(vp, mode, &x, advances, &c);
	if (site)
		return io_plain(vp, mode, &x, &site->insn, (rip_exit - site->back) & ip_mask(mode), &c, rip_exit, msg);

	struct x86_insn a = {0}, b;
	enum io_kind ka = c.ha && x86_insn_decode(c.after, c.ha, (enum x86_mode)mode, &a)
				  ? io_kind_of(&a, &x, vp->regs.rdx)
				  : IO_NONE;
	struct io_match_arg fast = {.x = &x, .want = IO_FAST};
	const struct x86_insn *in = NULL;
	uint64_t start = 0, b_start = 0;

	/* Plain IN/OUT: the probe says where KVM left RIP; the decoder confirms. */
	if (ka == IO_FAST && !advances) {
		in = &a;
		start = rip_exit;
	} else if (kvm_decode_ending_in(vp, mode, rip_exit, c.before, c.hb, TIES_BY_BYTES, io_match, &fast, &b,
					&b_start) &&
		   (advances ? ka != IO_STRING || (x.out && out_data_is_rax(vp, &x)) : ka == IO_NONE)) {
		/* Behind RIP. When an INS/OUTS for the same port sits at RIP as well (an
		 * unfinished REP stays there), an OUT must have written RAX to be the plain one;
		 * an IN cannot tell, and the string instruction is taken. */
		in = &b;
		start = b_start;
	} else if (ka == IO_FAST && !(advances && string_behind(vp, mode, &x, rip_exit, &c))) {
		/* At RIP. When KVM moves RIP past a plain instruction before the exit, one at RIP
		 * cannot be the exit's: an OUTS behind it is (`outsb; out dx, al`). */
		in = &a;
		start = rip_exit;
	}
	if (!in)
		return io_string(vp, mode, &x, rip_exit, &c, ka, &a, msg, err);
	/* Not when RAX took part in the choice (a string instruction at RIP). */
	if (ka != IO_STRING && x.count == 1)
		io_site_remember(vp, mode, &x, advances, &c, in, (rip_exit - start) & ip_mask(mode));
	return io_plain(vp, mode, &x, in, start, &c, rip_exit, msg);
}
