/* SPDX-License-Identifier: MIT */
/* Completion signals from a driver without in-process hooks, forwarded to the hooks' work. */
#include "internal.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

/*
 * A driver without in-process hooks (the kernel module): it signals notify_fd, an eventfd
 * registered with every VP held DIRECT, wherever the simulator's driver would call the VP's
 * completion hook; this thread then does the hook's work for every VP (rt_fast_finish is
 * idempotent: it finishes a VP only when done_seq shows its command complete). Only event
 * loops pay for it: it starts when the event fd is armed.
 */
static void *notify_task(void *arg)
{
	struct sidecar_client *c = arg;

	for (;;) {
		uint64_t v;
		ssize_t r = read(c->notify_fd, &v, sizeof(v));
		(void)r; /* EINTR: look anyway */
		if (atomic_load_explicit(&c->notify_stop, memory_order_acquire))
			break;
		for (uint32_t i = 0; i < c->node_count; i++) {
			struct rt_node *n = &c->nodes[i];
			/* Announce before loading the entries: seq_cst, pairs with rt_vp_detach's
			 * store of NULL then load of notify_in_vp (one of us sees the other). */
			atomic_fetch_add_explicit(&c->notify_in_vp, 1, memory_order_seq_cst);
			for (uint32_t j = 0; j < n->info.cpu_count; j++) {
				struct sidecar_vp *vp = atomic_load_explicit(&n->vps[j], memory_order_seq_cst);
				if (vp && vp_mode(vp) != SIDECAR_WAIT_SEED)
					rt_fast_finish(vp);
			}
			/* Release: our last access to a VP comes before the detacher frees it. */
			atomic_fetch_sub_explicit(&c->notify_in_vp, 1, memory_order_release);
		}
	}
	return NULL;
}

void rt_event_notify_register(struct sidecar_vp *vp)
{
	struct sidecar_client *c = vp->client;

	if (c->notify_running && vp->direct)
		c->drv.ops->set_notify_fd(vp->drv_node, vp->cpu, c->notify_fd);
}

int rt_event_notify_start(struct sidecar_client *c)
{
	if (c->notify_running)
		return 0;
	c->notify_fd = eventfd(0, EFD_CLOEXEC);
	if (c->notify_fd < 0)
		return -errno;
	atomic_store(&c->notify_stop, false);
	int rc = pthread_create(&c->notify_task, NULL, notify_task, c);
	if (rc) {
		close(c->notify_fd);
		c->notify_fd = -1;
		return -rc;
	}
	c->notify_running = true;
	for (uint32_t i = 0; i < c->node_count; i++) {
		struct rt_node *n = &c->nodes[i];
		for (uint32_t j = 0; j < n->info.cpu_count; j++) {
			struct sidecar_vp *vp = atomic_load(&n->vps[j]);
			if (vp)
				rt_event_notify_register(vp);
		}
	}
	return 0;
}

void rt_event_notify_stop(struct sidecar_client *c)
{
	if (!c->notify_running)
		return;
	atomic_store_explicit(&c->notify_stop, true, memory_order_release);
	uint64_t one = 1;
	ssize_t r = write(c->notify_fd, &one, sizeof(one));
	(void)r;
	pthread_join(c->notify_task, NULL);
	c->notify_running = false;
}
