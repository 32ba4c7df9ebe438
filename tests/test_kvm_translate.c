/* SPDX-License-Identifier: MIT */
/*
 * KVM backend: TRANSLATE_GVA (KVM_TRANSLATE) against the software walker (kernel/core/gva_walk.h),
 * differentially, over random 4-level page tables in guest memory: 4 KiB, 2 MiB and 1 GiB
 * pages, random present / writable / user / NX bits, no reserved bits, leaves inside and
 * beyond RAM, EFER.NXE and CR0.WP set. The walker is called directly with the same CR0, CR3,
 * CR4, EFER, RFLAGS and CPL; the backend through sidecar_vp_translate_gva on a
 * sim:backend=kvm client. Options: --count N (random requests, 12000 by default), --seed X.
 *
 * What KVM_TRANSLATE can express (docs/kvm.md): it walks for a supervisor data read and
 * answers "valid" and a GPA only (x86 KVM reports writeable = 1 and usermode = 0 whatever the
 * tables say). The "expressible" cases are therefore: canonical GVAs, tables in RAM without
 * reserved bits, CR4.SMEP/SMAP/PKE clear, a supervisor request (CPL 0, or SUPERVISOR_ACCESS,
 * never USER_ACCESS) that validates nothing or only READ, without SET_PAGE_TABLE_BITS; their
 * answers (SUCCESS + GPA, PAGE_NOT_PRESENT, GPA_UNMAPPED) come from KVM alone and must equal
 * the walker's. Every other request (write, execute, user, privilege-exempt, SMEP/SMAP, set
 * bits) is answered by KVM for the walk and by the walker for the permissions KVM cannot
 * report; those must agree as well, and are counted apart.
 */
#include "kvm_util.h"

#include <cpuid.h>
#include <gva_walk.h>

#define TABLES_BASE 0x100000ull /* page tables live in [1 MiB, 8 MiB) */
#define TABLES_END 0x800000ull
#define LEAF_SPAN (256ull << 20) /* leaves point anywhere below 256 MiB: RAM is 64 MiB */

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)

static unsigned long count = 12000;
static uint64_t seed = 0x5eed1234abcdull;
static uint64_t rng_state;
/* 1 GiB pages exist only where the guest's CPUID has them (else PS in a PDPTE is a reserved
 * bit, which this test does not generate). */
static bool gbpages;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

struct builder {
	uint8_t *mem;
	uint64_t next; /* next free table page */
};

static uint64_t new_table(struct builder *b)
{
	REQUIRE(b->next < TABLES_END);
	uint64_t gpa = b->next;
	b->next += 4096;
	memset(b->mem + gpa, 0, 4096);
	return gpa;
}

/* Random rights: mostly present (so that walks go deep), the rest at random. */
static uint64_t rights(void)
{
	uint64_t e = 0;
	if (rnd_below(8) != 0)
		e |= PTE_P;
	if (rnd_below(4) != 0)
		e |= PTE_RW;
	if (rnd_below(4) != 0)
		e |= PTE_US;
	if (rnd_below(4) == 0)
		e |= PTE_NX;
	if (rnd_below(2))
		e |= 1ull << 5; /* accessed */
	return e;
}

static void fill_table(struct builder *b, uint64_t table, unsigned int level, unsigned int entries)
{
	uint64_t *t = (uint64_t *)(b->mem + table);

	for (unsigned int n = 0; n < entries; n++) {
		unsigned int i = (unsigned int)rnd_below(512);
		uint64_t e = rights();
		unsigned int kind = (unsigned int)rnd_below(10);

		if (level == 1 || (level == 2 && kind < 4) || (level == 3 && kind < 4 && gbpages)) {
			/* A leaf: 4 KiB at level 1, 2 MiB at level 2, 1 GiB at level 3. */
			uint64_t size = 1ull << (12 + 9 * (level - 1));
			uint64_t frame = rnd_below(LEAF_SPAN > size ? LEAF_SPAN / size : 1) * size;
			if (level > 1) {
				e |= PTE_PS;
				if (rnd_below(4) == 0)
					e |= 1ull << 12; /* PAT: not a reserved bit */
			}
			t[i] = e | frame;
		} else if (b->next + 4096 <= TABLES_END) {
			uint64_t sub = new_table(b);
			fill_table(b, sub, level - 1, level == 4 ? 24 : level == 3 ? 16 : 24);
			t[i] = e | sub;
		}
	}
}

