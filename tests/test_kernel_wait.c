/* SPDX-License-Identifier: MIT */
/*
 * The runtime's path for a driver that cannot call the completion hook in this process (the
 * kernel module, runtime/transport/device.c), on the simulator: its ops wrapped so that the
 * hook is the driver's own and the runtime sees only what the module offers: wait_done (a
 * sleep that ends when done_seq reaches the sequence, on a wake or on the timeout), wake and
 * set_notify_fd. The wrapper's sleep is a futex on a per-VP word that its "kernel" side (the
 * simulated driver's response handler) bumps, tested after the word is read: the same pairing
 * as the module's wait queue. Checked here, where CI runs it (sanitizers included), what
 * the VM checks on the real module:
 *  - every fast mode: run_sync, run + wait with and without timeouts, try_wait, tags;
 *  - FUTEX: exactly one completion signal per round trip, counted by the driver;
 *  - POLL with long windows: completions signalled only to an announced sleeper;
 *  - the event fd, through the forwarding thread (set_notify_fd);
 *  - cancel of a spinning guest, close while the owner sleeps in wait_done (wake);
 *  - a short stress of two owners, a canceller and an event loop.
 */
#include "sim_util.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>

#define KW_MAX_CPUS 8

/* The "kernel" side of one VP. */
struct kw_slot {
	struct sidecar_drv_notify nt; /* handed to the simulator's claim: its hook is ours */
	_Atomic uint32_t word;        /* the sleep's futex: bumped by every signal and wake */
	_Atomic uint32_t wake;
	_Atomic int notify_fd;
	_Atomic uint64_t signals;
	struct sidecar_fast_line *fast;
};

static struct kw_slot slots[KW_MAX_CPUS];
static struct sidecar_sim *sim;

/* The completion signal, in the simulated driver's response handler. */
static void kw_signal(void *ctx)
{
	struct kw_slot *s = ctx;
	uint64_t one = 1;

	atomic_fetch_add(&s->signals, 1);
	/* seq_cst: after the kernel's store of done_seq; the sleeper reads the word, then tests
	 * done_seq, then sleeps only while the word is unchanged. */
	atomic_fetch_add(&s->word, 1);
	sidecar_futex_wake(&s->word, INT_MAX);
	int fd = atomic_load(&s->notify_fd);
	if (fd >= 0) {
		ssize_t r = write(fd, &one, sizeof(one));
		(void)r;
	}
}

static int kw_claim_direct(struct sidecar_drv_node *node, uint32_t cpu, const struct sidecar_drv_notify *nt)
{
	(void)nt; /* the runtime's hook is never called: like a kernel driver */
	REQUIRE(cpu < KW_MAX_CPUS);
	struct kw_slot *s = &slots[cpu];
	atomic_store(&s->wake, 0);
	atomic_store(&s->notify_fd, -1);
	s->fast = sidecar_command_page_fast(&sim_pages(sim, cpu)->command_page);
	s->nt.fn = kw_signal;
	s->nt.ctx = s;
	return sidecar_sim_drv_ops.claim_direct(node, cpu, &s->nt);
}

static void kw_release_direct(struct sidecar_drv_node *node, uint32_t cpu, bool keep_claim)
{
	/* The simulator unhooks and waits out a handler running the hook. */
	sidecar_sim_drv_ops.release_direct(node, cpu, keep_claim);
	atomic_store(&slots[cpu].notify_fd, -1);
}

static int kw_wait_done(struct sidecar_drv_node *node, uint32_t cpu, uint32_t seq, int64_t timeout_ns)
{
	struct kw_slot *s = &slots[cpu];
	uint64_t deadline = timeout_ns >= 0 ? sidecar_now_ns() + (uint64_t)timeout_ns : 0;
	bool slept = false;

	(void)node;
	for (;;) {
		uint32_t w = atomic_load(&s->word);
		if (sc_load_acquire(&s->fast->done_seq) == seq)
			return slept;
		if (atomic_exchange(&s->wake, 0))
			return 0;
		int64_t left = -1;
		if (deadline) {
			uint64_t now = sidecar_now_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			left = (int64_t)(deadline - now);
		}
		sidecar_futex_wait(&s->word, w, left);
		slept = true;
	}
}

static void kw_wake(struct sidecar_drv_node *node, uint32_t cpu)
{
	(void)node;
	atomic_store(&slots[cpu].wake, 1);
	atomic_fetch_add(&slots[cpu].word, 1);
	sidecar_futex_wake(&slots[cpu].word, INT_MAX);
}

static int kw_set_notify_fd(struct sidecar_drv_node *node, uint32_t cpu, int fd)
{
	(void)node;
	atomic_store(&slots[cpu].notify_fd, fd);
	return 0;
}

static struct sidecar_drv_ops kw_ops;

