/* SPDX-License-Identifier: MIT */
/*
 * libsidecar: the client library a VMM links to drive VPs through a sidecar kernel.
 *
 * One client spans every node of a target (the embedded simulator "sim[:...]" or the real
 * device nodes "device"). A VP accessor is exclusive: one per CPU at a time. The thread
 * that owns an accessor runs it: sidecar_vp_run() starts the VP, sidecar_vp_wait() (or
 * try_wait) collects the stop, sidecar_vp_run_sync() does both. sidecar_vp_cancel() and
 * sidecar_vp_get_stats() may be called from any thread; every other call on one VP must
 * come from one thread at a time.
 *
 * Returns: 0 or a negative errno:
 *   -EINVAL     bad argument, or a CPU the target does not have
 *   -EBUSY      the VP is held elsewhere, or already running
 *   -ENOENT     the CPU was removed from the sidecar kernel
 *   -ETIMEDOUT  the wait's timeout expired (the VP keeps running)
 *   -EAGAIN     try_wait: not finished yet
 *   -ENODEV     no sidecar on this target
 *   -ENOTSUP    the target cannot do that (a wait mode, guest memory)
 *   -ESHUTDOWN  the client was closed meanwhile
 *   -SIDECAR_EKERNEL  the sidecar kernel failed the command: sidecar_vp_error_string()
 *   -SIDECAR_EHV      the hypervisor failed it: sidecar_vp_hv_status()
 * sidecar_strerror() names each of them.
 *
 * NULL: every call taking a client or an accessor accepts NULL for it and returns -EINVAL;
 * calls that return something else return a neutral value (cpu and node counts 0,
 * sidecar_vp_cpu UINT32_MAX, sidecar_vp_get_wait_mode -EINVAL as an int, pointers NULL,
 * the error string "", the hypervisor status HV_STATUS_SUCCESS), sidecar_vp_get_stats writes
 * nothing, and release and close do nothing. Output pointers are -EINVAL when NULL unless
 * the call says "may be NULL"; an error buffer that is NULL gets nothing written.
 *
 * CPU numbers are upstream's: a node's CPUs are its base CPU and the ones after it. The base
 * CPU is Linux's (the sidecar kernel never runs it) and so are CPUs the platform left to
 * Linux: sidecar_vp_acquire refuses a base CPU with -ENOENT on every target, and a CPU left to
 * Linux with -ENOENT where the target can tell (sim), else at its first command.
 *
 * Hot path: sidecar_vp_run, _wait, _try_wait and _run_sync take no lock, allocate nothing
 * and make a system call only to wake or wait for a sleeping party (docs/runtime.md).
 */
#ifndef SIDECAR_CLIENT_H
#define SIDECAR_CLIENT_H

#include <sidecar/defs.h>
#include <sidecar/hvdef.h>
#include <sidecar/message.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIDECAR_EKERNEL 10001 /* -SIDECAR_EKERNEL: see sidecar_vp_error_string() */
#define SIDECAR_EHV 10002     /* -SIDECAR_EHV: see sidecar_vp_hv_status() */

#define SIDECAR_VERSION_MAJOR 0
#define SIDECAR_VERSION_MINOR 1

struct sidecar_client;
struct sidecar_vp;

enum sidecar_wait_mode {
	SIDECAR_WAIT_SEED,     /* upstream-faithful: mutex + waker, a reader task per node */
	SIDECAR_WAIT_FUTEX,    /* sleep at once; the completion IPI wakes exactly the waiter */
	SIDECAR_WAIT_POLL,     /* both sides busy-poll a fixed window, signal only a sleeper */
	SIDECAR_WAIT_ADAPTIVE, /* poll windows that follow the run lengths (the default) */
};

