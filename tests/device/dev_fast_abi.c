/* SPDX-License-Identifier: MIT */
/*
 * libsidecar's extension of the driver ABI (<sidecar/uapi.h>), raw, with the io guest:
 *  - FAST_INFO: version, capabilities, the sidecar kernel's fast-line features;
 *  - CLAIM_DIRECT and every other ioctl of the extension: bad CPU -EINVAL, the base CPU
 *    -ENOENT, a VP nobody holds -EINVAL, one another file holds -EBUSY; START and RUN of a
 *    DIRECT VP -EBUSY; bad structures -EINVAL, bad pointers -EFAULT, bad fds -EBADF/-EINVAL;
 *  - a round trip by hand through the fast line: post, KICK, WAIT (the completion wakes it,
 *    or it finds the completion at once), the results in the page and their copies in the
 *    line; the same with the sidecar CPU polling and the client announcing SLEEPING;
 *  - WAIT: -ETIMEDOUT when nothing completes, a WAKE ends it (or the next one), a signal
 *    -EINTR; the eventfd signalled with every completion signal;
 *  - ECHO answered through WAIT and through the eventfd;
 *  - RELEASE_DIRECT returns the claim at once, and settles a request the CPU never served
 *    (posted with the features off): the next owner finds the line idle;
 *  - close returns every DIRECT claim; the counters in sysfs move as they must.
 */
#include "dev_util.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>

static int wait_seq(int fd, unsigned cpu, uint32_t seq, int64_t timeout_ns, uint32_t flags)
{
	struct mshv_vtl_sidecar_wait w = {.cpu = cpu, .seq = seq, .timeout_ns = timeout_ns, .flags = flags};
	int r = ioctl(fd, MSHV_VTL_SIDECAR_WAIT, &w);
	return r >= 0 ? r : -errno;
}

static int set_eventfd(int fd, unsigned cpu, int efd)
{
	struct mshv_vtl_sidecar_eventfd e = {.cpu = cpu, .fd = efd};
	return ioctl(fd, MSHV_VTL_SIDECAR_SET_EVENTFD, &e) == 0 ? 0 : -errno;
}

static int echo(int fd, unsigned cpu, uint32_t signal, uint32_t *seq)
{
	struct mshv_vtl_sidecar_echo e = {.cpu = cpu, .signal = signal};
	int rc = ioctl(fd, MSHV_VTL_SIDECAR_ECHO, &e) == 0 ? 0 : -errno;
	if (seq)
		*seq = e.seq;
	return rc;
}

