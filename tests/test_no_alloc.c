/* SPDX-License-Identifier: MIT */
/*
 * The hot path allocates nothing: 10^5 round trips (run + wait, and run_sync, a quarter of
 * them completing the port I/O the short way) in each fast mode, with jemalloc's thread
 * caches off so that its arena statistics count every allocation of every thread, the
 * sidecar CPUs' included. The counts before and after must be equal. (Built without sanitizers only: they bring their own allocator.)
 */
#include "check.h"
#include "wait_mode.h"

#include <sidecar/client.h>

#include <jemalloc/jemalloc.h>

/* Every allocation reaches the arena, where it is counted. */
const char *malloc_conf = "tcache:false";

static uint64_t allocations(void)
{
	uint64_t epoch = 1, small = 0, large = 0;
	size_t sz = sizeof(epoch);

	REQUIRE(mallctl("epoch", &epoch, &sz, &epoch, sz) == 0);
	sz = sizeof(small);
	REQUIRE(mallctl("stats.arenas.4096.small.nmalloc", &small, &sz, NULL, 0) == 0);
	sz = sizeof(large);
	REQUIRE(mallctl("stats.arenas.4096.large.nmalloc", &large, &sz, NULL, 0) == 0);
	return small + large;
}

/* The counter itself works: an allocation is seen. */
static void test_counter(void)
{
	uint64_t a0 = allocations();
	void *volatile p = malloc(100); /* volatile: the compiler may not elide it */
	CHECK(allocations() > a0);
	free(p);
}

static void test_round_trips(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	unsigned n = mode == SIDECAR_WAIT_FUTEX ? 20000 : 100000;
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	bool intercept;

	REQUIRE(sidecar_client_open("sim:cpus=1", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0); /* warm */
	uint64_t before = allocations();
	for (unsigned i = 0; i < n; i++) {
		if (i & 1) {
			CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		} else {
			CHECK_EQ(sidecar_vp_run(vp), 0);
			CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
		}
		if ((i & 3) == 2) {
			/* Port I/O the short way, completed by the next run. */
			struct sidecar_io_exit io;
			CHECK_EQ(sidecar_vp_io_exit(vp, &io), 0);
			CHECK_EQ(sidecar_vp_complete_io(vp, 0), 0);
		}
	}
	uint64_t after = allocations();
	printf("%s: %u round trips, %llu allocations\n", sidecar_wait_mode_name(mode), n,
	       (unsigned long long)(after - before));
	CHECK_EQ(after - before, 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

static const struct check_case cases[] = {
	CHECK_CASE(counter),
	CHECK_CASE_ARG(round_trips, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(round_trips, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(round_trips, adaptive, WAIT_MODE(ADAPTIVE)),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_no_alloc", CHECK_CASES(cases), .watchdog_s = 300};
	return check_main(argc, argv, &suite);
}
