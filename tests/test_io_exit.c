/* SPDX-License-Identifier: MIT */
/*
 * Port I/O the short way (sidecar_vp_io_exit, sidecar_vp_complete_io) on the synthetic VP,
 * whose io guest stops at `out dx, al` (one byte) at the VP's RIP: in every wait mode the
 * summary matches the message, a completion moves RIP past the instruction by the next run,
 * and a fast-mode round trip handled this way writes neither the message's reader side nor
 * the register page. Then the errors, and garbage in the fast line's command word.
 */
#include "sim_util.h"

#define PORT 0x3f8

static struct sidecar_client *open_io(struct sidecar_vp **vp, const char *target)
{
	struct sidecar_client *c = NULL;

	REQUIRE(sidecar_client_open(target, &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, vp) == 0);
	return c;
}

static uint64_t msg_rip(struct sidecar_vp *vp)
{
	const struct hv_x64_io_port_intercept_message *io = (const void *)sidecar_vp_intercept_message(vp)->payload;
	return io->header.rip;
}

static void test_every_mode(const void *arg)
{
	struct sidecar_vp *vp;
	struct sidecar_client *c = open_io(&vp, "sim:cpus=1,guest=io,io_port=0x3f8");
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(vp);
	bool hit = false;

	REQUIRE(sidecar_vp_set_wait_mode(vp, wait_mode(arg)) == 0);
	ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x40;
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	uint64_t rip = msg_rip(vp);
	for (uint32_t i = 0; i < 200; i++) {
		struct sidecar_io_exit io;
		CHECK_EQ(sidecar_vp_io_exit(vp, &io), 0);
		CHECK_EQ(io.port, PORT);
		CHECK_EQ(io.size, 1);
		CHECK(io.write);
		CHECK_EQ(io.value, (i + 0x40) & 0xff);
		/* The message says the same, and the VP's RIP is the instruction's. */
		struct sidecar_io_intercept m;
		CHECK_EQ(sidecar_message_decode_io(sidecar_vp_intercept_message(vp), &m), 0);
		CHECK_EQ(m.port, io.port);
		CHECK_EQ(m.data, io.value);
		CHECK_EQ(m.rip, rip);

		CHECK_EQ(sidecar_vp_complete_io(vp, 0), 0);
		CHECK_EQ(sidecar_vp_complete_io(vp, 0), -EALREADY);
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_FUTEX), -EBUSY); /* pending */
		/* An OUT leaves RAX alone: the next OUT writes what the VMM puts there. */
		ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0xabcdef0000000000ull | ((i + 0x41) & 0xff);
		REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
		CHECK_EQ(msg_rip(vp), rip + 1); /* moved past the one-byte OUT */
		CHECK_EQ(ctx->gps[SIDECAR_CPU_CONTEXT_RAX], 0xabcdef0000000000ull | ((i + 0x41) & 0xff));
		rip++;
	}
	/* Nothing pending any more: the mode can change. */
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_FUTEX), 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

