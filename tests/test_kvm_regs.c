/* SPDX-License-Identifier: MIT */
/*
 * KVM backend: registers through the public API. The reset state matches the synthetic
 * backend's; segments (Hyper-V attribute bits <-> struct kvm_segment), table, control, debug
 * and MSR-backed registers round-trip exactly; GP, XMM and FP control registers round-trip
 * through the CPU context and a real run; KVM-rejected values and unknown names fail with
 * Hyper-V statuses at their index; the register page reflects and feeds the VP.
 */
#include "kvm_util.h"

/* Each case's client and VP. */
static struct kvm_test kt;

static void setup(void)
{
	kt_open(&kt, "sim:backend=kvm,cpus=1");
}

static void teardown(void)
{
	kt_close(&kt);
}

static uint16_t hv_status_of(struct sidecar_vp *vp, int rc)
{
	return rc == -SIDECAR_EHV ? sidecar_vp_hv_status(vp) : 0xffff;
}

/* The registers both backends create the same way. */
static void test_reset_state(void)
{
	struct kvm_test *t = &kt;
	static const uint32_t names[] = {
		HV_X64_REGISTER_RIP,  HV_X64_REGISTER_RFLAGS, HV_X64_REGISTER_RSP,       HV_X64_REGISTER_CR0,
		HV_X64_REGISTER_CR3,  HV_X64_REGISTER_CR4,    HV_X64_REGISTER_CR8,       HV_X64_REGISTER_EFER,
		HV_X64_REGISTER_ES,   HV_X64_REGISTER_CS,     HV_X64_REGISTER_SS,        HV_X64_REGISTER_DS,
		HV_X64_REGISTER_FS,   HV_X64_REGISTER_GS,     HV_X64_REGISTER_LDTR,      HV_X64_REGISTER_TR,
		HV_X64_REGISTER_IDTR, HV_X64_REGISTER_GDTR,   HV_X64_REGISTER_DR7,       HV_X64_REGISTER_DR6,
		HV_X64_REGISTER_XFEM, HV_X64_REGISTER_PAT,    HV_X64_REGISTER_APIC_BASE, HV_REGISTER_VP_INDEX,
		HV_X64_REGISTER_RAX,  HV_X64_REGISTER_XMM0,   HV_X64_REGISTER_CR2,
	};
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct hv_register_assoc k[N], s[N];
	struct sidecar_client *sc;
	struct sidecar_vp *svp;

	for (size_t i = 0; i < N; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].name = names[i];
		s[i] = k[i];
	}
	REQUIRE(sidecar_client_open("sim:backend=synthetic,cpus=1", &sc) == 0);
	REQUIRE(sidecar_vp_acquire(sc, 1, &svp) == 0);
	REQUIRE(sidecar_vp_get_registers(svp, 0, s, N) == 0);
	REQUIRE(sidecar_vp_get_registers(t->vp, 0, k, N) == 0);
	for (size_t i = 0; i < N; i++) {
		if (memcmp(&k[i].value, &s[i].value, sizeof(k[i].value))) {
			fprintf(stderr, "reset state of register %#x: kvm %016llx:%016llx, synthetic %016llx:%016llx\n",
				names[i], (unsigned long long)k[i].value.reg128.high,
				(unsigned long long)k[i].value.reg128.low, (unsigned long long)s[i].value.reg128.high,
				(unsigned long long)s[i].value.reg128.low);
			check_failures++;
		}
	}
	sidecar_vp_release(svp);
	sidecar_client_close(sc);
}