/* A canonical GVA that often lands on a populated path of the tables. */
static uint64_t pick_gva(const uint8_t *mem, uint64_t cr3)
{
	uint64_t gva = 0, table = cr3;

	for (int level = 4; level >= 1; level--) {
		const uint64_t *t = (const uint64_t *)(mem + table);
		unsigned int idx = (unsigned int)rnd_below(512);
		/* Prefer an entry that is there. */
		for (int tries = 0; tries < 64 && !t[idx]; tries++)
			idx = (unsigned int)rnd_below(512);
		gva |= (uint64_t)idx << (12 + 9 * (level - 1));
		uint64_t e = t[idx];
		if (!(e & PTE_P) || (level > 1 && (e & PTE_PS)) || level == 1)
			break;
		table = e & 0x000ffffffffff000ull;
		if (table < TABLES_BASE || table >= TABLES_END)
			break;
	}
	gva |= rnd_below(4096) & ~0xfffull;
	if (gva & (1ull << 47))
		gva |= 0xffff000000000000ull; /* canonical */
	return gva;
}

static const uint64_t access_kinds[] = {
	0,
	HV_TRANSLATE_GVA_VALIDATE_READ,
	HV_TRANSLATE_GVA_VALIDATE_WRITE,
	HV_TRANSLATE_GVA_VALIDATE_EXECUTE,
	HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_VALIDATE_WRITE,
	HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_VALIDATE_EXECUTE,
	HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_VALIDATE_WRITE | HV_TRANSLATE_GVA_VALIDATE_EXECUTE,
};

static const uint64_t modes_flags[] = {
	0,
	HV_TRANSLATE_GVA_SUPERVISOR_ACCESS,
	HV_TRANSLATE_GVA_USER_ACCESS,
	HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT,
	HV_TRANSLATE_GVA_USER_ACCESS | HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT,
};

struct regs_now {
	uint64_t cr0, cr3, cr4, efer, rflags;
	uint8_t cpl;
};

static bool expressible(const struct regs_now *r, uint64_t flags)
{
	if (r->cr4 & ((1ull << 20) | (1ull << 21) | (1ull << 22)))
		return false; /* SMEP, SMAP, PKE */
	if (flags &
	    (HV_TRANSLATE_GVA_VALIDATE_WRITE | HV_TRANSLATE_GVA_VALIDATE_EXECUTE |
	     HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS | HV_TRANSLATE_GVA_USER_ACCESS | HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT))
		return false;
	return r->cpl < 3 || (flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS);
}

static unsigned long long n_expressible, n_other, n_success, n_not_present, n_violation, n_unmapped, mismatches;

static void compare(struct kvm_test *t, const struct regs_now *r, uint8_t maxphyaddr, uint64_t gva, uint64_t flags)
{
	struct sidecar_guest_memory mem = {.base = t->mem, .size = t->mem_size};
	struct sidecar_gva_walk_regs wr = {
		.cr0 = r->cr0,
		.cr3 = r->cr3,
		.cr4 = r->cr4,
		.efer = r->efer,
		.rflags = r->rflags,
		.cpl = r->cpl,
		.maxphyaddr = maxphyaddr,
	};
	struct hv_translate_virtual_address_ex_output_x64 want, got;
	uint64_t gvn = gva >> 12;

	REQUIRE(sidecar_gva_translate(&mem, &wr, gvn, flags, &want) == HV_STATUS_SUCCESS);
	int rc = sidecar_vp_translate_gva(t->vp, gvn, flags, &got);
	if (rc) {
		fprintf(stderr, "translate %#llx flags %#llx: %s (status %#x)\n", (unsigned long long)gva,
			(unsigned long long)flags, sidecar_strerror(rc), sidecar_vp_hv_status(t->vp));
		check_failures++;
		return;
	}
	bool ex = expressible(r, flags);
	if (ex)
		n_expressible++;
	else
		n_other++;
	switch (HV_TRANSLATE_GVA_RESULT_CODE(want.translation_result.result)) {
	case HV_TRANSLATE_GVA_SUCCESS:
		n_success++;
		break;
	case HV_TRANSLATE_GVA_PAGE_NOT_PRESENT:
		n_not_present++;
		break;
	case HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION:
		n_violation++;
		break;
	case HV_TRANSLATE_GVA_GPA_UNMAPPED:
		n_unmapped++;
		break;
	}
	if (want.translation_result.result != got.translation_result.result || want.gpa_page != got.gpa_page) {
		if (mismatches++ < 20)
			fprintf(stderr,
				"%s gva %#018llx flags %#llx cpl %u cr4 %#llx rflags %#llx: walker %u gpa %#llx, kvm "
				"%u gpa %#llx\n",
				ex ? "EXPRESSIBLE" : "composite", (unsigned long long)gva, (unsigned long long)flags,
				r->cpl, (unsigned long long)r->cr4, (unsigned long long)r->rflags,
				HV_TRANSLATE_GVA_RESULT_CODE(want.translation_result.result),
				(unsigned long long)want.gpa_page << 12,
				HV_TRANSLATE_GVA_RESULT_CODE(got.translation_result.result),
				(unsigned long long)got.gpa_page << 12);
		check_failures++;
	}
}

