/* SPDX-License-Identifier: MIT */
/* Scale: 1024 simulated CPUs over 8 nodes boot in parallel, each runs once through the
 * public API, and everything shuts down cleanly (run under AddressSanitizer in CI, whose
 * LeakSanitizer then checks that no memory is left behind). */
#include "check.h"

#include <sidecar/client.h>

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The i-th sidecar CPU: every node has 128 of them after its base CPU. */
static uint32_t vp_cpu(uint32_t i)
{
	return (i / 128) * 129 + 1 + i % 128;
}

static void *nothing(void *arg)
{
	return arg;
}

static void test_nodes_8x128(void)
{
	struct sidecar_client *c;
	static struct sidecar_vp *vps[1025];
	bool intercept;

	/* A sanitizer may start a helper thread at the first pthread_create: let it. */
	pthread_t warm;
	REQUIRE(pthread_create(&warm, NULL, nothing, NULL) == 0);
	pthread_join(warm, NULL);
	int threads0 = count_entries("/proc/self/task");
	int fds0 = count_entries("/proc/self/fd");

	/* 8 nodes of 128 sidecar CPUs and a base CPU each: CPU numbers 0..1031, every
	 * 129th Linux's. */
	REQUIRE(sidecar_client_open("sim:nodes=8,cpus=128,mem=16M", &c) == 0);
	CHECK_EQ(sidecar_client_cpu_count(c), 1032);
	CHECK_EQ(sidecar_client_node_count(c), 8);
	CHECK_EQ(count_entries("/proc/self/task"), threads0 + 1024);
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t cpu = vp_cpu(i);
		REQUIRE(sidecar_vp_acquire(c, cpu, &vps[i]) == 0);
		/* Half in the seed's mode, half in the default. */
		if (i % 2)
			CHECK_EQ(sidecar_vp_set_wait_mode(vps[i], SIDECAR_WAIT_SEED), 0);
	}
	for (uint32_t n = 0; n < 8; n++)
		CHECK_EQ(sidecar_vp_acquire(c, n * 129, &vps[1024]), -ENOENT);
	for (uint32_t i = 0; i < 1024; i++) {
		intercept = false;
		CHECK_EQ(sidecar_vp_run_sync(vps[i], &intercept), 0);
		CHECK(intercept);
		const struct hv_message *m = sidecar_vp_intercept_message(vps[i]);
		CHECK_EQ(((const struct hv_x64_io_port_intercept_message *)m->payload)->header.vp_index, vp_cpu(i));
	}
	for (uint32_t i = 0; i < 1024; i++)
		sidecar_vp_release(vps[i]);
	sidecar_client_close(c);

	/* No thread, no fd left behind. */
	CHECK_EQ(count_entries("/proc/self/task"), threads0);
	CHECK_EQ(count_entries("/proc/self/fd"), fds0);
}

static const struct check_case cases[] = {
	CHECK_CASE(nodes_8x128),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_sim_scale", CHECK_CASES(cases), .watchdog_s = 600};
	return check_main(argc, argv, &suite);
}
