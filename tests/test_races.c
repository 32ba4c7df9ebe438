/* SPDX-License-Identifier: MIT */
/*
 * The races the Promela model found in the fast path (docs/model.md, "Findings"), made
 * deterministic with the run/wait path's delay points: a chosen thread is held at a chosen
 * point while the others go on.
 *  1. two cancels: one that read an older sequence stores late; stop_seq must not go back;
 *  2. a request the leaving CPU served before it left: the post must not say -ENOENT;
 *  3. a cancel between the post's claim and its doorbell must still stop that command.
 */
#include "sidecar_atomic.h"
#include "sim_util.h"

#include <pthread.h>
#include <semaphore.h>

/* Hold the thread marked `held` when it reaches `point`, until released. */
static _Thread_local bool held;
static _Atomic int hold_point = -1;
static sem_t reached, release;

static void hook(void *ctx, enum rt_delay_point point)
{
	(void)ctx;
	if (!held || (int)point != atomic_load(&hold_point))
		return;
	atomic_store(&hold_point, -1); /* once */
	sem_post(&reached);
	sem_wait(&release);
}

static uint32_t stop_seq(struct sidecar_vp *vp)
{
	return sc_load_seq(&vp->fast->stop_seq);
}

static uint32_t posted_seq(struct sidecar_vp *vp)
{
	return sc_load_seq(&vp->fast->request_seq);
}

struct job {
	struct sidecar_vp *vp;
	int rc;
};

static void *held_cancel(void *arg)
{
	struct job *j = arg;
	held = true;
	j->rc = sidecar_vp_cancel(j->vp);
	return NULL;
}

static void *held_post(void *arg)
{
	struct job *j = arg;
	held = true;
	j->rc = sidecar_vp_run(j->vp);
	return NULL;
}

static struct sidecar_client *client_on(struct sidecar_sim *sim)
{
	struct sidecar_client *c = sim_client(sim);
	c->delay_ctx = NULL;
	c->delay_hook = hook;
	return c;
}

/* 1. A cancel of command t held just before its store; command t ends on its own; command
 *    t+1 is cancelled by another thread; then the stale cancel stores. */
static void test_stale_cancel(void)
{
	struct sidecar_sim *sim = sim_open("sim:cpus=1,work_ns=30000000");
	struct sidecar_client *c = client_on(sim);
	struct sidecar_vp *vp;
	bool intercept;
	pthread_t t;

	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL) == 0);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	uint32_t first = posted_seq(vp);
	struct job j = {.vp = vp};
	atomic_store(&hold_point, RT_DELAY_CANCEL);
	REQUIRE(pthread_create(&t, NULL, held_cancel, &j) == 0);
	sem_wait(&reached); /* the stale canceller read command `first` and is held */
	/* Let `first` finish: it was never stopped (30 ms of work, then the intercept). */
	CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
	CHECK(intercept);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_cancel(vp), 0); /* this thread: the newer cancel */
	CHECK_EQ(stop_seq(vp), first + 1);
	sem_post(&release);
	pthread_join(t, NULL);
	CHECK_EQ(j.rc, 0);
	CHECK_EQ(stop_seq(vp), first + 1); /* did not go back */
	CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
	CHECK(!intercept); /* the second run was stopped */
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

/* 2. The owner is held after ringing the doorbell (before it decides whether to kick); the
 *    CPU, polling after the previous run, serves the request, then leaves. The test sends
 *    the request IPI itself, so that the CPU looks at its doorbell even if it stopped
 *    polling (a loaded machine). */
static void test_served_then_removed(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_sim *sim = sim_open("sim:cpus=1");
	struct sidecar_client *c = client_on(sim);
	struct sidecar_vp *vp;
	bool intercept = false;
	pthread_t t;

	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	for (int i = 0; i < 20; i++)
		REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x77;
	struct job j = {.vp = vp};
	atomic_store(&hold_point, RT_DELAY_POST_RUNG);
	REQUIRE(pthread_create(&t, NULL, held_post, &j) == 0);
	sem_wait(&reached);
	uint32_t seq = posted_seq(vp);
	/* Make sure the CPU looks at its doorbell now, polling or not (as if its poll had
	 * caught the request): the owner is held before it would decide to kick. */
	sidecar_sim_drv_ops.kick(sim_node(sim, 0), 1);
	uint64_t t0 = ms_now();
	while (sc_load_seq(&vp->fast->done_seq) != seq && ms_now() - t0 < 10000)
		usleep(100);
	CHECK_EQ(sc_load_seq(&vp->fast->done_seq), seq);
	CHECK_EQ(sidecar_sim_hot_remove(sim, 1, 10000000000ll), 0);
	sem_post(&release);
	pthread_join(t, NULL);
	CHECK_EQ(j.rc, 0); /* posted (and served) */
	CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
	CHECK(intercept);
	const struct hv_x64_io_port_intercept_message *io = (const void *)sidecar_vp_intercept_message(vp)->payload;
	CHECK_EQ(io->rax, 0x77);               /* its real results */
	CHECK_EQ(sidecar_vp_run(vp), -ENOENT); /* and now the CPU is gone */
	CHECK_EQ(sidecar_vp_test(vp), -ENOENT);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

/* 3. The owner is held between its claim (state RUNNING) and its doorbell; a cancel comes. */
static void test_cancel_before_doorbell(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_sim *sim = sim_open("sim:cpus=1,guest=spin");
	struct sidecar_client *c = client_on(sim);
	struct sidecar_vp *vp;
	bool intercept = true;
	pthread_t t;

	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	REQUIRE(sidecar_vp_set_wait_mode(vp, mode) == 0);
	struct job j = {.vp = vp};
	atomic_store(&hold_point, RT_DELAY_POST_CLAIMED);
	REQUIRE(pthread_create(&t, NULL, held_post, &j) == 0);
	sem_wait(&reached);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);
	CHECK_EQ(stop_seq(vp), posted_seq(vp) + 1); /* aimed at the command being posted */
	sem_post(&release);
	pthread_join(t, NULL);
	CHECK_EQ(j.rc, 0);
	/* A spin guest ends only by a stop: it must end. */
	CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
	CHECK(!intercept);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

static void setup(void)
{
	atomic_store(&hold_point, -1);
	sem_init(&reached, 0, 0);
	sem_init(&release, 0, 0);
}

static void teardown(void)
{
	sem_destroy(&reached);
	sem_destroy(&release);
}

static const struct check_case cases[] = {
	CHECK_CASE(stale_cancel),
	CHECK_CASE_ARG(served_then_removed, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(served_then_removed, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(cancel_before_doorbell, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(cancel_before_doorbell, adaptive, WAIT_MODE(ADAPTIVE)),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_races", CHECK_CASES(cases), .watchdog_s = 120, .setup = setup,
						 .teardown = teardown};
	return check_main(argc, argv, &suite);
}
