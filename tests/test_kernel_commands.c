/* SPDX-License-Identifier: MIT */
/*
 * The sidecar kernel's commands, driven the upstream way (write the command page, the
 * driver's RUN ioctl), including garbage from the other trust domain: counts that do not
 * fit, unknown commands, reserved bits. Every result is checked in the page itself.
 */
#include "sim_util.h"

/* Each case's own simulator (two sidecar CPUs, 1 MiB of guest memory) and CPU 1's page. */
static struct sidecar_sim *sim;
static struct sidecar_command_page *page;

static struct sidecar_get_set_vp_register_request *req_hdr(void)
{
	return (struct sidecar_get_set_vp_register_request *)page->request_data;
}

static struct hv_register_assoc *req_regs(void)
{
	return (struct hv_register_assoc *)(page->request_data + 16);
}

static void get_set(uint32_t command, uint16_t count)
{
	req_hdr()->count = count;
	req_hdr()->target_vtl = 0;
	req_hdr()->status = 0xffff;
	CHECK_EQ(sim_run_sync(sim, 1, command), 0);
}

static void test_none(void)
{
	page->has_error = 1;
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_NONE), 0);
	CHECK_EQ(page->has_error, 0); /* cleared for every command */
	CHECK_EQ(page->command, SIDECAR_COMMAND_NONE);
	CHECK_EQ(sim_status(sim, 1), SIDECAR_CPU_IDLE);
}

static void test_unknown_command(void)
{
	CHECK_EQ(sim_run_sync(sim, 1, 5), 0);
	CHECK_EQ(page->has_error, 1);
	CHECK_EQ(page->error.len, strlen("unknown command 5"));
	CHECK(memcmp(page->error.buf, "unknown command 5", page->error.len) == 0);
	CHECK_EQ(page->command, SIDECAR_COMMAND_NONE); /* taken and replaced */

	CHECK_EQ(sim_run_sync(sim, 1, 0xffffffffu), 0);
	CHECK_EQ(page->has_error, 1);
	CHECK(memcmp(page->error.buf, "unknown command 4294967295", page->error.len) == 0);

	/* libsidecar's COMPLETE_IO modifier belongs to the fast line's command word only. */
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO), 0);
	CHECK_EQ(page->has_error, 1);
	CHECK_EQ(page->error.len, strlen("unknown command 2147483649"));
	CHECK(memcmp(page->error.buf, "unknown command 2147483649", page->error.len) == 0);

	/* The next good command clears the error. */
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_NONE), 0);
	CHECK_EQ(page->has_error, 0);
}

static void test_bad_counts(void)
{
	get_set(SIDECAR_COMMAND_GET_VP_REGISTERS, 32);
	CHECK_EQ(page->has_error, 1);
	CHECK(memcmp(page->error.buf, "invalid register name count: 32", page->error.len) == 0);
	get_set(SIDECAR_COMMAND_SET_VP_REGISTERS, 32);
	CHECK_EQ(page->has_error, 1);
	CHECK(memcmp(page->error.buf, "invalid register count: 32", page->error.len) == 0);
	get_set(SIDECAR_COMMAND_SET_VP_REGISTERS, 0xffff);
	CHECK_EQ(page->has_error, 1);
	CHECK(memcmp(page->error.buf, "invalid register count: 65535", page->error.len) == 0);
	/* A rejected request leaves the status field alone, as upstream. */
	CHECK_EQ(req_hdr()->status, 0xffff);

	/* 31 fits; 0 is a no-op. */
	for (int i = 0; i < 31; i++) {
		req_regs()[i].name = HV_X64_REGISTER_RAX + (uint32_t)(i % 16);
		memset(&req_regs()[i].value, 0, 16);
	}
	get_set(SIDECAR_COMMAND_GET_VP_REGISTERS, 31);
	CHECK_EQ(page->has_error, 0);
	CHECK_EQ(req_hdr()->status, HV_STATUS_SUCCESS);
	get_set(SIDECAR_COMMAND_GET_VP_REGISTERS, 0);
	CHECK_EQ(page->has_error, 0);
	CHECK_EQ(req_hdr()->status, HV_STATUS_SUCCESS);
}

