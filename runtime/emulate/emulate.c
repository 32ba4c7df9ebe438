/* SPDX-License-Identifier: MIT */
/*
 * libsidecar-emulate: the emulator object, the view of the stopped VP (registers, segment
 * bases, paging) and the guest-memory layer (translation, RAM or device routing).
 */
#include "emulate_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define CR0_PG (1ull << 31)
#define SEG_ATTR_L HV_X64_SEGMENT_ATTR_LONG
#define SEG_ATTR_DB HV_X64_SEGMENT_ATTR_DEFAULT

int emu_fail(struct sidecar_emulator *e, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
	return rc;
}

int sidecar_emulate_create(struct sidecar_vp *vp, const struct sidecar_emulate_config *cfg,
			   struct sidecar_emulator **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!vp || !cfg || !cfg->ops)
		return -EINVAL;
	if (cfg->ram_size && !cfg->ram && (!cfg->ops->ram_read || !cfg->ops->ram_write))
		return -EINVAL;
	if (cfg->flags & ~(SIDECAR_EMULATE_F_SET_REGISTERS | SIDECAR_EMULATE_F_IO_SHORT))
		return -EINVAL;
	if ((cfg->flags & SIDECAR_EMULATE_F_SET_REGISTERS) && (cfg->flags & SIDECAR_EMULATE_F_IO_SHORT))
		return -EINVAL; /* one way to complete */
	struct sidecar_emulator *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->vp = vp;
	e->ctx = sidecar_vp_cpu_context(vp);
	e->page = sidecar_vp_register_page(vp);
	e->ops = *cfg->ops;
	e->opaque = cfg->opaque;
	e->ram = cfg->ram;
	e->ram_size = cfg->ram_size;
	e->max_rep = cfg->max_rep;
	e->flags = cfg->flags;
	*out = e;
	return 0;
}

void sidecar_emulate_destroy(struct sidecar_emulator *emu)
{
	free(emu);
}

const char *sidecar_emulate_error(const struct sidecar_emulator *emu)
{
	return emu ? emu->err : "no emulator";
}

int sidecar_emulate_intercept(struct sidecar_emulator *emu, const struct hv_message *msg)
{
	if (!emu || !msg)
		return -EINVAL;
	/* The short way first: it does not read the message. */
	int rc = emu_io_short(emu, msg);
	if (rc <= 0)
		return rc;
	switch (sidecar_message_type(msg)) {
	case HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT:
		return sidecar_emulate_io(emu, msg);
	case HV_MESSAGE_TYPE_UNMAPPED_GPA:
	case HV_MESSAGE_TYPE_GPA_INTERCEPT:
		return sidecar_emulate_mmio(emu, msg);
	default:
		emu->err[0] = 0;
		return -ENOMSG;
	}
}

/* ---- messages ------------------------------------------------------------------------------ */

static int check_len(struct sidecar_emulator *e, const struct hv_message_header *h, size_t size, const char *what)
{
	if (h->len > HV_MESSAGE_PAYLOAD_SIZE || h->len < size)
		return emu_fail(e, -EINVAL, "an invalid %s message (payload length %u)", what, h->len);
	return 0;
}

int emu_copy_io(struct sidecar_emulator *e, const struct hv_message *m, struct hv_x64_io_port_intercept_message *io)
{
	struct hv_message_header h;

	memcpy(&h, &m->header, sizeof(h));
	if (h.type != HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT)
		return emu_fail(e, -ENOMSG, "not an IO-port intercept (%s)", sidecar_message_type_name(h.type));
	if (check_len(e, &h, sizeof(*io), "IO-port intercept"))
		return -EINVAL;
	memcpy(io, m->payload, sizeof(*io));
	unsigned int len = io->header.instruction_length_and_cr8 & 0xf, size = io->access_info & 7;
	if (io->header.intercept_access_type > HV_INTERCEPT_ACCESS_WRITE || len == 0 ||
	    (size != 1 && size != 2 && size != 4) || io->instruction_byte_count > sizeof(io->instruction_bytes) ||
	    (io->access_info &
	     ~(HV_X64_IO_ACCESS_SIZE_MASK | HV_X64_IO_ACCESS_STRING_OP | HV_X64_IO_ACCESS_REP_PREFIX)) ||
	    ((io->access_info & HV_X64_IO_ACCESS_REP_PREFIX) && !(io->access_info & HV_X64_IO_ACCESS_STRING_OP)))
		return emu_fail(e, -EINVAL, "an invalid IO-port intercept message");
	return 0;
}

