/* SPDX-License-Identifier: MIT */
/* The client's event fd: readable while any VP has finished and not been collected. */
#include "internal.h"
#include "sidecar_atomic.h"

#include <unistd.h>

static bool vp_finished(struct sidecar_vp *vp)
{
	if (vp_mode(vp) == SIDECAR_WAIT_SEED)
		return atomic_load(&vp->seed_state) == SEED_FINISHED;
	return (atomic_load(&vp->state) & VP_STATE_MASK) == VP_FINISHED;
}

static void count_finished(struct sidecar_client *c, struct sidecar_vp *vp)
{
	if (!vp->ev_counted && vp_finished(vp)) {
		vp->ev_counted = true;
		if (c->finished++ == 0) {
			uint64_t one = 1;
			ssize_t r = write(c->event_fd, &one, sizeof(one));
			(void)r;
		}
	}
}

/*
 * `finished` counts the VPs in FINISHED, each at most once (ev_counted), under event_lock;
 * the fd is readable iff it is non-zero. The transitions themselves are CASes outside the
 * lock, so each side re-checks under it: a hook counts only a VP still FINISHED, a collector
 * uncounts only a VP that was counted. Arming is Dekker against the hooks: they CAS then
 * load event_armed; arming stores it then scans the VPs (all seq_cst), so a VP finished
 * around the arming is counted by one side or both (and once, thanks to ev_counted).
 */
void rt_event_finished(struct sidecar_vp *vp, int delta)
{
	struct sidecar_client *c = vp->client;

	if (!atomic_load_explicit(&c->event_armed, memory_order_seq_cst))
		return;
	pthread_mutex_lock(&c->event_lock);
	if (delta > 0) {
		count_finished(c, vp);
	} else if (vp->ev_counted) {
		vp->ev_counted = false;
		if (--c->finished == 0) {
			uint64_t v;
			ssize_t r = read(c->event_fd, &v, sizeof(v));
			(void)r;
		}
	}
	pthread_mutex_unlock(&c->event_lock);
}

int sidecar_client_event_fd(struct sidecar_client *c)
{
	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&c->event_lock);
	if (!atomic_exchange_explicit(&c->event_armed, true, memory_order_seq_cst)) {
		for (uint32_t i = 0; i < c->node_count; i++) {
			struct rt_node *n = &c->nodes[i];
			for (uint32_t j = 0; j < n->info.cpu_count; j++) {
				struct sidecar_vp *vp = atomic_load(&n->vps[j]);
				if (!vp)
					continue;
				count_finished(c, vp);
				/* A VP already running in a suppressing mode must signal. */
				if (vp->features & SIDECAR_FAST_F_SUPPRESS)
					sc_store_mb(&vp->fast->client_flags, SIDECAR_FAST_CLIENT_SLEEPING);
			}
		}
	}
	pthread_mutex_unlock(&c->event_lock);
	pthread_mutex_unlock(&c->lock);
	return c->event_fd;
}
