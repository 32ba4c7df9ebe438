/* SPDX-License-Identifier: MIT */
/*
 * Stress: several VPs, one owner thread each, doing random sequences of run / wait (with
 * and without timeouts) / try_wait / cancel / run_sync / test / registers / translate /
 * wait-mode switches / release and re-acquire, while other threads cancel VPs at random
 * and read their statistics. Guests do some work per run (work_ns) so that cancels land in
 * the middle of runs. A watchdog turns any hang into a failure; ThreadSanitizer runs it in
 * CI.
 *
 *   test_stress [--vps N] [--seconds S] [--seed X] [--target T] [--modes MASK]
 */
#include "check.h"

#include <sidecar/client.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define MAX_VPS 64

static struct sidecar_client *client;
static _Atomic(struct sidecar_vp *) held[MAX_VPS];
static _Atomic bool stop;
static _Atomic uint64_t total_ops, total_runs, total_cancelled;
static unsigned vp_count = 4;
static unsigned seconds = 5;
static uint64_t seed = 1;
static unsigned mode_mask = 0xf; /* --modes: bit per enum sidecar_wait_mode */
static const char *target;

static void unpublish(unsigned cpu);

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

#define EXPECT_RC(rc, ...)                                                                        \
	do {                                                                                      \
		int ok_ = 0, r_ = (rc), allowed_[] = {__VA_ARGS__};                               \
		for (size_t i_ = 0; i_ < sizeof(allowed_) / sizeof(allowed_[0]); i_++)            \
			ok_ |= r_ == allowed_[i_];                                                \
		if (!ok_) {                                                                       \
			fprintf(stderr, "%s:%d: unexpected rc %d (%s)\n", __FILE__, __LINE__, r_, \
				sidecar_strerror(r_));                                            \
			check_failures++;                                                         \
		}                                                                                 \
	} while (0)

/* Each run carries a tag in RAX that the io guest echoes in its intercept message: a run
 * collected with someone else's results shows up here. */
static void tag(struct sidecar_vp *vp, uint64_t *s)
{
	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = rnd(s) | 1;
}

static void check_tag(struct sidecar_vp *vp, bool intercept)
{
	if (!intercept)
		return;
	const struct hv_x64_io_port_intercept_message *io = (const void *)sidecar_vp_intercept_message(vp)->payload;
	uint64_t want = sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX];
	if (io->rax != want) {
		fprintf(stderr, "cpu %u (%s): run collected with another run's results (%llx != %llx)\n",
			sidecar_vp_cpu(vp), sidecar_wait_mode_name(sidecar_vp_get_wait_mode(vp)),
			(unsigned long long)io->rax, (unsigned long long)want);
		check_failures++;
	}
}

/* Waits for the VP's current run to end, whatever the mode. */
static void finish(struct sidecar_vp *vp, uint64_t *s)
{
	bool intercept = false;
	int rc;

	switch (rnd(s) % 3) {
	case 0:
		EXPECT_RC(sidecar_vp_wait(vp, -1, &intercept), 0);
		break;
	case 1:
		while ((rc = sidecar_vp_wait(vp, (int64_t)(rnd(s) % 50000), &intercept)) == -ETIMEDOUT)
			;
		EXPECT_RC(rc, 0);
		break;
	default:
		while ((rc = sidecar_vp_try_wait(vp, &intercept)) == -EAGAIN)
			sched_yield();
		EXPECT_RC(rc, 0);
		break;
	}
	check_tag(vp, intercept);
}