int emu_copy_memory(struct sidecar_emulator *e, const struct hv_message *m, struct hv_x64_memory_intercept_message *mi)
{
	struct hv_message_header h;

	memcpy(&h, &m->header, sizeof(h));
	if (h.type != HV_MESSAGE_TYPE_GPA_INTERCEPT && h.type != HV_MESSAGE_TYPE_UNMAPPED_GPA &&
	    h.type != HV_MESSAGE_TYPE_UNACCEPTED_GPA)
		return emu_fail(e, -ENOMSG, "not a memory intercept (%s)", sidecar_message_type_name(h.type));
	if (check_len(e, &h, sizeof(*mi), "memory intercept"))
		return -EINVAL;
	memcpy(mi, m->payload, sizeof(*mi));
	if (mi->header.intercept_access_type > HV_INTERCEPT_ACCESS_EXECUTE ||
	    mi->instruction_byte_count > sizeof(mi->instruction_bytes))
		return emu_fail(e, -EINVAL, "an invalid memory intercept message");
	return 0;
}

/* ---- the stopped VP ------------------------------------------------------------------- */

void emu_cpu_init(struct emu_cpu *c, struct sidecar_emulator *e, const struct hv_x64_intercept_message_header *h)
{
	struct hv_x64_register_page *page = e->page;

	c->e = e;
	c->ctx = e->ctx;
	c->page = page && page->is_valid ? page : NULL;
	c->rip = h->rip;
	c->rflags = h->rflags;
	c->len = h->instruction_length_and_cr8 & 0xf;
	c->cpl = h->execution_state & HV_X64_EXEC_STATE_CPL_MASK;
	c->long_mode = h->execution_state & HV_X64_EXEC_STATE_EFER_LMA;
	c->protected_mode = h->execution_state & HV_X64_EXEC_STATE_CR0_PE;
	c->flags_dirty = false;
	if (c->long_mode && (h->cs_segment.attributes & SEG_ATTR_L))
		c->code_bits = 64;
	else if (c->protected_mode && !(c->rflags & EMU_FL_VM) && (h->cs_segment.attributes & SEG_ATTR_DB))
		c->code_bits = 32;
	else
		c->code_bits = 16;
	/* Long mode implies paging; real mode has none; otherwise CR0 decides (later). */
	c->paging = c->long_mode ? 1 : c->protected_mode ? -1 : 0;
	c->cs_base = c->code_bits == 64 ? 0 : h->cs_segment.base;
	c->seg_known = 0;
	c->rsp_known = false;
	c->dev_gpn = ~0ull;
	c->msg_gpa = ~0ull;
	c->msg_access = h->intercept_access_type;
	c->tlb_count = 0;
	c->unmapped = false;
}

static int get_reg(struct emu_cpu *c, uint32_t name, struct hv_register_assoc *r)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	int rc = sidecar_vp_get_registers(c->e->vp, 0, r, 1);
	if (rc)
		return emu_fail(c->e, rc, "reading register %#x: %s", name, sidecar_strerror(rc));
	return 0;
}

int emu_gpr_read(struct emu_cpu *c, unsigned int idx, uint64_t *v)
{
	if (idx != 4) {
		*v = c->ctx->gps[idx];
		return 0;
	}
	if (!c->rsp_known) {
		if (c->page) {
			c->rsp = c->page->gp_registers[4];
		} else {
			struct hv_register_assoc r;
			int rc = get_reg(c, HV_X64_REGISTER_RSP, &r);
			if (rc)
				return rc;
			c->rsp = r.value.reg64;
		}
		c->rsp_known = true;
	}
	*v = c->rsp;
	return 0;
}