static void test_get_set_registers(void)
{
	struct hv_register_assoc *r = req_regs();

	memset(r, 0, 8 * sizeof(*r));
	r[0].name = HV_X64_REGISTER_RIP;
	r[0].value.reg64 = 0x1234;
	r[1].name = HV_X64_REGISTER_CR3;
	r[1].value.reg64 = 0x5000;
	r[2].name = HV_X64_REGISTER_CS;
	r[2].value.segment = (struct hv_x64_segment_register){
		.base = 0x1000, .limit = 0xfffff, .selector = 0x8, .attributes = 0xa09b};
	r[3].name = HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 + 5;
	r[3].value.reg64 = 0xff0000800;
	r[4].name = HV_X64_REGISTER_RAX; /* lives in the CPU context */
	r[4].value.reg64 = 0xaaaa;
	r[5].name = HV_X64_REGISTER_DR7;
	r[5].value.reg64 = 0x401;
	r[6].name = HV_X64_REGISTER_XMM0 + 3; /* the FXSAVE image */
	memset(r[6].value.bytes, 0x5a, 16);
	r[7].name = HV_X64_REGISTER_GDTR;
	r[7].value.table = (struct hv_x64_table_register){.limit = 0x7f, .base = 0x9000};
	get_set(SIDECAR_COMMAND_SET_VP_REGISTERS, 8);
	CHECK_EQ(page->has_error, 0);
	CHECK_EQ(req_hdr()->status, HV_STATUS_SUCCESS);
	CHECK_EQ(page->cpu_context.gps[SIDECAR_CPU_CONTEXT_RAX], 0xaaaa);
	CHECK_EQ(page->cpu_context.fx_state.xmm[3][7], 0x5a);

	for (int i = 0; i < 8; i++)
		memset(&r[i].value, 0, 16);
	get_set(SIDECAR_COMMAND_GET_VP_REGISTERS, 8);
	CHECK_EQ(req_hdr()->status, HV_STATUS_SUCCESS);
	CHECK_EQ(r[0].value.reg64, 0x1234);
	CHECK_EQ(r[1].value.reg64, 0x5000);
	CHECK_EQ(r[2].value.segment.base, 0x1000);
	CHECK_EQ(r[2].value.segment.selector, 0x8);
	CHECK_EQ(r[2].value.segment.attributes, 0xa09b);
	CHECK_EQ(r[3].value.reg64, 0xff0000800);
	CHECK_EQ(r[4].value.reg64, 0xaaaa);
	CHECK_EQ(r[5].value.reg64, 0x401);
	CHECK_EQ(r[6].value.bytes[15], 0x5a);
	CHECK_EQ(r[7].value.table.base, 0x9000);
	CHECK_EQ(r[7].value.table.limit, 0x7f);
}

