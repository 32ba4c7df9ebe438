/* SPDX-License-Identifier: MIT */
/*
 * INFO and the mmap layout, per node: base_cpu is the node's first CPU (Linux's), cpu_count
 * counts every CPU of the node (base and gaps included), per_cpu_shmem is the command page
 * plus the register page; the mapping is exactly cpu_count * per_cpu_shmem bytes at offset 0
 * and every CPU's pages in it are readable and writable; nodes follow each other from CPU 0.
 */
#include "dev_util.h"

int main(void)
{
	unsigned nodes, expected_base = 0;

	check_watchdog(60);
	dev_require_device();
	nodes = dev_node_count();
	for (unsigned node = 0; node < nodes; node++) {
		int fd = dev_open(node, O_NONBLOCK);
		struct mshv_vtl_sidecar_info info = dev_info(fd);

		CHECK_EQ(info.base_cpu, expected_base);
		CHECK(info.cpu_count >= 1);
		CHECK_EQ(info.per_cpu_shmem, sizeof(struct sidecar_vp_shared_pages));
		CHECK_EQ(info.per_cpu_shmem, 2 * SIDECAR_PAGE_SIZE);
		CHECK_EQ(dev_sysfs_num(node, "base_cpu"), info.base_cpu);
		CHECK_EQ(dev_sysfs_num(node, "cpu_count"), info.cpu_count);
		/* The base CPU is Linux's, never the sidecar kernel's. */
		CHECK(!dev_is_sidecar_cpu(node, info.base_cpu));

		struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
		for (uint32_t i = 0; i < info.cpu_count; i++) {
			struct sidecar_command_page *cp = &pages[i].command_page;
			/* A booted CPU zeroed its pages; the command page stays ours to write. */
			if (dev_is_sidecar_cpu(node, info.base_cpu + i)) {
				CHECK_EQ(cp->command, SIDECAR_COMMAND_NONE);
				CHECK_EQ(cp->has_error, 0);
			}
			cp->request_data[0] = 0x5a;
			CHECK_EQ(cp->request_data[0], 0x5a);
			cp->request_data[0] = 0;
			(void)pages[i].register_page.version;
		}
		/* A second mapping shows the same memory. */
		struct sidecar_vp_shared_pages *again = dev_map(fd, &info);
		pages[info.cpu_count - 1].command_page.request_data[7] = 0x77;
		CHECK_EQ(again[info.cpu_count - 1].command_page.request_data[7], 0x77);
		pages[info.cpu_count - 1].command_page.request_data[7] = 0;
		dev_unmap(again, &info);
		dev_unmap(pages, &info);
		close(fd);
		expected_base += info.cpu_count;
	}
	return check_report("dev_abi_info");
}
