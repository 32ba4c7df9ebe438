/* SPDX-License-Identifier: MIT */
/*
 * The run loop, completing KVM's pending accesses, and the kick (docs/kvm.md, "RIP
 * reconciliation", "Cancel").
 *
 * KVM_RUN loads the caches through kvm_run->s.regs and refreshes them from it; a sync area is
 * loaded only when it differs from what KVM holds. An intercepted access is incomplete until
 * the next KVM_RUN (api.rst, KVM_RUN): plain IN/OUT ride on the next run when the probe allows
 * it, anything else is completed at once with immediate_exit = 1 and a KVM_RUN that returns
 * EINTR.
 *
 * Kick: vp_kick sets kvm_run->immediate_exit and sends a real-time signal, caught by an
 * empty handler, to the vCPU thread (QEMU's scheme; no KVM_SET_SIGNAL_MASK, whose mask swap
 * costs every KVM_RUN). The lost wake-up argument is at kvm_vp_kick().
 */
#include "kvm_internal.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the kick signal: one-time, process-wide installation ---------------------------------- */

/*
 * The only process-wide mutable state of the backend: the kick signal's handler, installed
 * once per process. It does nothing: what matters is that the signal is delivered (KVM_RUN
 * returns EINTR when one is pending, and its arrival forces the guest out). The disposition
 * must not be SIG_DFL (a real-time signal would kill the process) nor SIG_IGN (an ignored
 * signal is discarded at once and could not interrupt KVM_RUN). SA_RESTART: a late kick that
 * lands outside KVM_RUN restarts what the thread was doing. If another part of the process
 * already owns the signal, init fails with -EBUSY rather than stealing it.
 */
static pthread_mutex_t kick_signal_lock = PTHREAD_MUTEX_INITIALIZER;

static void kick_handler(int sig)
{
	(void)sig;
}

int kvm_kick_signal_install(int sig)
{
	struct sigaction old, sa;
	int rc = 0;

	pthread_mutex_lock(&kick_signal_lock);
	if (sigaction(sig, NULL, &old)) {
		rc = -errno;
	} else if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == kick_handler) {
		rc = 0; /* ours, from an earlier backend */
	} else if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) {
		rc = -EBUSY;
	} else {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = kick_handler;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		if (sigaction(sig, &sa, NULL))
			rc = -errno;
	}
	pthread_mutex_unlock(&kick_signal_lock);
	return rc;
}

/*
 * A pending plain IN/OUT. When the VMM did what a VMM does (RIP right after the instruction)
 * and the probe showed that KVM's completion then touches neither RIP nor RAX, the next
 * KVM_RUN completes it for free. Otherwise (the VMM re-executes the instruction or jumps
 * elsewhere, or this KVM's completion would skip or merge) it is completed explicitly first,
 * against KVM's own state, and the VMM's registers are loaded after it; the caches are
 * preserved across.
 */
static int resolve_pending(struct sidecar_backend_vp *vp, struct sidecar_command_error *err)
{
	unsigned int mode = kvm_code_mode(vp);
	uint64_t lin = linear(&vp->sregs, mode, X86_SEG_CS, vp->regs.rip);

	if (vp->pending == PENDING_NONE)
		return 0;
	if (vp->pending_lazy_ok && lin == vp->pending_lin_end)
		return 0;

	struct kvm_regs regs = vp->regs;
	struct kvm_sregs sregs = vp->sregs;
	struct kvm_vcpu_events events = vp->events;
	uint64_t dirty = vp->dirty;
	/* Only what KVM has; the VMM's edits are loaded again below. */
	vp->dirty = 0;
	int rc = kvm_complete_io(vp, NULL, NULL, err);
	vp->regs = regs;
	vp->sregs = sregs;
	vp->events = events;
	vp->dirty = dirty | KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
	return rc;
}

/* ---- vp_run ---------------------------------------------------------------------------------- */

