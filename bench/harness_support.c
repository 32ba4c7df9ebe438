/* SPDX-License-Identifier: MIT */
/* The C half of the google-benchmark harness: see harness_support.h. */
#include "harness_support.h"

#include "futex.h"
#include "internal.h"
#include "sim.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- clocks and errors ------------------------------------------------------------------- */

static _Atomic int errors;

uint64_t hs_now_ns(void)
{
	return sidecar_now_ns();
}

void hs_note_error(void)
{
	atomic_fetch_add(&errors, 1);
}

int hs_error_count(void)
{
	return atomic_load(&errors);
}

/* ---- the per-VP state word alone ------------------------------------------------------- */

/*
 * The state word's transitions are runtime/vp_state.h's, the functions runtime/vp_wait.c
 * runs, on the `state` and `seq` fields of a real struct sidecar_vp. What is left out is
 * what is not the state machine: the fast line's doorbell and flags, statistics, the
 * event-fd accounting. done_seq, which the sidecar kernel stores (release) when a command
 * completes, is simulated by this thread.
 */
struct hs_state {
	struct sidecar_vp vp;
	alignas(64) _Atomic uint32_t done_seq;
	struct rt_seed_slot seed;
};

struct hs_state *hs_state_new(void)
{
	size_t size = (sizeof(struct hs_state) + 63) & ~(size_t)63;
	struct hs_state *s = aligned_alloc(64, size);

	if (!s)
		return NULL;
	memset(s, 0, size);
	atomic_init(&s->vp.state, vp_word(0, VP_STOPPED));
	s->vp.seed = &s->seed;
	pthread_mutex_init(&s->seed.lock, NULL);
	pthread_cond_init(&s->seed.cond, NULL);
	return s;
}

void hs_state_free(struct hs_state *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->seed.cond);
	pthread_mutex_destroy(&s->seed.lock);
	free(s);
}

/* rt_fast_post's transition. */
static inline bool post(struct sidecar_vp *vp)
{
	if (vp_state_post(&vp->state, vp->seq))
		return false;
	vp->seq++;
	return true;
}

/* The sidecar kernel's completion store. */
static inline void complete(struct hs_state *s)
{
	atomic_store_explicit(&s->done_seq, s->vp.seq, memory_order_release);
}

/* rt_fast_finish: the hook's transition, and a futex wake iff WAITER was set. */
static inline bool hook(struct hs_state *s)
{
	uint32_t st = vp_state_finish(&s->vp.state, atomic_load_explicit(&s->done_seq, memory_order_acquire));

	if (st & VP_WAITER)
		sidecar_futex_wake(&s->vp.state, 1);
	return st != 0;
}

/* collect's transition. */
static inline bool collect(struct sidecar_vp *vp)
{
	return vp_state_collect(&vp->state, vp->seq) != 0;
}

static bool stopped_at_seq(const struct sidecar_vp *vp)
{
	return atomic_load_explicit(&vp->state, memory_order_relaxed) == vp_word(vp->seq, VP_STOPPED);
}

bool hs_state_cycle(struct hs_state *s, uint64_t n)
{
	bool ok = true;

	for (uint64_t i = 0; i < n; i++) {
		ok &= post(&s->vp);
		complete(s);
		ok &= hook(s);
		/* The owner's fast check (fast_done) before it collects. */
		ok &= atomic_load_explicit(&s->done_seq, memory_order_acquire) == s->vp.seq;
		ok &= collect(&s->vp);
	}
	return ok && stopped_at_seq(&s->vp);
}

bool hs_state_poll_cycle(struct hs_state *s, uint64_t n)
{
	bool ok = true;

	for (uint64_t i = 0; i < n; i++) {
		ok &= post(&s->vp);
		complete(s);
		ok &= atomic_load_explicit(&s->done_seq, memory_order_acquire) == s->vp.seq;
		ok &= collect(&s->vp);
	}
	return ok && stopped_at_seq(&s->vp);
}

bool hs_state_hook(struct hs_state *s, uint64_t n, bool waiter)
{
	struct sidecar_vp *vp = &s->vp;
	uint32_t seq = vp->seq + 1;
	uint32_t armed = vp_word(seq, VP_RUNNING) | (waiter ? VP_WAITER : 0);
	bool ok = true;

	vp->seq = seq;
	complete(s);
	for (uint64_t i = 0; i < n; i++) {
		atomic_store_explicit(&vp->state, armed, memory_order_relaxed);
		ok &= hook(s);
	}
	ok &= atomic_load_explicit(&vp->state, memory_order_relaxed) == vp_word(seq, VP_FINISHED);
	atomic_store_explicit(&vp->state, vp_word(seq, VP_STOPPED), memory_order_relaxed);
	return ok;
}

void hs_futex_wake_no_waiter(struct hs_state *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		sidecar_futex_wake(&s->vp.state, 1);
}