/* Long mode with our tables (entered once, as a VMM would, one register at a time); then
 * CR4, the CPL (SS.DPL) and RFLAGS per phase. */
static bool in_long_mode;

static void set_mode(struct kvm_test *t, uint64_t cr3, uint64_t cr4, uint8_t cpl, uint64_t rflags)
{
	uint16_t dpl = (uint16_t)(cpl << 5);
	struct hv_register_assoc enter[] = {
		reg64(HV_X64_REGISTER_CR3, cr3),
		reg64(HV_X64_REGISTER_CR4, 0x20),
		reg64(HV_X64_REGISTER_EFER, 0x100 | 0x800), /* LME NXE (LMA follows CR0.PG) */
		reg64(HV_X64_REGISTER_CR0, 0x80010031),     /* PG WP NE ET PE */
		regseg(HV_X64_REGISTER_TR, 0, 0xffff, 0x18, 0x8b),
	};
	struct hv_register_assoc r[] = {
		reg64(HV_X64_REGISTER_CR4, cr4),
		regseg(HV_X64_REGISTER_CS, 0, 0xffffffff, (uint16_t)(0x08 | cpl), (uint16_t)(0xa09b | dpl)),
		regseg(HV_X64_REGISTER_SS, 0, 0xffffffff, (uint16_t)(0x10 | cpl), (uint16_t)(0xc093 | dpl)),
		reg64(HV_X64_REGISTER_RFLAGS, rflags),
	};
	int rc = 0;
	if (!in_long_mode)
		rc = sidecar_vp_set_registers(t->vp, 0, enter, sizeof(enter) / sizeof(enter[0]));
	in_long_mode = true;
	if (!rc)
		rc = sidecar_vp_set_registers(t->vp, 0, r, sizeof(r) / sizeof(r[0]));
	if (rc) {
		fprintf(stderr, "mode setup: %s (status %#x)\n", sidecar_strerror(rc), sidecar_vp_hv_status(t->vp));
		exit(1);
	}
}

/* Each case's client and VP (64 MiB of RAM). */
static struct kvm_test kt;

static void setup(void)
{
	kt_open(&kt, "sim:backend=kvm,cpus=1,mem=64M");
	in_long_mode = false;
}

static void teardown(void)
{
	kt_close(&kt);
}

/* Random requests over random tables, in four phases. */
static void test_random(void)
{
	struct kvm_test *t = &kt;
	unsigned int a, b, c, d;
	uint8_t maxphyaddr = 36;

	if (__get_cpuid(0x80000008, &a, &b, &c, &d))
		maxphyaddr = a & 0xff;
	{
		/* What the backend gives its vCPUs: KVM's supported CPUID. */
		int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		struct kvm_cpuid2 *cp = calloc(1, sizeof(*cp) + 512 * sizeof(cp->entries[0]));
		REQUIRE(kvm >= 0 && cp);
		cp->nent = 512;
		REQUIRE(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cp) == 0);
		for (uint32_t i = 0; i < cp->nent; i++)
			if (cp->entries[i].function == 0x80000001)
				gbpages = (cp->entries[i].edx >> 26) & 1;
		free(cp);
		close(kvm);
	}
	if (!gbpages)
		printf("note: this KVM offers no 1 GiB pages (CPUID 80000001h EDX[26]): 4 KiB and 2 MiB only\n");
	rng_state = seed ? seed : 1;
	printf("seed %#llx, %lu requests in four phases\n", (unsigned long long)seed, count);
	struct builder bld = {.mem = t->mem, .next = TABLES_BASE};
	uint64_t cr3 = new_table(&bld);
	fill_table(&bld, cr3, 4, 6);
	/* Always something in the upper (negative canonical) half too. */
	((uint64_t *)(t->mem + cr3))[511] = PTE_P | PTE_RW | new_table(&bld);
	fill_table(&bld, ((uint64_t *)(t->mem + cr3))[511] & 0x000ffffffffff000ull, 3, 16);
	printf("page tables: %llu pages\n", (unsigned long long)((bld.next - TABLES_BASE) / 4096));

	/* Phase 1: CPL 0, CR4.PAE only: the expressible cases and the composite ones. Phase 2:
	 * CPL 3. Phase 3: SMEP and SMAP on, RFLAGS.AC both ways (all composite). */
	static const struct {
		uint64_t cr4;
		uint8_t cpl;
		uint64_t rflags;
		unsigned int share; /* of `count`, in quarters */
	} phases[] = {
		{0x20, 0, 0x2, 4},
		{0x20, 3, 0x2, 2},
		{0x20 | (1u << 20) | (1u << 21), 0, 0x2, 1},
		{0x20 | (1u << 20) | (1u << 21), 0, 0x40002, 1},
	};
	for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
		struct regs_now r = {.cr0 = 0x80010031,
				     .cr3 = cr3,
				     .cr4 = phases[p].cr4,
				     .efer = 0xd00,
				     .rflags = phases[p].rflags,
				     .cpl = phases[p].cpl};
		set_mode(t, cr3, r.cr4, r.cpl, r.rflags);
		CHECK_EQ(get1(t->vp, HV_X64_REGISTER_EFER), 0xd00);
		unsigned long n = count * phases[p].share / 4;
		for (unsigned long i = 0; i < n; i++) {
			uint64_t gva = pick_gva(t->mem, cr3);
			uint64_t flags;
			if (p == 0 && i % 2 == 0) {
				/* Half of phase 1 is expressible by construction. */
				flags = rnd_below(2) ? HV_TRANSLATE_GVA_VALIDATE_READ : 0;
				if (rnd_below(2))
					flags |= HV_TRANSLATE_GVA_SUPERVISOR_ACCESS;
			} else {
				flags = access_kinds[rnd_below(sizeof(access_kinds) / sizeof(access_kinds[0]))] |
					modes_flags[rnd_below(sizeof(modes_flags) / sizeof(modes_flags[0]))];
				if (rnd_below(16) == 0)
					flags |= HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS;
				if (rnd_below(8) == 0)
					flags |= rnd_below(2) ? HV_TRANSLATE_GVA_OVERRIDE_SMAP
							      : HV_TRANSLATE_GVA_ENFORCE_SMAP;
			}
			compare(t, &r, maxphyaddr, gva, flags);
		}
	}

	printf("compared %llu expressible + %llu composite cases: %llu success, %llu not present, %llu privilege "
	       "violations, %llu unmapped GPA; %llu mismatches\n",
	       n_expressible, n_other, n_success, n_not_present, n_violation, n_unmapped, mismatches);
	CHECK(n_expressible >= count / 2);
	CHECK(n_expressible + n_other >= 10000 || count < 10000);
	CHECK(n_success && n_not_present && n_violation && n_unmapped);
}