static uint64_t merge(uint64_t old, bool high8, unsigned int size, uint64_t v)
{
	switch (size) {
	case 1:
		if (high8)
			return (old & ~0xff00ull) | ((v & 0xff) << 8);
		return (old & ~0xffull) | (v & 0xff);
	case 2:
		return (old & ~0xffffull) | (v & 0xffff);
	case 4:
		return (uint32_t)v;
	default:
		return v;
	}
}

int emu_gpr_write(struct emu_cpu *c, unsigned int idx, bool high8, unsigned int size, uint64_t v)
{
	if (idx != 4) {
		c->ctx->gps[idx] = merge(c->ctx->gps[idx], high8, size, v);
		return 0;
	}
	/* RSP is not in the CPU context, and writing it through the register page would mean
	 * marking every GP register dirty there (the page's copy would then override later
	 * changes the VMM makes in the context): a SET, the one round trip, for a rare case. */
	uint64_t old;
	int rc = emu_gpr_read(c, 4, &old);
	if (rc)
		return rc;
	struct hv_register_assoc r;
	memset(&r, 0, sizeof(r));
	r.name = HV_X64_REGISTER_RSP;
	r.value.reg64 = merge(old, high8, size, v);
	rc = sidecar_vp_set_registers(c->e->vp, 0, &r, 1);
	if (rc)
		return emu_fail(c->e, rc, "writing RSP: %s", sidecar_strerror(rc));
	c->rsp = r.value.reg64;
	if (c->page)
		c->page->gp_registers[4] = c->rsp; /* keep the page's copy in step */
	return 0;
}

int emu_seg_base(struct emu_cpu *c, enum emu_seg s, uint64_t *base)
{
	if (c->code_bits == 64 && s != EMU_FS && s != EMU_GS) {
		*base = 0;
		return 0;
	}
	if (s == EMU_CS) {
		*base = c->cs_base;
		return 0;
	}
	if (!(c->seg_known & (1u << s))) {
		if (c->page) {
			c->seg_base[s] = c->page->segment[s].base;
		} else {
			static const uint32_t names[EMU_NSEG] = {HV_X64_REGISTER_ES, HV_X64_REGISTER_CS,
								 HV_X64_REGISTER_SS, HV_X64_REGISTER_DS,
								 HV_X64_REGISTER_FS, HV_X64_REGISTER_GS};
			struct hv_register_assoc r;
			int rc = get_reg(c, names[s], &r);
			if (rc)
				return rc;
			c->seg_base[s] = r.value.segment.base;
		}
		c->seg_known |= 1u << s;
	}
	*base = c->seg_base[s];
	return 0;
}

int emu_finish(struct emu_cpu *c, uint64_t new_rip)
{
	struct sidecar_emulator *e = c->e;

	if (c->code_bits == 32)
		new_rip = (uint32_t)new_rip;
	else if (c->code_bits == 16)
		new_rip &= 0xffff;
	if (c->page && !(e->flags & SIDECAR_EMULATE_F_SET_REGISTERS)) {
		/* The register page: applied by the next run, no round trip. */
		c->page->rip = new_rip;
		uint32_t dirty = HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
		if (c->flags_dirty) {
			c->page->rflags = c->rflags;
			dirty |= HV_X64_REGISTER_PAGE_DIRTY_FLAGS;
		}
		c->page->dirty |= dirty;
		return 0;
	}
	struct hv_register_assoc r[2];
	memset(r, 0, sizeof(r));
	r[0].name = HV_X64_REGISTER_RIP;
	r[0].value.reg64 = new_rip;
	r[1].name = HV_X64_REGISTER_RFLAGS;
	r[1].value.reg64 = c->rflags;
	int rc = sidecar_vp_set_registers(e->vp, 0, r, c->flags_dirty ? 2 : 1);
	if (rc)
		return emu_fail(e, rc, "writing RIP: %s", sidecar_strerror(rc));
	if (c->page) {
		/* A dirty field left over would override what was just set. */
		c->page->rip = new_rip;
		c->page->rflags = c->rflags;
		c->page->dirty &=
			~(uint32_t)(HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER | HV_X64_REGISTER_PAGE_DIRTY_FLAGS);
	}
	return 0;
}

/* ---- guest memory ----------------------------------------------------------------------- */

