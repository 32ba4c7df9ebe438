/* SPDX-License-Identifier: MIT */
/*
 * The simulated driver, as the upstream ioctls see it: claims and their errors, STOP on
 * each claim state, finished CPUs through read (blocking, non-blocking) and poll, both
 * reporting paths (scan, lock-free), several nodes, hot-remove, RUN turned into STOP by a
 * cancel, and the start/scan race that upstream had.
 */
#include "sidecar_atomic.h"
#include "sim_util.h"

#include <poll.h>
#include <pthread.h>

static const struct sidecar_drv_ops *ops = &sidecar_sim_drv_ops;

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static bool readable_within(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void start_run(struct sidecar_sim *sim, uint32_t cpu)
{
	sim_pages(sim, cpu)->command_page.command = SIDECAR_COMMAND_RUN_VP;
	CHECK_EQ(ops->start(sim_node(sim, cpu / (sidecar_sim_config(sim)->cpus + 1)), cpu), 0);
}

static void test_claims(const void *arg)
{
	const char *target = arg;
	struct sidecar_sim *sim = sim_open(target);
	struct sidecar_drv_node *n = sim_node(sim, 0);
	uint32_t cpu;

	/* Bad CPUs. */
	CHECK_EQ(ops->start(n, 5), -EINVAL);
	CHECK_EQ(ops->stop(n, 5), -EINVAL);
	CHECK_EQ(ops->run(n, 100, NULL), -EINVAL);
	CHECK_EQ(ops->claim_direct(n, 5, NULL), -EINVAL);
	/* STOP on an idle VP: not an async run. */
	CHECK_EQ(ops->stop(n, 1), -EINVAL);
	CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN);
	CHECK(!readable(ops->poll_fd(n)));

	/* spin: START claims, a second START or a RUN is busy, STOP twice is fine. */
	start_run(sim, 2);
	CHECK_EQ(ops->start(n, 2), -EBUSY);
	CHECK_EQ(ops->run(n, 2, NULL), -EBUSY);
	CHECK_EQ(ops->claim_direct(n, 2, NULL), -EBUSY);
	CHECK_EQ(sidecar_sim_hot_remove(sim, 2, -1), -EBUSY);
	usleep(5000);
	CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN); /* still spinning */
	CHECK_EQ(ops->stop(n, 2), 0);
	CHECK_EQ(ops->stop(n, 2), 0); /* STOPPING / STOPPED: a no-op */
	CHECK_EQ(ops->read(n, &cpu, false), 0);
	CHECK_EQ(cpu, 2);
	CHECK(!readable(ops->poll_fd(n)));           /* nothing left: not readable, before any other read */
	CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN); /* reported once */
	CHECK(!readable(ops->poll_fd(n)));
	CHECK_EQ(ops->stop(n, 2), -EINVAL); /* AVAIL again */

	/* Two VPs finish; poll stays readable until both are read. */
	start_run(sim, 3);
	start_run(sim, 4);
	CHECK_EQ(ops->stop(n, 3), 0);
	CHECK_EQ(ops->stop(n, 4), 0);
	/*
	 * Wait on the reporting itself, not on the status bytes: the kernel writes IDLE and
	 * then signals, and the driver marks the CPU finished in its handler for that signal,
	 * a moment later (as upstream's ISR does).
	 */
	CHECK(readable_within(ops->poll_fd(n), 5000));
	uint32_t a = 0, b = 0;
	CHECK_EQ(ops->read(n, &a, true), 0);
	CHECK(readable_within(ops->poll_fd(n), 5000));
	CHECK_EQ(ops->read(n, &b, true), 0);
	CHECK((a == 3 && b == 4) || (a == 4 && b == 3));
	CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN);
	CHECK(!readable(ops->poll_fd(n)));

	/* A synchronous RUN is not reported to readers. */
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_NONE), 0);
	CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN);

	/* DIRECT: exclusive; upstream operations on it are refused. */
	struct sidecar_drv_notify nt = {0};
	CHECK_EQ(ops->claim_direct(n, 1, &nt), 0);
	CHECK_EQ(ops->claim_direct(n, 1, &nt), -EBUSY);
	CHECK_EQ(ops->start(n, 1), -EBUSY);
	CHECK_EQ(ops->run(n, 1, NULL), -EBUSY);
	CHECK_EQ(ops->stop(n, 1), -EINVAL);
	ops->release_direct(n, 1, false);
	CHECK_EQ(ops->start(n, 1), 0);
	CHECK_EQ(ops->stop(n, 1), 0);
	CHECK_EQ(ops->read(n, &cpu, false), 0);

	/* Hot-remove: the CPU leaves; every claim of it is then -ENOENT. */
	CHECK_EQ(sidecar_sim_hot_remove(sim, 4, 10000000000ll), 0);
	CHECK_EQ(sim_status(sim, 4), SIDECAR_CPU_REMOVED);
	CHECK_EQ(sidecar_sim_hot_remove(sim, 4, -1), -ENOENT);
	CHECK_EQ(ops->start(n, 4), -ENOENT);
	CHECK_EQ(ops->run(n, 4, NULL), -ENOENT);
	CHECK_EQ(ops->claim_direct(n, 4, &nt), -ENOENT);
	CHECK_EQ(ops->stop(n, 4), -EINVAL);
	CHECK_EQ(sidecar_sim_hot_remove(sim, 42, -1), -EINVAL);
	/* The others are unaffected. */
	CHECK_EQ(sim_run_sync(sim, 3, SIDECAR_COMMAND_NONE), 0);
	sidecar_sim_destroy(sim);
}