struct sidecar_vp_stats {
	uint64_t runs;               /* sidecar_vp_run calls that started the VP */
	uint64_t intercepts;         /* runs that stopped on an intercept */
	uint64_t cancels;            /* sidecar_vp_cancel calls that asked for a stop */
	uint64_t polled_completions; /* completions found by polling, without sleeping */
	uint64_t sleeps;             /* times the waiter slept */
	uint64_t request_signals;    /* IPIs sent to the sidecar CPU (requests, stops) */
	uint64_t response_signals;   /* completion IPIs the sidecar CPU sent for this VP */
};

/* ---- the client ---------------------------------------------------------------------- */

/* target: "sim[:key=value,...]" (docs/platform.md) or "device"; NULL: $SIDECAR_TARGET, else
 * "sim" (an empty string is not a target: -EINVAL). The simulator is a module libsidecar
 * loads on the first "sim" target: -ENOTSUP when it is not installed. */
int sidecar_client_open(const char *target, struct sidecar_client **out);
/* The same, and on failure a sentence naming the problem in err (e.g. the unknown key). */
int sidecar_client_open_err(const char *target, struct sidecar_client **out, char *err, size_t errlen);
/* Stops every running VP (waiting at most the stop timeout), releases every claim and shuts
 * the target down; never hangs.
 * Threads blocked in a wait on this client's VPs return -ESHUTDOWN. Accessors still held
 * stay valid (every call on them returns -ESHUTDOWN) until sidecar_vp_release(). */
void sidecar_client_close(struct sidecar_client *c);
/* How long sidecar_vp_release and sidecar_client_close wait for a running VP to stop before
 * they give up on it (the VP then keeps its claim: nobody else may post to a CPU that may
 * still write its page). 1 ms .. 1 h; default 10 s. */
int sidecar_client_set_stop_timeout(struct sidecar_client *c, int64_t timeout_ns);
/* One past the highest CPU number of the target (base CPUs and gaps included). */
uint32_t sidecar_client_cpu_count(const struct sidecar_client *c);
/* The CPU that manages `cpu`: the base CPU of its node. */
int sidecar_client_base_cpu(const struct sidecar_client *c, uint32_t cpu);
uint32_t sidecar_client_node_count(const struct sidecar_client *c);
/* Readable while any VP has finished and not been collected (event loops; arms the
 * completion signal of every VP). Owned by the client. */
int sidecar_client_event_fd(struct sidecar_client *c);
/* The guest's RAM, shared with the VP backend (sim only; -ENOTSUP elsewhere). */
int sidecar_client_guest_memory(struct sidecar_client *c, void **base, size_t *size);

/* ---- VPs -------------------------------------------------------------------------------- */

int sidecar_vp_acquire(struct sidecar_client *c, uint32_t cpu, struct sidecar_vp **out);
/* A running VP is cancelled and waited, within the stop timeout: a VP that does not stop by
 * then is abandoned. Its CPU stays claimed (-EBUSY to acquirers): in SEED mode until the
 * late run finishes and is reported (upstream's claim), in the fast modes for the client's
 * life. A late completion is ignored; the accessor is freed either way. */
void sidecar_vp_release(struct sidecar_vp *vp);
uint32_t sidecar_vp_cpu(const struct sidecar_vp *vp);
/* Only while stopped (-EBUSY otherwise). -ENOTSUP for modes the target lacks. */
int sidecar_vp_set_wait_mode(struct sidecar_vp *vp, enum sidecar_wait_mode mode);
enum sidecar_wait_mode sidecar_vp_get_wait_mode(const struct sidecar_vp *vp);
const char *sidecar_wait_mode_name(enum sidecar_wait_mode mode);
/* Caps of the poll windows (ns): the waiter's and the sidecar CPU's. POLL polls them in
 * full; ADAPTIVE grows up to them. 0 keeps the current value. Defaults: 1 ms for POLL,
 * 200 us for ADAPTIVE. */
int sidecar_vp_set_poll_ns(struct sidecar_vp *vp, uint64_t client_ns, uint64_t sidecar_ns);