/* What the VMM left in the context, into the VP (a pending access resolved first). */
static int run_prepare(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
		       struct sidecar_command_error *err)
{
	/* The VMM may have changed the tables or CR3 since the last exit. */
	vp->rcache_valid = false;
	int rc = resolve_pending(vp, err);
	if (rc)
		return rc;
	kvm_gprs_from_ctx(&vp->regs, ctx);
	vp->dirty |= KVM_SYNC_X86_REGS;
	if (ctx->gps[SIDECAR_CPU_CONTEXT_CR2] != vp->sregs.cr2) {
		vp->sregs.cr2 = ctx->gps[SIDECAR_CPU_CONTEXT_CR2];
		vp->dirty |= KVM_SYNC_X86_SREGS;
	}
	/* A stale image (fx_stale: the last run left the FPU state in the VP, LAZY_FX) must
	 * not be loaded over the newer state the VP holds. */
	if (!*sidecar_cpu_context_fx_stale(ctx))
		return kvm_load_fpu(vp, ctx, err);
	return 0;
}

/* An exit that ends the run: an intercept, or a run error. */
static int handle_exit(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		       bool *fpu_stored, struct sidecar_command_error *err)
{
	const struct kvm_run *run = vp->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return kvm_handle_io(vp, msg, err);
	case KVM_EXIT_MMIO:
		return kvm_handle_mmio(vp, ctx, msg, fpu_stored, err);
	case KVM_EXIT_HLT:
		return kvm_handle_hlt(vp, msg);
	case KVM_EXIT_SHUTDOWN:
		return kvm_handle_shutdown(vp, msg);
	case KVM_EXIT_INTERNAL_ERROR:
		return kvm_handle_internal_error(vp, msg, err);
	case KVM_EXIT_FAIL_ENTRY:
		kvm_set_err(err, "kvm: VM entry failed: hardware reason %#llx on cpu %u",
			    (unsigned long long)run->fail_entry.hardware_entry_failure_reason, run->fail_entry.cpu);
		return -EIO;
	case KVM_EXIT_SYSTEM_EVENT:
		kvm_set_err(err, "kvm: system event %u", run->system_event.type);
		return -EIO;
	default:
		kvm_set_err(err, "kvm: unexpected exit reason %u at RIP %#llx", run->exit_reason,
			    (unsigned long long)vp->regs.rip);
		return -EIO;
	}
}

/* KVM_RUN until an exit ends the run or the stop condition holds. *entered: KVM_RUN was
 * called (the caches then hold the VP's state, for run_finish). */
static int run_loop(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		    const struct sidecar_run_ctl *ctl, bool *entered, bool *fpu_stored,
		    struct sidecar_command_error *err)
{
	for (;;) {
		if (ctl->should_stop(ctl))
			return SIDECAR_RUN_STOPPED;
		/* Where the guest starts is an instruction boundary: the exit handlers decode
		 * forward from it to tell which instruction ended where KVM left RIP. */
		vp->entry_rip = vp->regs.rip;
		vp->entry_mode = (uint8_t)kvm_code_mode(vp);
		vp->entry_cs_base = vp->sregs.cs.base;
		vp->entry_valid = true;
		int rc = kvm_enter(vp);
		*entered = true;
		if (rc == -EINTR) {
			/* A kick, or a leftover one: clear, re-check the stop (kvm_vp_kick). */
			clear_immediate_exit(vp->run);
			continue;
		}
		if (rc < 0) {
			kvm_set_err(err, "kvm: KVM_RUN: %s", strerror(-rc));
			return rc;
		}
		if (vp->run->exit_reason == KVM_EXIT_INTR || vp->run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN)
			continue;
		return handle_exit(vp, ctx, msg, fpu_stored, err);
	}
}

/* The CPU context gets the VP's registers back, as the upstream kernel saves the real CPU's
 * after the dispatch. */
