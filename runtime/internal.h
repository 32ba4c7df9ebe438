/* SPDX-License-Identifier: MIT */
/* The runtime's private structures (docs/runtime.md). */
#ifndef SIDECAR_RUNTIME_INTERNAL_H
#define SIDECAR_RUNTIME_INTERNAL_H

#include "transport.h"

#include <sidecar/client.h>

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vp_state.h"

/* The seed port's per-VP state (upstream VpState), guarded by its slot's lock. */
enum seed_state {
	SEED_STOPPED,
	SEED_RUNNING,
	SEED_FINISHED,
};

/*
 * The seed port's state of one CPU. As upstream keeps its VpState in the node for the
 * client's life, the slot lives as long as the client (allocated at the first acquire of the
 * CPU, freed with the client): the node task may use it after the accessor that last ran it
 * was released (a late report of a run that would not stop), so there is nothing to wait out
 * before an accessor is freed.
 */
struct rt_seed_slot {
	pthread_mutex_t lock;
	pthread_cond_t cond;               /* the "waker" */
	_Atomic int state;                 /* enum seed_state; written under lock */
	bool dead;                         /* the client was closed; under lock */
	bool in_sync;                      /* a synchronous command is in flight; under lock */
	_Atomic uint32_t sync_cancel;      /* turns a RUN ioctl into a STOP */
	_Atomic bool ev_counted;           /* counted in client->ev_finished (event.c) */
	_Atomic uint64_t response_signals; /* finished reports the node task read */
};

struct rt_node {
	struct sidecar_client *client;
	struct sidecar_drv_node *drv_node;
	struct sidecar_drv_node_info info;
	uint32_t index;
	_Atomic uint8_t *in_use;           /* exclusive accessors, per CPU */
	_Atomic(struct sidecar_vp *) *vps; /* the held accessor per CPU (close, event-fd arming) */
	/* The seed port's per-CPU state, published once (release) and kept for the client's
	 * life; the node task reads it (acquire). */
	_Atomic(struct rt_seed_slot *) *seed;
	/* The seed port's reader task (upstream sidecar_wait_loop). */
	pthread_t task;
	bool task_running;
	int task_stop_fd;
};

/* Delay points on the run/wait path, for the delay-injection and race tests
 * (tests/test_delays.c, tests/test_races.c), compiled into the shipped library: a hook is
 * set only by tests (rt_client_set_delay_hook), and a VMM pays one predicted branch on a
 * read-only field per point (docs/testing.md has the measurement). */
enum rt_delay_point {
	RT_DELAY_POST_CLAIMED,    /* state is RUNNING, the doorbell not rung yet */
	RT_DELAY_POST_RUNG,       /* doorbell rung, sidecar_flags not read yet */
	RT_DELAY_WAIT_WAITER,     /* WAITER set, SLEEPING not announced yet */
	RT_DELAY_WAIT_ANNOUNCED,  /* SLEEPING announced, done_seq not re-checked yet */
	RT_DELAY_WAIT_WOKEN,      /* back from the futex, before looking */
	RT_DELAY_HOOK_BEFORE_CAS, /* completion hook: done_seq read, before its CAS */
	RT_DELAY_COLLECT,         /* before the collecting CAS */
	RT_DELAY_CANCEL,          /* cancel: the sequence to stop read, stop_seq not written yet */
	RT_DELAY_POINTS,
};
#define RT_DELAY(c, point)                                        \
	do {                                                      \
		if (__builtin_expect((c)->delay_hook != NULL, 0)) \
			(c)->delay_hook((c)->delay_ctx, (point)); \
	} while (0)

struct sidecar_client {
	struct sidecar_drv_handle drv;
	uint32_t node_count;
	uint32_t cpu_count;
	struct rt_node *nodes;
	bool fast_capable;               /* the driver has the direct extension */
	_Atomic uint32_t refs;           /* 1 while open, + 1 per accessor */
	_Atomic int64_t stop_timeout_ns; /* how long release and close wait for a VP to stop */
	_Atomic bool closed;
	pthread_mutex_t lock; /* slow path only: acquire, release, mode changes, close */

