/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The mshv_vtl_sidecar module's private structures, in layers (each file uses only the ones
 * below it):
 *
 *   module.c   parameters, load and unload, the CPU-hotplug guard
 *   file.c     the misc devices: open, release, ioctl, read, poll, mmap
 *   sysfs.c    the per-node attributes (claims, orphans, IPIs, allocations)
 *   driver.c   the driver: claims, START/STOP/RUN, finished-CPU reporting, the response
 *              IPI's handler, release of a closing file's claims
 *   direct.c   libsidecar's extension: DIRECT claims, KICK, WAIT/WAKE, the per-VP eventfd,
 *              ECHO, and the completion signal of the fast line delivered to the owner
 *   boot.c     the platform: node memory, control pages, sidecar CPUs, removal
 *   params.c   the node and CPU layout from the module parameters
 *   kernel/hosts/linux   the sidecar CPUs as bound kernel threads running the kernel core
 */
#ifndef SIDECAR_DRV_H
#define SIDECAR_DRV_H

#include "lhost.h"

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <sidecar/defs.h>
#include <sidecar/uapi.h>

/*
 * The driver's per-VP claim: one atomic word, `owner << 8 | state`, changed only by
 * compare-and-swap. `owner` names the open file (struct sidecar_file.id, never reused) that
 * holds the claim; AVAIL and REMOVED have none. Legal transitions (F: the owner):
 *
 *   AVAIL -> F:SYNC                RUN claims           F:SYNC -> AVAIL      RUN done
 *   F:SYNC -> F:ORPHAN             RUN was interrupted and its STOP did not finish in time
 *   AVAIL -> F:STARTING            START claims         F:STARTING -> F:ASYNC   status is RUN
 *   F:STARTING -> AVAIL            START failed
 *   F:ASYNC -> F:STOP_POSTING      STOP claims the run  F:STOP_POSTING -> F:ASYNC_STOPPING
 *                                                       STOP has moved RUN -> STOP (or saw IDLE)
 *   F:ASYNC(_STOPPING) -> F:ASYNC_STOPPED   the run is complete: marked by F's read (under
 *                                  scan_lock), claim loaded before status
 *   F:ASYNC_STOPPED -> AVAIL       F's read returned it
 *   F:any -> AVAIL                 F's release, once the CPU is IDLE
 *   F:any -> F:ORPHAN              F's release, when the CPU did not stop in time
 *   F:ORPHAN -> AVAIL              the CPU is quiet: whoever claims the VP next (or unload)
 *   AVAIL -> F:DIRECT              CLAIM_DIRECT (direct.c)
 *   F:DIRECT -> AVAIL              RELEASE_DIRECT or F's release, once the CPU is quiet:
 *                                  it answered a barrier (an echo) it serves only while
 *                                  halted, after it saw the line's features zeroed
 *   F:DIRECT -> F:ORPHAN           the same, when the CPU was not quiet in time
 *
 * STARTING closes upstream's start/scan race (upstream claims ASYNC before moving the
 * status IDLE -> RUN, so a scan could report a VP that never ran); STOP_POSTING closes its
 * STOP ABA (a STOP that lost its CPU after claiming could move the status of the NEXT run
 * to STOP). The owner is what upstream lacks: a release handler that knows what a closing
 * file held, reads that report only the reader's own runs, and no STOP of another file's
 * run. ORPHAN keeps the owner's id so that a later orphan of another file cannot be taken
 * for this one (no ABA on the lazy reclaim).
 */
enum sidecar_claim_state {
	SIDECAR_CLAIM_AVAIL = 0,
	SIDECAR_CLAIM_SYNC = 1,
	SIDECAR_CLAIM_ASYNC = 2,
	SIDECAR_CLAIM_ASYNC_STOPPING = 3,
	SIDECAR_CLAIM_ASYNC_STOPPED = 4,
	SIDECAR_CLAIM_STARTING = 5,
	SIDECAR_CLAIM_DIRECT = 6, /* the fast path's claim (direct.c) */
	SIDECAR_CLAIM_STOP_POSTING = 7,
	SIDECAR_CLAIM_ORPHAN = 8,
	SIDECAR_CLAIM_REMOVED = 0xff,
};

