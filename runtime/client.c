/* SPDX-License-Identifier: MIT */
/* The client: one over every node of a target; open, close, event fd, strerror. */
#include "futex.h"
#include "internal.h"
#include "sidecar_atomic.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_STOP_TIMEOUT_NS 10000000000ll /* release and close wait this long for a stop */

static void client_free(struct sidecar_client *c)
{
	for (uint32_t i = 0; c->nodes && i < c->node_count; i++) {
		struct rt_node *n = &c->nodes[i];
		for (uint32_t j = 0; n->seed && j < n->info.cpu_count; j++)
			rt_seed_slot_free(atomic_load_explicit(&n->seed[j], memory_order_relaxed));
		free(n->seed);
		free(n->in_use);
		free(n->vps);
	}
	free(c->nodes);
	if (c->event_fd >= 0)
		close(c->event_fd);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	pthread_mutex_destroy(&c->lock);
	if (c->drv.owned)
		c->drv.ops->release(c->drv.drv);
	free(c);
}

void rt_client_put(struct sidecar_client *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		client_free(c);
}

int rt_client_open_drv(const struct sidecar_drv_handle *h, struct sidecar_client **out)
{
	struct sidecar_client *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	if (!c)
		return -ENOMEM;
	c->drv = *h;
	c->event_fd = -1;
	c->notify_fd = -1;
	atomic_init(&c->refs, 1);
	atomic_init(&c->stop_timeout_ns, DEFAULT_STOP_TIMEOUT_NS);
	pthread_mutex_init(&c->lock, NULL);
	c->fast_capable = h->ops->claim_direct && h->ops->release_direct && h->ops->kick;
	c->node_count = h->ops->node_count(h->drv);
	c->nodes = calloc(c->node_count ? c->node_count : 1, sizeof(*c->nodes));
	c->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->nodes || c->event_fd < 0)
		goto fail;
	uint32_t end = 0;
	for (uint32_t i = 0; i < c->node_count; i++) {
		struct rt_node *n = &c->nodes[i];
		n->client = c;
		n->index = i;
		n->task_stop_fd = -1;
		n->drv_node = h->ops->node(h->drv, i);
		h->ops->node_info(n->drv_node, &n->info);
		/* Nodes in order, not overlapping; there may be CPU numbers between them
		 * (Linux's), as there may be inside them. */
		if (n->info.cpu_count == 0 || n->info.base_cpu < end || n->info.cpu_count > SIDECAR_MAX_CPUS_PER_NODE ||
		    n->info.base_cpu > UINT32_MAX - n->info.cpu_count) {
			rc = -EIO;
			goto fail;
		}
		end = n->info.base_cpu + n->info.cpu_count;
		n->in_use = calloc(n->info.cpu_count, sizeof(*n->in_use));
		n->vps = calloc(n->info.cpu_count, sizeof(*n->vps));
		n->seed = calloc(n->info.cpu_count, sizeof(*n->seed));
		if (!n->in_use || !n->vps || !n->seed)
			goto fail;
	}
	c->cpu_count = end;
	*out = c;
	return 0;
fail:
	c->drv.owned = false; /* the caller still owns the driver */
	client_free(c);
	return rc;
}