/*
 * needs_attention is one line per node. A finished asynchronous run must be reported even
 * when the handler of another CPU (here a synchronous RUN finishing at the same moment)
 * cleared the line before this CPU's handler looked at it; otherwise the report is lost and
 * a reader sleeps forever in poll(). The fault hook holds CPU 1's response IPI, after it
 * raised the line, until CPU 2's handler has cleared it.
 */
static _Atomic int hold_cpu = -1;
static _Atomic bool hold_started; /* START returned: the claim is ASYNC, not STARTING */

static void hold_response(void *ctx, struct sidecar_sim *sim, uint32_t cpu, enum sidecar_fault_point where)
{
	(void)ctx;
	if ((int)cpu != atomic_load(&hold_cpu))
		return;
	uint64_t t0 = ms_now();
	if (where == SIDECAR_FAULT_BEFORE_COMMAND) {
		/* Otherwise START may see the run finished and report it itself. */
		while (!atomic_load(&hold_started) && !sidecar_sim_shutting_down(sim) && ms_now() - t0 < 10000)
			usleep(100);
	} else if (where == SIDECAR_FAULT_BEFORE_RESPONSE) {
		while (atomic_load(&hold_cpu) == (int)cpu && !sidecar_sim_shutting_down(sim) && ms_now() - t0 < 10000)
			usleep(100);
	}
}

static bool wait_attention(struct sidecar_control_page *cp, uint32_t want)
{
	uint64_t t0 = ms_now();
	while (sc_load_seq(&cp->needs_attention) != want)
		if (ms_now() - t0 > 5000)
			return false;
		else
			usleep(100);
	return true;
}

static void test_shared_attention(const void *arg)
{
	const char *target = arg;
	struct sidecar_sim *sim = sim_open(target);
	struct sidecar_drv_node *n = sim_node(sim, 0);
	struct sidecar_control_page *cp = sidecar_sim_control_page(sim, 0);
	uint32_t cpu = 99;

	sidecar_sim_set_fault_hook(sim, hold_response, NULL);
	atomic_store(&hold_started, false);
	atomic_store(&hold_cpu, 1);
	start_run(sim, 1); /* the io guest intercepts at once */
	atomic_store(&hold_started, true);
	CHECK(wait_attention(cp, 1));                            /* CPU 1 is held before its IPI */
	CHECK_EQ(sim_run_sync(sim, 2, SIDECAR_COMMAND_NONE), 0); /* CPU 2's handler clears the line */
	CHECK(wait_attention(cp, 0));
	CHECK(!readable(ops->poll_fd(n)));
	atomic_store(&hold_cpu, -1); /* CPU 1's handler now finds the line clear */
	CHECK(readable_within(ops->poll_fd(n), 5000));
	CHECK_EQ(ops->read(n, &cpu, true), 0);
	CHECK_EQ(cpu, 1);
	CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN);
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_NONE), 0); /* the claim was returned */
	sidecar_sim_destroy(sim);
}

