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

static void *nothing(void *arg)
{
	return arg;
}

int main(void)
{
	struct sidecar_client *c;
	static struct sidecar_vp *vps[1024];
	bool intercept;

	check_watchdog(600);
	/* A sanitizer may start a helper thread at the first pthread_create: let it. */
	pthread_t warm;
	REQUIRE(pthread_create(&warm, NULL, nothing, NULL) == 0);
	pthread_join(warm, NULL);
	int threads0 = count_entries("/proc/self/task");
	int fds0 = count_entries("/proc/self/fd");

	REQUIRE(sidecar_client_open("sim:nodes=8,cpus=128,mem=16M", &c) == 0);
	CHECK_EQ(sidecar_client_cpu_count(c), 1024);
	CHECK_EQ(sidecar_client_node_count(c), 8);
	CHECK_EQ(count_entries("/proc/self/task"), threads0 + 1024);
	for (uint32_t cpu = 0; cpu < 1024; cpu++) {
		REQUIRE(sidecar_vp_acquire(c, cpu, &vps[cpu]) == 0);
		/* Half in the seed's mode, half in the default. */
		if (cpu % 2)
			CHECK_EQ(sidecar_vp_set_wait_mode(vps[cpu], SIDECAR_WAIT_SEED), 0);
	}
	for (uint32_t cpu = 0; cpu < 1024; cpu++) {
		intercept = false;
		CHECK_EQ(sidecar_vp_run_sync(vps[cpu], &intercept), 0);
		CHECK(intercept);
		const struct hv_message *m = sidecar_vp_intercept_message(vps[cpu]);
		CHECK_EQ(((const struct hv_x64_io_port_intercept_message *)m->payload)->header.vp_index, cpu);
	}
	for (uint32_t cpu = 0; cpu < 1024; cpu++)
		sidecar_vp_release(vps[cpu]);
	sidecar_client_close(c);

	/* No thread, no fd left behind. */
	CHECK_EQ(count_entries("/proc/self/task"), threads0);
	CHECK_EQ(count_entries("/proc/self/fd"), fds0);
	return check_report("test_sim_scale");
}
