/* SPDX-License-Identifier: MIT */
/*
 * A target whose driver has only the upstream operations, like upstream's device: the
 * simulator's ops with the direct extension and guest memory taken away. The runtime must
 * fall back to SEED, refuse the fast modes with -ENOTSUP, and still do everything else.
 */
#include "sim_util.h"

static void test_upstream_ops(void)
{
	struct sidecar_sim *sim;
	struct sidecar_drv_ops ops;
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	bool intercept;

	sim = sim_open("sim:cpus=2");
	ops = sidecar_sim_drv_ops;
	ops.name = "device-like";
	ops.claim_direct = NULL;
	ops.release_direct = NULL;
	ops.kick = NULL;
	ops.guest_memory = NULL;
	ops.interrupt = NULL;
	struct sidecar_drv_handle h = {.ops = &ops, .drv = sidecar_sim_drv(sim), .owned = false};
	REQUIRE(rt_client_open_drv(&h, &c) == 0);

	void *base;
	size_t size;
	CHECK_EQ(sidecar_client_guest_memory(c, &base, &size), -ENOTSUP);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_get_wait_mode(vp), SIDECAR_WAIT_SEED);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_FUTEX), -ENOTSUP);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL), -ENOTSUP);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_ADAPTIVE), -ENOTSUP);
	CHECK_EQ(sidecar_vp_get_wait_mode(vp), SIDECAR_WAIT_SEED);
	CHECK_EQ(sidecar_vp_set_poll_ns(vp, 1000, 1000), -ENOTSUP);
	for (int i = 0; i < 100; i++) {
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		CHECK(intercept);
	}
	CHECK_EQ(sidecar_vp_test(vp), 0);
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_RIP};
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, &r, 1), 0);
	CHECK_EQ(r.value.reg64, 0xfff0);
	/* The upstream fast line stays off: features zero. */
	CHECK_EQ(sidecar_command_page_fast(&sim_pages(sim, 1)->command_page)->features, 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

static const struct check_case cases[] = {
	CHECK_CASE(upstream_ops),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_device_like", CHECK_CASES(cases), .watchdog_s = 120};
	return check_main(argc, argv, &suite);
}