/* Paging off: the identity, truncated to 32 bits outside long mode. */
static void test_paging_off(void)
{
	struct kvm_test *t = &kt;
	struct hv_register_assoc off[] = {
		regseg(HV_X64_REGISTER_CS, 0, 0xffffffff, 0x20, 0xc09b), /* 32-bit code first */
		regseg(HV_X64_REGISTER_SS, 0, 0xffffffff, 0x10, 0xc093),
		reg64(HV_X64_REGISTER_CR0, 0x60000011),
		reg64(HV_X64_REGISTER_EFER, 0),
	};
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, off, sizeof(off) / sizeof(off[0])) == 0);
	struct hv_translate_virtual_address_ex_output_x64 o;
	REQUIRE(sidecar_vp_translate_gva(t->vp, 0x1234, HV_TRANSLATE_GVA_VALIDATE_READ, &o) == 0);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(o.translation_result.result), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(o.gpa_page, 0x1234);
	REQUIRE(sidecar_vp_translate_gva(t->vp, 0x8000, 0, &o) == 0); /* 128 MiB: beyond RAM */
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(o.translation_result.result), HV_TRANSLATE_GVA_GPA_UNMAPPED);
	/* Outside long mode the GVA is 32 bits wide: 4 GiB + 0x5000 is 0x5000. */
	REQUIRE(sidecar_vp_translate_gva(t->vp, 0x100005, 0, &o) == 0);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(o.translation_result.result), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(o.gpa_page, 5);
}

/* Bad flags are the call's failure. */
static void test_bad_flags(void)
{
	struct kvm_test *t = &kt;
	struct hv_translate_virtual_address_ex_output_x64 o;

	CHECK_EQ(sidecar_vp_translate_gva(t->vp, 1, 1ull << 20, &o), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(t->vp), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(sidecar_vp_translate_gva(t->vp, 1, HV_TRANSLATE_GVA_USER_ACCESS | HV_TRANSLATE_GVA_SUPERVISOR_ACCESS,
					  &o),
		 -SIDECAR_EHV);
}

static int option(int argc, char **argv, int i)
{
	if (i + 1 >= argc)
		return 0;
	if (!strcmp(argv[i], "--count"))
		count = strtoul(argv[i + 1], NULL, 0);
	else if (!strcmp(argv[i], "--seed"))
		seed = strtoull(argv[i + 1], NULL, 0);
	else
		return 0;
	return 2;
}

static const struct check_case cases[] = {
	CHECK_CASE(random),
	CHECK_CASE(paging_off),
	CHECK_CASE(bad_flags),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kvm_translate",
						 CHECK_CASES(cases),
						 .watchdog_s = 600,
						 .setup = setup,
						 .teardown = teardown,
						 .option = option,
						 .usage = "[--count N] [--seed X]"};
	return check_main(argc, argv, &suite);
}