int sidecar_vp_run(struct sidecar_vp *vp);
/* timeout_ns < 0: forever. *intercept (may be NULL): it stopped on an intercept. */
int sidecar_vp_wait(struct sidecar_vp *vp, int64_t timeout_ns, bool *intercept);
int sidecar_vp_try_wait(struct sidecar_vp *vp, bool *intercept);
/* Asks a running VP to stop; it must still be waited. 0 when nothing runs. */
int sidecar_vp_cancel(struct sidecar_vp *vp);
int sidecar_vp_run_sync(struct sidecar_vp *vp, bool *intercept);

int sidecar_vp_test(struct sidecar_vp *vp);
/* Any count; split into requests of SIDECAR_MAX_GET_SET_VP_REGISTERS. On -SIDECAR_EHV the
 * registers before the failing one were transferred. */
int sidecar_vp_get_registers(struct sidecar_vp *vp, uint8_t target_vtl, struct hv_register_assoc *regs, size_t count);
int sidecar_vp_set_registers(struct sidecar_vp *vp, uint8_t target_vtl, const struct hv_register_assoc *regs,
			     size_t count);
int sidecar_vp_translate_gva(struct sidecar_vp *vp, uint64_t gvn, uint64_t control_flags,
			     struct hv_translate_virtual_address_ex_output_x64 *out);

/* The shared pages; valid to touch only while the VP is stopped. The context's GP registers
 * are current after every run; its FXSAVE image (fx_state) may be left stale by a backend
 * that reads the FPU state only on demand (the kvm backend in the fast modes; the context's
 * fx_stale byte says so): call sidecar_vp_sync_fx() before reading or writing fx_state. */
struct sidecar_cpu_context_x64 *sidecar_vp_cpu_context(struct sidecar_vp *vp);
/* Brings the context's FXSAVE image up to date (a no-op when it is). */
int sidecar_vp_sync_fx(struct sidecar_vp *vp);
const struct hv_message *sidecar_vp_intercept_message(const struct sidecar_vp *vp);
struct hv_x64_register_page *sidecar_vp_register_page(struct sidecar_vp *vp);

/*
 * Port I/O the short way: a plain IN or OUT handled without reading the intercept message or
 * writing the register page. After a run collected with an intercept, sidecar_vp_io_exit()
 * describes it when it is a plain (not string) IN or OUT; -ENOMSG for any other stop (read the
 * message then), -EINVAL for a malformed one. sidecar_vp_complete_io() completes it as KVM
 * completes an I/O exit: when the VP next runs, RIP moves past the instruction and, for an
 * IN, the low `size` bytes of `value` go into AL, AX or EAX (EAX zero-extends into RAX). It
 * returns -ENOMSG as io_exit does and -EALREADY when a completion is already pending; until
 * the next run the registers read as at the stop, and the VMM must not change RIP or RAX for
 * the same stop (the completion overwrites them). set_wait_mode is -EBUSY while one is
 * pending; sidecar_vp_release() leaves it for the next owner's first run (in the register
 * page and the CPU context). In the fast modes, against a kernel that implements it, both use the fast line
 * only (docs/runtime.md); otherwise the message and the register page, with the same result.
 */
struct sidecar_io_exit {
	uint16_t port;
	uint8_t size;   /* 1, 2 or 4 bytes */
	bool write;     /* OUT (else IN) */
	uint32_t value; /* OUT: the value written (the low `size` bytes of RAX); IN: 0 */
};
int sidecar_vp_io_exit(const struct sidecar_vp *vp, struct sidecar_io_exit *out);
int sidecar_vp_complete_io(struct sidecar_vp *vp, uint32_t value);

/* After -SIDECAR_EKERNEL: the kernel's error string (valid until the next call on vp). */
const char *sidecar_vp_error_string(const struct sidecar_vp *vp);
/* After -SIDECAR_EHV: the hypervisor status. */
hv_status sidecar_vp_hv_status(const struct sidecar_vp *vp);
void sidecar_vp_get_stats(const struct sidecar_vp *vp, struct sidecar_vp_stats *out);

const char *sidecar_strerror(int rc);

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_CLIENT_H */