static int paging_on(struct emu_cpu *c, bool *on)
{
	if (c->paging < 0) {
		uint64_t cr0;
		if (c->page) {
			cr0 = c->page->cr0;
		} else {
			struct hv_register_assoc r;
			int rc = get_reg(c, HV_X64_REGISTER_CR0, &r);
			if (rc)
				return rc;
			cr0 = r.value.reg64;
		}
		c->paging = (cr0 & CR0_PG) ? 1 : 0;
	}
	*on = c->paging;
	return 0;
}

void emu_tlb_seed(struct emu_cpu *c, uint64_t gva, uint64_t gpa)
{
	unsigned int i = c->tlb_count < EMU_TLB_SIZE ? c->tlb_count++ : EMU_TLB_SIZE - 1;

	c->tlb[i].gvn = gva >> PAGE_SHIFT;
	c->tlb[i].gpn = gpa >> PAGE_SHIFT;
	/* The hypervisor's walk was for the access the instruction makes there (a
	 * read-modify-write is checked for writing), so both kinds are covered. */
	c->tlb[i].validated = HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_VALIDATE_WRITE;
}

/*
 * The GPA of a linear address that the hypervisor's translation found mapped to a GPA
 * without memory (GPA_UNMAPPED: device memory; it gives no GPA then). The hypervisor has
 * already walked and checked the tables, so this walk only follows them to the final GPA:
 * 4- and 5-level, PAE and 32-bit paging, large pages. The tables are read from guest RAM.
 */
#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)

static int read_pte(struct emu_cpu *c, uint64_t gpa, unsigned int size, uint64_t *pte)
{
	struct sidecar_emulator *e = c->e;

	if (gpa >= e->ram_size || e->ram_size - gpa < size)
		return -EFAULT;
	*pte = 0;
	if (e->ram) {
		memcpy(pte, e->ram + gpa, size);
		return 0;
	}
	return e->ops.ram_read(e->opaque, gpa, pte, size);
}

static int walk_tables(struct emu_cpu *c, uint64_t la, uint64_t *gpa)
{
	uint64_t cr3, cr4, pte;
	int rc;

	if (c->page) {
		cr3 = c->page->cr3;
		cr4 = c->page->cr4;
	} else {
		struct hv_register_assoc r[2];
		memset(r, 0, sizeof(r));
		r[0].name = HV_X64_REGISTER_CR3;
		r[1].name = HV_X64_REGISTER_CR4;
		if ((rc = sidecar_vp_get_registers(c->e->vp, 0, r, 2)))
			return rc;
		cr3 = r[0].value.reg64;
		cr4 = r[1].value.reg64;
	}
	if (c->long_mode || (cr4 & CR4_PAE)) {
		int level = c->long_mode ? ((cr4 & CR4_LA57) ? 5 : 4) : 3;
		uint64_t table = c->long_mode ? cr3 & PTE_ADDR : cr3 & 0xffffffe0ull;
		for (; level >= 1; level--) {
			unsigned int shift = 12 + 9 * (unsigned int)(level - 1);
			uint64_t idx = (la >> shift) & (level == 3 && !c->long_mode ? 3 : 511);
			if ((rc = read_pte(c, table + idx * 8, 8, &pte)))
				return rc;
			if (!(pte & PTE_P))
				return -EFAULT;
			if ((level == 2 || (level == 3 && c->long_mode)) && (pte & PTE_PS)) {
				uint64_t mask = (1ull << shift) - 1;
				*gpa = (pte & PTE_ADDR & ~mask) | (la & mask);
				return 0;
			}
			table = pte & PTE_ADDR;
		}
		*gpa = table | (la & 0xfff);
		return 0;
	}
	/* 32-bit paging: 4-byte entries, 4 MiB pages with CR4.PSE (bits 13..20: PA 32..39). */
	if ((rc = read_pte(c, (cr3 & 0xfffff000ull) + ((la >> 22) & 1023) * 4, 4, &pte)))
		return rc;
	if (!(pte & PTE_P))
		return -EFAULT;
	if ((cr4 & CR4_PSE) && (pte & PTE_PS)) {
		*gpa = (pte & 0xffc00000ull) | (((pte >> 13) & 0xff) << 32) | (la & 0x3fffff);
		return 0;
	}
	if ((rc = read_pte(c, (pte & 0xfffff000ull) + ((la >> 12) & 1023) * 4, 4, &pte)))
		return rc;
	if (!(pte & PTE_P))
		return -EFAULT;
	*gpa = (pte & 0xfffff000ull) | (la & 0xfff);
	return 0;
}

