/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's setup: what this KVM can do and how it behaves (the probes), the VM with
 * the guest's RAM, and the ops table (docs/kvm.md, "Setup").
 */
#include "kvm_internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Where KVM's private real-mode pages go on Intel (identity map, then 3 TSS pages). */
#define SPECIAL_PAGES_GPA 0xfeffc000ull

/* The kick signal: one real-time signal, SIGRTMIN + this offset (docs/kvm.md). */
#define KICK_SIGNAL_OFFSET 6

static int check_ext(int fd, long cap)
{
	int rc = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return rc < 0 ? 0 : rc;
}

static int get_supported_cpuid(struct kvm_be *k)
{
	for (uint32_t n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		int rc = xioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (rc == 0) {
			k->cpuid = c;
			return 0;
		}
		free(c);
		if (rc != -E2BIG)
			return rc;
	}
	return -E2BIG;
}

static const struct kvm_cpuid_entry2 *find_cpuid(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/* Disables KVM's "OUT 0x7e increments RIP" quirk, so that port behaves like any other. */
static bool disable_out_7e_quirk(int vm_fd, int kvm_fd)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_DISABLE_QUIRKS2, .args = {KVM_X86_QUIRK_OUT_7E_INC_RIP}};

	if (check_ext(kvm_fd, KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_OUT_7E_INC_RIP)
		return xioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	if (check_ext(kvm_fd, KVM_CAP_DISABLE_QUIRKS)) {
		cap.cap = KVM_CAP_DISABLE_QUIRKS;
		return xioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	return false;
}

/*
 * Whether KVM_GET/SET_XSAVE really carry the legacy FXSAVE area here (a marker in XMM0 must
 * come back through both KVM_GET_XSAVE and KVM_GET_FPU). Some KVMs without hardware
 * virtualization do not; KVM_GET/SET_FPU are then used, without MXCSR.
 */
static void probe_xsave(struct kvm_be *k, int vcpu)
{
	struct kvm_xsave *x;
	struct kvm_fpu f;
	unsigned long get = k->xsave_size > sizeof(*x) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	bool ok = false;

	if (!k->fpu_xsave)
		return;
	x = calloc(1, k->xsave_size);
	if (!x) {
		k->fpu_xsave = false;
		return;
	}
	if (xioctl(vcpu, get, x) == 0) {
		uint8_t *legacy = (uint8_t *)x->region;
		uint64_t bv;
		legacy[offsetof(struct x86_fxsave, xmm)] = 0xa5;
		memcpy(&bv, legacy + XSAVE_HDR_OFFSET, sizeof(bv));
		bv |= XFEATURE_MASK_FPSSE;
		memcpy(legacy + XSAVE_HDR_OFFSET, &bv, sizeof(bv));
		if (xioctl(vcpu, KVM_SET_XSAVE, x) == 0) {
			memset(x, 0, k->xsave_size);
			ok = xioctl(vcpu, get, x) == 0 && legacy[offsetof(struct x86_fxsave, xmm)] == 0xa5 &&
			     xioctl(vcpu, KVM_GET_FPU, &f) == 0 && f.xmm[0][0] == 0xa5;
		}
	}
	free(x);
	k->fpu_xsave = ok;
}

/* The port I/O probe's two steps, on the probe's vCPU (probe_pio): an exit, then what a VMM
 * does next. False if anything failed (the answers stay the cautious ones). */
static bool probe_pio_step(struct kvm_be *k, int vcpu, struct kvm_run *run, bool in)
{
	const uint64_t marker = 0x5a5a5a5a;
	uint64_t end = in ? 4 : 2;
	struct kvm_regs r;

	if (xioctl(vcpu, KVM_RUN, NULL) || run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != (in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT) || xioctl(vcpu, KVM_GET_REGS, &r))
		return false;
	if (in)
		k->pio_in_advances = r.rip == end;
	else
		k->pio_out_advances = r.rip == end;
	/* What a VMM does next: complete the instruction itself, move RIP past it. */
	memset((uint8_t *)run + run->io.data_offset, 0xa5, run->io.size);
	r.rip = end;
	r.rax = marker;
	if (xioctl(vcpu, KVM_SET_REGS, &r))
		return false;
	run->immediate_exit = 1;
	int rc = xioctl(vcpu, KVM_RUN, NULL);
	run->immediate_exit = 0;
	if (rc != -EINTR || xioctl(vcpu, KVM_GET_REGS, &r))
		return false;
	if (in)
		k->pio_in_lazy = r.rip == end && r.rax == marker;
	else
		k->pio_out_lazy = r.rip == end && r.rax == marker;
	return true;
}

/*
 * Learns how this KVM treats port I/O, which differs between kernel versions and vendors
 * (and guessing wrong would make the VMM skip or repeat an instruction): whether an exit
 * comes back with RIP on or past the instruction, and whether completing it (the next
 * KVM_RUN) leaves RIP and RAX alone once userspace has moved RIP past the instruction. A
 * throw-away VM runs `out 0x80, al; in al, 0x80; hlt` in real mode. On any failure the
 * cautious answers are kept: RIP stays on the instruction, and completions are explicit.
 */
static void probe_pio(struct kvm_be *k)
{
	static const uint8_t code[] = {0xe6, 0x80, 0xe4, 0x80, 0xf4};
	int vm = -1, vcpu = -1;
	struct kvm_run *run = MAP_FAILED;
	uint8_t *mem = MAP_FAILED;
	struct kvm_sregs s;
	struct kvm_regs r;

	k->pio_out_advances = false;
	k->pio_in_advances = false;
	k->pio_out_lazy = false;
	k->pio_in_lazy = false;
	vm = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		goto out;
	ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)(SPECIAL_PAGES_GPA + PAGE_SIZE_4K));
	mem = mmap(NULL, PAGE_SIZE_4K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		goto out;
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = PAGE_SIZE_4K, .userspace_addr = (uintptr_t)mem};
	if (xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		goto out;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		goto out;
	run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || xioctl(vcpu, KVM_GET_SREGS, &s))
		goto out;
	s.cs.base = 0;
	s.cs.selector = 0;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	if (xioctl(vcpu, KVM_SET_SREGS, &s) || xioctl(vcpu, KVM_SET_REGS, &r))
		goto out;

	probe_xsave(k, vcpu);
	if (probe_pio_step(k, vcpu, run, false))
		probe_pio_step(k, vcpu, run, true);
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)k->run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (mem != MAP_FAILED)
		munmap(mem, PAGE_SIZE_4K);
}

