/* SPDX-License-Identifier: MIT */
/*
 * The sidecar kernel core: one dispatch loop per sidecar CPU (docs/platform.md has the
 * upstream behaviour it reproduces).
 *
 * The core is freestanding C: it includes only its host's environment (`sidecar_env.h`,
 * found on the include path: kernel/hosts/user/ for the user-space simulator,
 * kernel/hosts/linux/ for the Linux module) and the ABI headers, so the same source builds
 * in both. Everything the loop needs from outside goes through two small interfaces that
 * never change with the host: the host's per-CPU operations below (halt, interrupt pending,
 * signal the response CPU, which host CPU this is, the VP coming and going, a fault hook,
 * logging) and the VP backend (backend.h). On bare metal, halt is `sti; hlt`, the response
 * signal an x2APIC ICR write; in the simulator halt is a futex wait on an interrupt latch and
 * a signal is a futex wake; in the module, a sleeping kernel thread and a real IPI.
 *
 * Signalling policy (park.c) is chosen per CPU from the fast line of its command page
 * (sidecar_fast_line.features): all-zero is the upstream policy (always halt when idle,
 * always send the response IPI); the fast path polls before halting and signals only a
 * sleeper.
 */
#ifndef SIDECAR_KERNEL_KERNEL_H
#define SIDECAR_KERNEL_KERNEL_H

#include "sidecar_env.h"

#include "backend.h"

#include <sidecar/defs.h>

struct sidecar_kcpu;

/* Where the fault hook is called from (tests inject stalls and delays there). */
enum sidecar_fault_point {
	SIDECAR_FAULT_BEFORE_COMMAND,  /* a request was seen, before the command is taken */
	SIDECAR_FAULT_BEFORE_COMPLETE, /* the command ran, before its completion is published */
	SIDECAR_FAULT_BEFORE_PARK,     /* about to announce PARKED and halt */
	SIDECAR_FAULT_BEFORE_SIGNAL,   /* completion published, before deciding on the response IPI */
	SIDECAR_FAULT_AFTER_ANNOUNCE,  /* PARKED announced, before the re-check that may abort the halt */
	SIDECAR_FAULT_BEFORE_RESPONSE, /* needs_attention raised, before the response IPI (upstream path) */
};

/* The host's per-CPU services. */
struct sidecar_host_ops {
	/* Halt until an interrupt is pending, then consume it. May return spuriously. */
	void (*halt)(struct sidecar_kcpu *k);
	/* True while an interrupt is pending (polled while spinning instead of halting). */
	bool (*irq_pending)(struct sidecar_kcpu *k);
	/* Send the response IPI to the control page's response_cpu/response_vector. */
	void (*signal_response)(struct sidecar_kcpu *k);
	/* The completion signal of a request posted through the fast line (a client that
	 * announced SLEEPING, or any without SUPPRESS), where the host delivers it to the VP's
	 * owner itself (the Linux module wakes the owner's WAIT from the sidecar CPU's thread).
	 * May be NULL: then signal_response (the simulator's driver finds the VP's hook). */
	void (*signal_fast_response)(struct sidecar_kcpu *k);
	/* The host CPU this sidecar CPU runs on now, or -1. */
	int (*host_cpu)(struct sidecar_kcpu *k);
	/* The VP is created (vp != NULL) or about to be destroyed (NULL): the host may then
	 * route kicks (the backend's vp_kick) to it. May be NULL. */
	void (*vp_online)(struct sidecar_kcpu *k, struct sidecar_backend_vp *vp);
	/* Test hook, called at each fault point while the CPU's faults_on is set; may
	 * delay or stall. May be NULL when faults_on is never set. */
	void (*fault)(struct sidecar_kcpu *k, enum sidecar_fault_point where);
	/* A line for the host's log (upstream logs when boot asked for it). May be NULL. */
	void (*log)(struct sidecar_kcpu *k, const char *msg);
};

/* Per sidecar CPU counters. Written only by that CPU (sc_stat_inc), read by anyone
 * (sc_load_relaxed): a snapshot, not a synchronisation point. */
struct sidecar_kcpu_stats {
	uint64_t commands;           /* commands dispatched */
	uint64_t fast_commands;      /* of which posted through the fast line */
	uint64_t halts;              /* times it halted */
	uint64_t polled_requests;    /* requests found while polling, without a halt */
	uint64_t response_signals;   /* response IPIs sent */
	uint64_t suppressed_signals; /* response IPIs not needed: nobody slept */
	uint64_t parks;              /* PARKED announcements (each precedes a halt or its abort) */
};

