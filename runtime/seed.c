/* SPDX-License-Identifier: MIT */
/*
 * SIDECAR_WAIT_SEED: a faithful port of the upstream client (sidecar_client, the seed), the
 * baseline every benchmark compares against. Kept honest, not handicapped:
 *
 *  - each VP's state (Stopped / Running(waker) / Finished) is guarded by a mutex; the
 *    "waker" is a condition variable, the synchronous stand-in for an async Waker;
 *  - run() writes RUN_VP and issues the driver's START (an asynchronous claim);
 *  - one task per node (upstream sidecar_wait_loop) polls the node's fd, reads finished
 *    CPUs from the driver (which scans under its mutex), marks the VP Finished under its
 *    mutex and wakes the waiter: two sleeps and wake-ups per round trip at least;
 *  - synchronous commands use the driver's RUN ioctl, which sleeps in the driver, where the
 *    transport can interrupt it (the simulator: a cancel turns it into a STOP, as a signal
 *    does upstream). Over a transport that cannot (the device: only a signal interrupts a
 *    RUN, and a library sends none), they are started like a run (START), waited for like
 *    a run (the node task's finished report) and cancelled like a run (STOP): see
 *    seed_sync_started below;
 *  - the kernel signals upstream's way: fast line features are zero.
 */
#include "futex.h"
#include "internal.h"

#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static void slot_set(struct rt_seed_slot *slot, enum seed_state s)
{
	atomic_store_explicit(&slot->state, s, memory_order_seq_cst);
}

static enum seed_state slot_get(struct rt_seed_slot *slot)
{
	return (enum seed_state)atomic_load_explicit(&slot->state, memory_order_relaxed);
}

static void set_state(struct sidecar_vp *vp, enum seed_state s)
{
	slot_set(vp->seed, s);
}

static enum seed_state get_state(struct sidecar_vp *vp)
{
	return slot_get(vp->seed);
}

struct rt_seed_slot *rt_seed_slot_get(struct rt_node *node, uint32_t index)
{
	struct rt_seed_slot *slot = atomic_load_explicit(&node->seed[index], memory_order_relaxed);