int sidecar_client_open_err(const char *target, struct sidecar_client **out, char *err, size_t errlen)
{
	struct sidecar_drv_handle h;
	int rc;

	if (!err)
		errlen = 0; /* no room for a reason: none is written */
	if (errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	*out = NULL;
	/* Only NULL means "the environment's, else the simulator": an empty string is a
	 * target like any other, and not a valid one. */
	if (!target) {
		target = getenv("SIDECAR_TARGET");
		if (!target || !*target)
			target = "sim";
	}
	if (strncmp(target, "sim", 3) == 0 && (target[3] == '\0' || target[3] == ':')) {
		rc = rt_transport_sim_open(target, &h, err, errlen);
	} else if (strcmp(target, "device") == 0) {
		rc = rt_transport_device_open(&h, err, errlen);
	} else {
		if (errlen)
			snprintf(err, errlen, "unknown target '%s' (sim[:key=value,...] or device)", target);
		return -EINVAL;
	}
	if (rc)
		return rc;
	rc = rt_client_open_drv(&h, out);
	if (rc) {
		h.ops->release(h.drv);
		if (errlen)
			snprintf(err, errlen, "%s",
				 rc == -EIO ? "the nodes' cpu ranges overlap or are out of order" : "out of memory");
	}
	return rc;
}

int sidecar_client_open(const char *target, struct sidecar_client **out)
{
	return sidecar_client_open_err(target, out, NULL, 0);
}

/*
 * Close, in an order that never hangs and never frees what a thread may still touch:
 *  1. mark the client closed and every held VP dead, and wake its waiters (they return
 *     -ESHUTDOWN; new posts fail);
 *  2. stop what runs and wait for it, within the stop timeout (all VPs together);
 *  3. stop the seed tasks, give every VP back to the driver;
 *  4. shut the driver down (the simulator removes its CPUs and joins their threads).
 * Accessors still held and the shared memory live on until the last sidecar_vp_release.
 */
/* Close, for a VP in a fast mode whose word is DEAD already (no post can begin now): stops
 * the command in flight and waits for its completion until `deadline`. The word says
 * whether a command is in flight; the doorbell may lag it by a few instructions (the owner
 * moved the word to RUNNING and has not rung yet), so wait for the doorbell first, or a
 * command rung after this look would run on after close. False: it would not stop. */
static bool close_fast_vp(struct sidecar_vp *vp, uint64_t deadline)
{
	uint32_t st = atomic_load_explicit(&vp->state, memory_order_relaxed);

	if ((st & VP_STATE_MASK) != VP_RUNNING)
		return true; /* STOPPED or FINISHED: nothing in flight */
	/* Acquire: pairs with the owner's exchange of request_seq (the doorbell). */
	while ((sc_load_acquire(&vp->fast->request_seq) & VP_SEQ_MASK) != vp_word_seq(st)) {
		if (sidecar_now_ns() > deadline)
			return false;
		sched_yield();
	}
	uint32_t posted = sc_load_acquire(&vp->fast->request_seq);
	if (sc_load_acquire(&vp->fast->done_seq) == posted)
		return true;
	rt_fast_stop_seq(vp, posted);
	vp->ops->kick(vp->drv_node, vp->cpu);
	uint64_t now = sidecar_now_ns();
	return rt_fast_quiesce(vp, now < deadline ? deadline - now : 1000000);
}

void sidecar_client_close(struct sidecar_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (atomic_exchange(&c->closed, true)) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	for (uint32_t i = 0; i < c->node_count; i++) {
		struct rt_node *n = &c->nodes[i];
		for (uint32_t j = 0; j < n->info.cpu_count; j++) {
			struct sidecar_vp *vp = atomic_load(&n->vps[j]);
			if (!vp)
				continue;
			atomic_fetch_or(&vp->state, VP_DEAD);
			sidecar_futex_wake(&vp->state, INT_MAX);
			/* An owner asleep in the driver: the wake ends it, or its next sleep
			 * (it looks at the word, DEAD now, after every sleep). */
			if (vp->kernel_wait && vp->direct)
				vp->ops->wake(vp->drv_node, vp->cpu);
			pthread_mutex_lock(&vp->seed->lock);
			vp->seed->dead = true;
			pthread_cond_broadcast(&vp->seed->cond);
			pthread_mutex_unlock(&vp->seed->lock);
		}
	}
	uint64_t deadline = sidecar_now_ns() + (uint64_t)atomic_load(&c->stop_timeout_ns);
	for (uint32_t i = 0; i < c->node_count; i++) {
		struct rt_node *n = &c->nodes[i];
		for (uint32_t j = 0; j < n->info.cpu_count; j++) {
			struct sidecar_vp *vp = atomic_load(&n->vps[j]);
			if (!vp)
				continue;
			uint64_t now = sidecar_now_ns();
			uint64_t left = now < deadline ? deadline - now : 1000000;
			/* rt_vp_detach's own bound is longer; keep close within one budget. */
			if (vp_mode(vp) != SIDECAR_WAIT_SEED) {
				vp->close_quiet = close_fast_vp(vp, now + left);
			} else {
				rt_seed_cancel(vp);
				vp->close_quiet = rt_seed_quiesce(vp, left);
			}
		}
	}
	for (uint32_t i = 0; i < c->node_count; i++)
		rt_seed_stop_task(&c->nodes[i]);
	rt_event_notify_stop(c);
	for (uint32_t i = 0; i < c->node_count; i++) {
		struct rt_node *n = &c->nodes[i];
		for (uint32_t j = 0; j < n->info.cpu_count; j++) {
			struct sidecar_vp *vp = atomic_load(&n->vps[j]);
			if (!vp)
				continue;
			if (vp->direct) {
				/* As rt_vp_detach: a CPU that would not stop keeps its claim. */
				sc_store_release(&vp->fast->features, 0);
				vp->ops->release_direct(vp->drv_node, vp->cpu, !vp->close_quiet);
				vp->direct = false;
			}
			vp->dead_local = true;
			atomic_store(&n->vps[j], NULL);
			atomic_store(&n->in_use[j], 0);
		}
	}
	if (c->drv.owned)
		c->drv.ops->shutdown(c->drv.drv);
	pthread_mutex_unlock(&c->lock);
	rt_client_put(c);
}

int sidecar_client_set_stop_timeout(struct sidecar_client *c, int64_t timeout_ns)
{
	if (!c || timeout_ns < 1000000 || timeout_ns > 3600ll * 1000000000)
		return -EINVAL;
	atomic_store(&c->stop_timeout_ns, timeout_ns);
	return 0;
}

uint32_t sidecar_client_cpu_count(const struct sidecar_client *c)
{
	return c ? c->cpu_count : 0;
}

uint32_t sidecar_client_node_count(const struct sidecar_client *c)
{
	return c ? c->node_count : 0;
}

struct rt_node *rt_node_of_cpu(const struct sidecar_client *c, uint32_t cpu, uint32_t *index)
{
	for (uint32_t i = 0; i < c->node_count; i++) {
		struct rt_node *n = &c->nodes[i];
		if (cpu >= n->info.base_cpu && cpu - n->info.base_cpu < n->info.cpu_count) {
			*index = cpu - n->info.base_cpu;
			return n;
		}
	}
	return NULL;
}

int sidecar_client_base_cpu(const struct sidecar_client *c, uint32_t cpu)
{
	uint32_t index;

	if (!c)
		return -EINVAL;
	const struct rt_node *n = rt_node_of_cpu(c, cpu, &index);
	return n ? (int)n->info.base_cpu : -EINVAL;
}

int sidecar_client_guest_memory(struct sidecar_client *c, void **base, size_t *size)
{
	if (!c || !base || !size)
		return -EINVAL;
	if (!c->drv.ops->guest_memory)
		return -ENOTSUP;
	return c->drv.ops->guest_memory(c->drv.drv, base, size);
}

/* ---- event fd (runtime/event.c keeps the count) ------------------------------------------- */

int sidecar_client_event_fd(struct sidecar_client *c)
{
	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	/* A driver without in-process hooks: its completion signals reach a thread of ours,
	 * which does the hooks' work (runtime/event.c). Before arming: no VP must finish
	 * unseen in between. */
	if (c->drv.ops->set_notify_fd && !atomic_load(&c->event_armed) && !atomic_load(&c->closed)) {
		int rc = rt_event_notify_start(c);
		if (rc) {
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
	}
	if (!atomic_exchange_explicit(&c->event_armed, true, memory_order_seq_cst)) {
		for (uint32_t i = 0; i < c->node_count; i++) {
			struct rt_node *n = &c->nodes[i];
			for (uint32_t j = 0; j < n->info.cpu_count; j++) {
				struct sidecar_vp *vp = atomic_load(&n->vps[j]);
				if (!vp)
					continue;
				rt_event_count_if_finished(vp);
				/* A VP already running in a suppressing mode must signal from now
				 * on. Dekker with the sidecar CPU (its store of done_seq, then its
				 * load of client_flags): if it finished before it could see the
				 * flag, we see done_seq and finish the run ourselves, as its
				 * completion hook would have. */
				if (vp->features & SIDECAR_FAST_F_SUPPRESS) {
					sc_store_mb(&vp->fast->client_flags, SIDECAR_FAST_CLIENT_SLEEPING);
					rt_fast_finish(vp);
				}
			}
		}
		rt_event_settle(c, true);
	}
	pthread_mutex_unlock(&c->lock);
	return c->event_fd;
}

/* ---- strerror --------------------------------------------------------------------------------- */

const char *sidecar_strerror(int rc)
{
	switch (rc) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument or cpu";
	case -EBUSY:
		return "vp in use or already running";
	case -ENOENT:
		return "cpu removed from the sidecar kernel, or Linux's";
	case -ETIMEDOUT:
		return "timed out";
	case -EAGAIN:
		return "not finished yet";
	case -ENODEV:
		return "no sidecar";
	case -ENOTSUP:
		return "not supported by this target";
	case -ESHUTDOWN:
		return "client closed";
	case -ENOMEM:
		return "out of memory";
	case -SIDECAR_EKERNEL:
		return "the sidecar kernel failed the command";
	case -SIDECAR_EHV:
		return "the hypervisor failed the command";
	}
	return rc < 0 ? strerror(-rc) : "unknown result";
}