/* Which stops have a summary, and what each call says otherwise. */
static void test_errors(const void *arg)
{
	struct sidecar_vp *vp;
	struct sidecar_client *c = open_io(&vp, "sim:cpus=1,guest=halt");
	struct sidecar_io_exit io;
	bool hit = false;

	REQUIRE(sidecar_vp_set_wait_mode(vp, wait_mode(arg)) == 0);
	CHECK_EQ(sidecar_vp_io_exit(NULL, &io), -EINVAL);
	CHECK_EQ(sidecar_vp_io_exit(vp, NULL), -EINVAL);
	CHECK_EQ(sidecar_vp_complete_io(NULL, 0), -EINVAL);
	/* No run yet. */
	CHECK_EQ(sidecar_vp_io_exit(vp, &io), -ENOMSG);
	CHECK_EQ(sidecar_vp_complete_io(vp, 0), -ENOMSG);
	/* A HALT stop is not port I/O. */
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	CHECK_EQ(sidecar_message_type(sidecar_vp_intercept_message(vp)), HV_MESSAGE_TYPE_X64_HALT);
	CHECK_EQ(sidecar_vp_io_exit(vp, &io), -ENOMSG);
	CHECK_EQ(sidecar_vp_complete_io(vp, 0), -ENOMSG);
	/* A run posted and not collected has no stop to describe yet. */
	REQUIRE(sidecar_vp_run(vp) == 0);
	CHECK_EQ(sidecar_vp_io_exit(vp, &io), -ENOMSG);
	REQUIRE(sidecar_vp_wait(vp, -1, &hit) == 0 && hit);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

/* A fast round trip handled the short way: the VMM touches the fast line only. The kernel
 * summarizes only for a VMM that uses it: from the run after its first completion. */
static void test_fast_line_only(void)
{
	struct sidecar_vp *vp;
	struct sidecar_client *c = open_io(&vp, "sim:cpus=1,guest=io,io_port=0x3f8");
	bool hit = false;

	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL) == 0);
	CHECK(vp->fast->sidecar_caps & SIDECAR_FAST_F_IO_EXIT);
	CHECK(!(vp->features & SIDECAR_FAST_F_IO_EXIT)); /* not asked for yet */
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	CHECK_EQ(vp->fast->io_info, 0);
	CHECK_EQ(vp->io_stop, RT_IO_STOP_MSG);
	uint64_t rip = msg_rip(vp);
	CHECK_EQ(sidecar_vp_complete_io(vp, 0), 0); /* by hand: the register page */
	CHECK(vp->features & SIDECAR_FAST_F_IO_EXIT);
	CHECK_EQ(vp->fast->features & SIDECAR_FAST_F_IO_EXIT, SIDECAR_FAST_F_IO_EXIT);
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	CHECK_EQ(msg_rip(vp), rip + 1);
	CHECK_EQ(vp->io_stop, RT_IO_STOP_FAST);
	rip++;

	struct hv_x64_register_page *rp = sidecar_vp_register_page(vp);
	CHECK(rp->is_valid);
	CHECK_EQ(rp->dirty, 0);
	/* The summary comes from the line even with the message's port scribbled over (the
	 * VP is stopped: the page is the VMM's to touch). */
	struct hv_x64_io_port_intercept_message *m =
		(struct hv_x64_io_port_intercept_message *)vp->page->intercept_message.payload;
	m->port_number = 0x1234;
	struct sidecar_io_exit io;
	CHECK_EQ(sidecar_vp_io_exit(vp, &io), 0);
	CHECK_EQ(io.port, PORT);
	CHECK_EQ(vp->fast->io_port, PORT);
	CHECK_EQ(vp->fast->io_info, 1 | SIDECAR_FAST_IO_WRITE | SIDECAR_FAST_IO_VALID);
	CHECK_EQ(sidecar_vp_complete_io(vp, 0), 0);
	/* The kernel moves RIP: the register page is not written by the VMM. */
	CHECK_EQ(rp->dirty, 0);
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	CHECK_EQ(msg_rip(vp), rip + 1);
	CHECK_EQ(rp->rip, rip + 1);
	/* A mode change keeps asking for it. */
	REQUIRE(sidecar_vp_complete_io(vp, 0) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_ADAPTIVE) == 0);
	CHECK(vp->features & SIDECAR_FAST_F_IO_EXIT);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

/* The by-hand path honours a register page whose GP registers the VMM dirtied. */
static void test_by_hand_dirty_gps(void)
{
	struct sidecar_vp *vp;
	struct sidecar_client *c = open_io(&vp, "sim:cpus=1,guest=io,io_port=0x3f8");
	bool hit = false;

	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_SEED) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	uint64_t rip = msg_rip(vp);
	struct hv_x64_register_page *rp = sidecar_vp_register_page(vp);
	REQUIRE(rp->is_valid);
	rp->gp_registers[1] = 0x77; /* RCX */
	rp->dirty |= HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE;
	CHECK_EQ(sidecar_vp_complete_io(vp, 0), 0);
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	CHECK_EQ(msg_rip(vp), rip + 1);
	CHECK_EQ(sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RCX], 0x77);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