static void kvm_fini(struct sidecar_backend *be)
{
	struct kvm_be *k = be->impl;

	if (!k)
		return;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k->cpuid);
	free(k);
	be->impl = NULL;
}

/* /dev/kvm, its API version and the capabilities: what this backend cannot do without, and
 * what it uses where present. */
static int open_kvm(struct kvm_be *k)
{
	int rc;

	k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm_fd < 0)
		return -errno;
	rc = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
	if (rc != KVM_API_VERSION)
		return rc < 0 ? -errno : -EPROTONOSUPPORT; /* not KVM at all, or another API */
	if (!check_ext(k->kvm_fd, KVM_CAP_USER_MEMORY) || !check_ext(k->kvm_fd, KVM_CAP_IMMEDIATE_EXIT) ||
	    !check_ext(k->kvm_fd, KVM_CAP_EXT_CPUID))
		return -ENOTSUP;
	k->sync_regs = (check_ext(k->kvm_fd, KVM_CAP_SYNC_REGS) & SYNC_ALL) == SYNC_ALL;
	k->has_xcrs = check_ext(k->kvm_fd, KVM_CAP_XCRS);
	k->has_debugregs = check_ext(k->kvm_fd, KVM_CAP_DEBUGREGS);
	k->has_vcpu_events = check_ext(k->kvm_fd, KVM_CAP_VCPU_EVENTS);
	k->fpu_xsave = check_ext(k->kvm_fd, KVM_CAP_XSAVE);
	k->xsave_size = sizeof(struct kvm_xsave);
	if ((size_t)check_ext(k->kvm_fd, KVM_CAP_XSAVE2) > k->xsave_size)
		k->xsave_size = (size_t)check_ext(k->kvm_fd, KVM_CAP_XSAVE2);
	k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size < (int)sizeof(struct kvm_run))
		return k->run_size < 0 ? -errno : -EINVAL;
	return 0;
}