static void *owner(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + cpu + 1;
	struct sidecar_vp *vp;
	struct hv_register_assoc regs[40];
	struct hv_translate_virtual_address_ex_output_x64 out;
	bool intercept;

	REQUIRE(sidecar_vp_acquire(client, cpu + 1, &vp) == 0); /* CPU 0 is Linux's */
	atomic_store(&held[cpu], vp);
	if (!(mode_mask & (1u << SIDECAR_WAIT_ADAPTIVE)))
		REQUIRE(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)__builtin_ctz(mode_mask)) == 0);
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&total_ops, 1);
		switch (rnd(&s) % 12) {
		case 0:
		case 1:
		case 2:
			tag(vp, &s);
			EXPECT_RC(sidecar_vp_run(vp), 0);
			atomic_fetch_add(&total_runs, 1);
			finish(vp, &s);
			break;
		case 3:
			tag(vp, &s);
			EXPECT_RC(sidecar_vp_run(vp), 0);
			atomic_fetch_add(&total_runs, 1);
			EXPECT_RC(sidecar_vp_run(vp), -EBUSY);
			EXPECT_RC(sidecar_vp_cancel(vp), 0);
			atomic_fetch_add(&total_cancelled, 1);
			finish(vp, &s);
			break;
		case 4:
			tag(vp, &s);
			EXPECT_RC(sidecar_vp_run_sync(vp, &intercept), 0);
			check_tag(vp, intercept);
			atomic_fetch_add(&total_runs, 1);
			break;
		case 5:
			EXPECT_RC(sidecar_vp_test(vp), 0);
			break;
		case 6: {
			size_t n = 1 + rnd(&s) % 40;
			for (size_t i = 0; i < n; i++) {
				regs[i].name = HV_X64_REGISTER_R8 + (uint32_t)(i % 8);
				regs[i].value.reg64 = rnd(&s);
			}
			EXPECT_RC(sidecar_vp_set_registers(vp, 0, regs, n), 0);
			EXPECT_RC(sidecar_vp_get_registers(vp, 0, regs, n), 0);
			break;
		}
		case 7:
			EXPECT_RC(sidecar_vp_translate_gva(vp, rnd(&s) % 64, HV_TRANSLATE_GVA_VALIDATE_READ, &out), 0);
			break;
		case 8:
		case 9: {
			unsigned m;
			do
				m = (unsigned)(rnd(&s) % 4);
			while (!(mode_mask & (1u << m)));
			EXPECT_RC(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)m), 0);
			break;
		}
		case 10:
			/* Release while running (it is cancelled and waited), then re-acquire. */
			if (rnd(&s) & 1) {
				EXPECT_RC(sidecar_vp_run(vp), 0);
				atomic_fetch_add(&total_runs, 1);
			}
			unpublish(cpu);
			enum sidecar_wait_mode was = sidecar_vp_get_wait_mode(vp);
			sidecar_vp_release(vp);
			int arc = sidecar_vp_acquire(client, cpu + 1, &vp);
			if (arc) {
				/* Diagnose: does the CPU become free later (a release that returned
				 * early), or never (an abandoned VP)? */
				int later = arc, tries = 0;
				while (later == -EBUSY && tries++ < 500) {
					usleep(10000);
					later = sidecar_vp_acquire(client, cpu + 1, &vp);
				}
				fprintf(stderr,
					"re-acquire of cpu %u (released in mode %d): %s; after %d x 10 ms: %s\n", cpu,
					(int)was, sidecar_strerror(arc), tries, sidecar_strerror(later));
			}
			REQUIRE(arc == 0);
			if (!(mode_mask & (1u << SIDECAR_WAIT_ADAPTIVE)))
				REQUIRE(sidecar_vp_set_wait_mode(
						vp, (enum sidecar_wait_mode)__builtin_ctz(mode_mask)) == 0);
			atomic_store(&held[cpu], vp);
			break;
		default:
			EXPECT_RC(sidecar_vp_try_wait(vp, &intercept), -EINVAL); /* nothing running */
			break;
		}
	}
	unpublish(cpu);
	sidecar_vp_release(vp);
	return NULL;
}