#define SIDECAR_CLAIM_STATE_BITS 8
#define SIDECAR_CLAIM_STATE_MASK 0xffUL

static inline long sidecar_claim_word(u64 owner, unsigned int state)
{
	return (long)((owner << SIDECAR_CLAIM_STATE_BITS) | state);
}

static inline unsigned int sidecar_claim_state(long w)
{
	return (unsigned long)w & SIDECAR_CLAIM_STATE_MASK;
}

static inline u64 sidecar_claim_owner(long w)
{
	return (unsigned long)w >> SIDECAR_CLAIM_STATE_BITS;
}

struct sidecar_node;

/* The core's fault points (enum sidecar_fault_point) the delay injection counts. */
#define SIDECAR_DRV_FAULT_POINTS 6

/* A sidecar CPU: the host's kernel thread and its node. */
struct sidecar_cpu {
	struct sidecar_lhost_cpu host;
	struct sidecar_node *node;
};

struct eventfd_ctx;

struct sidecar_slot {
	atomic_long_t claim; /* sidecar_claim_word() */

	/* The fast path (direct.c). */
	wait_queue_head_t wq;          /* WAIT: completion signals, WAKE, echoes */
	struct eventfd_ctx __rcu *efd; /* SET_EVENTFD; changed under the node's direct_lock */
	unsigned int wake;             /* a WAKE no WAIT has consumed yet */
	atomic_t echo_req;             /* the last echo asked for (ECHO, quiet barriers) */
	u32 echo_done;                 /* the last one the CPU answered */
	u32 echo_signal;               /* MSHV_VTL_SIDECAR_ECHO_* of the last request */
	u32 quiet_seq;                 /* the echo that proves the CPU quiet (release) */
	bool direct_orphan;            /* an ORPHAN left by a DIRECT claim */
	unsigned long fast_signals;    /* completion signals to the owner (the CPU writes) */
	atomic_long_t kicks;           /* KICK ioctls */
};

struct sidecar_node {
	u32 index, base_cpu, cpu_count;
	struct sidecar_control_page *control; /* kernel only: not mapped to user space */
	u8 *shmem;                            /* per-CPU shared pages: what mmap gives */
	size_t shmem_size;
	struct sidecar_cpu **cpus; /* [cpu_count]; NULL where the CPU is Linux's */
	struct sidecar_slot *slots;

	/* Finished-CPU reporting: marking runs finished (upstream's scan mutex). */
	struct mutex scan_lock;
	/* Changes of the slots' eventfds. */
	struct mutex direct_lock;
	/*
	 * RUN waiters, blocking readers, pollers, release and removal: woken by the response
	 * IPI's handler and by START/STOP when a run ended while they could not report it.
	 */
	wait_queue_head_t wq;
	/* The response IPI, to base_cpu. */
	struct sidecar_lhost_ipi response;

	atomic_t open_files;
	atomic_t orphans;
	/* Delays injected at the core's fault points, per point (fault_delays parameter). */
	atomic_long_t delays[SIDECAR_DRV_FAULT_POINTS];

	struct miscdevice misc;
	char name[32];
	bool registered;
};

/* An open file of a node's device: the owner of claims. */
struct sidecar_file {
	struct sidecar_node *node;
	u64 id; /* > 0, never reused */
};

/* The layout the module parameters ask for (params.c). */
struct sidecar_layout_node {
	u32 base_cpu, cpu_count;
};

struct sidecar_layout {
	u32 node_count;
	struct sidecar_layout_node nodes[SIDECAR_MAX_NODES];
	cpumask_var_t sidecar_cpus; /* CPUs that run the sidecar kernel */
	cpumask_var_t used_cpus;    /* the sidecar CPUs and the nodes' base CPUs */
	enum sidecar_guest guest;
	u16 io_port;
	u64 work_ns;
	u64 mem_size; /* guest memory of the synthetic VPs, bytes */
};

/* The booted platform (boot.c). */
struct sidecar_platform {
	struct sidecar_backend backend;
	u8 *guest_mem; /* the VPs' guest memory (TRANSLATE_GVA walks it); kernel only */
	bool backend_ready;
	struct sidecar_node **nodes;
	u32 node_count;
};