/* Posts `command` through the fast line: the request data and command, then the doorbell. */
static uint32_t post(struct sidecar_command_page *cp, uint32_t command)
{
	struct sidecar_fast_line *fast = sidecar_command_page_fast(cp);
	uint32_t seq = __atomic_load_n(&fast->request_seq, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(&fast->command, command, __ATOMIC_RELAXED);
	__atomic_exchange_n(&fast->request_seq, seq, __ATOMIC_SEQ_CST);
	return seq;
}

static void on_signal(int sig)
{
	(void)sig;
}

static pthread_t main_thread;

static void *interrupt_later(void *arg)
{
	(void)arg;
	usleep(100000);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

static int wake_fd;
static unsigned wake_cpu;

static void *wake_later(void *arg)
{
	(void)arg;
	usleep(100000);
	CHECK_EQ(dev_ioctl(wake_fd, MSHV_VTL_SIDECAR_WAKE, wake_cpu), 0);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(120);
	dev_require_device();
	if (strcmp(dev_guest(), "io") != 0)
		SKIP("needs guest=io");
	dev_require_fast();
	unsigned cpu = dev_first_sidecar_cpu();
	int fd = dev_open(0, 0), other = dev_open(0, 0);
	struct mshv_vtl_sidecar_info info = dev_info(fd);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	struct sidecar_command_page *cp = &pages[cpu - info.base_cpu].command_page;
	struct sidecar_fast_line *fast = sidecar_command_page_fast(cp);
	unsigned base = info.base_cpu, beyond = info.base_cpu + info.cpu_count;
	pthread_t t;

	/* FAST_INFO. */
	struct mshv_vtl_sidecar_fast_info fi;
	memset(&fi, 0xff, sizeof(fi));
	REQUIRE(ioctl(fd, MSHV_VTL_SIDECAR_FAST_INFO, &fi) == 0);
	CHECK_EQ(fi.version, MSHV_VTL_SIDECAR_FAST_VERSION);
	CHECK_EQ(fi.caps, MSHV_VTL_SIDECAR_CAP_DIRECT | MSHV_VTL_SIDECAR_CAP_WAIT | MSHV_VTL_SIDECAR_CAP_EVENTFD |
				  MSHV_VTL_SIDECAR_CAP_ECHO);
	CHECK_EQ(fi.features, SIDECAR_FAST_F_ALL);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(fi.reserved[i], 0);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_FAST_INFO, 16), -EFAULT);
	/* The kernel advertises the same in every fast line. */
	CHECK_EQ(fast->sidecar_caps, SIDECAR_FAST_F_ALL);

	/* Claims. */
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, beyond), -EINVAL);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, 1ul << 40), -EINVAL);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, base), -ENOENT);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu), -EINVAL); /* nobody holds it */
	CHECK_EQ(wait_seq(fd, cpu, 1, 0, 0), -EINVAL);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpu), -EINVAL);
	long long direct0 = dev_sysfs_num(0, "direct_claims");
	CHECK_EQ(direct0, 0);
	REQUIRE(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpu) == 0);
	CHECK_EQ(dev_sysfs_num(0, "direct_claims"), 1);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 1);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_STOP, cpu), -EINVAL);
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_KICK, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_WAKE, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpu), -EBUSY);
	CHECK_EQ(wait_seq(other, cpu, 1, 0, 0), -EBUSY);
	CHECK_EQ(echo(other, cpu, 0, NULL), -EBUSY);
	CHECK_EQ(set_eventfd(other, cpu, -1), -EBUSY);
	/* Bad structures. */
	struct mshv_vtl_sidecar_wait bad = {.cpu = cpu, .flags = 2};
	CHECK_EQ(ioctl(fd, MSHV_VTL_SIDECAR_WAIT, &bad) == 0 ? 0 : -errno, -EINVAL);
	bad.flags = 0;
	bad.reserved = 1;
	CHECK_EQ(ioctl(fd, MSHV_VTL_SIDECAR_WAIT, &bad) == 0 ? 0 : -errno, -EINVAL);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_WAIT, 16), -EFAULT);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_ECHO, 16), -EFAULT);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_SET_EVENTFD, 16), -EFAULT);
	CHECK_EQ(echo(fd, cpu, 2, NULL), -EINVAL);
	CHECK_EQ(set_eventfd(fd, cpu, -5), -EBADF);
	CHECK_EQ(set_eventfd(fd, cpu, 1000), -EBADF);
	CHECK_EQ(set_eventfd(fd, cpu, fd), -EINVAL); /* not an eventfd */

	/* A round trip by hand, the upstream policy plus the mailbox (FUTEX's). */
	long long kicks0 = dev_sysfs_num(0, "kicks"), signals0 = dev_sysfs_num(0, "fast_signals");
	long long fcmd0 = dev_sysfs_num(0, "fast_commands");
	__atomic_store_n(&fast->features, SIDECAR_FAST_F_MAILBOX, __ATOMIC_RELEASE);
	int slept = 0;
	for (int i = 0; i < 50; i++) {
		cp->cpu_context.gps[SIDECAR_CPU_CONTEXT_RAX] = 0x100 + (unsigned)i;
		uint32_t seq = post(cp, SIDECAR_COMMAND_RUN_VP);
		CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu), 0);
		int rc = wait_seq(fd, cpu, seq, 10000000000ll, 0);
		CHECK(rc == 0 || rc == 1);
		slept += rc == 1;
		CHECK_EQ(__atomic_load_n(&fast->done_seq, __ATOMIC_ACQUIRE), seq);
		CHECK_EQ(fast->intercept, 1);
		CHECK_EQ(fast->has_error, 0);
		CHECK_EQ(cp->request_data[0], 1);
		const struct hv_x64_io_port_intercept_message *io = (const void *)cp->intercept_message.payload;
		CHECK_EQ(io->rax, 0x100 + (unsigned)i);
	}
	CHECK_EQ(dev_sysfs_num(0, "kicks") - kicks0, 50);
	CHECK_EQ(dev_sysfs_num(0, "fast_signals") - signals0, 50); /* no SUPPRESS: every one */
	CHECK_EQ(dev_sysfs_num(0, "fast_commands") - fcmd0, 50);
	printf("by hand: 50 round trips, %d woken in WAIT\n", slept);

	/* An error through the line: an unknown command. */
	uint32_t seq = post(cp, 77);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu), 0);
	CHECK(wait_seq(fd, cpu, seq, 10000000000ll, 0) >= 0);
	CHECK_EQ(fast->has_error, 1);
	CHECK_EQ(cp->has_error, 1);
	CHECK(cp->error.len > 0);

	/* WAIT without a completion: the timeout. A WAKE ends one, or the next one. */
	CHECK_EQ(wait_seq(fd, cpu, seq + 5, 20000000, 0), -ETIMEDOUT);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_WAKE, cpu), 0);
	CHECK_EQ(wait_seq(fd, cpu, seq + 5, -1, 0), 0);
	CHECK_EQ(wait_seq(fd, cpu, seq + 5, 20000000, 0), -ETIMEDOUT); /* consumed */
	wake_fd = fd;
	wake_cpu = cpu;
	REQUIRE(pthread_create(&t, NULL, wake_later, NULL) == 0);
	CHECK_EQ(wait_seq(fd, cpu, seq + 5, -1, 0), 0);
	pthread_join(t, NULL);
	/* A signal: -EINTR, never restarted. */
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	REQUIRE(pthread_create(&t, NULL, interrupt_later, NULL) == 0);
	CHECK_EQ(wait_seq(fd, cpu, seq + 5, -1, 0), -EINTR);
	pthread_join(t, NULL);

	/* Suppression by hand: the CPU polls (a long window), the client announces SLEEPING
	 * only for some requests; a completion is signalled exactly when it did. */
	__atomic_store_n(&fast->sidecar_poll_ns, 200000000u, __ATOMIC_RELAXED);
	__atomic_store_n(&fast->features,
			 SIDECAR_FAST_F_MAILBOX | SIDECAR_FAST_F_SUPPRESS | SIDECAR_FAST_F_SIDECAR_POLL,
			 __ATOMIC_RELEASE);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(efd >= 0);
	CHECK_EQ(set_eventfd(fd, cpu, efd), 0);
	signals0 = dev_sysfs_num(0, "fast_signals");
	long long supp0 = dev_sysfs_num(0, "suppressed_signals");
	unsigned announced = 0;
	for (int i = 0; i < 40; i++) {
		bool sleep = i % 4 == 0;
		__atomic_store_n(&fast->client_flags, sleep ? SIDECAR_FAST_CLIENT_SLEEPING : 0, __ATOMIC_SEQ_CST);
		announced += sleep;
		seq = post(cp, SIDECAR_COMMAND_RUN_VP);
		if (__atomic_load_n(&fast->sidecar_flags, __ATOMIC_SEQ_CST) & SIDECAR_FAST_SIDECAR_PARKED)
			CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu), 0);
		if (sleep)
			CHECK(wait_seq(fd, cpu, seq, 10000000000ll, 0) >= 0);
		else
			while (__atomic_load_n(&fast->done_seq, __ATOMIC_ACQUIRE) != seq)
				__builtin_ia32_pause();
		CHECK_EQ(fast->intercept, 1);
		/* The CPU decides after done_seq: let it, before the next announcement, or it
		 * may see the next request's SLEEPING and (harmlessly) signal this one. */
		long long decided = signals0 + supp0 + i + 1;
		for (int ms = 0; dev_sysfs_num(0, "fast_signals") + dev_sysfs_num(0, "suppressed_signals") < decided;
		     ms++) {
			REQUIRE(ms < 10000);
			usleep(1000);
		}
	}
	__atomic_store_n(&fast->client_flags, 0, __ATOMIC_SEQ_CST);
	CHECK_EQ(dev_sysfs_num(0, "fast_signals") - signals0, announced);
	CHECK_EQ(dev_sysfs_num(0, "suppressed_signals") - supp0, 40 - announced);
	uint64_t count = 0;
	CHECK_EQ(read(efd, &count, sizeof(count)), (ssize_t)sizeof(count));
	CHECK_EQ(count, announced);

	/* ECHO through WAIT and through the eventfd (the CPU halts at once again). */
	__atomic_store_n(&fast->features, 0, __ATOMIC_RELEASE);
	for (int i = 0; i < 20; i++) {
		uint32_t e;
		CHECK_EQ(echo(fd, cpu, MSHV_VTL_SIDECAR_ECHO_WAITQ, &e), 0);
		CHECK(wait_seq(fd, cpu, e, 10000000000ll, MSHV_VTL_SIDECAR_WAIT_ECHO) >= 0);
		CHECK_EQ(echo(fd, cpu, MSHV_VTL_SIDECAR_ECHO_EVENTFD, &e), 0);
		struct pollfd pfd = {.fd = efd, .events = POLLIN};
		CHECK_EQ(poll(&pfd, 1, 10000), 1);
		CHECK_EQ(read(efd, &count, sizeof(count)), (ssize_t)sizeof(count));
		CHECK(wait_seq(fd, cpu, e, 0, MSHV_VTL_SIDECAR_WAIT_ECHO) >= 0); /* answered */
	}
	CHECK_EQ(set_eventfd(fd, cpu, -1), 0);

	/* RELEASE_DIRECT: at once; a request never served (features off) is settled. */
	seq = post(cp, SIDECAR_COMMAND_RUN_VP);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu), 0);
	CHECK_EQ(wait_seq(fd, cpu, seq, 20000000, 0), -ETIMEDOUT); /* nobody serves it */
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpu), 0);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);
	CHECK_EQ(dev_sysfs_num(0, "direct_claims"), 0);
	CHECK_EQ(fast->done_seq, fast->request_seq);
	CHECK_EQ(fast->features, 0);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu), -EINVAL);
	/* The VP works for an upstream client again. */
	cp->command = SIDECAR_COMMAND_RUN_VP;
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_RUN, cpu), 0);
	CHECK_EQ(cp->request_data[0], 1);

	/* Close returns every DIRECT claim (with an eventfd set and a request in flight). */
	unsigned cpus[DEV_MAX_CPUS];
	unsigned n = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	for (unsigned i = 0; i < n; i++) {
		if (cpus[i] >= beyond)
			continue;
		CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpus[i]), 0);
		CHECK_EQ(set_eventfd(other, cpus[i], efd), 0);
		struct sidecar_command_page *p = &pages[cpus[i] - base].command_page;
		__atomic_store_n(&sidecar_command_page_fast(p)->features, SIDECAR_FAST_F_MAILBOX, __ATOMIC_RELEASE);
		post(p, SIDECAR_COMMAND_RUN_VP);
		CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_KICK, cpus[i]), 0);
	}
	CHECK(dev_sysfs_num(0, "direct_claims") >= 1);
	close(other);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);
	CHECK_EQ(dev_sysfs_num(0, "direct_claims"), 0);
	CHECK_EQ(dev_sysfs_num(0, "orphans"), 0);
	for (unsigned i = 0; i < n; i++) {
		if (cpus[i] >= beyond)
			continue;
		struct sidecar_fast_line *f = sidecar_command_page_fast(&pages[cpus[i] - base].command_page);
		CHECK_EQ(f->features, 0);
		CHECK_EQ(f->done_seq, f->request_seq);
	}
	close(efd);
	dev_unmap(pages, &info);
	close(fd);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_abi");
}