int emu_translate(struct emu_cpu *c, uint64_t la, bool write, uint64_t *gpa)
{
	bool on;
	int rc = paging_on(c, &on);
	if (rc)
		return rc;
	if (!on) {
		*gpa = c->long_mode ? la : (uint32_t)la;
		return 0;
	}
	if (!c->long_mode)
		la = (uint32_t)la;
	uint64_t gvn = la >> PAGE_SHIFT;
	uint64_t need = write ? HV_TRANSLATE_GVA_VALIDATE_WRITE : HV_TRANSLATE_GVA_VALIDATE_READ;
	unsigned int i;
	for (i = 0; i < c->tlb_count; i++) {
		if (c->tlb[i].gvn == gvn && (c->tlb[i].validated & need)) {
			*gpa = (c->tlb[i].gpn << PAGE_SHIFT) | (la & (PAGE_SIZE - 1));
			return 0;
		}
	}
	struct hv_translate_virtual_address_ex_output_x64 o;
	uint32_t code;
	uint64_t page_gpa;
	rc = sidecar_vp_translate_gva(c->e->vp, gvn, need, &o);
	if (rc)
		return emu_fail(c->e, rc, "translating GVA %#llx: %s", (unsigned long long)la, sidecar_strerror(rc));
	rc = sidecar_translate_decode(&o, &code, &page_gpa);
	if (rc)
		return emu_fail(c->e, rc, "translating GVA %#llx: an invalid result", (unsigned long long)la);
	/* Device memory: the translation checked the access but gives no GPA; the tables do. */
	if (code == HV_TRANSLATE_GVA_GPA_UNMAPPED && walk_tables(c, la & ~(PAGE_SIZE - 1), &page_gpa) == 0)
		code = HV_TRANSLATE_GVA_SUCCESS;
	c->unmapped = code == HV_TRANSLATE_GVA_GPA_UNMAPPED;
	if (c->unmapped)
		return emu_fail(c->e, -EFAULT,
				"GVA %#llx maps to no RAM and its page tables cannot be followed to the device "
				"GPA",
				(unsigned long long)la);
	if (code != HV_TRANSLATE_GVA_SUCCESS)
		return emu_fail(c->e, -EFAULT, "GVA %#llx does not translate for a %s: %s", (unsigned long long)la,
				write ? "write" : "read", sidecar_translate_result_name(code));
	i = c->tlb_count < EMU_TLB_SIZE ? c->tlb_count++ : EMU_TLB_SIZE - 1;
	c->tlb[i].gvn = gvn;
	c->tlb[i].gpn = page_gpa >> PAGE_SHIFT;
	c->tlb[i].validated = need;
	*gpa = page_gpa | (la & (PAGE_SIZE - 1));
	return 0;
}

static bool is_device(const struct emu_cpu *c, uint64_t gpa)
{
	return (gpa >> PAGE_SHIFT) == c->dev_gpn || gpa >= c->e->ram_size;
}