/* A completion pending at release is applied by the next owner's first run. */
static void test_release_pending(const void *arg)
{
	struct sidecar_vp *vp;
	struct sidecar_client *c = open_io(&vp, "sim:cpus=1,guest=io,io_port=0x3f8");
	bool hit = false;

	for (int round = 0; round < 3; round++) {
		REQUIRE(sidecar_vp_set_wait_mode(vp, wait_mode(arg)) == 0);
		REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit); /* round 1 on: the kernel's summary */
		uint64_t rip = msg_rip(vp);
		REQUIRE(sidecar_vp_complete_io(vp, 0) == 0);
		sidecar_vp_release(vp);
		REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
		REQUIRE(sidecar_vp_set_wait_mode(vp, wait_mode(arg)) == 0);
		REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
		CHECK_EQ(msg_rip(vp), rip + 1); /* not executed twice */
		/* Pending twice in a row under one owner (the kernel path from the second). */
		REQUIRE(sidecar_vp_complete_io(vp, 0) == 0);
		REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
		CHECK_EQ(msg_rip(vp), rip + 2);
		REQUIRE(sidecar_vp_complete_io(vp, 0) == 0);
		sidecar_vp_release(vp);
		REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
		REQUIRE(sidecar_vp_set_wait_mode(vp, wait_mode(arg)) == 0);
		REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
		CHECK_EQ(msg_rip(vp), rip + 3);
		sidecar_vp_release(vp);
		REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	}
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

/* Garbage in the fast line's command word: the kernel fails the command, runs nothing. */
static void test_kernel_rejects(void)
{
	struct sidecar_vp *vp;
	struct sidecar_client *c = open_io(&vp, "sim:cpus=1,guest=io,io_port=0x3f8");
	bool hit = false;
	struct sidecar_vp_stats st;

	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL) == 0);
	/* Without IO_EXIT in the features the kernel keeps no record: a COMPLETE_IO after a port
	 * I/O stop is refused all the same. */
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	REQUIRE(rt_fast_post(vp, SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO) == 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &hit), -SIDECAR_EKERNEL);
	CHECK_STREQ(sidecar_vp_error_string(vp),
		    "complete-io: the last run did not stop at a plain port I/O instruction");
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	c = open_io(&vp, "sim:cpus=1,guest=io,io_port=0x3f8");
	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL) == 0);
	vp->io_short = true;
	rt_vp_enable_io_exit(vp);
	REQUIRE(vp->features & SIDECAR_FAST_F_IO_EXIT);
	/* COMPLETE_IO with no port I/O stop behind it (no run yet). */
	REQUIRE(rt_fast_post(vp, SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO) == 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &hit), -SIDECAR_EKERNEL);
	CHECK_STREQ(sidecar_vp_error_string(vp),
		    "complete-io: the last run did not stop at a plain port I/O instruction");
	CHECK_EQ(sidecar_message_type(sidecar_vp_intercept_message(vp)), HV_MESSAGE_TYPE_NONE); /* not run */
	CHECK_EQ(vp->fast->io_info, 0);

	/* A run, completed once; a second completion of the same stop is refused. */
	REQUIRE(sidecar_vp_run_sync(vp, &hit) == 0 && hit);
	uint64_t rip = msg_rip(vp);
	REQUIRE(rt_fast_post(vp, SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO) == 0);
	REQUIRE(sidecar_vp_wait(vp, -1, &hit) == 0 && hit);
	CHECK_EQ(msg_rip(vp), rip + 1);
	/* That run stopped at the OUT again: its record is fresh; a modifier on another
	 * command, or an unknown one, is an unknown command. */
	REQUIRE(rt_fast_post(vp, SIDECAR_COMMAND_GET_VP_REGISTERS | SIDECAR_FAST_COMMAND_COMPLETE_IO) == 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &hit), -SIDECAR_EKERNEL);
	CHECK_STREQ(sidecar_vp_error_string(vp), "unknown command 2147483650");
	REQUIRE(rt_fast_post(vp, SIDECAR_COMMAND_RUN_VP | (1u << 30)) == 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &hit), -SIDECAR_EKERNEL);
	CHECK_STREQ(sidecar_vp_error_string(vp), "unknown command 1073741825");
	/* The record survived both: the completion still applies once. */
	REQUIRE(rt_fast_post(vp, SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO) == 0);
	REQUIRE(sidecar_vp_wait(vp, -1, &hit) == 0 && hit);
	CHECK_EQ(msg_rip(vp), rip + 2);
	sidecar_vp_get_stats(vp, &st);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

static const struct check_case cases[] = {
	CHECK_CASE_ARG(every_mode, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(every_mode, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(every_mode, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(every_mode, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(errors, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(errors, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(release_pending, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(release_pending, poll, WAIT_MODE(POLL)),
	CHECK_CASE(fast_line_only),
	CHECK_CASE(by_hand_dirty_gps),
	CHECK_CASE(kernel_rejects),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_io_exit", CHECK_CASES(cases), .watchdog_s = 60};
	return check_main(argc, argv, &suite);
}
