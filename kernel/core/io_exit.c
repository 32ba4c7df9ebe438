/* SPDX-License-Identifier: MIT */
/*
 * The port-I/O fast path (SIDECAR_FAST_F_IO_EXIT): the summary of a plain IN/OUT intercept
 * in the fast line, and its completion by the kernel at the next run (COMPLETE_IO), so that
 * a VMM handles the commonest exit without touching the message or the register page.
 *
 * The record (struct sidecar_kernel_io) is the kernel's own: it is set when a run stops at a
 * plain IN/OUT, whichever path posted the run, and cleared by every other stop and by the
 * completion that consumes it. Both ends are on the sidecar CPU's thread.
 */
#include "kernel.h"

/* Called with the intercept message the run just wrote (local lines). On the completion's
 * critical path: the message's fields are loaded once, before any store to the record (which
 * the compiler could not otherwise keep apart from the message). */
void sidecar_kernel_io_record(struct sidecar_kcpu *k, bool intercept)
{
	const struct hv_message *msg = &k->command_page->intercept_message;
	const struct hv_x64_io_port_intercept_message *io = (const void *)msg->payload;
	struct sidecar_kernel_io *rec = &k->io;

	if (!intercept || msg->header.type != HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT || msg->header.len < sizeof(*io)) {
		rec->valid = false;
		rec->info = 0;
		return;
	}
	uint8_t access = io->access_info;
	uint8_t size = access & HV_X64_IO_ACCESS_SIZE_MASK;
	uint8_t len = io->header.instruction_length_and_cr8 & 0xf;
	uint8_t type = io->header.intercept_access_type;
	uint64_t rip = io->header.rip, rax = io->rax;
	uint16_t port = io->port_number;

	/* A plain IN/OUT: not a string op (nor REP), size 1, 2 or 4, a length, READ or WRITE. */
	if ((access & (HV_X64_IO_ACCESS_STRING_OP | HV_X64_IO_ACCESS_REP_PREFIX)) || !((0x16u >> size) & 1) || !len ||
	    type > HV_INTERCEPT_ACCESS_WRITE) {
		rec->valid = false;
		rec->info = 0;
		return;
	}
	bool in = type == HV_INTERCEPT_ACCESS_READ;
	rec->rip = rip;
	rec->len = len;
	rec->size = size;
	rec->in = in;
	rec->valid = true;
	rec->port = port;
	rec->data = in ? 0 : sidecar_io_value(rax, size);
	/* The summary goes into the fast line with the completion (complete_fast), right
	 * before done_seq: written earlier, the line would go back to the polling client in
	 * between and cost the completion a second transfer. */
	rec->info = size | SIDECAR_FAST_IO_VALID | (in ? 0 : SIDECAR_FAST_IO_WRITE);
}

int sidecar_kernel_io_complete_rip(struct sidecar_kcpu *k)
{
	struct sidecar_kernel_io *rec = &k->io;
	struct hv_x64_register_page *rp = k->register_page;

	if (!rec->valid)
		return -1;
	rec->valid = false;
	rec->info = 0; /* what this run stops at replaces it */
	uint64_t rip = rec->rip + rec->len;
	if (k->be->register_page_load && rp->is_valid) {
		/* Through the page: a backend skips loading RIP it already holds (KVM moved
		 * it past the instruction itself). */
		rp->rip = rip;
		rp->dirty |= HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
		return 0;
	}
	union hv_register_value v;
	memset(&v, 0, sizeof(v));
	v.reg64 = rip;
	return k->be->set_register(k->vp, 0, HV_X64_REGISTER_RIP, &v);
}

void sidecar_kernel_io_complete_rax(struct sidecar_kcpu *k, uint32_t value)
{
	uint64_t *rax = &k->command_page->cpu_context.gps[SIDECAR_CPU_CONTEXT_RAX];

	/* The record's size and direction outlive `valid` until the next run's stop. */
	if (k->io.in)
		*rax = sidecar_io_merge_in(*rax, k->io.size, value);
}
