/* SPDX-License-Identifier: MIT */
/*
 * Round trips through the module, each checked (the io guest's intercept every time), and
 * their latency printed (min, p50, p99; nothing asserted about time): the driver's
 * synchronous RUN (one response IPI, one wake-up), upstream's asynchronous START + poll +
 * read from one thread, and the client's SEED run/wait (START, the node task's read, its
 * wake-up of the waiter), then its fast modes where the driver has them (FUTEX: KICK and
 * WAIT; POLL, ADAPTIVE: the line alone). argv[1]: round trips per kind (default 2000).
 */
#include "dev_util.h"

#include <poll.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *kind, uint64_t *ns, unsigned n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("dev_roundtrip: %-28s %6u round trips  min %7.1f us  p50 %7.1f us  p99 %7.1f us\n", kind, n, ns[0] / 1e3,
	       ns[n / 2] / 1e3, ns[(size_t)n * 99 / 100] / 1e3);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	bool intercept;

	check_watchdog(n / 10 + 120);
	dev_require_device();
	dev_require_guest("io");
	REQUIRE(n >= 1);
	unsigned cpu = dev_first_sidecar_cpu();
	uint64_t *ns = calloc(n, sizeof(*ns));
	REQUIRE(ns);
	int fd = dev_open(0, O_NONBLOCK);
	struct mshv_vtl_sidecar_info info = dev_info(fd);
	REQUIRE(cpu < info.base_cpu + info.cpu_count);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	struct sidecar_command_page *cp = &pages[cpu - info.base_cpu].command_page;

	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = dev_now_ns();
		cp->command = SIDECAR_COMMAND_RUN_VP;
		int rc = dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu);
		ns[i] = dev_now_ns() - t0;
		if (rc || cp->request_data[0] != 1) {
			fprintf(stderr, "RUN %u: %d, intercept %u\n", i, rc, cp->request_data[0]);
			check_failures++;
			break;
		}
	}
	report("RUN ioctl", ns, n);

	for (unsigned i = 0; i < n; i++) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t t0 = dev_now_ns();
		cp->command = SIDECAR_COMMAND_RUN_VP;
		int rc = dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpu);
		long got = -1;
		if (rc == 0 && poll(&pfd, 1, 10000) == 1)
			got = dev_read_cpu(fd);
		ns[i] = dev_now_ns() - t0;
		if (got != cpu || cp->request_data[0] != 1) {
			fprintf(stderr, "START %u: %d, read %ld\n", i, rc, got);
			check_failures++;
			break;
		}
	}
	report("START + poll + read", ns, n);
	dev_unmap(pages, &info);
	close(fd);

	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vp;
	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);
	/* SEED first (the upstream client's path), then every fast mode the driver offers. */
	static const enum sidecar_wait_mode modes[] = {SIDECAR_WAIT_SEED, SIDECAR_WAIT_FUTEX, SIDECAR_WAIT_POLL,
						       SIDECAR_WAIT_ADAPTIVE};
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		char kind[64];
		int rc = sidecar_vp_set_wait_mode(vp, modes[m]);
		if (rc == -ENOTSUP)
			break; /* an upstream driver: SEED only */
		REQUIRE(rc == 0);
		for (unsigned i = 0; i < n; i++) {
			uint64_t t0 = dev_now_ns();
			rc = sidecar_vp_run_sync(vp, &intercept);
			ns[i] = dev_now_ns() - t0;
			if (rc || !intercept) {
				fprintf(stderr, "run_sync %u: %s\n", i, sidecar_strerror(rc));
				check_failures++;
				break;
			}
		}
		snprintf(kind, sizeof(kind), "client %s run_sync", sidecar_wait_mode_name(modes[m]));
		report(kind, ns, n);
	}
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	free(ns);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_roundtrip");
}