/*
 * The stop/restart ABA: a STOP that claimed a run and then lost its CPU must not, when it
 * resumes, stop the next run. Upstream's claim goes ASYNC -> ASYNC_STOPPING before the
 * status moves RUN -> STOP, so the first run could finish, be read, and a new START go by
 * in between, and the resumed STOP would find another run there and stop it (or fail with
 * -EIO).
 * Here the run stays pinned until the STOP is posted: while the STOP is held between its
 * two steps, the finished run is not readable; once it resumes, it reports the run itself.
 */
struct aba {
	struct sidecar_sim *sim;
	_Atomic int phase; /* 1: STOP claimed the run and is held; 2: let it go */
	int rc;
};

static void aba_stop_hook(void *ctx, uint32_t cpu)
{
	struct aba *a = ctx;
	(void)cpu;
	atomic_store(&a->phase, 1);
	uint64_t t0 = ms_now();
	while (atomic_load(&a->phase) != 2 && ms_now() - t0 < 10000)
		usleep(100);
}

static void *aba_stopper(void *arg)
{
	struct aba *a = arg;
	a->rc = ops->stop(sim_node(a->sim, 0), 1);
	return NULL;
}

static void aba_hold_command(void *ctx, struct sidecar_sim *sim, uint32_t cpu, enum sidecar_fault_point where)
{
	struct aba *a = ctx;
	if (cpu != 1 || where != SIDECAR_FAULT_BEFORE_COMMAND)
		return;
	/* The run stays RUN until the STOP has claimed it. */
	uint64_t t0 = ms_now();
	while (atomic_load(&a->phase) == 0 && !sidecar_sim_shutting_down(sim) && ms_now() - t0 < 10000)
		usleep(100);
}

static void test_stop_restart_aba(const void *arg)
{
	const char *target = arg;
	struct aba a = {.sim = sim_open(target)};
	struct sidecar_drv_node *n = sim_node(a.sim, 0);
	uint32_t cpu = 99;
	pthread_t t;

	sidecar_sim_set_fault_hook(a.sim, aba_hold_command, &a);
	start_run(a.sim, 1); /* io guest: it intercepts as soon as it runs */
	sidecar_sim_set_stop_hook(a.sim, aba_stop_hook, &a);
	REQUIRE(pthread_create(&t, NULL, aba_stopper, &a) == 0);
	uint64_t t0 = ms_now();
	while (sim_status(a.sim, 1) != SIDECAR_CPU_IDLE && ms_now() - t0 < 5000)
		usleep(100); /* the run ends (phase 1 released the kernel) */
	CHECK_EQ(sim_status(a.sim, 1), SIDECAR_CPU_IDLE);
	usleep(20000); /* time for a report, were one allowed */
	CHECK(!readable(ops->poll_fd(n)));
	CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN); /* pinned: no next START can slip in */
	CHECK_EQ(ops->start(n, 1), -EBUSY);
	atomic_store(&a.phase, 2);
	pthread_join(t, NULL);
	CHECK_EQ(a.rc, 0);
	CHECK(readable_within(ops->poll_fd(n), 5000)); /* the STOP reported the run */
	CHECK_EQ(ops->read(n, &cpu, true), 0);
	CHECK_EQ(cpu, 1);
	sidecar_sim_set_stop_hook(a.sim, NULL, NULL);
	/* The next run is not stopped by anything left over. */
	CHECK_EQ(sim_run_sync(a.sim, 1, SIDECAR_COMMAND_RUN_VP), 0);
	CHECK_EQ(sim_pages(a.sim, 1)->command_page.request_data[0], 1); /* an intercept, not a stop */
	sidecar_sim_destroy(a.sim);
}

static void *blocking_reader(void *arg)
{
	struct sidecar_sim *sim = arg;
	static uint32_t cpu;
	int rc = ops->read(sim_node(sim, 0), &cpu, false);
	return rc == 0 ? &cpu : NULL;
}