	if (slot)
		return slot;
	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return NULL;
	pthread_mutex_init(&slot->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&slot->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Release: pairs with the node task's acquire load; the slot is whole when seen. */
	atomic_store_explicit(&node->seed[index], slot, memory_order_release);
	return slot;
}

void rt_seed_slot_free(struct rt_seed_slot *slot)
{
	if (!slot)
		return;
	pthread_mutex_destroy(&slot->lock);
	pthread_cond_destroy(&slot->cond);
	free(slot);
}

/* ---- the node task ------------------------------------------------------------------------ */

static void *seed_task(void *arg)
{
	struct rt_node *node = arg;
	const struct sidecar_drv_ops *ops = node->client->drv.ops;
	struct pollfd fds[2] = {
		{.fd = ops->poll_fd(node->drv_node), .events = POLLIN},
		{.fd = node->task_stop_fd, .events = POLLIN},
	};

	for (;;) {
		if (poll(fds, 2, -1) < 0)
			continue; /* EINTR */
		if (fds[1].revents)
			break;
		for (;;) {
			uint32_t cpu;
			int rc = ops->read(node->drv_node, &cpu, true);
			if (rc == -EAGAIN)
				break;
			if (rc)
				return NULL; /* the driver went away */
			if (cpu < node->info.base_cpu || cpu - node->info.base_cpu >= node->info.cpu_count)
				continue;
			/* The CPU's slot outlives every accessor of it: nothing to wait out.
			 * Acquire: pairs with the release that published it. */
			struct rt_seed_slot *slot =
				atomic_load_explicit(&node->seed[cpu - node->info.base_cpu], memory_order_acquire);
			if (!slot)
				continue;
			/* One finished CPU read = one completion IPI the sidecar CPU sent. */
			atomic_fetch_add_explicit(&slot->response_signals, 1, memory_order_relaxed);
			pthread_mutex_lock(&slot->lock);
			if (slot_get(slot) == SEED_RUNNING) {
				slot_set(slot, SEED_FINISHED);
				rt_event_seed_finished(node->client, slot);
				pthread_cond_broadcast(&slot->cond);
			}
			pthread_mutex_unlock(&slot->lock);
		}
	}
	return NULL;
}

int rt_seed_start_task(struct rt_node *node)
{
	if (node->task_running)
		return 0;
	node->task_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (node->task_stop_fd < 0)
		return -errno;
	/* Upstream runs the task on an executor of its own, not on a VMM thread's CPU: do not
	 * inherit the (often pinned) caller's affinity; allow every CPU this process may use. */
	pthread_attr_t attr;
	cpu_set_t all;
	pthread_attr_init(&attr);
	CPU_ZERO(&all);
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	for (long i = 0; i < ncpus && i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	pthread_attr_setaffinity_np(&attr, sizeof(all), &all);
	int rc = pthread_create(&node->task, &attr, seed_task, node);
	if (rc == EINVAL) /* some CPUs are not ours: then take the default */
		rc = pthread_create(&node->task, NULL, seed_task, node);
	pthread_attr_destroy(&attr);
	if (rc) {
		close(node->task_stop_fd);
		node->task_stop_fd = -1;
		return -rc;
	}
	node->task_running = true;
	return 0;
}

void rt_seed_stop_task(struct rt_node *node)
{
	uint64_t one = 1;

	if (!node->task_running)
		return;
	ssize_t r = write(node->task_stop_fd, &one, sizeof(one));
	(void)r;
	pthread_join(node->task, NULL);
	close(node->task_stop_fd);
	node->task_stop_fd = -1;
	node->task_running = false;
}

/* ---- run / wait / cancel -------------------------------------------------------------------- */

/* Stopped -> Running, then `command` and the driver's START (an asynchronous claim). */
static int seed_start(struct sidecar_vp *vp, uint32_t command)
{
	pthread_mutex_lock(&vp->seed->lock);
	if (vp->seed->dead || get_state(vp) != SEED_STOPPED) {
		int rc = vp->seed->dead ? -ESHUTDOWN : -EBUSY;
		pthread_mutex_unlock(&vp->seed->lock);
		return rc;
	}
	set_state(vp, SEED_RUNNING);
	pthread_mutex_unlock(&vp->seed->lock);

	vp->page->command = command;
	int rc = vp->ops->start(vp->drv_node, vp->cpu);
	if (rc) {
		pthread_mutex_lock(&vp->seed->lock);
		set_state(vp, SEED_STOPPED);
		pthread_mutex_unlock(&vp->seed->lock);
		return rc;
	}
	atomic_fetch_add_explicit(&vp->st_request_signals, 1, memory_order_relaxed);
	return 0;
}

int rt_seed_run(struct sidecar_vp *vp)
{
	return seed_start(vp, SIDECAR_COMMAND_RUN_VP);
}

static void deadline_ts(int64_t timeout_ns, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ns / 1000000000;
	ts->tv_nsec += timeout_ns % 1000000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int rt_seed_wait(struct sidecar_vp *vp, int64_t timeout_ns)
{
	struct timespec ts;
	int rc = 0;

	if (timeout_ns >= 0)
		deadline_ts(timeout_ns, &ts);
	pthread_mutex_lock(&vp->seed->lock);
	if (get_state(vp) == SEED_STOPPED && !vp->seed->dead) {
		pthread_mutex_unlock(&vp->seed->lock);
		return -EINVAL;
	}
	bool slept = false;
	while (get_state(vp) == SEED_RUNNING && !vp->seed->dead) {
		slept = true;
		if (timeout_ns < 0) {
			pthread_cond_wait(&vp->seed->cond, &vp->seed->lock);
		} else if (pthread_cond_timedwait(&vp->seed->cond, &vp->seed->lock, &ts) == ETIMEDOUT) {
			if (get_state(vp) == SEED_RUNNING) {
				rc = -ETIMEDOUT;
				break;
			}
		}
	}
	if (slept)
		atomic_fetch_add_explicit(&vp->st_sleeps, 1, memory_order_relaxed);
	if (rc == 0 && vp->seed->dead)
		rc = -ESHUTDOWN;
	if (rc == 0) {
		set_state(vp, SEED_STOPPED);
		rt_event_finished(vp, -1);
	}
	pthread_mutex_unlock(&vp->seed->lock);
	return rc;
}

int rt_seed_try(struct sidecar_vp *vp)
{
	int rc;

	pthread_mutex_lock(&vp->seed->lock);
	if (vp->seed->dead)
		rc = -ESHUTDOWN;
	else if (get_state(vp) == SEED_STOPPED)
		rc = -EINVAL;
	else if (get_state(vp) == SEED_RUNNING)
		rc = -EAGAIN;
	else {
		set_state(vp, SEED_STOPPED);
		rt_event_finished(vp, -1);
		rc = 0;
	}
	pthread_mutex_unlock(&vp->seed->lock);
	return rc;
}

int rt_seed_cancel(struct sidecar_vp *vp)
{
	int rc = 0;

	pthread_mutex_lock(&vp->seed->lock);
	bool running = get_state(vp) == SEED_RUNNING;
	bool sync = vp->seed->in_sync;
	pthread_mutex_unlock(&vp->seed->lock);
	/* Without `interrupt`, a synchronous command runs as a started one (RUNNING): the STOP
	 * below cancels it. */
	if (sync && vp->ops->interrupt) {
		/* A signal to the thread in the RUN ioctl turns its request into a STOP. */
		atomic_store_explicit(&vp->seed->sync_cancel, 1, memory_order_release);
		if (vp->ops->interrupt)
			vp->ops->interrupt(vp->drv_node);
		atomic_fetch_add_explicit(&vp->st_cancels, 1, memory_order_relaxed);
	}
	if (running) {
		rc = vp->ops->stop(vp->drv_node, vp->cpu);
		if (rc == -EINVAL)
			rc = 0; /* finished and collected meanwhile */
		atomic_fetch_add_explicit(&vp->st_cancels, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&vp->st_request_signals, 1, memory_order_relaxed);
	}
	return rc;
}

/*
 * A synchronous command over a transport that cannot interrupt its RUN ioctl (the device).
 * Waiting in RUN would make sidecar_vp_cancel() a silent no-op and leave release and close
 * waiting out their whole stop timeout behind a command nobody can stop; a signal would
 * work, but a library must not pick a signal number and install a handler behind the VMM's
 * back. So the command is started like a run (START: an asynchronous claim), its end
 * reported by the node task (read of the finished CPU, the seed's Finished state) and a
 * cancel is a STOP, exactly as for sidecar_vp_run(). The price is the run path's second
 * wake-up (the node task), paid only by these commands, not by the run/wait loop.
 */
static int seed_sync_started(struct sidecar_vp *vp, uint32_t command)
{
	int rc = seed_start(vp, command);
	if (rc)
		return rc;
	/* Ends once the node task marked it Finished (0), or the client closed (-ESHUTDOWN: the
	 * state stays RUNNING until the task sees the end, which close waits for). */
	return rt_seed_wait(vp, -1);
}

int rt_seed_sync(struct sidecar_vp *vp, uint32_t command)
{
	if (!vp->ops->interrupt)
		return seed_sync_started(vp, command);

	pthread_mutex_lock(&vp->seed->lock);
	if (vp->seed->dead || get_state(vp) != SEED_STOPPED) {
		int rc = vp->seed->dead ? -ESHUTDOWN : -EBUSY;
		pthread_mutex_unlock(&vp->seed->lock);
		return rc;
	}
	vp->seed->in_sync = true;
	atomic_store_explicit(&vp->seed->sync_cancel, 0, memory_order_relaxed);
	pthread_mutex_unlock(&vp->seed->lock);

	vp->page->command = command;
	atomic_fetch_add_explicit(&vp->st_request_signals, 1, memory_order_relaxed);
	int rc = vp->ops->run(vp->drv_node, vp->cpu, &vp->seed->sync_cancel);
	if (rc == 0) /* the RUN ioctl returns on the completion IPI */
		atomic_fetch_add_explicit(&vp->seed->response_signals, 1, memory_order_relaxed);

	pthread_mutex_lock(&vp->seed->lock);
	vp->seed->in_sync = false;
	pthread_mutex_unlock(&vp->seed->lock);
	return rc;
}

bool rt_seed_quiesce(struct sidecar_vp *vp, uint64_t timeout_ns)
{
	uint64_t deadline = sidecar_now_ns() + timeout_ns;

	for (;;) {
		pthread_mutex_lock(&vp->seed->lock);
		bool busy = get_state(vp) == SEED_RUNNING || vp->seed->in_sync;
		pthread_mutex_unlock(&vp->seed->lock);
		if (!busy)
			return true;
		if (sidecar_now_ns() > deadline)
			return false;
		usleep(100);
	}
}
