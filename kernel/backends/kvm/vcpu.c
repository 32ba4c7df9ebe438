/* SPDX-License-Identifier: MIT */
/*
 * A VP's vCPU: created on the sidecar CPU's own thread with the VP index as vCPU id, given
 * the architectural reset state the synthetic backend also creates, destroyed with the VP
 * (docs/kvm.md, "Setup").
 */
#include "kvm_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The architectural reset values the synthetic backend also uses. */
#define RESET_APIC_BASE 0xfee00000ull
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_ENABLE (1ull << 11)

static int set_vcpu_cpuid(struct sidecar_backend_vp *vp)
{
	const struct kvm_cpuid2 *src = vp->k->cpuid;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int rc;

	if (!c)
		return -ENOMEM;
	memcpy(c, src, size);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		/* The initial APIC ID is the VP index, as Hyper-V numbers them. */
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (vp->vp_index << 24);
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = vp->vp_index;
	}
	rc = xioctl(vp->fd, KVM_SET_CPUID2, c);
	free(c);
	return rc;
}

static void kseg(struct kvm_segment *s, uint16_t sel, uint64_t base, uint8_t type, bool system)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = !system;
}

/* The architectural reset state, as the synthetic backend creates a VP. */
static int reset_vcpu(struct sidecar_backend_vp *vp)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	int rc;

	rc = xioctl(vp->fd, KVM_GET_SREGS, &s);
	if (rc)
		return rc;
	kseg(&s.es, 0, 0, 0x3, false);
	kseg(&s.cs, 0xf000, 0xffff0000ull, 0xb, false);
	kseg(&s.ss, 0, 0, 0x3, false);
	kseg(&s.ds, 0, 0, 0x3, false);
	kseg(&s.fs, 0, 0, 0x3, false);
	kseg(&s.gs, 0, 0, 0x3, false);
	kseg(&s.ldt, 0, 0, 0x2, true);
	kseg(&s.tr, 0, 0, 0xb, true);
	s.idt.base = 0;
	s.idt.limit = 0xffff;
	s.gdt.base = 0;
	s.gdt.limit = 0xffff;
	s.cr0 = 0x60000010;
	s.cr2 = 0;
	s.cr3 = 0;
	s.cr4 = 0;
	s.cr8 = 0;
	s.efer = 0;
	s.apic_base = RESET_APIC_BASE | APIC_BASE_ENABLE | (vp->vp_index == 0 ? APIC_BASE_BSP : 0);
	rc = xioctl(vp->fd, KVM_SET_SREGS, &s);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.rip = 0xfff0;
	r.rflags = 0x2;
	return xioctl(vp->fd, KVM_SET_REGS, &r);
}

void kvm_vp_destroy(struct sidecar_backend_vp *vp)
{
	if (!vp)
		return;
	if (vp->run && vp->run != MAP_FAILED)
		munmap(vp->run, (size_t)vp->k->run_size);
	if (vp->fd >= 0)
		close(vp->fd);
	if (vp->block_on_destroy) {
		/* Kicks in flight are over (the platform waits for them before destroying the
		 * VP); one still pending is taken by the handler. */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, vp->k->kick_signal);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	free(vp->xsave);
	free(vp);
}

/* The vCPU's fd and its kvm_run. */
static int open_vcpu(struct sidecar_backend_vp *vp)
{
	struct kvm_be *k = vp->k;

	vp->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)vp->vp_index);
	if (vp->fd < 0)
		return -errno;
	vp->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vp->fd, 0);
	if (vp->run == MAP_FAILED)
		return -errno;
	return 0;
}

int kvm_vp_create(struct sidecar_backend *be, uint32_t vp_index, struct sidecar_backend_vp **out)
{
	struct kvm_be *k = be->impl;
	struct sidecar_backend_vp *vp;
	sigset_t block, old;
	int rc;

	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->be = be;
	vp->k = k;
	vp->vp_index = vp_index;
	vp->run = MAP_FAILED;
	vp->fd = -1;
	vp->tid = (pid_t)syscall(SYS_gettid);

	if (k->fpu_xsave) {
		vp->xsave = calloc(1, k->xsave_size);
		if (!vp->xsave) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	rc = open_vcpu(vp);
	if (rc)
		goto fail;

	/* The kick signal must reach this thread: unblocked, caught by the empty handler. */
	sigemptyset(&block);
	sigaddset(&block, k->kick_signal);
	rc = -pthread_sigmask(SIG_UNBLOCK, &block, &old);
	if (rc)
		goto fail;
	vp->block_on_destroy = sigismember(&old, k->kick_signal);

	rc = set_vcpu_cpuid(vp);
	if (rc)
		goto fail;
	rc = reset_vcpu(vp);
	if (rc)
		goto fail;
	if (k->sync_regs)
		vp->run->kvm_valid_regs = SYNC_ALL;
	rc = kvm_pull_state(vp, false);
	if (rc)
		goto fail;
	if (k->has_debugregs) {
		struct kvm_debugregs d;
		if (xioctl(vp->fd, KVM_GET_DEBUGREGS, &d) == 0)
			vp->dr7 = d.dr7;
	}
	*out = vp;
	return 0;

fail:
	kvm_vp_destroy(vp);
	return rc;
}