static void test_blocking_read(void)
{
	struct sidecar_sim *sim = sim_open("sim:cpus=2,guest=spin");
	pthread_t t;

	REQUIRE(pthread_create(&t, NULL, blocking_reader, sim) == 0);
	usleep(10000);
	start_run(sim, 2);
	usleep(10000);
	CHECK_EQ(ops->stop(sim_node(sim, 0), 2), 0);
	void *ret;
	pthread_join(t, &ret);
	CHECK(ret != NULL && *(uint32_t *)ret == 2);

	/* Shutdown wakes a blocked reader with -ESHUTDOWN. */
	struct sidecar_sim *s2 = sim_open("sim:cpus=1");
	REQUIRE(pthread_create(&t, NULL, blocking_reader, s2) == 0);
	usleep(10000);
	sidecar_sim_shutdown(s2);
	pthread_join(t, &ret);
	CHECK(ret == NULL);
	sidecar_sim_destroy(s2);
	sidecar_sim_destroy(sim);
}

struct canceller {
	struct sidecar_sim *sim;
	_Atomic uint32_t *word;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	usleep(20000);
	atomic_store(c->word, 1);
	ops->interrupt(sim_node(c->sim, 0));
	return NULL;
}

static void test_run_cancel(void)
{
	struct sidecar_sim *sim = sim_open("sim:cpus=1,guest=spin");
	_Atomic uint32_t cancel = 0;
	struct canceller c = {sim, &cancel};
	pthread_t t;

	REQUIRE(pthread_create(&t, NULL, cancel_later, &c) == 0);
	sim_pages(sim, 1)->command_page.command = SIDECAR_COMMAND_RUN_VP;
	CHECK_EQ(ops->run(sim_node(sim, 0), 1, &cancel), 0);
	pthread_join(t, NULL);
	CHECK_EQ(sim_pages(sim, 1)->command_page.request_data[0], 0); /* stopped, no intercept */
	CHECK_EQ(sim_status(sim, 1), SIDECAR_CPU_IDLE);
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_NONE), 0); /* claim released */
	sidecar_sim_destroy(sim);
}

static void test_nodes(void)
{
	/* Three nodes of a base CPU and 2 sidecar CPUs each: CPUs 0..8, 0, 3 and 6 Linux's. */
	struct sidecar_sim *sim = sim_open("sim:nodes=3,cpus=2");
	const struct sidecar_params *p = sidecar_sim_params(sim);
	const struct sidecar_output *o = sidecar_sim_output(sim);
	uint32_t cpu;

	CHECK_EQ(ops->node_count(sidecar_sim_drv(sim)), 3);
	CHECK(ops->node(sidecar_sim_drv(sim), 3) == NULL);
	CHECK_EQ(p->node_count, 3);
	for (uint32_t i = 0; i < 3; i++) {
		struct sidecar_drv_node_info info;
		ops->node_info(sim_node(sim, i), &info);
		CHECK_EQ(info.base_cpu, 3 * i);
		CHECK_EQ(info.cpu_count, 3);
		CHECK_EQ(info.per_cpu_shmem, 8192);
		CHECK_EQ(p->nodes[i].base_vp, 3 * i);
		CHECK_EQ(p->nodes[i].vp_count, 3);
		CHECK_EQ(p->nodes[i].memory_size, sidecar_required_memory(3));
		CHECK_EQ(o->nodes[i].control_page, p->nodes[i].memory_base);
		CHECK_EQ(o->nodes[i].shmem_pages_base, p->nodes[i].memory_base + 4096);
		CHECK_EQ(o->nodes[i].shmem_pages_size, 3 * 8192);
		CHECK((uintptr_t)info.shmem == o->nodes[i].shmem_pages_base);
		struct sidecar_control_page *cp = sidecar_sim_control_page(sim, i);
		CHECK_EQ(cp->index, i);
		CHECK_EQ(cp->base_cpu, 3 * i);
		CHECK_EQ(cp->cpu_count, 3);
		CHECK(cp->response_vector != 0);
		CHECK_EQ(cp->cpu_status[0], SIDECAR_CPU_REMOVED); /* the base CPU: Linux runs it */
		CHECK_EQ(cp->cpu_status[1], SIDECAR_CPU_IDLE);
		CHECK_EQ(cp->cpu_status[2], SIDECAR_CPU_IDLE);
		CHECK_EQ(cp->cpu_status[3], SIDECAR_CPU_REMOVED); /* beyond cpu_count */
		/* The base CPU cannot be claimed or removed. */
		CHECK_EQ(ops->start(sim_node(sim, i), 3 * i), -ENOENT);
		CHECK_EQ(ops->run(sim_node(sim, i), 3 * i, NULL), -ENOENT);
		CHECK_EQ(ops->claim_direct(sim_node(sim, i), 3 * i, NULL), -ENOENT);
		CHECK_EQ(sidecar_sim_hot_remove(sim, 3 * i, -1), -ENOENT);
	}
	/* A CPU belongs to one node only. */
	CHECK_EQ(ops->start(sim_node(sim, 0), 4), -EINVAL);
	CHECK_EQ(sim_run_sync(sim, 7, SIDECAR_COMMAND_NONE), 0);
	start_run(sim, 8);
	CHECK_EQ(ops->read(sim_node(sim, 2), &cpu, false), 0);
	CHECK_EQ(cpu, 8);
	CHECK_EQ(ops->read(sim_node(sim, 1), &cpu, true), -EAGAIN);
	sidecar_sim_destroy(sim);
}