/* runtime/seed.c's transitions, each under seed_lock as there (set_state is a seq_cst
 * store). */
bool hs_seed_state_cycle(struct hs_state *s, uint64_t n)
{
	struct sidecar_vp *vp = &s->vp;
	bool ok = true;

	for (uint64_t i = 0; i < n; i++) {
		/* rt_seed_run: Stopped -> Running. */
		pthread_mutex_lock(&vp->seed->lock);
		ok &= atomic_load_explicit(&vp->seed->state, memory_order_relaxed) == SEED_STOPPED;
		atomic_store_explicit(&vp->seed->state, SEED_RUNNING, memory_order_seq_cst);
		pthread_mutex_unlock(&vp->seed->lock);
		/* The reader task: Running -> Finished, wake the waker. */
		pthread_mutex_lock(&vp->seed->lock);
		if (atomic_load_explicit(&vp->seed->state, memory_order_relaxed) == SEED_RUNNING) {
			atomic_store_explicit(&vp->seed->state, SEED_FINISHED, memory_order_seq_cst);
			pthread_cond_broadcast(&vp->seed->cond);
		} else {
			ok = false;
		}
		pthread_mutex_unlock(&vp->seed->lock);
		/* rt_seed_wait: Finished -> Stopped. */
		pthread_mutex_lock(&vp->seed->lock);
		ok &= atomic_load_explicit(&vp->seed->state, memory_order_relaxed) == SEED_FINISHED;
		atomic_store_explicit(&vp->seed->state, SEED_STOPPED, memory_order_seq_cst);
		pthread_mutex_unlock(&vp->seed->lock);
	}
	return ok;
}

/* ---- finished-CPU reporting --------------------------------------------------------------- */

struct hs_report {
	char target[256];
	struct sidecar_sim *sim;
	struct sidecar_drv_node *node;
	struct sidecar_drv_node_info info;
	int fd;
};

static struct hs_report *report_cached;

static void report_close(struct hs_report *r)
{
	if (!r)
		return;
	sidecar_sim_destroy(r->sim);
	free(r);
}

struct hs_report *hs_report_get(const char *target, char *err, size_t errlen)
{
	if (report_cached && strcmp(report_cached->target, target) == 0)
		return report_cached;
	/* One at a time: two 4032-CPU simulators are 8064 threads. */
	report_close(report_cached);
	report_cached = NULL;

	struct sidecar_sim_config cfg;
	struct hs_report *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(r->target, sizeof(r->target), "%s", target);
	if (sidecar_sim_config_parse(target, &cfg, err, errlen) || sidecar_sim_create(&cfg, &r->sim, err, errlen)) {
		free(r);
		return NULL;
	}
	r->node = sidecar_sim_drv_ops.node(sidecar_sim_drv(r->sim), 0);
	sidecar_sim_drv_ops.node_info(r->node, &r->info);
	r->fd = sidecar_sim_drv_ops.poll_fd(r->node);
	report_cached = r;
	return r;
}

void hs_report_release_all(void)
{
	report_close(report_cached);
	report_cached = NULL;
}

uint32_t hs_report_cpu_count(const struct hs_report *r)
{
	return r->info.cpu_count;
}

int hs_report_cycle(struct hs_report *r, uint32_t index, uint64_t *read_ns)
{
	const struct sidecar_drv_ops *ops = &sidecar_sim_drv_ops;
	uint32_t cpu = r->info.base_cpu + index, got = UINT32_MAX;
	struct sidecar_vp_shared_pages *pages =
		(struct sidecar_vp_shared_pages *)(r->info.shmem + (size_t)index * r->info.per_cpu_shmem);
	uint64_t spent = 0;
	int rc;

	if (index >= r->info.cpu_count)
		return -EINVAL;
	/* The cheapest command: the cycle is the driver's and the kernel's round trip. */
	pages->command_page.command = SIDECAR_COMMAND_NONE;
	rc = ops->start(r->node, cpu);
	if (rc)
		return rc;
	for (;;) {
		/* Upstream's reader task: sleep in poll() until the node's fd is readable. */
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		int ready = poll(&pfd, 1, 10000);
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (ready == 0)
			return -ETIMEDOUT; /* a report lost: never hang the benchmark */
		uint64_t t0 = sidecar_now_ns();
		rc = ops->read(r->node, &got, true);
		spent += sidecar_now_ns() - t0;
		if (rc != -EAGAIN)
			break;
	}
	*read_ns = spent;
	if (rc)
		return rc;
	return got == cpu ? 0 : -EIO;
}

int hs_report_read_empty(struct hs_report *r)
{
	uint32_t cpu;
	int rc = sidecar_sim_drv_ops.read(r->node, &cpu, true);

	return rc == -EAGAIN ? 0 : (rc ? rc : -EIO);
}
