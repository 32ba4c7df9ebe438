/* SPDX-License-Identifier: MIT */
/*
 * The calls of <sidecar/client.h> on target "device" in every wait mode, with a driver that
 * has libsidecar's extension (this project's module): ADAPTIVE is the default, every mode
 * can be chosen, and in each one run_sync, run + wait, run + try_wait, timed waits, the
 * event fd, a cancel right after the start, the synchronous commands, the statistics and
 * port I/O the short way (sidecar_vp_io_exit, sidecar_vp_complete_io) work. Each run carries a tag in RAX that the io guest echoes in its message, so a run
 * collected with another run's results is caught. Runs with the io guest (with or without
 * work_ns) and the halt guest (no tags there).
 */
#include "dev_util.h"

#include <poll.h>

static bool io_guest;

static void tag(struct sidecar_vp *vp, uint64_t *t)
{
	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = ++*t;
}

static void check_run(struct sidecar_vp *vp, bool intercept, uint64_t t)
{
	CHECK(intercept);
	const struct hv_message *m = sidecar_vp_intercept_message(vp);
	if (!io_guest) {
		CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_HALT);
		return;
	}
	CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
	const struct hv_x64_io_port_intercept_message *io = (const void *)m->payload;
	CHECK_EQ(io->rax, t);
}