struct sidecar_kcpu {
	/* Set up by whoever boots the CPU; constant afterwards. */
	const struct sidecar_host_ops *host;
	const struct sidecar_backend_ops *be;
	struct sidecar_backend *backend;
	struct sidecar_control_page *control;
	struct sidecar_command_page *command_page;
	struct hv_x64_register_page *register_page;
	uint32_t node_cpu_index; /* index into control->cpu_status */
	uint32_t vp_index;       /* the hypervisor's VP index (base_vp + node_cpu_index) */

	/* Owned by the CPU. */
	struct sidecar_backend_vp *vp;
	uint32_t serving_seq; /* fast request being served (for the stop predicate) */
	bool serving_fast;
	uint64_t poll_ns; /* adaptive poll window */
	int boot_error;   /* set when the backend could not create the VP */
	bool faults_on;   /* call host->fault at the fault points (tests; relaxed access) */

	struct sidecar_kcpu_stats stats;

	/* The plain port-I/O instruction the last run stopped at (io_exit.c). */
	struct sidecar_kernel_io {
		uint64_t rip;  /* of the instruction */
		uint8_t len;   /* its length */
		uint8_t size;  /* 1, 2 or 4 */
		bool in;       /* IN (else OUT) */
		bool valid;    /* a COMPLETE_IO may consume it */
		uint8_t info;  /* the fast line's summary of the last stop: io_info, */
		uint16_t port; /* io_port */
		uint32_t data; /* io_data */
	} io;
	bool io_summary; /* the last run's client asked for it (SIDECAR_FAST_F_IO_EXIT) */
};

/* The status byte of this CPU in the control page. */
static inline uint8_t *sidecar_kcpu_status(struct sidecar_kcpu *k)
{
	return &k->control->cpu_status[k->node_cpu_index];
}

static inline struct sidecar_fast_line *sidecar_kcpu_fast(struct sidecar_kcpu *k)
{
	return sidecar_command_page_fast(k->command_page);
}

/*
 * Boots the CPU (zeroes its command and register pages, creates the VP, reports IDLE),
 * then runs the dispatch loop until a REMOVE request; reports REMOVED before returning.
 * Runs on the sidecar CPU's own thread. Returns 0, or the backend's error when the VP
 * could not be created (the CPU then reports REMOVED at once and the reason is in
 * command_page->error).
 */
int sidecar_kernel_cpu_main(struct sidecar_kcpu *k);

/* Dispatches one command on the command page (the upstream semantics). Exposed for the
 * fuzzer and the unit tests; the loop calls it with the command it took. */
void sidecar_kernel_dispatch(struct sidecar_kcpu *k, uint32_t command);

/* The fast-path features this kernel implements (advertised in sidecar_caps). */
#define SIDECAR_KERNEL_FAST_CAPS SIDECAR_FAST_F_ALL

/* Writes a formatted error string into the command page and sets has_error. */
void sidecar_kernel_set_error(struct sidecar_command_page *page, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The port-I/O fast path (kernel/core/io_exit.c). After a run: records whether it stopped at
 * a plain IN/OUT, and the summary the completion copies into the fast line. Before
 * a COMPLETE_IO run: moves RIP past the recorded instruction (through the register page when
 * it is valid, so call it before the page is loaded) and returns 0; -1 when there is no
 * record, or the backend's hv_status when it refused RIP. Then, after the page is loaded,
 * puts an IN's value into RAX. */
void sidecar_kernel_io_record(struct sidecar_kcpu *k, bool intercept);
int sidecar_kernel_io_complete_rip(struct sidecar_kcpu *k);
void sidecar_kernel_io_complete_rax(struct sidecar_kcpu *k, uint32_t value);

/* Logs a formatted line through the host (nothing when it has no log). */
void sidecar_kernel_log(struct sidecar_kcpu *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Park policy (kernel/core/park.c). What woke the CPU. */
enum sidecar_park_result {
	SIDECAR_PARK_STATUS, /* cpu_status is no longer IDLE: an upstream request */
	SIDECAR_PARK_FAST,   /* the fast line's doorbell rang */
};
enum sidecar_park_result sidecar_kernel_park(struct sidecar_kcpu *k, uint8_t *status_out);

/* Completion signalling (kernel/core/park.c): decide on and send the response IPI. */
void sidecar_kernel_respond(struct sidecar_kcpu *k, bool fast);

#endif /* SIDECAR_KERNEL_KERNEL_H */
