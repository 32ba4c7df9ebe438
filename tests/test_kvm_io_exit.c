/* SPDX-License-Identifier: MIT */
/*
 * Port I/O the short way on a real vCPU (KVM backend), in every wait mode: the guest reads
 * ports of each width and writes back what it read, so the OUTs show whether the kernel (fast
 * modes) or the runtime (SEED) put the IN's value into the right part of RAX and moved RIP
 * past each instruction. String instructions have no summary: the message describes them.
 */
#include "kvm_util.h"

static struct kvm_test kt;

static void setup(void)
{
	kt_open(&kt, "sim:backend=kvm,cpus=1");
}

static void teardown(void)
{
	kt_close(&kt);
}

static uint64_t stop_rip(struct kvm_test *t)
{
	return kt_io(t)->header.rip;
}

/* Runs to the next stop, which must be a plain IN/OUT at `rip`; returns its summary. */
static struct sidecar_io_exit next(struct kvm_test *t, uint64_t rip)
{
	struct sidecar_io_exit io;

	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
	CHECK_EQ(stop_rip(t), rip);
	REQUIRE(sidecar_vp_io_exit(t->vp, &io) == 0);
	return io;
}

/* An IN at `rip` of `size` bytes from `in_port`, completed with `value`; the OUT after it
 * writes what the guest then holds (the low `size` bytes), RAX being `rax` by then. */
static void in_then_out(struct kvm_test *t, uint64_t rip, uint16_t in_port, uint16_t out_port, uint8_t size,
			uint32_t value, uint64_t rax)
{
	uint32_t low = size == 4 ? value : value & ((1u << (8 * size)) - 1);
	struct sidecar_io_exit io = next(t, rip);

	CHECK_EQ(io.port, in_port);
	CHECK_EQ(io.size, size);
	CHECK(!io.write);
	CHECK_EQ(io.value, 0);
	REQUIRE(sidecar_vp_complete_io(t->vp, value) == 0);
	io = next(t, rip + kt_len(&kt_io(t)->header));
	CHECK_EQ(io.port, out_port);
	CHECK(io.write);
	CHECK_EQ(io.size, size);
	CHECK_EQ(io.value, low);
	CHECK_EQ(sidecar_vp_cpu_context(t->vp)->gps[SIDECAR_CPU_CONTEXT_RAX], rax);
	REQUIRE(sidecar_vp_complete_io(t->vp, 0) == 0);
}

static void test_widths(const void *arg)
{
	struct kvm_test *t = &kt;
	static const uint8_t code[] = {
		0xba, 0xf8, 0x03, /* 1000: mov dx, 0x3f8 */
		0xe4, 0x60,       /* 1003: in al, 0x60 */
		0xe6, 0x61,       /* 1005: out 0x61, al */
		0xed,             /* 1007: in ax, dx */
		0xef,             /* 1008: out dx, ax */
		0x66, 0xed,       /* 1009: in eax, dx */
		0x66, 0xef,       /* 100b: out dx, eax */
		0xeb, 0xf4,       /* 100d: jmp 1003 */
	};
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(t->vp);

	REQUIRE(sidecar_vp_set_wait_mode(t->vp, wait_mode(arg)) == 0);
	memcpy(t->mem + 0x1000, code, sizeof(code));
	kt_real_mode(t, 0x1000);
	for (uint32_t i = 0; i < 40; i++) {
		/* Bits above AL and AX stay; EAX zero-extends. */
		ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0xffffffffffff0000ull;
		/* The value's bits above the size do not count. */
		in_then_out(t, 0x1003, 0x60, 0x61, 1, 0xabcd00u | (0x90 + i), 0xffffffffffff0000ull | (0x90 + i));
		in_then_out(t, 0x1007, 0x3f8, 0x3f8, 2, 0x770000u | (0xbe00 + i), 0xffffffffffff0000ull | (0xbe00 + i));
		in_then_out(t, 0x1009, 0x3f8, 0x3f8, 4, 0x12345600u + i, 0x12345600u + i);
	}
	/* The completion of the last OUT is applied by the next run: jmp, then the IN. */
	next(t, 0x1003);
}

/* Mixed with the long way: a stop completed by hand through the register page, then the
 * short way again; and a string instruction, which has no summary. */
static void test_mixed_and_string(const void *arg)
{
	struct kvm_test *t = &kt;
	static const uint8_t code[] = {
		0xba, 0x00, 0x05, /* 3000: mov dx, 0x500 */
		0xee,             /* 3003: out dx, al */
		0xee,             /* 3004: out dx, al */
		0x6e,             /* 3005: outsb */
		0xee,             /* 3006: out dx, al */
		0xf4,             /* 3007: hlt */
	};

	REQUIRE(sidecar_vp_set_wait_mode(t->vp, wait_mode(arg)) == 0);
	memcpy(t->mem + 0x3000, code, sizeof(code));
	memcpy(t->mem + 0x4000, "x", 1);
	kt_real_mode(t, 0x3000);
	sidecar_vp_cpu_context(t->vp)->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x4000;
	next(t, 0x3003);
	REQUIRE(sidecar_vp_complete_io(t->vp, 0) == 0);
	next(t, 0x3004);
	struct hv_x64_register_page *page = sidecar_vp_register_page(t->vp);
	REQUIRE(page->is_valid);
	page->rip = 0x3005;
	page->dirty |= HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
	kt_run(t);
	CHECK_EQ(stop_rip(t), 0x3005);
	CHECK_EQ(kt_io(t)->access_info & HV_X64_IO_ACCESS_STRING_OP, HV_X64_IO_ACCESS_STRING_OP);
	struct sidecar_io_exit io;
	CHECK_EQ(sidecar_vp_io_exit(t->vp, &io), -ENOMSG);
	CHECK_EQ(sidecar_vp_complete_io(t->vp, 0), -ENOMSG);
	/* The VMM performs the OUTSB the long way. */
	sidecar_vp_cpu_context(t->vp)->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x4001;
	kt_skip(t, &kt_io(t)->header);
	next(t, 0x3006);
	REQUIRE(sidecar_vp_complete_io(t->vp, 0) == 0);
	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_X64_HALT);
	CHECK_EQ(sidecar_vp_io_exit(t->vp, &io), -ENOMSG);
}

static const struct check_case cases[] = {
	CHECK_CASE_ARG(widths, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(widths, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(widths, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(widths, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(mixed_and_string, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(mixed_and_string, poll, WAIT_MODE(POLL)),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kvm_io_exit", CHECK_CASES(cases), .watchdog_s = 60,
						 .setup = setup, .teardown = teardown};
	return check_main(argc, argv, &suite);
}