static void roundtrip(struct kvm_test *t, const struct hv_register_assoc *in, size_t n)
{
	struct hv_register_assoc out[32];

	REQUIRE(n <= 32);
	int rc = sidecar_vp_set_registers(t->vp, 0, in, n);
	if (rc) {
		fprintf(stderr, "set: %s (status %#x)\n", sidecar_strerror(rc), sidecar_vp_hv_status(t->vp));
		check_failures++;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = in[i];
		memset(&out[i].value, 0xee, sizeof(out[i].value));
	}
	REQUIRE(sidecar_vp_get_registers(t->vp, 0, out, n) == 0);
	for (size_t i = 0; i < n; i++) {
		if (memcmp(&out[i].value, &in[i].value, sizeof(in[i].value))) {
			fprintf(stderr, "register %#x: set %016llx:%016llx, got %016llx:%016llx\n", in[i].name,
				(unsigned long long)in[i].value.reg128.high, (unsigned long long)in[i].value.reg128.low,
				(unsigned long long)out[i].value.reg128.high,
				(unsigned long long)out[i].value.reg128.low);
			check_failures++;
		}
	}
}

static void test_segments_and_tables(void)
{
	struct kvm_test *t = &kt;
	struct hv_register_assoc r[] = {
		regseg(HV_X64_REGISTER_ES, 0x12340, 0xffff, 0x1234, 0x0093),
		regseg(HV_X64_REGISTER_DS, 0xfffff000ull, 0xfffff, 0x0010, 0xc093),            /* G, D/B */
		regseg(HV_X64_REGISTER_FS, 0x00007f1234560000ull, 0xffffffff, 0x0033, 0x80f3), /* DPL 3 */
		regseg(HV_X64_REGISTER_GS, 0xffff888000000000ull, 0xffffffff, 0x002b, 0x90f3), /* AVL */
		regseg(HV_X64_REGISTER_SS, 0, 0xffff, 0, 0x0097),                              /* expand-down */
		regseg(HV_X64_REGISTER_LDTR, 0x8000, 0x1ff, 0x0050, 0x0082),
		regseg(HV_X64_REGISTER_TR, 0x9000, 0x67, 0x0040, 0x008b),
		regtable(HV_X64_REGISTER_IDTR, 0x12345000, 0x7ff),
		regtable(HV_X64_REGISTER_GDTR, 0xfffff80000001000ull, 0x3f),
	};
	roundtrip(t, r, sizeof(r) / sizeof(r[0]));

	/* Attribute bits with no kvm_segment field (8..11) are refused, not dropped. */
	struct hv_register_assoc bad = regseg(HV_X64_REGISTER_ES, 0, 0xffff, 0, 0x0f93);
	int rc = sidecar_vp_set_registers(t->vp, 0, &bad, 1);
	CHECK_EQ(rc, -SIDECAR_EHV);
	CHECK_EQ(hv_status_of(t->vp, rc), HV_STATUS_INVALID_PARAMETER);
}