static struct sidecar_client *kw_client(const char *target)
{
	struct sidecar_client *c;

	sim = sim_open(target);
	kw_ops = sidecar_sim_drv_ops;
	kw_ops.name = "kernel-like";
	kw_ops.claim_direct = kw_claim_direct;
	kw_ops.release_direct = kw_release_direct;
	kw_ops.wait_done = kw_wait_done;
	kw_ops.wake = kw_wake;
	kw_ops.set_notify_fd = kw_set_notify_fd;
	kw_ops.interrupt = NULL; /* as the device: no way into a sleeping RUN */
	kw_ops.guest_memory = NULL;
	struct sidecar_drv_handle h = {.ops = &kw_ops, .drv = sidecar_sim_drv(sim), .owned = false};
	REQUIRE(rt_client_open_drv(&h, &c) == 0);
	return c;
}

static void kw_done(struct sidecar_client *c)
{
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
	sim = NULL;
}

static void check_tag(struct sidecar_vp *vp, bool intercept, uint64_t tag)
{
	CHECK(intercept);
	const struct hv_x64_io_port_intercept_message *io = (const void *)sidecar_vp_intercept_message(vp)->payload;
	CHECK_EQ(io->rax, tag);
}

static void modes(void)
{
	static const enum sidecar_wait_mode all[] = {SIDECAR_WAIT_FUTEX, SIDECAR_WAIT_POLL, SIDECAR_WAIT_ADAPTIVE};
	struct sidecar_client *c = kw_client("sim:cpus=1");
	struct sidecar_vp *vp;
	struct sidecar_vp_stats a, b;
	uint64_t tag = 0;
	bool intercept;
	int rc;

	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_get_wait_mode(vp), SIDECAR_WAIT_ADAPTIVE);
	for (size_t m = 0; m < 3; m++) {
		REQUIRE(sidecar_vp_set_wait_mode(vp, all[m]) == 0);
		for (int i = 0; i < 500; i++) {
			sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = ++tag;
			CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
			check_tag(vp, intercept, tag);
			sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = ++tag;
			CHECK_EQ(sidecar_vp_run(vp), 0);
			if (i % 3 == 0) {
				while ((rc = sidecar_vp_try_wait(vp, &intercept)) == -EAGAIN)
					;
			} else {
				while ((rc = sidecar_vp_wait(vp, i % 3 == 1 ? 2000 : -1, &intercept)) == -ETIMEDOUT)
					;
			}
			CHECK_EQ(rc, 0);
			check_tag(vp, intercept, tag);
		}
		CHECK_EQ(sidecar_vp_test(vp), 0);
	}

	/* FUTEX: one completion signal per round trip, each delivered to the driver's sleep. */
	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_FUTEX) == 0);
	uint64_t s0 = atomic_load(&slots[1].signals);
	sidecar_vp_get_stats(vp, &a);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
	sidecar_vp_get_stats(vp, &b);
	CHECK_EQ(atomic_load(&slots[1].signals) - s0, 1000);
	CHECK_EQ(b.request_signals - a.request_signals, 1000);
	CHECK(b.response_signals - a.response_signals <= 1000);

	/* POLL with long windows: a completion is signalled only to a client that announced it
	 * would sleep, i.e. in a wait that polling did not end. */
	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL) == 0);
	REQUIRE(sidecar_vp_set_poll_ns(vp, 100000000, 100000000) == 0);
	s0 = atomic_load(&slots[1].signals);
	sidecar_vp_get_stats(vp, &a);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
	sidecar_vp_get_stats(vp, &b);
	uint64_t signals = atomic_load(&slots[1].signals) - s0;
	CHECK(signals <= 1000 - (b.polled_completions - a.polled_completions));
	printf("poll: 1000 round trips, %llu completion signals, %llu polled\n", (unsigned long long)signals,
	       (unsigned long long)(b.polled_completions - a.polled_completions));

	/* The event fd, through the forwarding thread. */
	int efd = sidecar_client_event_fd(c);
	REQUIRE(efd >= 0);
	for (size_t m = 0; m < 3; m++) {
		REQUIRE(sidecar_vp_set_wait_mode(vp, all[m]) == 0);
		for (int i = 0; i < 100; i++) {
			struct pollfd pfd = {.fd = efd, .events = POLLIN};
			sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = ++tag;
			CHECK_EQ(sidecar_vp_run(vp), 0);
			CHECK_EQ(poll(&pfd, 1, 10000), 1);
			CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), 0);
			check_tag(vp, intercept, tag);
			CHECK_EQ(poll(&pfd, 1, 0), 0);
		}
	}
	sidecar_vp_release(vp);
	kw_done(c);
}

static struct sidecar_vp *sleeper_vp;
static int sleeper_rc;