static void test_unknown_register_stops(void)
{
	struct hv_register_assoc *r = req_regs();

	memset(r, 0, 4 * sizeof(*r));
	r[0].name = HV_X64_REGISTER_RIP;
	r[1].name = HV_X64_REGISTER_EFER;
	r[2].name = 0x12345678; /* unknown */
	r[3].name = HV_X64_REGISTER_CR0;
	r[3].value.reg64 = 0xdeadbeef; /* must stay: processing stops at index 2 */
	get_set(SIDECAR_COMMAND_GET_VP_REGISTERS, 4);
	CHECK_EQ(page->has_error, 0);
	CHECK_EQ(req_hdr()->status, HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(r[0].value.reg64, 0xfff0);
	CHECK_EQ(r[3].value.reg64, 0xdeadbeef);

	/* A set stops there too: the register after it is not written. */
	r[0].name = HV_X64_REGISTER_R9;
	r[0].value.reg64 = 9;
	r[1].name = 0xffffffff;
	r[2].name = HV_X64_REGISTER_R10;
	r[2].value.reg64 = 10;
	page->cpu_context.gps[SIDECAR_CPU_CONTEXT_R10] = 77;
	get_set(SIDECAR_COMMAND_SET_VP_REGISTERS, 3);
	CHECK_EQ(req_hdr()->status, HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(page->cpu_context.gps[SIDECAR_CPU_CONTEXT_R9], 9);
	CHECK_EQ(page->cpu_context.gps[SIDECAR_CPU_CONTEXT_R10], 77);

	/* Read-only registers: a get works, a set is refused. */
	r[0].name = HV_X64_REGISTER_MSR_MTRR_CAP;
	get_set(SIDECAR_COMMAND_GET_VP_REGISTERS, 1);
	CHECK_EQ(req_hdr()->status, HV_STATUS_SUCCESS);
	CHECK(r[0].value.reg64 != 0);
	get_set(SIDECAR_COMMAND_SET_VP_REGISTERS, 1);
	CHECK_EQ(req_hdr()->status, HV_STATUS_ACCESS_DENIED);

	/* Reserved bits in the input-VTL byte. */
	r[0].name = HV_X64_REGISTER_RIP;
	req_hdr()->count = 1;
	req_hdr()->target_vtl = 0xe0;
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_GET_VP_REGISTERS), 0);
	CHECK_EQ(req_hdr()->status, HV_STATUS_INVALID_PARAMETER);
	req_hdr()->target_vtl = HV_INPUT_VTL_USE_TARGET | 0;
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_GET_VP_REGISTERS), 0);
	CHECK_EQ(req_hdr()->status, HV_STATUS_SUCCESS);
}

static void test_run_vp_io(void)
{
	page->cpu_context.gps[SIDECAR_CPU_CONTEXT_RAX] = 0x41;
	page->cpu_context.gps[SIDECAR_CPU_CONTEXT_RCX] = 0x99;
	memset(&page->intercept_message, 0, sizeof(page->intercept_message));
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_RUN_VP), 0);
	CHECK_EQ(page->has_error, 0);
	CHECK_EQ(page->request_data[0], 1); /* intercept */
	const struct hv_message *m = &page->intercept_message;
	const struct hv_x64_io_port_intercept_message *io = (const void *)m->payload;
	CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
	CHECK_EQ(m->header.len, sizeof(*io));
	CHECK_EQ(io->header.vp_index, 1);
	CHECK_EQ(io->header.rip, 0xfff0);
	CHECK_EQ(io->header.instruction_length_and_cr8 & 0xf, 1);
	CHECK_EQ(io->header.intercept_access_type, HV_INTERCEPT_ACCESS_WRITE);
	CHECK_EQ(io->header.cs_segment.selector, 0xf000);
	CHECK_EQ(io->header.rflags, 0x2);
	CHECK_EQ(io->port_number, 0x3f8);
	CHECK_EQ(io->access_info & HV_X64_IO_ACCESS_SIZE_MASK, 1);
	CHECK_EQ(io->rax, 0x41);
	CHECK_EQ(io->rcx, 0x99);
	CHECK_EQ(io->instruction_byte_count, 1);
	CHECK_EQ(io->instruction_bytes[0], 0xee);
	/* The context came back out unchanged; RIP stays on the instruction. */
	CHECK_EQ(page->cpu_context.gps[SIDECAR_CPU_CONTEXT_RAX], 0x41);
	struct hv_x64_register_page *rp = &sim_pages(sim, 1)->register_page;
	CHECK_EQ(rp->is_valid, 1);
	CHECK_EQ(rp->rip, 0xfff0);
	CHECK_EQ(rp->gp_registers[0], 0x41);
	CHECK_EQ(rp->segment[HV_X64_REGISTER_PAGE_CS].selector, 0xf000);

	/* The VMM advances RIP through the register page (dirty bit) and runs again. */
	rp->rip = 0xfff1;
	rp->dirty = HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_RUN_VP), 0);
	CHECK_EQ(io->header.rip, 0xfff1);
	CHECK_EQ(rp->dirty, 0);
}

