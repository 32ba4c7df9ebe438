/* SPDX-License-Identifier: MIT */
#include "kvm_util.h"

#include <stdlib.h>

void kvm_require(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		SKIP("/dev/kvm is not usable here: %s", strerror(errno));
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		SKIP("/dev/kvm speaks an unknown API version");
	}
	int vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		int e = errno;
		close(fd);
		SKIP("/dev/kvm cannot create a VM: %s", strerror(e));
	}
	close(vm);
	close(fd);
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void kt_open(struct kvm_test *t, const char *target)
{
	char err[256];
	void *base;
	int rc;

	kvm_require();
	memset(t, 0, sizeof(*t));
	rc = sidecar_client_open_err(target, &t->c, err, sizeof(err));
	if (rc == -ENOENT || rc == -EACCES || rc == -EPERM)
		SKIP("/dev/kvm: %s", err);
	if (rc) {
		fprintf(stderr, "open %s: %s (%s)\n", target, sidecar_strerror(rc), err);
		exit(1);
	}
	REQUIRE(sidecar_client_guest_memory(t->c, &base, &t->mem_size) == 0);
	t->mem = base;
	REQUIRE(sidecar_vp_acquire(t->c, 1, &t->vp) == 0);
}

void kt_close(struct kvm_test *t)
{
	sidecar_vp_release(t->vp);
	sidecar_client_close(t->c);
}

struct hv_register_assoc reg64(uint32_t name, uint64_t v)
{
	struct hv_register_assoc r;
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.value.reg64 = v;
	return r;
}

struct hv_register_assoc regseg(uint32_t name, uint64_t base, uint32_t limit, uint16_t sel, uint16_t attr)
{
	struct hv_register_assoc r;
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.value.segment.base = base;
	r.value.segment.limit = limit;
	r.value.segment.selector = sel;
	r.value.segment.attributes = attr;
	return r;
}

struct hv_register_assoc regtable(uint32_t name, uint64_t base, uint16_t limit)
{
	struct hv_register_assoc r;
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.value.table.base = base;
	r.value.table.limit = limit;
	return r;
}

int set1(struct sidecar_vp *vp, uint32_t name, uint64_t v)
{
	struct hv_register_assoc r = reg64(name, v);
	return sidecar_vp_set_registers(vp, 0, &r, 1);
}

uint64_t get1(struct sidecar_vp *vp, uint32_t name)
{
	struct hv_register_assoc r = reg64(name, 0);
	int rc = sidecar_vp_get_registers(vp, 0, &r, 1);
	if (rc) {
		fprintf(stderr, "get register %#x: %s\n", name, sidecar_strerror(rc));
		check_failures++;
	}
	return r.value.reg64;
}

void kt_real_mode(struct kvm_test *t, uint64_t rip)
{
	struct hv_register_assoc r[] = {
		regseg(HV_X64_REGISTER_CS, 0, 0xffff, 0, 0x9b),
		regseg(HV_X64_REGISTER_DS, 0, 0xffff, 0, 0x93),
		regseg(HV_X64_REGISTER_ES, 0, 0xffff, 0, 0x93),
		regseg(HV_X64_REGISTER_SS, 0, 0xffff, 0, 0x93),
		reg64(HV_X64_REGISTER_RIP, rip),
		reg64(HV_X64_REGISTER_RSP, 0x7000),
		reg64(HV_X64_REGISTER_RFLAGS, 0x2),
	};
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, r, sizeof(r) / sizeof(r[0])) == 0);
}

void kt_long_mode(struct kvm_test *t, uint64_t rip)
{
	uint64_t *pml4 = (uint64_t *)(t->mem + KT_PML4);
	uint64_t *pdpt = (uint64_t *)(t->mem + KT_PDPT);
	uint64_t *pd = (uint64_t *)(t->mem + KT_PD);
	uint64_t *gdt = (uint64_t *)(t->mem + KT_GDT);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = KT_PDPT | 0x7;
	pdpt[0] = KT_PD | 0x7;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x87; /* P RW US PS */
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull; /* 0x08: 64-bit code */
	gdt[2] = 0x00cf93000000ffffull; /* 0x10: data */

	struct hv_register_assoc r[] = {
		regtable(HV_X64_REGISTER_GDTR, KT_GDT, 23),
		reg64(HV_X64_REGISTER_CR3, KT_PML4),
		reg64(HV_X64_REGISTER_CR4, 0x620),               /* PAE OSFXSR OSXMMEXCPT */
		reg64(HV_X64_REGISTER_EFER, 0x500 | (1u << 11)), /* LME LMA NXE */
		reg64(HV_X64_REGISTER_CR0, 0x80010011),          /* PG WP ET PE */
		regseg(HV_X64_REGISTER_CS, 0, 0xffffffff, 0x08, 0xa09b),
		regseg(HV_X64_REGISTER_DS, 0, 0xffffffff, 0x10, 0xc093),
		regseg(HV_X64_REGISTER_ES, 0, 0xffffffff, 0x10, 0xc093),
		regseg(HV_X64_REGISTER_SS, 0, 0xffffffff, 0x10, 0xc093),
		regseg(HV_X64_REGISTER_FS, 0, 0xffffffff, 0x10, 0xc093),
		regseg(HV_X64_REGISTER_GS, 0, 0xffffffff, 0x10, 0xc093),
		regseg(HV_X64_REGISTER_TR, 0, 0xffff, 0, 0x8b),
		reg64(HV_X64_REGISTER_RIP, rip),
		reg64(HV_X64_REGISTER_RSP, KT_STACK),
		reg64(HV_X64_REGISTER_RFLAGS, 0x2),
	};
	int rc = sidecar_vp_set_registers(t->vp, 0, r, sizeof(r) / sizeof(r[0]));
	if (rc) {
		fprintf(stderr, "long mode setup: %s (hv status %#x)\n", sidecar_strerror(rc),
			sidecar_vp_hv_status(t->vp));
		exit(1);
	}
}

const struct hv_x64_io_port_intercept_message *kt_io(struct kvm_test *t)
{
	const struct hv_message *m = sidecar_vp_intercept_message(t->vp);
	return (const struct hv_x64_io_port_intercept_message *)m->payload;
}

const struct hv_x64_memory_intercept_message *kt_mem(struct kvm_test *t)
{
	const struct hv_message *m = sidecar_vp_intercept_message(t->vp);
	return (const struct hv_x64_memory_intercept_message *)m->payload;
}

uint32_t kt_type(struct kvm_test *t)
{
	return sidecar_vp_intercept_message(t->vp)->header.type;
}

unsigned int kt_len(const struct hv_x64_intercept_message_header *h)
{
	return h->instruction_length_and_cr8 & 0xf;
}

void kt_run(struct kvm_test *t)
{
	bool intercept = false;
	int rc = sidecar_vp_run_sync(t->vp, &intercept);
	if (rc) {
		fprintf(stderr, "run: %s: %s\n", sidecar_strerror(rc), sidecar_vp_error_string(t->vp));
		exit(1);
	}
	REQUIRE(intercept);
}

void kt_skip(struct kvm_test *t, const struct hv_x64_intercept_message_header *h)
{
	REQUIRE(set1(t->vp, HV_X64_REGISTER_RIP, h->rip + kt_len(h)) == 0);
}
