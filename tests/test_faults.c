/* SPDX-License-Identifier: MIT */
/*
 * Fault injection through the simulator's test hook, in every wait mode:
 *  - a sidecar CPU that stalls forever: a wait with a timeout returns -ETIMEDOUT, cancel
 *    still returns, release and close still return;
 *  - a CPU hot-removed while its VP is held: -ENOENT on the next call, nothing else affected;
 *  - a client closed while VPs run on several threads: no hang, the blocked calls return
 *    -ESHUTDOWN, no leak (LeakSanitizer in CI), and the VPs are reusable by a new client;
 *  - a simulator shut down with a CPU that never leaves: -ETIMEDOUT, no abort.
 */
#include "sim_util.h"

#include <pthread.h>

static const enum sidecar_wait_mode modes[] = {
	SIDECAR_WAIT_SEED,
	SIDECAR_WAIT_FUTEX,
	SIDECAR_WAIT_POLL,
	SIDECAR_WAIT_ADAPTIVE,
};

/* CPU `stall_cpu` stalls before taking its next command, until shutdown or until
 * `stall_cpu` names another CPU. */
static _Atomic int stall_cpu = -1;

static void stall_hook(void *ctx, struct sidecar_sim *sim, uint32_t cpu, enum sidecar_fault_point where)
{
	(void)ctx;
	if (where != SIDECAR_FAULT_BEFORE_COMMAND || (int)cpu != atomic_load(&stall_cpu))
		return;
	while (!sidecar_sim_shutting_down(sim) && atomic_load(&stall_cpu) == (int)cpu)
		usleep(1000);
}

static void test_stall(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_sim *sim = sim_open("sim:cpus=2");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp, *other;
	bool intercept;

	sidecar_sim_set_fault_hook(sim, stall_hook, NULL);
	CHECK_EQ(sidecar_client_set_stop_timeout(c, 1000000000), 0); /* keep the test short */
	CHECK_EQ(sidecar_client_set_stop_timeout(c, 10), -EINVAL);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	REQUIRE(sidecar_vp_acquire(c, 2, &other) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(other, mode), 0);
	atomic_store(&stall_cpu, 1);

	CHECK_EQ(sidecar_vp_run(vp), 0);
	uint64_t t0 = ms_now();
	CHECK_EQ(sidecar_vp_wait(vp, 50000000, &intercept), -ETIMEDOUT);
	CHECK(ms_now() - t0 < 5000);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);
	CHECK_EQ(sidecar_vp_wait(vp, 20000000, &intercept), -ETIMEDOUT); /* still stalled */
	CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EAGAIN);
	/* The neighbour is unaffected. */
	CHECK_EQ(sidecar_vp_run_sync(other, &intercept), 0);
	CHECK(intercept);

	/* Close returns (after its bounded wait), and so does a release after it. */
	t0 = ms_now();
	sidecar_client_close(c);
	CHECK(ms_now() - t0 < 20000);
	CHECK_EQ(sidecar_vp_run(vp), -ESHUTDOWN);
	CHECK_EQ(sidecar_vp_wait(vp, 0, &intercept), -ESHUTDOWN);
	sidecar_vp_release(vp);
	sidecar_vp_release(other);
	atomic_store(&stall_cpu, -1);
	sidecar_sim_destroy(sim); /* the shutdown releases the stalled CPU */
}

