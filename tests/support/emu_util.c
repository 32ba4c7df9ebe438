/* SPDX-License-Identifier: MIT */
#include "emu_util.h"

static int dev_io_read(void *opaque, uint16_t port, uint8_t size, uint32_t *value)
{
	struct dev *d = opaque;
	d->last_port = port;
	d->last_io_size = size;
	if (d->fail_read) {
		int rc = d->fail_read;
		d->fail_read = 0;
		return rc;
	}
	*value = d->in_value++;
	d->ins++;
	return 0;
}

static int dev_io_write(void *opaque, uint16_t port, uint8_t size, uint32_t value)
{
	struct dev *d = opaque;
	d->last_port = port;
	d->last_io_size = size;
	if (d->fail_write) {
		int rc = d->fail_write;
		d->fail_write = 0;
		return rc;
	}
	for (unsigned int i = 0; i < size && d->nout < sizeof(d->out); i++)
		d->out[d->nout++] = (uint8_t)(value >> (8 * i));
	return 0;
}

static int dev_mmio_read(void *opaque, uint64_t gpa, uint8_t size, uint64_t *value)
{
	struct dev *d = opaque;
	d->last_gpa = gpa;
	d->last_size = size;
	if (d->fail_read) {
		int rc = d->fail_read;
		d->fail_read = 0;
		return rc;
	}
	if (gpa < d->base || gpa - d->base + size > DEV_SIZE)
		return -EFAULT;
	*value = 0;
	memcpy(value, d->mem + (gpa - d->base), size);
	d->reads++;
	return 0;
}

static int dev_mmio_write(void *opaque, uint64_t gpa, uint8_t size, uint64_t value)
{
	struct dev *d = opaque;
	d->last_gpa = gpa;
	d->last_size = size;
	d->last_value = value;
	if (d->fail_write) {
		int rc = d->fail_write;
		d->fail_write = 0;
		return rc;
	}
	if (gpa < d->base || gpa - d->base + size > DEV_SIZE)
		return -EFAULT;
	memcpy(d->mem + (gpa - d->base), &value, size);
	d->writes++;
	return 0;
}

const struct sidecar_emulate_ops dev_ops = {
	.io_read = dev_io_read,
	.io_write = dev_io_write,
	.mmio_read = dev_mmio_read,
	.mmio_write = dev_mmio_write,
};

void mk_header(struct hv_x64_intercept_message_header *h, unsigned int bits, uint64_t rip, unsigned int len,
	       uint8_t access, uint64_t rflags)
{
	memset(h, 0, sizeof(*h));
	h->instruction_length_and_cr8 = (uint8_t)len;
	h->intercept_access_type = access;
	h->execution_state = bits == 64   ? HV_X64_EXEC_STATE_CR0_PE | HV_X64_EXEC_STATE_EFER_LMA
			     : bits == 32 ? HV_X64_EXEC_STATE_CR0_PE
					  : 0;
	h->cs_segment.attributes = bits == 64 ? CS64 : bits == 32 ? CS32 : CS16;
	h->cs_segment.limit = 0xffffffff;
	h->rip = rip;
	h->rflags = rflags;
}

void mk_mem(struct hv_message *msg, unsigned int bits, uint64_t rip, const uint8_t *bytes, unsigned int len,
	    uint64_t gpa, uint8_t access, uint64_t rflags)
{
	struct hv_x64_memory_intercept_message mi;

	memset(msg, 0, sizeof(*msg));
	memset(&mi, 0, sizeof(mi));
	mk_header(&mi.header, bits, rip, len, access, rflags);
	mi.instruction_byte_count = (uint8_t)len;
	memcpy(mi.instruction_bytes, bytes, len);
	mi.guest_physical_address = gpa;
	mi.guest_virtual_address = gpa;
	mi.memory_access_info = HV_X64_MEMORY_ACCESS_GVA_VALID | HV_X64_MEMORY_ACCESS_GVA_GPA_VALID;
	msg->header.type = HV_MESSAGE_TYPE_UNMAPPED_GPA;
	msg->header.len = sizeof(mi);
	memcpy(msg->payload, &mi, sizeof(mi));
}

void mk_io(struct hv_message *msg, unsigned int bits, uint64_t rip, const uint8_t *bytes, unsigned int len,
	   uint16_t port, uint8_t info, bool out, uint64_t rflags, const struct sidecar_cpu_context_x64 *ctx,
	   uint64_t ds_base, uint64_t es_base)
{
	struct hv_x64_io_port_intercept_message io;

	memset(msg, 0, sizeof(*msg));
	memset(&io, 0, sizeof(io));
	mk_header(&io.header, bits, rip, len, out ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ, rflags);
	io.port_number = port;
	io.access_info = info;
	io.instruction_byte_count = (uint8_t)len;
	memcpy(io.instruction_bytes, bytes, len);
	io.rax = ctx->gps[SIDECAR_CPU_CONTEXT_RAX];
	io.rcx = ctx->gps[SIDECAR_CPU_CONTEXT_RCX];
	io.rsi = ctx->gps[SIDECAR_CPU_CONTEXT_RSI];
	io.rdi = ctx->gps[SIDECAR_CPU_CONTEXT_RDI];
	io.ds_segment.base = ds_base;
	io.ds_segment.attributes = 0x93;
	io.es_segment.base = es_base;
	io.es_segment.attributes = 0x93;
	msg->header.type = HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT;
	msg->header.len = sizeof(io);
	memcpy(msg->payload, &io, sizeof(io));
}