static void test_control_and_msrs(void)
{
	struct kvm_test *t = &kt;
	struct hv_register_assoc r[] = {
		reg64(HV_X64_REGISTER_CR3, 0x5000),
		reg64(HV_X64_REGISTER_CR4, 0x620),
		reg64(HV_X64_REGISTER_CR8, 5),
		reg64(HV_X64_REGISTER_EFER, 0x800),     /* NXE */
		reg64(HV_X64_REGISTER_CR0, 0x60000031), /* PE NE */
		reg64(HV_X64_REGISTER_KERNEL_GS_BASE, 0xffff800012345678ull),
		reg64(HV_X64_REGISTER_PAT, 0x0007010600070106ull),
		reg64(HV_X64_REGISTER_SYSENTER_CS, 0x10),
		reg64(HV_X64_REGISTER_SYSENTER_EIP, 0xffffffff81000000ull),
		reg64(HV_X64_REGISTER_SYSENTER_ESP, 0xffffc90000004000ull),
		reg64(HV_X64_REGISTER_STAR, 0x0023001000000000ull),
		reg64(HV_X64_REGISTER_LSTAR, 0xffffffff81800000ull),
		reg64(HV_X64_REGISTER_CSTAR, 0xffffffff81800100ull),
		reg64(HV_X64_REGISTER_SFMASK, 0x47700),
		reg64(HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 0xc06),
		reg64(HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0, 0x80000000ull | 0),
		reg64(HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0, 0xfc0000800ull),
		reg64(HV_X64_REGISTER_MSR_MTRR_FIX64K_00000, 0x0606060606060606ull),
		reg64(HV_X64_REGISTER_MSR_MTRR_FIX16K_A0000, 0x0000000000000000ull),
		reg64(HV_X64_REGISTER_MSR_MTRR_FIX4K_F8000, 0x0505050505050505ull),
		reg64(HV_X64_REGISTER_DR0, 0x1000),
		reg64(HV_X64_REGISTER_DR1, 0x2000),
		reg64(HV_X64_REGISTER_DR2, 0xffff800000003000ull),
		reg64(HV_X64_REGISTER_DR3, 0x4000),
		reg64(HV_X64_REGISTER_DR6, 0xffff0ff1),
		reg64(HV_X64_REGISTER_DR7, 0x00000401),
		reg64(HV_X64_REGISTER_XFEM, 0x3),
		reg64(HV_REGISTER_GUEST_OS_ID, 0x8100000000000000ull),
		reg64(HV_REGISTER_INSTRUCTION_EMULATION_HINTS, 0x1),
	};
	roundtrip(t, r, sizeof(r) / sizeof(r[0]));

	/* Optional MSRs: where KVM has them they round-trip, else they fail cleanly. */
	static const uint32_t optional[] = {HV_X64_REGISTER_TSC_AUX, HV_X64_REGISTER_SPEC_CTRL, HV_X64_REGISTER_XSS};
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		int rc = set1(t->vp, optional[i], 0);
		if (rc == 0) {
			CHECK_EQ(get1(t->vp, optional[i]), 0);
			if (optional[i] == HV_X64_REGISTER_TSC_AUX) {
				CHECK_EQ(set1(t->vp, optional[i], 7), 0);
				CHECK_EQ(get1(t->vp, optional[i]), 7);
			}
		} else {
			CHECK_EQ(hv_status_of(t->vp, rc), HV_STATUS_INVALID_PARAMETER);
		}
	}

	/* TSC: set, then it counts on from there. (A KVM without TSC offsetting, like PVM,
	 * accepts the write and keeps the host's count: noted, not failed.) */
	CHECK_EQ(set1(t->vp, HV_X64_REGISTER_TSC, 1000000000000ull), 0);
	uint64_t tsc = get1(t->vp, HV_X64_REGISTER_TSC);
	uint64_t host = __builtin_ia32_rdtsc();
	if (tsc < 1000000000000ull || tsc > 1000000000000ull + 100000000000ull) {
		if (host - tsc < 100000000000ull)
			printf("note: this KVM ignores guest TSC writes (the guest TSC is the host's)\n");
		else
			CHECK(tsc >= 1000000000000ull && tsc < 1000000000000ull + 100000000000ull);
	}

	/* MTRRcap is read-only; VP_INDEX too. */
	uint64_t cap = get1(t->vp, HV_X64_REGISTER_MSR_MTRR_CAP);
	CHECK(cap & 0xff);
	int rc = set1(t->vp, HV_X64_REGISTER_MSR_MTRR_CAP, cap);
	CHECK_EQ(hv_status_of(t->vp, rc), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(get1(t->vp, HV_REGISTER_VP_INDEX), 1);
	rc = set1(t->vp, HV_REGISTER_VP_INDEX, 1);
	CHECK_EQ(hv_status_of(t->vp, rc), HV_STATUS_ACCESS_DENIED);

	/* Values KVM rejects. */
	static const struct {
		uint32_t name;
		uint64_t value;
	} bad[] = {
		{HV_X64_REGISTER_CR8, 16},
		{HV_X64_REGISTER_XFEM, 0},                       /* x87 is mandatory */
		{HV_X64_REGISTER_EFER, 1ull << 40},              /* reserved */
		{HV_X64_REGISTER_CR4, 1ull << 40},               /* reserved */
		{HV_X64_REGISTER_CR0, 0x80000000},               /* PG without PE */
		{HV_X64_REGISTER_DR7, 1ull << 40},               /* upper half must be zero */
		{HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 1ull << 20}, /* reserved */
		{HV_X64_REGISTER_PAT, 0x0202020202020202ull},    /* memory type 2 does not exist */
		{HV_REGISTER_PENDING_INTERRUPTION, 1ull << 10},  /* reserved */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = set1(t->vp, bad[i].name, bad[i].value);
		if (hv_status_of(t->vp, rc) != HV_STATUS_INVALID_PARAMETER) {
			fprintf(stderr, "register %#x = %#llx: rc %d status %#x\n", bad[i].name,
				(unsigned long long)bad[i].value, rc, hv_status_of(t->vp, rc));
			check_failures++;
		}
	}
	/* ...and the register kept its value. */
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_CR8), 5);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_XFEM), 3);

	/* Back to a state the next guests run in. */
	struct hv_register_assoc back[] = {
		reg64(HV_X64_REGISTER_CR0, 0x60000010),
		reg64(HV_X64_REGISTER_CR8, 0),
		reg64(HV_X64_REGISTER_DR7, 0x400),
		reg64(HV_X64_REGISTER_EFER, 0),
	};
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, back, sizeof(back) / sizeof(back[0])) == 0);
}