	/* Event-loop integration (armed by sidecar_client_event_fd; runtime/event.c): the fd
	 * is readable iff ev_finished, the VPs finished and not collected, is non-zero. */
	int event_fd;
	_Atomic bool event_armed;
	_Atomic uint32_t ev_finished;
	_Atomic uint32_t ev_dirty, ev_busy; /* the fd needs settling; someone settles it */
	bool ev_level;                      /* the fd is readable: the settler's */
	/* A driver without in-process hooks (set_notify_fd): its completion signals arrive on
	 * notify_fd, and a thread does the hook's work for every VP (runtime/notify.c). */
	int notify_fd;
	pthread_t notify_task;
	bool notify_running;
	_Atomic bool notify_stop;
	_Atomic uint32_t notify_in_vp; /* the thread may hold a VP it loaded from a node */
	/* Tests only (RT_DELAY). */
	void (*delay_hook)(void *ctx, enum rt_delay_point point);
	void *delay_ctx;
};

struct sidecar_vp {
	/* Owner's hot line. */
	alignas(64) _Atomic uint32_t state; /* the state word above */
	uint32_t seq;                       /* sequence of the last posted command */
	_Atomic int mode;                   /* enum sidecar_wait_mode; the owner writes it while
					     * stopped, cancel may read it from any thread */
	uint32_t features;                  /* fast line features in force */
	struct sidecar_command_page *page;
	struct sidecar_fast_line *fast;
	struct hv_x64_register_page *regs;
	const struct sidecar_drv_ops *ops;
	struct sidecar_drv_node *drv_node;
	struct sidecar_client *client;
	struct rt_node *node;
	uint32_t cpu, index;
	uint32_t host_cpu_hint; /* last host CPU + 1 published in the fast line */
	bool direct;            /* holds the driver's DIRECT claim */
	bool kernel_wait;       /* the driver's wait_done is the sleep (no in-process hook) */
	bool dead_local;        /* the client is closed: never touch the driver again */
	bool close_quiet;       /* close: its command stopped (or none was in flight) */
	uint64_t poll_ns;       /* current client poll window */
	uint64_t poll_cap_ns;   /* its cap */
	uint64_t sidecar_poll_ns;

	/* Statistics: written by the owner (relaxed), read by anyone. */
	_Atomic uint64_t st_runs, st_intercepts, st_cancels, st_polled, st_sleeps, st_request_signals;
	/* Written by the completion hook on the sidecar CPU's thread. */
	alignas(64) _Atomic uint64_t st_response_signals;
	_Atomic uint32_t hook_busy; /* hooks counting this VP for the event fd (vp_wait.c) */
	struct sidecar_drv_notify notify;

	/* Seed mode: the CPU's slot (the node's), and its report count when acquired. */
	struct rt_seed_slot *seed;
	uint64_t seed_responses_base;

	_Atomic bool ev_counted; /* fast modes: counted in client->ev_finished (runtime/event.c) */

	/* Port I/O the short way (runtime/io_exit.c): the owner's. */
	uint8_t io_stop; /* enum rt_io_stop: what the last collected run stopped at */
	bool io_short;   /* the VMM completes port I/O the short way: ask for IO_EXIT */
	bool io_pending; /* sidecar_vp_complete_io() waits for the next run */
	bool io_in;      /* the pending completion is of an IN */
	uint8_t io_size; /* its access size */
	uint32_t io_value;
	uint64_t io_rip; /* by hand: RIP after the instruction */

	/* Results of the last failed command. */
	hv_status hv_status;
	char error[256];
};

static inline enum sidecar_wait_mode vp_mode(const struct sidecar_vp *vp)
{
	return (enum sidecar_wait_mode)atomic_load_explicit(&vp->mode, memory_order_relaxed);
}

/* What the last collected run stopped at, for sidecar_vp_io_exit(). */
enum rt_io_stop {
	RT_IO_STOP_NONE, /* no run collected since the last post, or no intercept */
	RT_IO_STOP_FAST, /* an intercept; the fast line holds the kernel's port-I/O summary */
	RT_IO_STOP_MSG,  /* an intercept; only the message describes it */
};