/* Nodes with gaps: the CPUs the target leaves to Linux are REMOVED at boot, without a
 * thread, and cannot be claimed; their neighbours run. */
static void test_gaps(void)
{
	struct sidecar_sim *sim = sim_open("sim:nodes=2,cpus=4,linux=2+4");
	uint32_t cpu;

	for (uint32_t node = 0; node < 2; node++) {
		struct sidecar_drv_node *n = sim_node(sim, node);
		for (uint32_t i = 0; i <= 4; i++) {
			uint32_t c = node * 5 + i;
			bool linux_cpu = i == 0 || i == 2 || i == 4;
			CHECK_EQ(sim_status(sim, c), linux_cpu ? SIDECAR_CPU_REMOVED : SIDECAR_CPU_IDLE);
			if (linux_cpu) {
				CHECK_EQ(ops->start(n, c), -ENOENT);
				CHECK_EQ(ops->run(n, c, NULL), -ENOENT);
			} else {
				start_run(sim, c);
				CHECK_EQ(ops->read(n, &cpu, false), 0);
				CHECK_EQ(cpu, c);
			}
		}
	}
	sidecar_sim_destroy(sim);
}

/*
 * strict=upstream: the simulated driver behaves as upstream's where this project's fixes
 * it, so a VMM can see what would hang on a real paravisor. A START of a CPU that is not
 * IDLE (here one left to Linux) warns and returns 0, and the run never completes; a
 * cancelled synchronous RUN of such a CPU fails with EIO; there is no fast-path extension.
 */
static void test_strict_upstream(void)
{
	struct sidecar_sim *sim = sim_open("sim:cpus=3,linux=2,strict=upstream");
	struct sidecar_drv_node *n = sim_node(sim, 0);
	const struct sidecar_drv_ops *up = &sidecar_sim_drv_ops_upstream;
	uint32_t cpu;

	CHECK(up->claim_direct == NULL && up->kick == NULL);
	CHECK_EQ(sidecar_sim_warnings(sim), 0);
	sim_pages(sim, 2)->command_page.command = SIDECAR_COMMAND_RUN_VP;
	CHECK_EQ(up->start(n, 2), 0); /* upstream: a warning, and 0 */
	CHECK_EQ(sidecar_sim_warnings(sim), 1);
	usleep(20000);
	CHECK_EQ(up->read(n, &cpu, true), -EAGAIN); /* never completes */
	CHECK_EQ(up->start(n, 2), -EBUSY);          /* and the claim stays taken */
	/* A synchronous RUN of it waits until cancelled, then fails. */
	_Atomic uint32_t cancel = 0;
	struct canceller c = {sim, &cancel};
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, cancel_later, &c) == 0);
	CHECK_EQ(up->run(n, 0, &cancel), -EIO); /* the base CPU's claim is AVAIL upstream */
	pthread_join(t, NULL);
	CHECK_EQ(sidecar_sim_warnings(sim), 3); /* at the start, and at the cancel */
	/* The sidecar CPUs work as upstream's do. */
	CHECK_EQ(sim_run_sync(sim, 1, SIDECAR_COMMAND_NONE), 0);
	start_run(sim, 3);
	CHECK_EQ(up->read(n, &cpu, false), 0);
	CHECK_EQ(cpu, 3);
	sidecar_sim_destroy(sim);
}

/* The start/scan race: while START sits between its claim and the status change (the hook
 * widens that window), a concurrent reader must not report the CPU. */