/* Holds CPU 1 at BEFORE_COMMAND until released, so a STOP lands before the command starts. */
static _Atomic int hold;
static _Atomic int held;

static void hold_hook(void *ctx, struct sidecar_sim *s, uint32_t cpu, enum sidecar_fault_point where)
{
	(void)ctx;
	if (cpu != 1 || where != SIDECAR_FAULT_BEFORE_COMMAND || !atomic_load(&hold))
		return;
	atomic_store(&held, 1);
	while (atomic_load(&hold) && !sidecar_sim_shutting_down(s))
		usleep(100);
}

static void test_stop_before_start(void)
{
	struct sidecar_drv_node *node = sim_node(sim, 0);
	uint32_t cpu;

	atomic_store(&hold, 1);
	atomic_store(&held, 0);
	page->command = SIDECAR_COMMAND_RUN_VP;
	page->request_data[0] = 0xcc;
	CHECK_EQ(sidecar_sim_drv_ops.start(node, 1), 0);
	while (!atomic_load(&held))
		usleep(100);
	CHECK_EQ(sidecar_sim_drv_ops.stop(node, 1), 0);
	CHECK_EQ(sim_status(sim, 1), SIDECAR_CPU_STOP);
	atomic_store(&hold, 0);
	/* The command still "runs", for no time: intercept 0, status back to IDLE. */
	int rc;
	uint64_t t0 = ms_now();
	while ((rc = sidecar_sim_drv_ops.read(node, &cpu, true)) == -EAGAIN && ms_now() - t0 < 10000)
		usleep(100);
	CHECK_EQ(rc, 0);
	CHECK_EQ(cpu, 1);
	CHECK_EQ(page->request_data[0], 0);
	CHECK_EQ(page->command, SIDECAR_COMMAND_NONE);
	CHECK_EQ(sim_status(sim, 1), SIDECAR_CPU_IDLE);
}

/* A status byte no driver writes: the kernel resets it to IDLE instead of panicking. */
static void test_garbage_status(void)
{
	struct sidecar_control_page *cp = sidecar_sim_control_page(sim, 0);
	struct sidecar_sim_cpu_stats before, after;

	sidecar_sim_cpu_stats(sim, 2, &before);
	sc_store_release(&cp->cpu_status[2], 0x7f);
	sidecar_sim_drv_ops.kick(sim_node(sim, 0), 2); /* an IPI, as if a driver had written it */
	uint64_t t0 = ms_now();
	while (sim_status(sim, 2) != SIDECAR_CPU_IDLE && ms_now() - t0 < 5000)
		usleep(100);
	CHECK_EQ(sim_status(sim, 2), SIDECAR_CPU_IDLE);
	sidecar_sim_cpu_stats(sim, 2, &after);
	CHECK_EQ(after.commands, before.commands);               /* nothing was run */
	CHECK_EQ(sim_run_sync(sim, 2, SIDECAR_COMMAND_NONE), 0); /* and it still works */
}