static void test_events(void)
{
	struct kvm_test *t = &kt;
	/* #GP with error code 0x10, pending; then an external interrupt; then nothing. */
	uint64_t gp = 1 | (3ull << 1) | (1ull << 4) | (13ull << 16) | (0x10ull << 32);
	uint64_t irq = 1 | (0ull << 1) | (0x30ull << 16);
	struct hv_register_assoc r[] = {reg64(HV_REGISTER_PENDING_INTERRUPTION, gp),
					reg64(HV_REGISTER_INTERRUPT_STATE, 0x3)};
	roundtrip(t, r, 2);
	r[0].value.reg64 = irq;
	r[1].value.reg64 = 0x2;
	roundtrip(t, r, 2);
	r[0].value.reg64 = 0;
	r[1].value.reg64 = 0;
	roundtrip(t, r, 2);
}

/* GP registers (and RSP), XMM and the FP/XMM control words through a real run. */
static void test_through_a_run(void)
{
	struct kvm_test *t = &kt;
	static const uint8_t code[] = {0xe6, 0x99}; /* 3000: out 0x99, al */
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(t->vp);
	struct hv_register_assoc set[21], get[21];
	size_t n = 0;

	memcpy(t->mem + 0x3000, code, sizeof(code));
	kt_real_mode(t, 0x3000);
	REQUIRE(set1(t->vp, HV_X64_REGISTER_CR4, 0x600) == 0); /* OSFXSR for the XMM state */
	for (uint32_t i = 0; i < 16; i++)
		set[n++] = reg64(HV_X64_REGISTER_RAX + i, 0x0101010101010101ull * (i + 1) + (i == 4 ? 0x2000 : 0));
	set[n++] = reg64(HV_X64_REGISTER_CR2, 0xdeadbeef000ull);
	struct hv_register_assoc x = {.name = HV_X64_REGISTER_XMM0 + 7};
	for (int i = 0; i < 16; i++)
		x.value.bytes[i] = (uint8_t)(0xa0 + i);
	set[n++] = x;
	x.name = HV_X64_REGISTER_XMM15;
	set[n++] = x;
	struct hv_register_assoc fpc = {.name = HV_X64_REGISTER_XMM_CONTROL_STATUS};
	/* FDP 0, MXCSR 0x1f80 | DAZ? keep to the architectural default + FTZ */
	uint32_t mxcsr = 0x9f80;
	memcpy(fpc.value.bytes + 8, &mxcsr, 4);
	set[n++] = fpc;
	struct hv_register_assoc fcw = {.name = HV_X64_REGISTER_FP_CONTROL_STATUS};
	uint16_t cw = 0x037f;
	memcpy(fcw.value.bytes, &cw, 2);
	set[n++] = fcw;
	REQUIRE(sidecar_vp_set_registers(t->vp, 0, set, n) == 0);
	ctx->fx_state.xmm[3][0] = 0x33;

	kt_run(t);
	CHECK_EQ(kt_type(t), HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
	CHECK_EQ(kt_io(t)->rax, 0x0101010101010101ull);
	CHECK_EQ(kt_io(t)->rcx, 0x0202020202020202ull);

	for (size_t i = 0; i < n; i++) {
		get[i] = set[i];
		memset(&get[i].value, 0, sizeof(get[i].value));
	}
	REQUIRE(sidecar_vp_get_registers(t->vp, 0, get, n) == 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = sizeof(get[i].value);
		if (set[i].name == HV_X64_REGISTER_XMM_CONTROL_STATUS)
			len = 12; /* MXCSR_MASK is the processor's */
		if (memcmp(&get[i].value, &set[i].value, len)) {
			fprintf(stderr, "after a run, register %#x: %016llx:%016llx, set %016llx:%016llx\n",
				set[i].name, (unsigned long long)get[i].value.reg128.high,
				(unsigned long long)get[i].value.reg128.low,
				(unsigned long long)set[i].value.reg128.high,
				(unsigned long long)set[i].value.reg128.low);
			check_failures++;
		}
	}
	CHECK_EQ(ctx->fx_state.xmm[3][0], 0x33);

	/* The register page mirrors the VP and feeds it. */
	struct hv_x64_register_page *page = sidecar_vp_register_page(t->vp);
	CHECK(page->is_valid);
	CHECK_EQ(page->rip, 0x3000);
	CHECK_EQ(page->gp_registers[4], 0x0505050505050505ull + 0x2000);
	CHECK_EQ(page->segment[HV_X64_REGISTER_PAGE_CS].attributes, 0x9b);
	CHECK_EQ(page->cr4, 0x600);
	CHECK_EQ(page->xmm[3].low & 0xff, 0x33);
	page->gp_registers[3] = 0x77; /* RBX */
	page->gp_registers[4] = 0x6000;
	page->rip = 0x3000;
	page->segment[HV_X64_REGISTER_PAGE_DS].base = 0x20000;
	page->segment[HV_X64_REGISTER_PAGE_DS].selector = 0x2000;
	page->xmm[1].low = 0x1111;
	page->dirty = HV_X64_REGISTER_PAGE_DIRTY_GENERAL_PURPOSE | HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER |
		      HV_X64_REGISTER_PAGE_DIRTY_SEGMENTS | HV_X64_REGISTER_PAGE_DIRTY_XMM;
	kt_run(t);
	CHECK_EQ(kt_io(t)->header.rip, 0x3000);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RBX), 0x77);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RSP), 0x6000);
	CHECK_EQ(kt_io(t)->ds_segment.base, 0x20000);
	CHECK_EQ(ctx->fx_state.xmm[1][0], 0x11);
}