/* vp.c */
void rt_vp_free(struct sidecar_vp *vp);
/* seed.c: the CPU's slot, allocated on first use (client lock held); its teardown. */
struct rt_seed_slot *rt_seed_slot_get(struct rt_node *node, uint32_t index);
void rt_seed_slot_free(struct rt_seed_slot *slot);
/* Stops the VP (bounded) and gives it back to the driver. Client lock held, client open. */
void rt_vp_detach(struct sidecar_vp *vp);
/* client.c: the node holding CPU `cpu` (its index there in *index), or NULL. */
struct rt_node *rt_node_of_cpu(const struct sidecar_client *c, uint32_t cpu, uint32_t *index);
/* client.c: drops a reference; the last one frees the client and releases the driver. */
void rt_client_put(struct sidecar_client *c);
/* Opens a client over an existing driver instance (tests: a simulator shared by clients). */
int rt_client_open_drv(const struct sidecar_drv_handle *h, struct sidecar_client **out);
int rt_vp_apply_mode(struct sidecar_vp *vp, enum sidecar_wait_mode mode);
/* The VMM takes port I/O the short way from now on: in a fast mode, against a kernel that
 * has it, the fast line asks for IO_EXIT (the VP stopped; the next doorbell publishes it). */
void rt_vp_enable_io_exit(struct sidecar_vp *vp);
/* vp_wait.c: the fast modes. */
int rt_fast_post(struct sidecar_vp *vp, uint32_t command);
int rt_fast_wait(struct sidecar_vp *vp, int64_t timeout_ns);
int rt_fast_try(struct sidecar_vp *vp);
int rt_fast_cancel(struct sidecar_vp *vp);
/* Asks the kernel to stop command `seq` (stop_seq only moves forward). */
void rt_fast_stop_seq(struct sidecar_vp *vp, uint32_t seq);
void rt_fast_notify(void *ctx);
/* The hook's work without the signal: finishes the command in flight if done_seq shows it
 * complete (idempotent). */
void rt_fast_finish(struct sidecar_vp *vp);
/* Waits until the posted command finished, at most timeout_ns, ignoring DEAD (close). */
bool rt_fast_quiesce(struct sidecar_vp *vp, uint64_t timeout_ns);
/* seed.c: the upstream-faithful port. */
int rt_seed_start_task(struct rt_node *node);
void rt_seed_stop_task(struct rt_node *node);
int rt_seed_run(struct sidecar_vp *vp);
int rt_seed_wait(struct sidecar_vp *vp, int64_t timeout_ns);
int rt_seed_try(struct sidecar_vp *vp);
int rt_seed_cancel(struct sidecar_vp *vp);
int rt_seed_sync(struct sidecar_vp *vp, uint32_t command);
bool rt_seed_quiesce(struct sidecar_vp *vp, uint64_t timeout_ns);
/* event.c: event-fd accounting, after a transition to (+1) or out of (-1) FINISHED; and, for
 * the arming (client.c), counting a VP found FINISHED and settling the fd. */
void rt_event_finished(struct sidecar_vp *vp, int delta);
/* The node task's report of a seed run (the slot may outlive any accessor). */
void rt_event_seed_finished(struct sidecar_client *c, struct rt_seed_slot *slot);
bool rt_event_count_if_finished(struct sidecar_vp *vp);
void rt_event_settle(struct sidecar_client *c, bool wait);
/* notify.c: a driver without in-process hooks: the forwarding thread (started at arming,
 * client lock held), the registration of a VP just claimed DIRECT, and the thread's end
 * (close). */
int rt_event_notify_start(struct sidecar_client *c);
void rt_event_notify_register(struct sidecar_vp *vp);
void rt_event_notify_stop(struct sidecar_client *c);
/* Results of a completed command: 0, -SIDECAR_EKERNEL (copies the string), -ENOENT. */
int rt_collect_error(struct sidecar_vp *vp, bool has_error);

#endif