static int run_finish(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx,
		      const struct sidecar_run_ctl *ctl, bool fpu_stored, int result, struct sidecar_command_error *err)
{
	kvm_gprs_to_ctx(&vp->regs, ctx);
	ctx->gps[SIDECAR_CPU_CONTEXT_CR2] = vp->sregs.cr2;
	if (fpu_stored) {
		*sidecar_cpu_context_fx_stale(ctx) = 0;
	} else if (ctl->lazy_fx) {
		/* Reading the FPU state is a vCPU ioctl (microseconds under nested
		 * virtualization): leave it in the VP until someone asks (kvm_fx_sync). */
		*sidecar_cpu_context_fx_stale(ctx) = 1;
		vp->fx_shadow_valid = false;
	} else {
		int rc = kvm_store_fpu(vp, ctx, err);
		if (rc && result >= 0)
			result = rc;
		if (rc == 0)
			*sidecar_cpu_context_fx_stale(ctx) = 0;
	}
	return result;
}

int kvm_vp_run(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
	       const struct sidecar_run_ctl *ctl, struct sidecar_command_error *err)
{
	bool entered = false, fpu_stored = false;
	int result;

	/*
	 * Announce that KVM_RUN may be entered, then check the stop condition (run_loop, before
	 * every KVM_RUN): with the full fence between, either this thread sees a stop stored
	 * before a kick, or the kicker sees in_run and signals (kvm_vp_kick).
	 */
	atomic_store_explicit(&vp->in_run, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);

	result = run_prepare(vp, ctx, err);
	if (result == 0)
		result = run_loop(vp, ctx, msg, ctl, &entered, &fpu_stored, err);
	if (entered)
		result = run_finish(vp, ctx, ctl, fpu_stored, result, err);
	atomic_store_explicit(&vp->in_run, 0, memory_order_relaxed);
	return result;
}

/*
 * Any thread. The lost wake-up argument, with K the kicker and V the vCPU thread:
 *
 *   K: the caller stored the stop condition;  fence;  load in_run;  if set: immediate_exit = 1,
 *      tgkill(V, kick signal)
 *   V: in_run = 1;  fence;  loop { check stop;  KVM_RUN;  on EINTR: exchange(immediate_exit,
 *      0) (acquire);  loop }
 *
 * Suppose one of V's checks misses the stop; R is the KVM_RUN after it. Dekker on (stop,
 * in_run): K saw in_run = 1, so it stores immediate_exit = 1 and signals V. No clear of V's
 * before that check took K's store away: that exchange would have read K's 1, synchronizing
 * with K's fence, and the check after it would see the stop. So R reads either K's 1, or an
 * older value:
 *  - 1: R returns EINTR without entering the guest; V's exchange then reads K's 1 (or a later
 *    one), so V's next check sees the stop.
 *  - older: K's store, and the signal sent after it, come after R passed that test. If R is
 *    still in the kernel, the signal sets TIF_SIGPENDING, which KVM tests with interrupts off
 *    before every guest entry, and the signal's wake-up of a running task interrupts its CPU,
 *    forcing a VM exit: R returns EINTR. The handler runs on the way out, and delivery
 *    synchronizes with the sending (the kernel's signal lock), so V's next check sees the
 *    stop. If R had already returned with an exit, the run ends with it: the stop asked for
 *    nothing more. The late signal lands in the empty handler wherever V is (SA_RESTART),
 *    and the leftover immediate_exit costs the next run one KVM_RUN that returns at once.
 * No signal mask is swapped around KVM_RUN: the signal is simply unblocked in V. A kick while
 * V is parked, before the VP exists or after it is gone does nothing: in_run is 0 then, and
 * the platform keeps `vp` alive while kicks are in flight (plat_vp_online).
 */
void kvm_vp_kick(struct sidecar_backend_vp *vp)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&vp->in_run, memory_order_relaxed))
		return;
	store_immediate_exit(vp->run, 1);
	syscall(SYS_tgkill, (pid_t)getpid(), vp->tid, vp->k->kick_signal);
}