/* Cancels and reads statistics of VPs owned by other threads. An owner may release its
 * accessor at any moment, so the two sides hand over through a Dekker pair per slot: the
 * canceller raises `busy` then loads the accessor; the owner clears the accessor then waits
 * for `busy` to drop (all seq_cst). Either the canceller sees NULL or the owner waits. */
static _Atomic uint32_t busy[MAX_VPS];

static void *canceller(void *arg)
{
	uint64_t s = seed ^ 0xabcdef;
	(void)arg;
	while (!atomic_load(&stop)) {
		unsigned cpu = (unsigned)(rnd(&s) % vp_count);
		atomic_store(&busy[cpu], 1);
		struct sidecar_vp *vp = atomic_load(&held[cpu]);
		if (vp) {
			struct sidecar_vp_stats st;
			sidecar_vp_get_stats(vp, &st);
			EXPECT_RC(sidecar_vp_cancel(vp), 0);
		}
		atomic_store(&busy[cpu], 0);
		struct timespec ts = {0, (long)(rnd(&s) % 200000)};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void unpublish(unsigned cpu)
{
	atomic_store(&held[cpu], NULL);
	while (atomic_load(&busy[cpu]))
		sched_yield();
}

static void test_random_operations(void)
{
	char buf[128];

	if (!mode_mask)
		mode_mask = 0xf;
	if (vp_count < 1 || vp_count > MAX_VPS)
		vp_count = 4;
	if (!target) {
		snprintf(buf, sizeof(buf), "sim:cpus=%u,work_ns=20000", vp_count);
		target = buf;
	}
	check_watchdog(seconds + 120);
	printf("stress: %u vps, %u s, seed %llu, target %s\n", vp_count, seconds, (unsigned long long)seed, target);
	REQUIRE(sidecar_client_open(target, &client) == 0);
	/* Under a sanitizer on an oversubscribed machine a stop can take long: give release a
	 * generous bound, so that a slow stop is not mistaken for a stuck one. */
	REQUIRE(sidecar_client_set_stop_timeout(client, 120ll * 1000000000) == 0);

	pthread_t owners[MAX_VPS], cancel_thread;
	for (unsigned i = 0; i < vp_count; i++)
		REQUIRE(pthread_create(&owners[i], NULL, owner, (void *)(uintptr_t)i) == 0);
	REQUIRE(pthread_create(&cancel_thread, NULL, canceller, NULL) == 0);
	sleep(seconds);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < vp_count; i++)
		pthread_join(owners[i], NULL);
	pthread_join(cancel_thread, NULL);
	sidecar_client_close(client);
	printf("stress: %llu operations, %llu runs, %llu cancelled runs\n", (unsigned long long)total_ops,
	       (unsigned long long)total_runs, (unsigned long long)total_cancelled);
	CHECK(total_runs > 0);
}

static int option(int argc, char **argv, int i)
{
	if (i + 1 >= argc)
		return 0;
	if (!strcmp(argv[i], "--vps"))
		vp_count = (unsigned)atoi(argv[i + 1]);
	else if (!strcmp(argv[i], "--seconds"))
		seconds = (unsigned)atoi(argv[i + 1]);
	else if (!strcmp(argv[i], "--seed"))
		seed = strtoull(argv[i + 1], NULL, 0);
	else if (!strcmp(argv[i], "--target"))
		target = argv[i + 1];
	else if (!strcmp(argv[i], "--modes"))
		mode_mask = (unsigned)strtoul(argv[i + 1], NULL, 0) & 0xf;
	else
		return 0;
	return 2;
}

static const struct check_case cases[] = {
	CHECK_CASE(random_operations),
};

int main(int argc, char **argv)
{
	/* The case sets its own watchdog: --seconds and two minutes. */
	static const struct check_suite suite = {
		"test_stress", CHECK_CASES(cases), .option = option,
		.usage = "[--vps N] [--seconds S] [--seed X] [--target T] [--modes MASK]"};
	return check_main(argc, argv, &suite);
}
