/* SPDX-License-Identifier: MIT */
/*
 * The client's event fd under load: one event-loop thread owns 8 VPs in all four wait modes
 * (two each), starts them all, and collects them as poll() reports the fd readable. The fd
 * must become readable whenever a VP finished and was not collected (a lost wake-up is a
 * poll timeout: a failure), must not stay readable once everything is collected, and a
 * readable fd must always lead to a collection (nothing readable for nothing). The
 * completion hooks and the seed task count and settle the fd concurrently, on the sidecar
 * CPU threads, while this thread collects: run under ThreadSanitizer too.
 *
 *   test_event_loop [--rounds N]
 */
#include "check.h"

#include <sidecar/client.h>

#include <poll.h>

#define VPS 8

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static int rounds = 300;

static void test_mixed_modes(void)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp[VPS];
	bool intercept;

	/* A little guest work so that completions land while the loop collects others. */
	REQUIRE(sidecar_client_open("sim:cpus=8,work_ns=5000", &c) == 0);
	for (uint32_t i = 0; i < VPS; i++) {
		REQUIRE(sidecar_vp_acquire(c, i + 1, &vp[i]) == 0);
		REQUIRE(sidecar_vp_set_wait_mode(vp[i], (enum sidecar_wait_mode)(i % 4)) == 0);
	}
	int fd = sidecar_client_event_fd(c);
	REQUIRE(fd >= 0);
	CHECK(!readable(fd, 0));

	unsigned empty_wakeups = 0, wakeups = 0;
	for (int r = 0; r < rounds; r++) {
		bool running[VPS];
		for (int i = 0; i < VPS; i++) {
			CHECK_EQ(sidecar_vp_run(vp[i]), 0);
			running[i] = true;
		}
		for (int left = VPS; left > 0;) {
			if (!readable(fd, 10000)) {
				CHECK(!"a finished VP never made the event fd readable");
				goto out;
			}
			wakeups++;
			int got = 0;
			for (int i = 0; i < VPS; i++) {
				if (!running[i])
					continue;
				int rc = sidecar_vp_try_wait(vp[i], &intercept);
				if (rc == -EAGAIN)
					continue;
				CHECK_EQ(rc, 0);
				CHECK(intercept);
				running[i] = false;
				left--;
				got++;
			}
			/* Readable for a VP whose run its owner then found still going would be a
			 * count that ran ahead of the state; allow none. */
			if (!got)
				empty_wakeups++;
		}
		CHECK(!readable(fd, 0)); /* everything collected: settled to not readable */
	}
out:
	CHECK_EQ(empty_wakeups, 0);
	printf("test_event_loop: %d rounds of %d VPs, %u wake-ups, %u empty\n", rounds, VPS, wakeups, empty_wakeups);
	for (int i = 0; i < VPS; i++)
		sidecar_vp_release(vp[i]);
	sidecar_client_close(c);
}

static int option(int argc, char **argv, int i)
{
	if (i + 1 >= argc || strcmp(argv[i], "--rounds"))
		return 0;
	rounds = atoi(argv[i + 1]);
	return 2;
}

static const struct check_case cases[] = {
	CHECK_CASE(mixed_modes),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_event_loop", CHECK_CASES(cases), .watchdog_s = 600,
						 .option = option, .usage = "[--rounds N]"};
	return check_main(argc, argv, &suite);
}
