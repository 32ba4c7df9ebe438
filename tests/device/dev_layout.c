/* SPDX-License-Identifier: MIT */
/*
 * Nodes and gaps: the client sees every node, CPU numbers are base_cpu + index across the
 * nodes in order, sidecar_client_base_cpu() names each CPU's node base; a CPU that is not
 * the sidecar kernel's (a node's base CPU, a gap) is refused with -ENOENT (by the client at
 * acquire, or by the driver at the first command), also through the raw device; every
 * sidecar CPU runs.
 */
#include "dev_util.h"

int main(void)
{
	check_watchdog(120);
	dev_require_device();
	struct sidecar_client *c = dev_client();
	unsigned nodes = dev_node_count(), total = 0;

	CHECK_EQ(sidecar_client_node_count(c), nodes);
	for (unsigned node = 0; node < nodes; node++) {
		int fd = dev_open(node, O_NONBLOCK);
		struct mshv_vtl_sidecar_info info = dev_info(fd);

		CHECK_EQ(info.base_cpu, total);
		for (unsigned cpu = info.base_cpu; cpu < info.base_cpu + info.cpu_count; cpu++) {
			struct sidecar_vp *vp;
			bool intercept;

			CHECK_EQ(sidecar_client_base_cpu(c, cpu), info.base_cpu);
			if (!dev_is_sidecar_cpu(node, cpu)) {
				CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpu), -ENOENT);
				CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu), -ENOENT);
				int rc = sidecar_vp_acquire(c, cpu, &vp);
				CHECK(rc == 0 || rc == -ENOENT);
				if (rc == 0) {
					CHECK_EQ(sidecar_vp_test(vp), -ENOENT);
					CHECK_EQ(sidecar_vp_run(vp), -ENOENT);
					sidecar_vp_release(vp);
				}
				continue;
			}
			REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
			CHECK_EQ(sidecar_vp_test(vp), 0);
			if (strcmp(dev_guest(), "spin") != 0) {
				CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
				CHECK(intercept);
				CHECK_EQ(sidecar_vp_intercept_message(vp)->header.type,
					 strcmp(dev_guest(), "halt") == 0 ? HV_MESSAGE_TYPE_X64_HALT
									  : HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
			}
			sidecar_vp_release(vp);
		}
		total += info.cpu_count;
		close(fd);
	}
	CHECK_EQ(sidecar_client_cpu_count(c), total);
	CHECK_EQ(sidecar_client_base_cpu(c, total), -EINVAL);
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_layout");
}