static struct sidecar_sim *race_sim;
static _Atomic int race_reported;

static void race_hook(void *ctx, uint32_t cpu)
{
	(void)ctx;
	uint32_t got;
	/* Another CPU completes a command meanwhile, so the driver has a reason to scan; a
	 * scan right now sees this VP claimed and its status still IDLE from the last run. */
	CHECK_EQ(sim_run_sync(race_sim, 2, SIDECAR_COMMAND_NONE), 0);
	for (int i = 0; i < 3; i++)
		if (ops->read(sim_node(race_sim, 0), &got, true) == 0 && got == cpu)
			atomic_store(&race_reported, 1);
}

static void test_start_scan_race(const void *arg)
{
	const char *target = arg;
	race_sim = sim_open(target);
	atomic_store(&race_reported, 0);
	struct sidecar_drv_node *n = sim_node(race_sim, 0);
	uint32_t cpu;

	sidecar_sim_set_start_hook(race_sim, race_hook, NULL);
	for (int i = 0; i < 200; i++) {
		start_run(race_sim, 1); /* a spin guest: it cannot finish before the STOP */
		CHECK_EQ(atomic_load(&race_reported), 0);
		CHECK_EQ(ops->read(n, &cpu, true), -EAGAIN);
		CHECK_EQ(ops->stop(n, 1), 0);
		CHECK_EQ(ops->read(n, &cpu, false), 0);
		CHECK_EQ(cpu, 1);
	}
	sidecar_sim_set_start_hook(race_sim, NULL, NULL);
	sidecar_sim_destroy(race_sim);
}

static void test_bad_targets(void)
{
	static const char *const bad[] = {
		"",
		"simx",
		"sim:",
		"sim:foo=1",
		"sim:nodes=0",
		"sim:nodes=129",
		"sim:cpus=4033",
		"sim:cpus=0",
		"sim:nodes=2,nodes=3",
		"sim:backend=hyperv",
		"sim:mem=1000",
		"sim:mem=0",
		"sim:mem=1T",
		"sim:guest=loop",
		"sim:backend=kvm,guest=io",
		"sim:work_ns=-1",
		"sim:pin=a",
		"sim:pin=3-1",
		"sim:pin=5000",
		"sim:nodes",
		"sim:cpus=",
		"sim:cpus=2,",
		"sim:,cpus=2",
		"sim:io_port=70000",
		"sim:report=fast",
		"sim:nodes=128,cpus=4032",
		"sim:cpus=4032", /* the base CPU needs a status byte too */
		"sim:nodes=2,cpus=4095",
		"sim:linux=0",          /* the base CPU is always Linux's */
		"sim:cpus=2,linux=3",   /* no such CPU */
		"sim:cpus=2,linux=1+2", /* no sidecar CPU left */
		"sim:linux=x",
		"sim:strict=maybe",
		"sim:strict=",
	};
	struct sidecar_sim_config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		int rc = sidecar_sim_config_parse(bad[i], &cfg, err, sizeof(err));
		if (rc != -EINVAL || !err[0])
			fprintf(stderr, "target '%s' accepted (rc %d)\n", bad[i], rc);
		CHECK_EQ(rc, -EINVAL);
		CHECK(err[0] != 0);
	}
	CHECK_EQ(sidecar_sim_config_parse("sim:foo=1", &cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "'foo'") != NULL);
	CHECK_EQ(sidecar_sim_config_parse("sim:cpus=9999", &cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "cpus") != NULL);
	/* An overlong bad value cannot push the key and its range out of a short message. */
	char longv[600] = "sim:nodes=";
	memset(longv + strlen(longv), '9', 500);
	char small[64];
	CHECK_EQ(sidecar_sim_config_parse(longv, &cfg, small, sizeof(small)), -EINVAL);
	CHECK(strncmp(small, "sim target: key 'nodes' wants 1..128", 36) == 0);
	CHECK_EQ(sidecar_sim_config_parse("sim:cpus=3,linux=1+3,strict=upstream", &cfg, err, sizeof(err)), 0);
	CHECK(cfg.strict_upstream);
	CHECK(sidecar_sim_config_linux_cpu(&cfg, 0) && sidecar_sim_config_linux_cpu(&cfg, 1));
	CHECK(!sidecar_sim_config_linux_cpu(&cfg, 2) && sidecar_sim_config_linux_cpu(&cfg, 3));
	CHECK_EQ(sidecar_sim_config_parse("sim:linux=2,3,cpus=4", &cfg, err, sizeof(err)), 0); /* taskset style */
	CHECK(sidecar_sim_config_linux_cpu(&cfg, 2) && sidecar_sim_config_linux_cpu(&cfg, 3));

	CHECK_EQ(sidecar_sim_config_parse("sim", &cfg, err, sizeof(err)), 0);
	CHECK_EQ(cfg.nodes, 1);
	CHECK_EQ(cfg.cpus, 2);
	CHECK_EQ(cfg.mem, 64ull << 20);
	CHECK_EQ(cfg.backend, SIDECAR_SIM_BACKEND_SYNTHETIC);
	CHECK_EQ(cfg.guest, SIDECAR_GUEST_IO);
	CHECK_EQ(cfg.work_ns, 0);
	CHECK_EQ(sidecar_sim_config_parse("sim:nodes=2,cpus=4,backend=kvm,pin=0-1", &cfg, err, sizeof(err)), 0);
	CHECK_EQ(cfg.nodes, 2);
	CHECK_EQ(cfg.cpus, 4);
	CHECK_EQ(cfg.backend, SIDECAR_SIM_BACKEND_KVM);
	CHECK_EQ(cfg.pin_count, 2);
	CHECK_EQ(sidecar_sim_config_parse("sim:pin=0-1,3,cpus=3,mem=2M,guest=halt,work_ns=5", &cfg, err, sizeof(err)),
		 0);
	CHECK_EQ(cfg.pin_count, 3);
	CHECK_EQ(cfg.pin[2], 3);
	CHECK_EQ(cfg.cpus, 3);
	CHECK_EQ(cfg.mem, 2ull << 20);
	CHECK_EQ(cfg.guest, SIDECAR_GUEST_HALT);
	CHECK_EQ(cfg.work_ns, 5);
	CHECK_EQ(sidecar_sim_config_parse("sim:pin=0+1", &cfg, err, sizeof(err)), 0);
	CHECK_EQ(cfg.pin_count, 2);

	/* Boot-time errors name the problem too. */
	struct sidecar_sim *sim = NULL;
	CHECK_EQ(sidecar_sim_config_parse("sim:pin=1000", &cfg, err, sizeof(err)), 0);
	CHECK_EQ(sidecar_sim_create(&cfg, &sim, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "1000") != NULL);
}