static void test_translate(void)
{
	struct sidecar_translate_gva_request *rq = (void *)page->request_data;
	struct sidecar_translate_gva_response *rs = (void *)page->request_data;

	/* CR0.PG clear (reset state): the identity. */
	rq->gvn = 0x23;
	rq->control_flags = HV_TRANSLATE_GVA_VALIDATE_READ;
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_TRANSLATE_GVA), 0);
	CHECK_EQ(page->has_error, 0);
	CHECK_EQ(rs->status, HV_STATUS_SUCCESS);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(rs->output.translation_result.result), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(rs->output.gpa_page, 0x23);
	/* Beyond the guest's memory (1M here). */
	rq->gvn = 0x200;
	rq->control_flags = HV_TRANSLATE_GVA_VALIDATE_READ;
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_TRANSLATE_GVA), 0);
	CHECK_EQ(rs->status, HV_STATUS_SUCCESS);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(rs->output.translation_result.result), HV_TRANSLATE_GVA_GPA_UNMAPPED);
	/* Reserved control flags: the hypercall itself fails, the output is zero. */
	rq->gvn = 0x1;
	rq->control_flags = 1ull << 40;
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_TRANSLATE_GVA), 0);
	CHECK_EQ(rs->status, HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(rs->output.gpa_page, 0);
}

static void test_guests(void)
{
	struct sidecar_sim *h = sim_open("sim:cpus=1,guest=halt");
	struct sidecar_command_page *p = &sim_pages(h, 1)->command_page;
	CHECK_EQ(sim_run_sync(h, 1, SIDECAR_COMMAND_RUN_VP), 0);
	CHECK_EQ(p->request_data[0], 1);
	CHECK_EQ(p->intercept_message.header.type, HV_MESSAGE_TYPE_X64_HALT);
	sidecar_sim_destroy(h);

	/* spin: only a stop ends the run. */
	struct sidecar_sim *s = sim_open("sim:cpus=1,guest=spin");
	struct sidecar_drv_node *node = sim_node(s, 0);
	uint32_t cpu;
	p = &sim_pages(s, 1)->command_page;
	p->command = SIDECAR_COMMAND_RUN_VP;
	CHECK_EQ(sidecar_sim_drv_ops.start(node, 1), 0);
	usleep(20000);
	CHECK_EQ(sidecar_sim_drv_ops.read(node, &cpu, true), -EAGAIN);
	CHECK_EQ(sim_status(s, 1), SIDECAR_CPU_RUN);
	CHECK_EQ(sidecar_sim_drv_ops.stop(node, 1), 0);
	CHECK_EQ(sidecar_sim_drv_ops.read(node, &cpu, false), 0);
	CHECK_EQ(cpu, 1);
	CHECK_EQ(p->request_data[0], 0);
	sidecar_sim_destroy(s);

	/* io_port and work_ns. */
	s = sim_open("sim:cpus=1,io_port=0x80,work_ns=200000");
	p = &sim_pages(s, 1)->command_page;
	uint64_t t0 = sidecar_now_ns();
	CHECK_EQ(sim_run_sync(s, 1, SIDECAR_COMMAND_RUN_VP), 0);
	CHECK(sidecar_now_ns() - t0 >= 200000);
	CHECK_EQ(((const struct hv_x64_io_port_intercept_message *)p->intercept_message.payload)->port_number, 0x80);
	sidecar_sim_destroy(s);
}

static void setup(void)
{
	sim = sim_open("sim:cpus=2,mem=1M");
	sidecar_sim_set_fault_hook(sim, hold_hook, NULL);
	page = &sim_pages(sim, 1)->command_page;
}

static void teardown(void)
{
	sidecar_sim_destroy(sim);
	sim = NULL;
	page = NULL;
}

static const struct check_case cases[] = {
	CHECK_CASE(none),
	CHECK_CASE(unknown_command),
	CHECK_CASE(bad_counts),
	CHECK_CASE(get_set_registers),
	CHECK_CASE(unknown_register_stops),
	CHECK_CASE(run_vp_io),
	CHECK_CASE(stop_before_start),
	CHECK_CASE(garbage_status),
	CHECK_CASE(translate),
	CHECK_CASE(guests),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kernel_commands", CHECK_CASES(cases), .watchdog_s = 60,
						 .setup = setup, .teardown = teardown};
	return check_main(argc, argv, &suite);
}