static void mode_calls(struct sidecar_client *c, unsigned cpu, enum sidecar_wait_mode mode, int efd)
{
	struct sidecar_vp *vp;
	struct sidecar_vp_stats st;
	bool intercept = false;
	uint64_t t = (uint64_t)mode << 32;
	int rc;

	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
	CHECK_EQ(sidecar_vp_get_wait_mode(vp), SIDECAR_WAIT_ADAPTIVE); /* the default */
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	CHECK_EQ(sidecar_vp_get_wait_mode(vp), mode);
	if (mode == SIDECAR_WAIT_SEED)
		CHECK_EQ(sidecar_vp_set_poll_ns(vp, 1000, 1000), -ENOTSUP);
	else
		CHECK_EQ(sidecar_vp_set_poll_ns(vp, mode == SIDECAR_WAIT_FUTEX ? 1000 : 500000, 500000), 0);

	/* Nothing runs yet. */
	CHECK_EQ(sidecar_vp_wait(vp, 0, &intercept), -EINVAL);
	CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EINVAL);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);

	/* run_sync, run + wait (with and without a timeout), run + try_wait. */
	for (int i = 0; i < 100; i++) {
		tag(vp, &t);
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		check_run(vp, intercept, t);
	}
	/* Port I/O the short way: the summary, and the completion by the module's kernel (the
	 * fast modes) or by the runtime (SEED) moving RIP past the one-byte OUT. */
	if (io_guest) {
		uint64_t rip = 0;
		for (int i = 0; i < 20; i++) {
			struct sidecar_io_exit io;
			tag(vp, &t);
			CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
			check_run(vp, intercept, t);
			const struct hv_message *m = sidecar_vp_intercept_message(vp);
			uint64_t r = ((const struct hv_x64_intercept_message_header *)m->payload)->rip;
			if (i)
				CHECK_EQ(r, rip + 1);
			rip = r;
			CHECK_EQ(sidecar_vp_io_exit(vp, &io), 0);
			CHECK(io.write);
			CHECK_EQ(io.size, 1);
			CHECK_EQ(io.value, t & 0xff);
			CHECK_EQ(sidecar_vp_complete_io(vp, 0), 0);
		}
		tag(vp, &t);
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0); /* applies the last completion */
		check_run(vp, intercept, t);
	}
	for (int i = 0; i < 50; i++) {
		tag(vp, &t);
		CHECK_EQ(sidecar_vp_run(vp), 0);
		CHECK_EQ(sidecar_vp_run(vp), -EBUSY);
		CHECK_EQ(sidecar_vp_test(vp), -EBUSY);
		CHECK_EQ(sidecar_vp_wait(vp, i % 2 ? 10000000000ll : -1, &intercept), 0);
		check_run(vp, intercept, t);
	}
	for (int i = 0; i < 50; i++) {
		tag(vp, &t);
		CHECK_EQ(sidecar_vp_run(vp), 0);
		while ((rc = sidecar_vp_try_wait(vp, &intercept)) == -EAGAIN)
			;
		CHECK_EQ(rc, 0);
		check_run(vp, intercept, t);
	}
	/* Timed waits until it ends: short timeouts, collected by a later one. */
	for (int i = 0; i < 20; i++) {
		tag(vp, &t);
		CHECK_EQ(sidecar_vp_run(vp), 0);
		while ((rc = sidecar_vp_wait(vp, 1000 * (i % 5), &intercept)) == -ETIMEDOUT)
			;
		CHECK_EQ(rc, 0);
		check_run(vp, intercept, t);
	}

	/* The event fd: readable while a finished run is not collected. */
	struct pollfd pfd = {.fd = efd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	for (int i = 0; i < 20; i++) {
		tag(vp, &t);
		CHECK_EQ(sidecar_vp_run(vp), 0);
		CHECK_EQ(poll(&pfd, 1, 10000), 1);
		CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), 0);
		check_run(vp, intercept, t);
		CHECK_EQ(poll(&pfd, 1, 0), 0);
	}

	/* A cancel right after the start: the run ends either way. */
	unsigned cancelled = 0;
	for (int i = 0; i < 20; i++) {
		CHECK_EQ(sidecar_vp_run(vp), 0);
		CHECK_EQ(sidecar_vp_cancel(vp), 0);
		CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
		cancelled += !intercept;
	}

	/* Synchronous commands. */
	CHECK_EQ(sidecar_vp_test(vp), 0);
	struct hv_register_assoc r[40];
	for (int i = 0; i < 40; i++) {
		r[i].name = HV_X64_REGISTER_R8 + (uint32_t)(i % 8);
		r[i].value.reg64 = 0x5000 + (uint64_t)i;
	}
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, r, 40), 0);
	for (int i = 0; i < 40; i++)
		r[i].value.reg64 = 0;
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, r, 40), 0);
	for (int i = 0; i < 40; i++)
		CHECK_EQ(r[i].value.reg64, 0x5000 + 32 + (uint64_t)(i % 8)); /* the last write of each */
	struct hv_register_assoc bad = {.name = 0xdeadbeef};
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, &bad, 1), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	struct hv_translate_virtual_address_ex_output_x64 out;
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x12, HV_TRANSLATE_GVA_VALIDATE_READ, &out), 0);
	CHECK_EQ(out.gpa_page, 0x12);
	CHECK_EQ(sidecar_vp_sync_fx(vp), 0);
	CHECK_EQ(sidecar_vp_register_page(vp)->is_valid, 1);

	/* Statistics. */
	sidecar_vp_get_stats(vp, &st);
	unsigned short_way = io_guest ? 21 : 0;
	CHECK_EQ(st.runs, 260 + short_way);
	CHECK_EQ(st.intercepts, 240 + short_way + 20 - cancelled);
	CHECK(st.cancels <= 20);
	if (mode == SIDECAR_WAIT_FUTEX)
		CHECK(st.request_signals >= st.runs); /* every post signals the halted CPU */
	printf("%-8s: %llu runs (%u cancelled), %llu request / %llu response signals, %llu sleeps, %llu polled\n",
	       sidecar_wait_mode_name(mode), (unsigned long long)st.runs, cancelled,
	       (unsigned long long)st.request_signals, (unsigned long long)st.response_signals,
	       (unsigned long long)st.sleeps, (unsigned long long)st.polled_completions);
	sidecar_vp_release(vp);
	CHECK_EQ(dev_sysfs_num(0, "direct_claims"), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(240);
	dev_require_device();
	if (strcmp(dev_guest(), "spin") == 0)
		SKIP("needs a guest that intercepts (io or halt)");
	dev_require_fast();
	io_guest = strcmp(dev_guest(), "io") == 0;
	unsigned cpu = dev_first_sidecar_cpu();
	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vp, *vp2;
	int efd = sidecar_client_event_fd(c);
	REQUIRE(efd >= 0);

	for (size_t i = 0; i < sizeof(dev_all_modes) / sizeof(dev_all_modes[0]); i++)
		mode_calls(c, cpu, dev_all_modes[i], efd);

	/* Mode switches on one VP, each followed by a round trip; and an accessor in another
	 * client sees the VP busy. */
	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
	struct sidecar_client *c2 = dev_client();
	CHECK_EQ(sidecar_vp_acquire(c2, cpu, &vp2), -EBUSY);
	uint64_t t = 0;
	bool intercept;
	for (int i = 0; i < 64; i++) {
		enum sidecar_wait_mode m = dev_all_modes[(unsigned)(i * 7 + i / 4) % 4];
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, m), 0);
		tag(vp, &t);
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		check_run(vp, intercept, t);
	}
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL), 0);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_SEED), -EBUSY);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	sidecar_client_close(c2);

	/* Close with an accessor held, a run in flight: calls fail, release still works. */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	sidecar_client_close(c);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), -ESHUTDOWN);
	CHECK_EQ(sidecar_vp_run(vp), -ESHUTDOWN);
	CHECK_EQ(sidecar_vp_test(vp), -ESHUTDOWN);
	sidecar_vp_release(vp);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_calls");
}