static void *sleeper(void *arg)
{
	bool intercept;
	(void)arg;
	sleeper_rc = sidecar_vp_wait(sleeper_vp, -1, &intercept);
	return NULL;
}

static void cancel_and_close(void)
{
	static const enum sidecar_wait_mode all[] = {SIDECAR_WAIT_FUTEX, SIDECAR_WAIT_POLL, SIDECAR_WAIT_ADAPTIVE};

	for (size_t m = 0; m < 3; m++) {
		struct sidecar_client *c = kw_client("sim:cpus=2,guest=spin");
		struct sidecar_vp *vp, *vp2;
		bool intercept = true;
		pthread_t t;

		REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
		REQUIRE(sidecar_vp_set_wait_mode(vp, all[m]) == 0);
		for (int i = 0; i < 20; i++) {
			CHECK_EQ(sidecar_vp_run(vp), 0);
			CHECK_EQ(sidecar_vp_wait(vp, 1000000, &intercept), -ETIMEDOUT);
			CHECK_EQ(sidecar_vp_cancel(vp), 0);
			CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
			CHECK(!intercept);
		}
		/* Close while the owner sleeps in the driver; another VP spins too. */
		REQUIRE(sidecar_vp_acquire(c, 2, &vp2) == 0);
		REQUIRE(sidecar_vp_set_wait_mode(vp2, all[m]) == 0);
		CHECK_EQ(sidecar_vp_run(vp2), 0);
		CHECK_EQ(sidecar_vp_run(vp), 0);
		sleeper_vp = vp;
		REQUIRE(pthread_create(&t, NULL, sleeper, NULL) == 0);
		usleep(20000);
		sidecar_client_close(c);
		pthread_join(t, NULL);
		CHECK_EQ(sleeper_rc, -ESHUTDOWN);
		CHECK_EQ(sidecar_vp_wait(vp2, -1, &intercept), -ESHUTDOWN);
		sidecar_vp_release(vp);
		sidecar_vp_release(vp2);
		sidecar_sim_destroy(sim); /* the test owns it: after every use of its pages */
		sim = NULL;
	}
}

/* ---- a short stress ---------------------------------------------------------------------- */

static struct sidecar_client *stress_client;
static _Atomic(struct sidecar_vp *) held[2];
static _Atomic uint32_t busy[2];
static _Atomic bool stop;

static void *owner(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	uint64_t s = 0x1234567ull + i, tag = (uint64_t)i << 40;
	struct sidecar_vp *vp;
	bool intercept;
	int rc;

	REQUIRE(sidecar_vp_acquire(stress_client, i + 1, &vp) == 0);
	atomic_store(&held[i], vp);
	while (!atomic_load(&stop)) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		switch (s % 6) {
		case 0:
			CHECK_EQ(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)(s / 7 % 4)), 0);
			break;
		case 1:
			CHECK_EQ(sidecar_vp_test(vp), 0);
			break;
		default:
			sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = ++tag;
			CHECK_EQ(sidecar_vp_run(vp), 0);
			while ((rc = sidecar_vp_wait(vp, (int64_t)(s % 3 ? -1 : 20000), &intercept)) == -ETIMEDOUT)
				;
			CHECK_EQ(rc, 0);
			if (intercept) {
				const struct hv_x64_io_port_intercept_message *io =
					(const void *)sidecar_vp_intercept_message(vp)->payload;
				CHECK_EQ(io->rax, tag);
			}
			break;
		}
	}
	atomic_store(&held[i], NULL);
	while (atomic_load(&busy[i]))
		sched_yield();
	sidecar_vp_release(vp);
	return NULL;
}

static void *canceller(void *arg)
{
	unsigned n = 0;
	(void)arg;
	while (!atomic_load(&stop)) {
		unsigned i = n++ % 2;
		atomic_store(&busy[i], 1);
		struct sidecar_vp *vp = atomic_load(&held[i]);
		if (vp)
			CHECK_EQ(sidecar_vp_cancel(vp), 0);
		atomic_store(&busy[i], 0);
		usleep(100);
	}
	return NULL;
}

static void stress(void)
{
	pthread_t o[2], k;

	stress_client = kw_client("sim:cpus=2,work_ns=20000");
	REQUIRE(sidecar_client_event_fd(stress_client) >= 0);
	for (unsigned i = 0; i < 2; i++)
		REQUIRE(pthread_create(&o[i], NULL, owner, (void *)(uintptr_t)i) == 0);
	REQUIRE(pthread_create(&k, NULL, canceller, NULL) == 0);
	sleep(2);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(o[i], NULL);
	pthread_join(k, NULL);
	kw_done(stress_client);
}

int main(void)
{
	check_watchdog(300);
	modes();
	cancel_and_close();
	stress();
	return check_report("test_kernel_wait");
}