/* `size` bytes at a GPA range that is contiguous: all device or all RAM. */
static int gpa_access(struct emu_cpu *c, uint64_t gpa, unsigned int size, uint64_t *v, bool write)
{
	struct sidecar_emulator *e = c->e;
	bool dev = is_device(c, gpa);

	if (dev != is_device(c, gpa + size - 1))
		return emu_fail(e, -ENOTSUP, "a %u-byte access at GPA %#llx straddles guest RAM and device memory",
				size, (unsigned long long)gpa);
	if (dev) {
		int rc;
		if (write) {
			if (!e->ops.mmio_write)
				return emu_fail(e, -ENOTSUP, "no mmio_write callback (write to GPA %#llx)",
						(unsigned long long)gpa);
			rc = e->ops.mmio_write(e->opaque, gpa, (uint8_t)size, *v & emu_mask(size));
		} else {
			if (!e->ops.mmio_read)
				return emu_fail(e, -ENOTSUP, "no mmio_read callback (read of GPA %#llx)",
						(unsigned long long)gpa);
			uint64_t x = 0;
			rc = e->ops.mmio_read(e->opaque, gpa, (uint8_t)size, &x);
			*v = x & emu_mask(size);
		}
		if (rc)
			return emu_fail(e, rc, "device %s of %u bytes at GPA %#llx failed: %s",
					write ? "write" : "read", size, (unsigned long long)gpa, strerror(-rc));
		return 0;
	}
	if (e->ram) {
		/* Little-endian host: the value's low bytes are guest memory's order. */
		if (write)
			memcpy(e->ram + gpa, v, size);
		else {
			*v = 0;
			memcpy(v, e->ram + gpa, size);
		}
		return 0;
	}
	int rc;
	if (write) {
		rc = e->ops.ram_write(e->opaque, gpa, v, size);
	} else {
		*v = 0;
		rc = e->ops.ram_read(e->opaque, gpa, v, size);
	}
	if (rc)
		return emu_fail(e, rc, "guest RAM %s of %u bytes at GPA %#llx failed", write ? "write" : "read", size,
				(unsigned long long)gpa);
	return 0;
}

static int mem_access(struct emu_cpu *c, uint64_t la, unsigned int size, uint64_t *v, bool write)
{
	uint64_t gpa, gpa2;
	int rc;

	if (!c->long_mode)
		la = (uint32_t)la;
	rc = emu_translate(c, la, write, &gpa);
	if (rc)
		return rc;
	unsigned int first = (unsigned int)(PAGE_SIZE - (la & (PAGE_SIZE - 1)));
	if (first >= size)
		return gpa_access(c, gpa, size, v, write);
	/* Crosses a page: the second page may map elsewhere. */
	rc = emu_translate(c, la + first, write, &gpa2);
	if (rc)
		return rc;
	if (gpa2 == gpa + first)
		return gpa_access(c, gpa, size, v, write);
	if (is_device(c, gpa) || is_device(c, gpa2))
		return emu_fail(c->e, -ENOTSUP, "a %u-byte access at GVA %#llx spans two pages that are not contiguous",
				size, (unsigned long long)la);
	/* RAM on both sides: byte by byte. */
	uint8_t bytes[8] = {0};
	if (write)
		memcpy(bytes, v, sizeof(bytes));
	for (unsigned int i = 0; i < size; i++) {
		uint64_t b = bytes[i], g = i < first ? gpa + i : gpa2 + (i - first);
		rc = gpa_access(c, g, 1, &b, write);
		if (rc)
			return rc;
		bytes[i] = (uint8_t)b;
	}
	if (!write) {
		*v = 0;
		memcpy(v, bytes, size);
	}
	return 0;
}

int emu_mem_read(struct emu_cpu *c, uint64_t la, unsigned int size, uint64_t *v)
{
	return mem_access(c, la, size, v, false);
}

int emu_mem_write(struct emu_cpu *c, uint64_t la, unsigned int size, uint64_t v)
{
	return mem_access(c, la, size, &v, true);
}

int emu_fetch(struct emu_cpu *c, uint8_t *buf, unsigned int *n)
{
	uint64_t ip = c->rip;
	unsigned int i;

	for (i = 0; i < 15; i++) {
		uint64_t b;
		uint64_t off = ip + i;
		if (c->code_bits == 16)
			off &= 0xffff;
		else if (c->code_bits == 32)
			off = (uint32_t)off;
		uint64_t gpa;
		if (emu_translate(c, c->cs_base + off, false, &gpa))
			break;
		if (is_device(c, gpa) || gpa_access(c, gpa, 1, &b, false))
			break;
		buf[i] = (uint8_t)b;
	}
	*n = i;
	if (i == 0)
		return emu_fail(c->e, -ENOTSUP,
				"the message carries no instruction bytes and none can be read at RIP %#llx",
				(unsigned long long)c->rip);
	c->e->err[0] = 0;
	return 0;
}