/* A hot-remove that the CPU never acts on (stalled in a command) times out. */
static void test_remove_timeout(void)
{
	struct sidecar_sim *sim = sim_open("sim:cpus=1");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp;

	sidecar_sim_set_fault_hook(sim, stall_hook, NULL);
	CHECK_EQ(sidecar_client_set_stop_timeout(c, 500000000), 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	atomic_store(&stall_cpu, 1);
	CHECK_EQ(sidecar_vp_run(vp), 0); /* a fast run: the status stays IDLE */
	usleep(10000);
	CHECK_EQ(sidecar_sim_hot_remove(sim, 1, 50000000), -ETIMEDOUT);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	atomic_store(&stall_cpu, -1);
	sidecar_sim_destroy(sim);
}

static void test_stall_release(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_sim *sim = sim_open("sim:cpus=1");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp;

	sidecar_sim_set_fault_hook(sim, stall_hook, NULL);
	CHECK_EQ(sidecar_client_set_stop_timeout(c, 500000000), 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	atomic_store(&stall_cpu, 1);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	uint64_t t0 = ms_now();
	sidecar_vp_release(vp); /* cannot stop it: returns after its bound, keeps the claim */
	CHECK(ms_now() - t0 < 20000);
	/* The stalled CPU stays claimed: nobody may post to it. */
	CHECK_EQ(sidecar_vp_acquire(c, 1, &vp), -EBUSY);

	/* The CPU wakes up late and completes the abandoned run: its response must not reach
	 * the freed VP (the hook was unhooked with the claim kept; ASan proves it). */
	struct sidecar_sim_cpu_stats before, now;
	REQUIRE(sidecar_sim_cpu_stats(sim, 1, &before) == 0);
	atomic_store(&stall_cpu, -1);
	for (int i = 0; i < 10000; i++) {
		REQUIRE(sidecar_sim_cpu_stats(sim, 1, &now) == 0);
		if (now.response_signals > before.response_signals)
			break;
		usleep(1000);
	}
	CHECK(now.response_signals > before.response_signals);
	usleep(10000); /* let the response handler run to its end */
	if (mode == SIDECAR_WAIT_SEED) {
		/* Upstream: the run's claim ends when its finished report is read. */
		int rc = -EBUSY;
		for (int i = 0; i < 10000 && rc == -EBUSY; i++) {
			rc = sidecar_vp_acquire(c, 1, &vp);
			if (rc == -EBUSY)
				usleep(1000);
		}
		CHECK_EQ(rc, 0);
		if (rc == 0)
			sidecar_vp_release(vp);
	} else {
		/* The direct claim is kept for the client's life: the CPU is not reused. */
		CHECK_EQ(sidecar_vp_acquire(c, 1, &vp), -EBUSY);
	}
	sidecar_client_close(c);
	atomic_store(&stall_cpu, -1);
	sidecar_sim_destroy(sim);
}

static void test_hot_remove(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_sim *sim = sim_open("sim:cpus=3");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp[3];
	bool intercept;

	for (uint32_t i = 0; i < 3; i++) {
		REQUIRE(sidecar_vp_acquire(c, i + 1, &vp[i]) == 0);
		CHECK_EQ(sidecar_vp_set_wait_mode(vp[i], mode), 0);
		CHECK_EQ(sidecar_vp_run_sync(vp[i], &intercept), 0);
	}
	CHECK_EQ(sidecar_sim_hot_remove(sim, 2, 10000000000ll), 0);
	CHECK_EQ(sidecar_vp_run(vp[1]), -ENOENT);
	CHECK_EQ(sidecar_vp_test(vp[1]), -ENOENT);
	CHECK_EQ(sidecar_vp_run_sync(vp[1], &intercept), -ENOENT);
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_RIP};
	CHECK_EQ(sidecar_vp_get_registers(vp[1], 0, &r, 1), -ENOENT);
	/* The others are unaffected. */
	for (int k = 0; k < 100; k++) {
		CHECK_EQ(sidecar_vp_run_sync(vp[0], &intercept), 0);
		CHECK_EQ(sidecar_vp_run_sync(vp[2], &intercept), 0);
	}
	for (uint32_t i = 0; i < 3; i++)
		sidecar_vp_release(vp[i]);
	CHECK_EQ(sidecar_vp_acquire(c, 2, &vp[1]), -ENOENT);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

/* A CPU removed while its VP runs a spin guest: the run ends, then -ENOENT. */
struct remover {
	struct sidecar_sim *sim;
	int rc;
};

static void *remove_later(void *arg)
{
	struct remover *r = arg;
	usleep(20000);
	r->rc = sidecar_sim_hot_remove(r->sim, 1, 10000000000ll);
	return NULL;
}

static void test_hot_remove_running(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_sim *sim = sim_open("sim:cpus=1,guest=spin");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp;
	bool intercept;
	pthread_t t;

	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	struct remover r = {.sim = sim};
	REQUIRE(pthread_create(&t, NULL, remove_later, &r) == 0);
	int rc = sidecar_vp_wait(vp, 10000000000ll, &intercept);
	if (mode == SIDECAR_WAIT_SEED) {
		/* Upstream refuses to remove a CPU that runs a claimed command: stop it. */
		pthread_join(t, NULL);
		CHECK_EQ(r.rc, -EBUSY);
		CHECK_EQ(rc, -ETIMEDOUT);
		CHECK_EQ(sidecar_vp_cancel(vp), 0);
		CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
		CHECK_EQ(sidecar_sim_hot_remove(sim, 1, 10000000000ll), 0);
	} else {
		/* A held VP's run is stopped by the removal, like a STOP. */
		CHECK(rc == 0 || rc == -ENOENT);
		pthread_join(t, NULL);
		CHECK_EQ(r.rc, 0);
	}
	CHECK_EQ(sidecar_vp_run(vp), -ENOENT);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

struct runner {
	struct sidecar_client *c;
	uint32_t cpu;
	enum sidecar_wait_mode mode;
	_Atomic int started;
	int last_rc;
	unsigned runs;
};

static void *run_until_closed(void *arg)
{
	struct runner *r = arg;
	struct sidecar_vp *vp;
	bool intercept;

	REQUIRE(sidecar_vp_acquire(r->c, r->cpu, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, r->mode) == 0);
	atomic_store(&r->started, 1);
	for (;;) {
		int rc = sidecar_vp_run_sync(vp, &intercept);
		if (rc) {
			r->last_rc = rc;
			break;
		}
		r->runs++;
	}
	sidecar_vp_release(vp);
	return NULL;
}

static void test_close_while_running(const void *arg)
{
	const char *target = arg;
	struct sidecar_sim *sim = sim_open(target);
	struct sidecar_client *c = sim_client(sim);
	struct runner r[4];
	pthread_t t[4];

	for (uint32_t i = 0; i < 4; i++) {
		r[i] = (struct runner){.c = c, .cpu = i + 1, .mode = modes[i % 4]};
		REQUIRE(pthread_create(&t[i], NULL, run_until_closed, &r[i]) == 0);
	}
	for (uint32_t i = 0; i < 4; i++)
		while (!atomic_load(&r[i].started))
			usleep(100);
	usleep(50000);
	uint64_t t0 = ms_now();
	sidecar_client_close(c);
	CHECK(ms_now() - t0 < 20000);
	for (uint32_t i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(r[i].last_rc, -ESHUTDOWN);
	}

	/* The VPs are reusable by a new client. */
	c = sim_client(sim);
	for (uint32_t i = 0; i < 4; i++) {
		struct sidecar_vp *vp;
		bool intercept;
		/* -EBUSY here: close left a command running (a doorbell rung after it looked). */
		int rc = sidecar_vp_acquire(c, i + 1, &vp);
		CHECK_EQ(rc, 0);
		REQUIRE(rc == 0);
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, modes[(i + 1) % 4]), 0);
		CHECK_EQ(sidecar_vp_run(vp), 0);
		if (strstr(target, "spin"))
			CHECK_EQ(sidecar_vp_cancel(vp), 0); /* only a stop ends a spin guest's run */
		CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
		sidecar_vp_release(vp);
	}
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

/* CPU `stuck_cpu` stalls before its next command and stays there even through shutdown: a
 * backend that never returns. Released by setting it to -1. */
static _Atomic int stuck_cpu = -1;

static void stuck_hook(void *ctx, struct sidecar_sim *sim, uint32_t cpu, enum sidecar_fault_point where)
{
	(void)ctx;
	(void)sim;
	if (where != SIDECAR_FAULT_BEFORE_COMMAND || (int)cpu != atomic_load(&stuck_cpu))
		return;
	while (atomic_load(&stuck_cpu) == (int)cpu)
		usleep(1000);
}

/* Shutting down a simulator with a CPU that does not leave: shutdown returns -ETIMEDOUT after
 * the remove timeout (the process goes on, nothing aborts), again when called again, and a
 * destroy after the CPU finally left frees everything (LeakSanitizer in CI). */
static void test_shutdown_abandon(void)
{
	struct sidecar_sim *sim = sim_open("sim:cpus=2");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp;

	sidecar_sim_set_fault_hook(sim, stuck_hook, NULL);
	sidecar_sim_set_remove_timeout(sim, 100000000); /* 100 ms */
	CHECK_EQ(sidecar_client_set_stop_timeout(c, 100000000), 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	atomic_store(&stuck_cpu, 1);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	sidecar_vp_release(vp); /* cannot stop it: returns after its bound */
	sidecar_client_close(c);

	uint64_t t0 = ms_now();
	CHECK_EQ(sidecar_sim_shutdown(sim), -ETIMEDOUT);
	CHECK(ms_now() - t0 < 10000);
	CHECK_EQ(sidecar_sim_shutdown(sim), -ETIMEDOUT); /* idempotent */

	/* The CPU comes back, finishes the command and leaves (REMOVE was asked of it). */
	const struct sidecar_control_page *ctl = sidecar_sim_control_page(sim, 0);
	atomic_store(&stuck_cpu, -1);
	uint8_t st = 0;
	for (int i = 0; i < 10000; i++) {
		st = __atomic_load_n(&ctl->cpu_status[1], __ATOMIC_ACQUIRE);
		if (st == SIDECAR_CPU_REMOVED)
			break;
		usleep(1000);
	}
	CHECK_EQ(st, SIDECAR_CPU_REMOVED);
	usleep(10000); /* past its last store: the thread then only returns */
	sidecar_sim_destroy(sim);
}

/* Closing a client that owns the simulator (the public path) with VPs held. */
static void test_close_owned(void)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp[2];
	bool intercept;

	REQUIRE(sidecar_client_open("sim:cpus=2,guest=spin", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp[0]) == 0);
	REQUIRE(sidecar_vp_acquire(c, 2, &vp[1]) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp[1], SIDECAR_WAIT_SEED), 0);
	CHECK_EQ(sidecar_vp_run(vp[0]), 0);
	CHECK_EQ(sidecar_vp_run(vp[1]), 0);
	sidecar_client_close(c);
	CHECK_EQ(sidecar_vp_wait(vp[0], -1, &intercept), -ESHUTDOWN);
	CHECK_EQ(sidecar_vp_wait(vp[1], -1, &intercept), -ESHUTDOWN);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp[0], SIDECAR_WAIT_POLL), -ESHUTDOWN);
	struct sidecar_vp *late;
	CHECK_EQ(sidecar_vp_acquire(c, 1, &late), -ESHUTDOWN); /* the client object lives on */
	CHECK_EQ(sidecar_vp_test(vp[0]), -ESHUTDOWN);
	sidecar_vp_release(vp[0]);
	sidecar_vp_release(vp[1]); /* the last reference frees the simulator */
}

static const struct check_case cases[] = {
	CHECK_CASE_ARG(stall, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(stall, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(stall, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(stall, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(hot_remove, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(hot_remove, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(hot_remove, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(hot_remove, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(hot_remove_running, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(hot_remove_running, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(hot_remove_running, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(hot_remove_running, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(stall_release, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(stall_release, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(stall_release, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(stall_release, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE(remove_timeout),
	CHECK_CASE(shutdown_abandon),
	CHECK_CASE_ARG(close_while_running, io, "sim:cpus=4"),
	CHECK_CASE_ARG(close_while_running, spin, "sim:cpus=4,guest=spin"),
	CHECK_CASE_ARG(close_while_running, work, "sim:cpus=4,work_ns=100000"),
	CHECK_CASE(close_owned),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_faults", CHECK_CASES(cases), .watchdog_s = 300};
	return check_main(argc, argv, &suite);
}