/* An unknown name fails at its index; the registers before it were transferred. */
static void test_unknown_names(void)
{
	struct kvm_test *t = &kt;
	struct hv_register_assoc r[] = {reg64(HV_X64_REGISTER_RSP, 0x1234), reg64(0x00fe0001, 0),
					reg64(HV_X64_REGISTER_RBP, 0x5678)};
	REQUIRE(set1(t->vp, HV_X64_REGISTER_RBP, 0) == 0);
	int rc = sidecar_vp_set_registers(t->vp, 0, r, 3);
	CHECK_EQ(rc, -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(t->vp), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RSP), 0x1234);
	CHECK_EQ(get1(t->vp, HV_X64_REGISTER_RBP), 0);
	rc = sidecar_vp_get_registers(t->vp, 0, r, 3);
	CHECK_EQ(rc, -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(t->vp), HV_STATUS_INVALID_PARAMETER);
	rc = set1(t->vp, HV_REGISTER_PENDING_EVENT0, 0);
	CHECK_EQ(hv_status_of(t->vp, rc), HV_STATUS_INVALID_PARAMETER);
}

static const struct check_case cases[] = {
	CHECK_CASE(reset_state), CHECK_CASE(segments_and_tables), CHECK_CASE(control_and_msrs),
	CHECK_CASE(events),      CHECK_CASE(through_a_run),       CHECK_CASE(unknown_names),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kvm_regs", CHECK_CASES(cases), .watchdog_s = 60, .setup = setup,
						 .teardown = teardown};
	return check_main(argc, argv, &suite);
}
