/* SPDX-License-Identifier: MIT */
/*
 * Every call of <sidecar/client.h> on target "device", in SEED mode (the only mode a device
 * without the fast-path extension offers), with the result each must give there. Runs with
 * any non-spinning guest (io, halt, with or without work_ns).
 */
#include "dev_util.h"

#include <poll.h>

static void check_run_result(struct sidecar_vp *vp, bool intercept)
{
	CHECK(intercept);
	const struct hv_message *m = sidecar_vp_intercept_message(vp);
	CHECK(m != NULL);
	if (strcmp(dev_guest(), "halt") == 0)
		CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_HALT);
	else
		CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
}

int main(void)
{
	check_watchdog(240);
	dev_require_device();
	if (strcmp(dev_guest(), "spin") == 0)
		SKIP("needs a guest that intercepts (io or halt)");
	unsigned cpu = dev_first_sidecar_cpu();
	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vp, *vp2;
	bool intercept = false;
	void *base;
	size_t size;

	/* The client. */
	CHECK_EQ(sidecar_client_node_count(c), dev_node_count());
	CHECK(sidecar_client_cpu_count(c) > cpu);
	CHECK(sidecar_client_base_cpu(c, cpu) >= 0 && (unsigned)sidecar_client_base_cpu(c, cpu) < cpu);
	CHECK_EQ(sidecar_client_base_cpu(c, sidecar_client_cpu_count(c)), -EINVAL);
	CHECK_EQ(sidecar_client_base_cpu(NULL, cpu), -EINVAL);
	CHECK_EQ(sidecar_client_guest_memory(c, &base, &size), -ENOTSUP);
	CHECK_EQ(sidecar_client_set_stop_timeout(c, 0), -EINVAL);
	CHECK_EQ(sidecar_client_set_stop_timeout(c, 5000000000ll), 0);
	int efd = sidecar_client_event_fd(c);
	CHECK(efd >= 0);

	/* Acquire. */
	CHECK_EQ(sidecar_vp_acquire(c, sidecar_client_cpu_count(c), &vp), -EINVAL);
	CHECK_EQ(sidecar_vp_acquire(c, cpu, NULL), -EINVAL);
	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
	CHECK_EQ(sidecar_vp_acquire(c, cpu, &vp2), -EBUSY);
	CHECK_EQ(sidecar_vp_cpu(vp), cpu);
	/* The base CPU is Linux's: refused at acquire, or at the first command. */
	unsigned base_cpu = (unsigned)sidecar_client_base_cpu(c, cpu);
	int rc = sidecar_vp_acquire(c, base_cpu, &vp2);
	CHECK(rc == 0 || rc == -ENOENT);
	if (rc == 0) {
		CHECK_EQ(sidecar_vp_test(vp2), -ENOENT);
		CHECK_EQ(sidecar_vp_run(vp2), -ENOENT);
		sidecar_vp_release(vp2);
	}

	/* Wait modes. A driver without the fast-path extension (upstream's, or this module
	 * loaded with fast=0) offers SEED only, and acquire picks it; one with the extension
	 * makes ADAPTIVE the default. Either way the rest of this test runs in SEED mode. */
	char fast_param[8];
	if (dev_param("fast", fast_param, sizeof(fast_param)))
		CHECK_EQ(sidecar_vp_get_wait_mode(vp) == SIDECAR_WAIT_SEED, fast_param[0] == 'N');
	if (sidecar_vp_get_wait_mode(vp) == SIDECAR_WAIT_SEED) {
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_FUTEX), -ENOTSUP);
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL), -ENOTSUP);
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_ADAPTIVE), -ENOTSUP);
		CHECK_EQ(sidecar_vp_set_poll_ns(vp, 1000, 1000), -ENOTSUP);
	} else {
		CHECK_EQ(sidecar_vp_get_wait_mode(vp), SIDECAR_WAIT_ADAPTIVE);
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_FUTEX), 0);
	}
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_SEED), 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)42), -EINVAL);
	CHECK_EQ(sidecar_vp_set_poll_ns(vp, 1000, 1000), -ENOTSUP);
	CHECK_STREQ(sidecar_wait_mode_name(sidecar_vp_get_wait_mode(vp)), "seed");

	/* Nothing runs yet. */
	CHECK_EQ(sidecar_vp_wait(vp, 0, &intercept), -EINVAL);
	CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EINVAL);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);

	/* Run and wait, every way. */
	for (int i = 0; i < 20; i++) {
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		check_run_result(vp, intercept);
	}
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_run(vp), -EBUSY);
	CHECK_EQ(sidecar_vp_test(vp), -EBUSY);
	CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
	check_run_result(vp, intercept);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	for (;;) {
		rc = sidecar_vp_try_wait(vp, &intercept);
		if (rc != -EAGAIN)
			break;
		usleep(100);
	}
	CHECK_EQ(rc, 0);
	check_run_result(vp, intercept);
	/* The event fd: readable while a finished run is not collected. */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	struct pollfd pfd = {.fd = efd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 10000), 1);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	/* A cancel right after the start: the run ends either way (on its intercept, or on
	 * the stop when the guest's work_ns was not over yet). */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	unsigned cancelled_intercepts = intercept;

	/* Synchronous commands. */
	CHECK_EQ(sidecar_vp_test(vp), 0);
	struct hv_register_assoc r[2] = {{.name = HV_X64_REGISTER_RIP}, {.name = HV_X64_REGISTER_RAX}};
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, r, 2), 0);
	CHECK_EQ(r[0].value.reg64, 0xfff0);
	r[1].value.reg64 = 0x1234;
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, &r[1], 1), 0);
	CHECK_EQ(sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX], 0x1234);
	struct hv_register_assoc bad = {.name = 0xdeadbeef};
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, &bad, 1), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(sidecar_vp_get_registers(vp, 0x7f, r, 1), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, NULL, 1), -EINVAL);
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, r, 0), 0);
	struct hv_translate_virtual_address_ex_output_x64 out;
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x12, 1, &out), 0);
	CHECK_EQ(out.gpa_page, 0x12);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x12, 1, NULL), -EINVAL);
	CHECK_EQ(sidecar_vp_sync_fx(vp), 0);

	/* The shared pages. */
	CHECK(sidecar_vp_cpu_context(vp) != NULL);
	struct hv_x64_register_page *rp = sidecar_vp_register_page(vp);
	CHECK(rp != NULL);
	CHECK_EQ(rp->is_valid, 1);
	CHECK_EQ(rp->rip, 0xfff0);
	CHECK_STREQ(sidecar_vp_error_string(vp), "");

	/* Statistics. */
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	CHECK_EQ(st.runs, 24);
	CHECK_EQ(st.intercepts, 23 + cancelled_intercepts);
	CHECK(st.request_signals >= 24);
	CHECK(st.response_signals >= 24);
	CHECK(st.cancels <= 1); /* 0 when the run had ended before the cancel */

	/* Errors have names. */
	CHECK_STREQ(sidecar_strerror(-ENOENT), "cpu removed from the sidecar kernel, or Linux's");
	CHECK_STREQ(sidecar_strerror(-ENOTSUP), "not supported by this target");

	/* Close with an accessor held: calls fail, release still works. */
	sidecar_client_close(c);
	CHECK_EQ(sidecar_vp_run(vp), -ESHUTDOWN);
	CHECK_EQ(sidecar_vp_test(vp), -ESHUTDOWN);
	sidecar_vp_release(vp);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_seed_calls");
}