/* The VM, with the guest's RAM at GPA 0. */
static int create_vm(struct kvm_be *k, const struct sidecar_backend_config *cfg)
{
	int rc;

	k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		return -errno;
	k->out_7e_advances = !disable_out_7e_quirk(k->vm_fd, k->kvm_fd);
	if (cfg->mem_size) {
		struct kvm_userspace_memory_region region = {
			.slot = 0,
			.guest_phys_addr = 0,
			.memory_size = cfg->mem_size,
			.userspace_addr = (uintptr_t)cfg->mem,
		};
		rc = xioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
		if (rc)
			return rc;
	}
	/* Intel without unrestricted guest runs real mode through a TSS and an identity page
	 * table of its own (3 + 1 pages of GPA space, which that guest could then reach): put
	 * them above RAM, at the top of the 32-bit space under the firmware area, as QEMU does.
	 * With more RAM than that they are not set (such a host cannot run real mode anyway).
	 * Elsewhere (AMD) these calls are accepted and ignored. */
	if (cfg->mem_size <= SPECIAL_PAGES_GPA) {
		if (check_ext(k->kvm_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
			uint64_t ident = SPECIAL_PAGES_GPA;
			rc = xioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
			if (rc)
				return rc;
		}
		if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)(SPECIAL_PAGES_GPA + PAGE_SIZE_4K)) < 0)
			return -errno;
	}
	return 0;
}

static int kvm_init(struct sidecar_backend *be)
{
	struct kvm_be *k;
	int rc;

	if (be->cfg.mem_size % PAGE_SIZE_4K || ((uintptr_t)be->cfg.mem % PAGE_SIZE_4K) ||
	    (be->cfg.mem_size && !be->cfg.mem))
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->kvm_fd = -1;
	k->vm_fd = -1;
	be->impl = k;

	rc = open_kvm(k);
	if (rc)
		goto fail;
	k->kick_signal = SIGRTMIN + KICK_SIGNAL_OFFSET;
	rc = kvm_kick_signal_install(k->kick_signal);
	if (rc)
		goto fail;
	rc = get_supported_cpuid(k);
	if (rc)
		goto fail;
	const struct kvm_cpuid_entry2 *e = find_cpuid(k->cpuid, 0x80000008, 0);
	k->maxphyaddr = e ? (uint8_t)(e->eax & 0xff) : 36;
	{
		/* MXCSR_MASK is the processor's: what an FXSAVE would store. */
		struct x86_fxsave fx __attribute__((aligned(16)));
		memset(&fx, 0, sizeof(fx));
		__asm__ volatile("fxsave64 %0" : "=m"(fx));
		k->mxcsr_mask = fx.mxcsr_mask ? fx.mxcsr_mask : 0xffbf;
	}
	rc = create_vm(k, &be->cfg);
	if (rc)
		goto fail;
	probe_pio(k);
	return 0;

fail:
	kvm_fini(be);
	return rc;
}

const struct sidecar_backend_ops sidecar_backend_kvm_ops = {
	.name = "kvm",
	.init = kvm_init,
	.fini = kvm_fini,
	.vp_create = kvm_vp_create,
	.vp_destroy = kvm_vp_destroy,
	.vp_run = kvm_vp_run,
	.vp_kick = kvm_vp_kick,
	.get_register = kvm_get_register,
	.set_register = kvm_set_register,
	.translate_gva = kvm_translate_gva,
	.register_page_store = kvm_register_page_store,
	.fx_sync = kvm_fx_sync,
	.register_page_load = kvm_register_page_load,
};
