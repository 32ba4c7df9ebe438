/* SPDX-License-Identifier: MIT */
/*
 * One KVM_RUN with the register caches loaded first and refreshed after (kvm_enter), and
 * completing an intercepted access without running the guest (kvm_complete_io): what the
 * run loop (run.c) and the exit handlers (io.c, mmio.c) both build on.
 */
#include "kvm_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

/* ---- one KVM_RUN ---------------------------------------------------------------------------- */

/* The dirty caches into KVM: through kvm_run->s.regs and kvm_dirty_regs, or ioctls where
 * sync registers are missing. */
static int load_state(struct sidecar_backend_vp *vp)
{
	struct kvm_run *run = vp->run;
	int rc = 0;

	if (!vp->k->sync_regs) {
		if (vp->dirty & KVM_SYNC_X86_REGS)
			rc = xioctl(vp->fd, KVM_SET_REGS, &vp->regs);
		if (!rc && (vp->dirty & KVM_SYNC_X86_SREGS))
			rc = xioctl(vp->fd, KVM_SET_SREGS, &vp->sregs);
		if (!rc && (vp->dirty & KVM_SYNC_X86_EVENTS))
			rc = xioctl(vp->fd, KVM_SET_VCPU_EVENTS, &vp->events);
		return rc;
	}
	/* Loading REGS costs KVM a __set_regs per entry; a VMM that moves RIP to where KVM
	 * already has it (past a port I/O instruction) changes nothing. */
	if ((vp->dirty & KVM_SYNC_X86_REGS) && vp->sync_regs_current &&
	    !memcmp(&run->s.regs.regs, &vp->regs, sizeof(vp->regs)))
		vp->dirty &= ~(uint64_t)KVM_SYNC_X86_REGS;
	if (vp->dirty & KVM_SYNC_X86_REGS) {
		run->s.regs.regs = vp->regs;
		vp->sync_regs_current = false;
	}
	if (vp->dirty & KVM_SYNC_X86_SREGS)
		run->s.regs.sregs = vp->sregs;
	if (vp->dirty & KVM_SYNC_X86_EVENTS)
		run->s.regs.events = vp->events;
	run->kvm_dirty_regs = vp->dirty;
	return 0;
}

/*
 * One KVM_RUN with the caches loaded first and refreshed after. Returns 0, -EINTR (an
 * immediate exit or a signal: the caller re-checks its stop condition) or another -errno.
 */
int kvm_enter(struct sidecar_backend_vp *vp)
{
	struct kvm_run *run = vp->run;
	int rc = load_state(vp);

	if (rc)
		return rc;
	/* Without an in-kernel LAPIC, KVM loads CR8 from kvm_run->cr8 at every entry. */
	run->cr8 = vp->sregs.cr8;

	rc = ioctl(vp->fd, KVM_RUN, NULL);
	int e = rc < 0 ? errno : 0;
	if (rc < 0 && e != EINTR) {
		/* KVM refused the entry (e.g. -EINVAL for registers it rejects): nothing was
		 * loaded, the caches still hold what the VMM asked for. */
		run->kvm_dirty_regs = 0;
		return -e;
	}
	/* Loaded (EINTR comes after KVM applied the sync registers and completed pending
	 * I/O, api.rst): refresh the caches from what KVM stored on the way out. */
	vp->dirty = 0;
	run->kvm_dirty_regs = 0;
	/* KVM_RUN finished any I/O it had pending before doing anything else. */
	vp->pending = PENDING_NONE;
	vp->tcache_valid = false;
	vp->rcache_valid = false;
	int prc = kvm_pull_state(vp, true);
	if (prc)
		return prc;
	vp->sregs.cr8 = run->cr8;
	return rc < 0 ? -EINTR : 0;
}

/*
 * Completes KVM's pending I/O or MMIO without running the guest: immediate_exit = 1, and
 * KVM_RUN returns EINTR after finishing the operation (api.rst). An operation that needs
 * more round trips (an MMIO access split in fragments, the write half of a read-modify-write)
 * comes back as another MMIO/IO exit, and is fed until KVM says EINTR. The caches are
 * refreshed from the result; the kick signal, if any, stays pending. `pieces`, if given,
 * receives the MMIO write exits seen, the current one first.
 */
int kvm_complete_io(struct sidecar_backend_vp *vp, const struct completion_fill *fill, struct mmio_pieces *pieces,
		    struct sidecar_command_error *err)
{
	struct kvm_run *run = vp->run;
	int rc = -EIO;

	if (pieces)
		pieces->n = 0;
	for (int i = 0; i < MMIO_PIECES; i++) {
		/* After the last piece of a write KVM resumes nothing (no emulation, and no guest
		 * entry with immediate_exit set): every write exit here is the instruction's. */
		if (pieces && run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write) {
			pieces->p[pieces->n].gpa = run->mmio.phys_addr;
			pieces->p[pieces->n].len = run->mmio.len;
			memcpy(pieces->p[pieces->n].data, run->mmio.data, sizeof(pieces->p[0].data));
			pieces->n++;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write) {
			if (fill && fill->have)
				memcpy(run->mmio.data, fill->data, sizeof(run->mmio.data));
			else
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
		}
		store_immediate_exit(run, 1);
		rc = kvm_enter(vp);
		clear_immediate_exit(run);
		if (rc == -EINTR) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			kvm_set_err(err, "kvm: completing an intercepted access: %s", strerror(-rc));
			return rc;
		}
		if (run->exit_reason != KVM_EXIT_MMIO && run->exit_reason != KVM_EXIT_IO) {
			kvm_set_err(err, "kvm: unexpected exit %u while completing an intercepted access",
				    run->exit_reason);
			return -EIO;
		}
		rc = -EIO;
	}
	if (rc) {
		kvm_set_err(err, "kvm: an intercepted access does not complete");
		return rc;
	}
	return 0;
}
