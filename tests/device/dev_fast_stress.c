/* SPDX-License-Identifier: MIT */
/*
 * Stress on the device, every sidecar CPU (3 in the VM), all four wait modes: one owner
 * thread per VP doing random sequences of run / wait (with and without timeouts) /
 * try_wait / cancel / run_sync / test / registers / translate / wait-mode switches /
 * release and re-acquire, while another thread cancels VPs at random and reads their
 * statistics, and (with --events) a thread waits on the client's event fd. Runs carry tags
 * the io guest echoes. Load the module with guest=io and some work_ns, so that cancels land
 * in the middle of runs. A watchdog turns any hang into a failure.
 *
 *   dev_fast_stress [--seconds S] [--seed X] [--modes MASK] [--events]
 */
#include "dev_util.h"

#include <poll.h>

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
static unsigned vp_count;
static unsigned vp_cpu[MAX_VPS];
static unsigned seconds = 10;
static uint64_t seed = 1;
static unsigned mode_mask = 0xf; /* --modes: bit per enum sidecar_wait_mode */

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

	REQUIRE(sidecar_vp_acquire(client, vp_cpu[cpu], &vp) == 0); /* CPU 0 is Linux's */
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
			int arc = sidecar_vp_acquire(client, vp_cpu[cpu], &vp);
			if (arc) {
				/* Diagnose: does the CPU become free later (a release that returned
				 * early), or never (an abandoned VP)? */
				int later = arc, tries = 0;
				while (later == -EBUSY && tries++ < 500) {
					usleep(10000);
					later = sidecar_vp_acquire(client, vp_cpu[cpu], &vp);
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

static int event_fd = -1;

/* Polls the client's event fd, as an event loop would (the owners collect). */
static void *event_watcher(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		struct pollfd pfd = {.fd = event_fd, .events = POLLIN};
		if (poll(&pfd, 1, 10) > 0)
			usleep(1000); /* readable until an owner collects: no busy loop */
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bool events = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events"))
			events = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--seconds"))
			seconds = (unsigned)atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--modes"))
			mode_mask = (unsigned)strtoul(argv[++i], NULL, 0) & 0xf;
	}
	if (!mode_mask)
		mode_mask = 0xf;
	dev_require_device();
	if (strcmp(dev_guest(), "io") != 0)
		SKIP("needs guest=io");
	dev_require_fast();
	vp_count = dev_sidecar_cpus(vp_cpu, MAX_VPS);
	REQUIRE(vp_count > 0);
	setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a watchdog */
	check_watchdog(seconds + 120);
	printf("stress: %u vps, %u s, seed %llu, modes 0x%x%s\n", vp_count, seconds, (unsigned long long)seed,
	       mode_mask, events ? ", event fd armed" : "");
	client = dev_client();
	REQUIRE(sidecar_client_set_stop_timeout(client, 60ll * 1000000000) == 0);
	long long kicks0 = dev_sysfs_sum("kicks"), signals0 = dev_sysfs_sum("fast_signals");
	long long fast0 = dev_sysfs_sum("fast_commands"), supp0 = dev_sysfs_sum("suppressed_signals");

	pthread_t owners[MAX_VPS], cancel_thread, watcher;
	if (events) {
		event_fd = sidecar_client_event_fd(client);
		REQUIRE(event_fd >= 0);
		REQUIRE(pthread_create(&watcher, NULL, event_watcher, NULL) == 0);
	}
	for (unsigned i = 0; i < vp_count; i++)
		REQUIRE(pthread_create(&owners[i], NULL, owner, (void *)(uintptr_t)i) == 0);
	REQUIRE(pthread_create(&cancel_thread, NULL, canceller, NULL) == 0);
	sleep(seconds);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < vp_count; i++)
		pthread_join(owners[i], NULL);
	pthread_join(cancel_thread, NULL);
	if (events)
		pthread_join(watcher, NULL);
	sidecar_client_close(client);
	printf("stress: %llu operations, %llu runs, %llu cancelled runs\n", (unsigned long long)total_ops,
	       (unsigned long long)total_runs, (unsigned long long)total_cancelled);
	long long fast = dev_sysfs_sum("fast_commands") - fast0;
	printf("module: %lld fast commands, %lld kicks, %lld completions signalled, %lld suppressed\n", fast,
	       dev_sysfs_sum("kicks") - kicks0, dev_sysfs_sum("fast_signals") - signals0,
	       dev_sysfs_sum("suppressed_signals") - supp0);
	CHECK(total_runs > 0);
	if (mode_mask & 0xe)
		CHECK(fast > 0);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fast_stress");
}
