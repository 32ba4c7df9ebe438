/* SPDX-License-Identifier: MIT */
/*
 * KVM backend: cancelling a guest that never exits (`jmp $`). vp_kick must get the vCPU
 * thread out of KVM_RUN promptly whenever the cancel lands: before KVM_RUN is entered,
 * while the guest spins, or just as a run ends. In every wait mode, from the waiting
 * thread (after a delay, zero included) and from another thread; afterwards a leftover kick
 * must not disturb the next run.
 */
#include "kvm_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define CANCEL_BOUND_NS (2000ull * 1000000u) /* generous: nested virtualization, loaded CI */

static uint64_t worst_ns;

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
	nanosleep(&ts, NULL);
}

/* run, wait `delay_ns`, cancel, wait: the run must end without an intercept, quickly. */
static void cancel_once(struct kvm_test *t, uint64_t delay_ns)
{
	bool intercept = true;

	REQUIRE(sidecar_vp_run(t->vp) == 0);
	if (delay_ns)
		sleep_ns(delay_ns);
	/* Still spinning: nothing but a stop ends this run. */
	if (delay_ns >= 1000000)
		CHECK_EQ(sidecar_vp_try_wait(t->vp, &intercept), -EAGAIN);
	uint64_t t0 = now_ns();
	CHECK_EQ(sidecar_vp_cancel(t->vp), 0);
	int rc = sidecar_vp_wait(t->vp, (int64_t)CANCEL_BOUND_NS, &intercept);
	uint64_t dt = now_ns() - t0;
	if (rc) {
		fprintf(stderr, "wait after cancel: %s (%s)\n", sidecar_strerror(rc), sidecar_vp_error_string(t->vp));
		exit(1);
	}
	CHECK(!intercept);
	CHECK(dt < CANCEL_BOUND_NS);
	if (dt > worst_ns)
		worst_ns = dt;
	/* Stopped where it spins. */
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RIP), 0x1000);
}

struct canceller {
	struct sidecar_vp *vp;
	_Atomic int active, stop;
};

/* While a round is active, cancel after a random 0.1..2 ms, and again until the round ends
 * (a cancel that lands before the run was posted is a no-op). */
static void *cancel_thread(void *arg)
{
	struct canceller *c = arg;

	while (!atomic_load(&c->stop)) {
		if (!atomic_load(&c->active)) {
			sched_yield();
			continue;
		}
		sleep_ns(100000 + (uint64_t)(rand() % 2000) * 1000);
		if (atomic_load(&c->active))
			sidecar_vp_cancel(c->vp);
	}
	return NULL;
}

/* run_sync in this thread, cancel from another one. */
static void cancel_from_thread(struct kvm_test *t, int rounds)
{
	struct canceller c = {.vp = t->vp};
	pthread_t th;

	REQUIRE(pthread_create(&th, NULL, cancel_thread, &c) == 0);
	for (int i = 0; i < rounds; i++) {
		bool intercept = true;
		atomic_store(&c.active, 1);
		int rc = sidecar_vp_run_sync(t->vp, &intercept);
		atomic_store(&c.active, 0);
		CHECK_EQ(rc, 0);
		CHECK(!intercept);
	}
	atomic_store(&c.stop, 1);
	pthread_join(th, NULL);
}

/* The guest that exits at once, after cancelled runs. */
static void run_exiting_guest(struct kvm_test *t)
{
	static const uint8_t code[] = {0xe6, 0x42, 0xeb, 0xfc}; /* 2000: out 0x42, al; jmp 2000 */

	memcpy(t->mem + 0x2000, code, sizeof(code));
	REQUIRE(set1(t->vp, HV_X64_REGISTER_RIP, 0x2000) == 0);
	for (int i = 0; i < 100; i++) {
		kt_run(t);
		CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
		CHECK_EQ(kt_io(t)->port_number, 0x42);
		CHECK_EQ(kt_io(t)->header.rip, 0x2000);
		kt_skip(t, &kt_io(t)->header);
	}
}

/* Each case's client and VP, the spin guest at 0x1000 in real mode. */
static struct kvm_test kt;

static void setup(void)
{
	static const uint8_t spin[] = {0xeb, 0xfe}; /* 1000: jmp $ */

	srand(7);
	kt_open(&kt, "sim:backend=kvm,cpus=1");
	memcpy(kt.mem + 0x1000, spin, sizeof(spin));
	kt_real_mode(&kt, 0x1000);
}

static void teardown(void)
{
	kt_close(&kt);
}

static const uint64_t delays[] = {0, 0, 1000, 20000, 100000, 2000000, 10000000};

/* Cancels after every delay, three times over, from the waiting thread; then from another. */
static void test_cancel(const void *arg)
{
	REQUIRE(sidecar_vp_set_wait_mode(kt.vp, wait_mode(arg)) == 0);
	for (int round = 0; round < 3; round++)
		for (size_t d = 0; d < sizeof(delays) / sizeof(delays[0]); d++)
			cancel_once(&kt, delays[d]);
	cancel_from_thread(&kt, 20);
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(kt.vp, &st);
	CHECK(st.cancels > 0);
	printf("worst cancel-to-return latency: %.3f ms\n", (double)worst_ns / 1e6);
}

/* After cancelled runs and a cancel with nothing running (a no-op), a guest that exits still
 * exits, once per run: no stale kick or pending completion leaks into the next run. */
static void test_clean_after(void)
{
	for (size_t d = 0; d < sizeof(delays) / sizeof(delays[0]); d++)
		cancel_once(&kt, delays[d]);
	CHECK_EQ(sidecar_vp_cancel(kt.vp), 0);
	run_exiting_guest(&kt);
}

/* Closing the client while the guest spins must not hang. */
static void test_close_while_spinning(void)
{
	REQUIRE(sidecar_vp_run(kt.vp) == 0);
	sleep_ns(5000000);
	kt_close(&kt);
	kt = (struct kvm_test){0}; /* the teardown's close: a no-op */
}

static const struct check_case cases[] = {
	CHECK_CASE_ARG(cancel, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(cancel, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(cancel, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(cancel, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE(clean_after),
	CHECK_CASE(close_while_spinning),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kvm_cancel", CHECK_CASES(cases), .watchdog_s = 120,
						 .setup = setup, .teardown = teardown};
	return check_main(argc, argv, &suite);
}