/* params.c */
int sidecar_layout_parse(struct sidecar_layout *l, const char *cpus, const char *nodes,
			 const char *guest, unsigned int io_port, unsigned long work_ns,
			 unsigned int mem_mb);
void sidecar_layout_free(struct sidecar_layout *l);
const char *sidecar_guest_name(enum sidecar_guest guest);

/* boot.c */
int sidecar_platform_boot(struct sidecar_platform *p, const struct sidecar_layout *l);
void sidecar_platform_shutdown(struct sidecar_platform *p);

/* driver.c */
int sidecar_node_cpu_index(struct sidecar_node *n, unsigned long cpu, u32 *index);
int sidecar_node_claim(struct sidecar_node *n, u32 index, u64 owner, unsigned int state);
/* Gives an ORPHAN claim back once its CPU is quiet; true when the caller should look again. */
bool sidecar_node_reclaim_orphan(struct sidecar_node *n, u32 index, long orphan);
bool sidecar_node_cpu_idle(struct sidecar_node *n, u32 index);
int sidecar_node_start(struct sidecar_file *f, unsigned long cpu);
int sidecar_node_stop(struct sidecar_file *f, unsigned long cpu);
int sidecar_node_run(struct sidecar_file *f, unsigned long cpu);
int sidecar_node_read(struct sidecar_file *f, u32 __user *out, bool nonblock);
bool sidecar_node_pending(struct sidecar_file *f);
void sidecar_node_release_file(struct sidecar_file *f);
void sidecar_node_response(struct sidecar_lhost_ipi *ipi);
void sidecar_node_cpu_response(struct sidecar_lhost_cpu *c);
u32 sidecar_node_claims(struct sidecar_node *n);

/* module.c: the fast-path ioctls are offered (the `fast` parameter). */
extern bool sidecar_fast_enabled;

/* direct.c */
void sidecar_slot_init(struct sidecar_slot *s);
long sidecar_fast_info(struct sidecar_file *f, void __user *arg);
int sidecar_direct_claim(struct sidecar_file *f, unsigned long cpu);
int sidecar_direct_release(struct sidecar_file *f, unsigned long cpu);
int sidecar_direct_kick(struct sidecar_file *f, unsigned long cpu);
long sidecar_direct_wait(struct sidecar_file *f, void __user *arg);
int sidecar_direct_wake(struct sidecar_file *f, unsigned long cpu);
int sidecar_direct_set_eventfd(struct sidecar_file *f, void __user *arg);
long sidecar_direct_echo(struct sidecar_file *f, void __user *arg);
/* F's release: asks every CPU F holds DIRECT to quiesce (no wait); true if F held one. */
bool sidecar_direct_release_begin(struct sidecar_file *f);
/* Waits (until `deadline`, jiffies) for slot i's CPU to be quiet; frees the eventfd. */
bool sidecar_direct_release_wait(struct sidecar_node *n, u32 i, unsigned long deadline);
/* The CPU is quiet for the fast line: no quiet barrier is outstanding. */
bool sidecar_direct_synced(struct sidecar_node *n, u32 i);
/* A quiet CPU's line: a request it never served is marked done (the owner is gone). */
void sidecar_direct_settle_line(struct sidecar_node *n, u32 i);
/* The sidecar CPU's hooks (its own thread). */
void sidecar_node_cpu_fast_response(struct sidecar_lhost_cpu *c);
void sidecar_node_cpu_echo(struct sidecar_lhost_cpu *c);
void sidecar_node_cpu_fault(struct sidecar_lhost_cpu *c, enum sidecar_fault_point where);
/* The fault_delays parameter: per mille of fault points that get a random delay. */
void sidecar_set_fault_delays(struct sidecar_platform *p, unsigned int per_mille);

/* file.c */
int sidecar_devices_register(struct sidecar_platform *p);
void sidecar_devices_unregister(struct sidecar_platform *p);

/* sysfs.c */
extern const struct attribute_group *sidecar_node_groups[];

#endif /* SIDECAR_DRV_H */