static void test_pinning(void)
{
	struct sidecar_sim *sim = sim_open("sim:cpus=2,pin=0");
	/* The kernel advertises the host CPU it runs on (+1) in its fast line. */
	CHECK_EQ(sidecar_command_page_fast(&sim_pages(sim, 1)->command_page)->sidecar_host_cpu, 1);
	CHECK_EQ(sidecar_command_page_fast(&sim_pages(sim, 2)->command_page)->sidecar_host_cpu, 1);
	sidecar_sim_destroy(sim);
}

static const struct check_case cases[] = {
	CHECK_CASE(bad_targets),
	CHECK_CASE_ARG(claims, scan, "sim:cpus=4,guest=spin"),
	CHECK_CASE_ARG(claims, lockfree, "sim:cpus=4,guest=spin,report=lockfree"),
	CHECK_CASE_ARG(shared_attention, scan, "sim:cpus=2,report=scan"),
	CHECK_CASE_ARG(shared_attention, lockfree, "sim:cpus=2,report=lockfree"),
	CHECK_CASE_ARG(stop_restart_aba, scan, "sim:cpus=1,report=scan"),
	CHECK_CASE_ARG(stop_restart_aba, lockfree, "sim:cpus=1,report=lockfree"),
	CHECK_CASE(blocking_read),
	CHECK_CASE(run_cancel),
	CHECK_CASE(nodes),
	CHECK_CASE(gaps),
	CHECK_CASE(strict_upstream),
	CHECK_CASE_ARG(start_scan_race, scan, "sim:cpus=2,guest=spin"),
	CHECK_CASE_ARG(start_scan_race, lockfree, "sim:cpus=2,guest=spin,report=lockfree"),
	CHECK_CASE(pinning),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_driver", CHECK_CASES(cases), .watchdog_s = 120};
	return check_main(argc, argv, &suite);
}
