/* SPDX-License-Identifier: MIT */
/*
 * The public API (<sidecar/client.h>), call by call and error by error, in every wait mode.
 */
#include "sidecar_atomic.h"
#include "sim_util.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

static void test_open(void)
{
	struct sidecar_client *c = (struct sidecar_client *)1;
	char err[256];

	CHECK_EQ(sidecar_client_open("sim", NULL), -EINVAL);
	CHECK_EQ(sidecar_client_open_err("bogus", &c, err, sizeof(err)), -EINVAL);
	CHECK(c == NULL);
	CHECK(strstr(err, "bogus") != NULL);
	CHECK_EQ(sidecar_client_open_err("sim:cpus=2,colour=red", &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "'colour'") != NULL);
	CHECK_EQ(sidecar_client_open_err("sim:cpus=many", &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "cpus") != NULL);
	CHECK_EQ(sidecar_client_open_err("device", &c, err, sizeof(err)), -ENODEV);
	CHECK(err[0] != 0);

	/* NULL: $SIDECAR_TARGET, else "sim" (1 node: the base CPU and 2 sidecar CPUs). */
	unsetenv("SIDECAR_TARGET");
	CHECK_EQ(sidecar_client_open(NULL, &c), 0);
	CHECK_EQ(sidecar_client_cpu_count(c), 3);
	sidecar_client_close(c);
	setenv("SIDECAR_TARGET", "sim:nodes=2,cpus=3", 1);
	/* Only NULL reads the environment: "" is a bad target. */
	CHECK_EQ(sidecar_client_open_err("", &c, err, sizeof(err)), -EINVAL);
	CHECK(c == NULL);
	CHECK_EQ(sidecar_client_open(NULL, &c), 0);
	CHECK_EQ(sidecar_client_cpu_count(c), 8);
	CHECK_EQ(sidecar_client_node_count(c), 2);
	CHECK_EQ(sidecar_client_base_cpu(c, 0), 0);
	CHECK_EQ(sidecar_client_base_cpu(c, 3), 0);
	CHECK_EQ(sidecar_client_base_cpu(c, 4), 4);
	CHECK_EQ(sidecar_client_base_cpu(c, 7), 4);
	CHECK_EQ(sidecar_client_base_cpu(c, 8), -EINVAL);
	CHECK_EQ(sidecar_client_base_cpu(NULL, 0), -EINVAL);
	void *base;
	size_t size;
	CHECK_EQ(sidecar_client_guest_memory(c, &base, &size), 0);
	CHECK(base != NULL);
	CHECK_EQ(size, 64u << 20);
	CHECK_EQ(sidecar_client_guest_memory(c, NULL, &size), -EINVAL);
	sidecar_client_close(c);
	unsetenv("SIDECAR_TARGET");
	sidecar_client_close(NULL); /* harmless */
}

static void test_acquire(void)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp, *vp2;

	REQUIRE(sidecar_client_open("sim:cpus=2", &c) == 0);
	CHECK_EQ(sidecar_vp_acquire(c, 3, &vp), -EINVAL);
	CHECK_EQ(sidecar_vp_acquire(NULL, 1, &vp), -EINVAL);
	CHECK_EQ(sidecar_vp_acquire(c, 1, NULL), -EINVAL);
	/* The base CPU is Linux's. */
	CHECK_EQ(sidecar_vp_acquire(c, 0, &vp), -ENOENT);
	CHECK(vp == NULL);
	CHECK_EQ(sidecar_vp_acquire(c, 1, &vp), 0);
	CHECK_EQ(sidecar_vp_cpu(vp), 1);
	CHECK_EQ(sidecar_vp_get_wait_mode(vp), SIDECAR_WAIT_ADAPTIVE); /* the default */
	CHECK_EQ(sidecar_vp_acquire(c, 1, &vp2), -EBUSY);
	sidecar_vp_release(vp);
	CHECK_EQ(sidecar_vp_acquire(c, 1, &vp2), 0);
	sidecar_vp_release(vp2);
	sidecar_vp_release(NULL);
	sidecar_client_close(c);

	/* A removed CPU: -ENOENT at acquire. */
	struct sidecar_sim *sim = sim_open("sim:cpus=2");
	c = sim_client(sim);
	CHECK_EQ(sidecar_sim_hot_remove(sim, 1, 10000000000ll), 0);
	CHECK_EQ(sidecar_vp_acquire(c, 1, &vp), -ENOENT);
	CHECK_EQ(sidecar_vp_acquire(c, 2, &vp), 0);
	CHECK_EQ(sidecar_vp_test(vp), 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);

	/* Nodes with gaps: CPUs left to Linux are REMOVED, and their neighbours work. */
	REQUIRE(sidecar_client_open("sim:nodes=2,cpus=3,linux=2", &c) == 0);
	CHECK_EQ(sidecar_client_cpu_count(c), 8);
	for (uint32_t cpu = 0; cpu < 8; cpu++) {
		bool linux_cpu = cpu % 4 == 0 || cpu % 4 == 2;
		int rc = sidecar_vp_acquire(c, cpu, &vp);
		CHECK_EQ(rc, linux_cpu ? -ENOENT : 0);
		if (rc == 0) {
			bool intercept = false;
			CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
			CHECK(intercept);
			CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_SEED), 0);
			CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
			CHECK(intercept);
			sidecar_vp_release(vp);
		}
	}
	sidecar_client_close(c);
}

static void test_run_wait(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	bool intercept = false;

	REQUIRE(sidecar_client_open("sim:cpus=1", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	CHECK_EQ(sidecar_vp_get_wait_mode(vp), mode);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)7), -EINVAL);

	/* Nothing running: wait/try_wait have nothing to collect; cancel is a no-op. */
	CHECK_EQ(sidecar_vp_wait(vp, 0, &intercept), -EINVAL);
	CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EINVAL);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);

	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x5a;
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_run(vp), -EBUSY);
	CHECK_EQ(sidecar_vp_test(vp), -EBUSY);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_FUTEX), -EBUSY); /* only while stopped */
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	CHECK(intercept);
	const struct hv_message *m = sidecar_vp_intercept_message(vp);
	CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
	CHECK_EQ(((const struct hv_x64_io_port_intercept_message *)m->payload)->rax, 0x5a);
	CHECK_EQ(sidecar_vp_register_page(vp)->is_valid, 1);
	CHECK_EQ(sidecar_vp_register_page(vp)->rip, 0xfff0);

	/* try_wait: -EAGAIN until done, then collects once. */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	int rc;
	uint64_t t0 = ms_now();
	while ((rc = sidecar_vp_try_wait(vp, &intercept)) == -EAGAIN && ms_now() - t0 < 10000)
		usleep(10);
	CHECK_EQ(rc, 0);
	CHECK(intercept);
	CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EINVAL);

	/* run_sync, many times. */
	for (int i = 0; i < 1000; i++) {
		intercept = false;
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		CHECK(intercept);
	}
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	CHECK_EQ(st.runs, 1002);
	CHECK_EQ(st.intercepts, 1002);
	CHECK_EQ(st.cancels, 0);
	CHECK(st.request_signals <= st.runs + 16);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

struct delayed_cancel {
	struct sidecar_vp *vp;
	unsigned delay_us;
	int rc;
};

static void *cancel_thread(void *arg)
{
	struct delayed_cancel *d = arg;
	usleep(d->delay_us);
	d->rc = sidecar_vp_cancel(d->vp);
	return NULL;
}

static void test_timeout_cancel(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	bool intercept = true;

	REQUIRE(sidecar_client_open("sim:cpus=1,guest=spin", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_wait(vp, 2000000, &intercept), -ETIMEDOUT); /* 2 ms; it keeps running */
	CHECK_EQ(sidecar_vp_try_wait(vp, &intercept), -EAGAIN);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);
	CHECK_EQ(sidecar_vp_wait(vp, 10000000000ll, &intercept), 0);
	CHECK(!intercept);

	/* A cancel from another thread ends a forever-wait. */
	struct delayed_cancel d = {.vp = vp, .delay_us = 20000};
	pthread_t t;
	CHECK_EQ(sidecar_vp_run(vp), 0);
	REQUIRE(pthread_create(&t, NULL, cancel_thread, &d) == 0);
	intercept = true;
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	CHECK(!intercept);
	pthread_join(t, NULL);
	CHECK_EQ(d.rc, 0);
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);
	CHECK_EQ(st.cancels, 2);
	CHECK_EQ(st.intercepts, 0);

	/* Releasing a running VP cancels and waits it. */
	CHECK_EQ(sidecar_vp_run(vp), 0);
	sidecar_vp_release(vp);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_cancel(vp), 0);
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

/* Registers R8..R15 and RIP..: a set of names that cycles through the context and the VP. */
static uint32_t reg_name(size_t i)
{
	static const uint32_t names[] = {
		HV_X64_REGISTER_R8,
		HV_X64_REGISTER_R9,
		HV_X64_REGISTER_RBX,
		HV_X64_REGISTER_RSP,
		HV_X64_REGISTER_DR0,
		HV_X64_REGISTER_DR1,
		HV_X64_REGISTER_KERNEL_GS_BASE,
		HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0,
		HV_X64_REGISTER_XMM0 + 5,
	};
	/* Distinct names: the MTRR ranges give plenty. */
	if (i < sizeof(names) / sizeof(names[0]))
		return names[i];
	i -= sizeof(names) / sizeof(names[0]);
	if (i < 15)
		return HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 + 1 + (uint32_t)i;
	i -= 15;
	if (i < 16)
		return HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 + (uint32_t)i;
	i -= 16;
	if (i < 11)
		return HV_X64_REGISTER_MSR_MTRR_FIX64K_00000 + (uint32_t)i;
	i -= 11;
	return HV_X64_REGISTER_XMM0 + (uint32_t)(i % 5);
}

static void test_registers(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	struct hv_register_assoc regs[64], back[64];

	REQUIRE(sidecar_client_open("sim:cpus=1", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);

	static const size_t counts[] = {0, 1, 31, 32, 62, 63};
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		size_t n = counts[k];
		memset(regs, 0, sizeof(regs));
		for (size_t i = 0; i < n; i++) {
			regs[i].name = reg_name(i);
			regs[i].value.reg64 = 0x1000 * (k + 1) + i;
		}
		CHECK_EQ(sidecar_vp_set_registers(vp, 0, regs, n), 0);
		memcpy(back, regs, sizeof(back));
		for (size_t i = 0; i < n; i++)
			memset(&back[i].value, 0xee, 16);
		CHECK_EQ(sidecar_vp_get_registers(vp, 0, back, n), 0);
		for (size_t i = 0; i < n; i++) {
			/* Names that repeat (the XMM tail) hold the last value set. */
			size_t last = i;
			for (size_t j = i + 1; j < n; j++)
				if (regs[j].name == regs[i].name)
					last = j;
			CHECK_EQ(back[i].value.reg64, regs[last].value.reg64);
		}
	}
	struct sidecar_vp_stats st;
	sidecar_vp_get_stats(vp, &st);

	/* A failing register in the second chunk: the first chunk was applied, the status
	 * is the hypervisor's. */
	memset(regs, 0, sizeof(regs));
	for (size_t i = 0; i < 40; i++) {
		regs[i].name = reg_name(i);
		regs[i].value.reg64 = 0xabc0 + i;
	}
	regs[35].name = 0x00ff00ff;
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, regs, 40), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	memcpy(back, regs, sizeof(back));
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, back, 31), 0);
	CHECK_EQ(back[0].value.reg64, 0xabc0);
	CHECK_EQ(back[30].value.reg64, 0xabc0 + 30);
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, back, 40), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(back[34].value.reg64, 0xabc0 + 34); /* before the failing one */

	/* Bad arguments. */
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, NULL, 1), -EINVAL);
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, NULL, 1), -EINVAL);
	CHECK_EQ(sidecar_vp_get_registers(NULL, 0, regs, 1), -EINVAL);
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, NULL, 0), 0);

	/* The CPU context and the registers are one state. */
	regs[0].name = HV_X64_REGISTER_RDI;
	regs[0].value.reg64 = 0x77;
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, regs, 1), 0);
	CHECK_EQ(sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RDI], 0x77);
	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RDI] = 0x78;
	CHECK_EQ(sidecar_vp_get_registers(vp, 0, regs, 1), 0);
	CHECK_EQ(regs[0].value.reg64, 0x78);

	/* Read-only registers and reserved bits in the input-VTL byte: the hypervisor's status. */
	regs[0].name = HV_X64_REGISTER_MSR_MTRR_CAP;
	regs[0].value.reg64 = 1;
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, regs, 1), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_ACCESS_DENIED);
	regs[0].name = HV_X64_REGISTER_RIP;
	CHECK_EQ(sidecar_vp_get_registers(vp, 0xe0, regs, 1), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(sidecar_vp_get_registers(vp, HV_INPUT_VTL_USE_TARGET | 7, regs, 1), -SIDECAR_EHV);

	CHECK_EQ(sidecar_vp_test(vp), 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

static void test_translate(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	struct hv_translate_virtual_address_ex_output_x64 out;

	REQUIRE(sidecar_client_open("sim:cpus=1,mem=1M", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x42, HV_TRANSLATE_GVA_VALIDATE_READ, &out), 0);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, 0x42);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x4200, HV_TRANSLATE_GVA_VALIDATE_READ, &out), 0);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result), HV_TRANSLATE_GVA_GPA_UNMAPPED);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x42, 1ull << 30, &out), -SIDECAR_EHV);
	CHECK_EQ(sidecar_vp_hv_status(vp), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x42, 0, NULL), -EINVAL);

	/* Long mode with a page table the test writes into guest memory. */
	uint8_t *mem;
	size_t size;
	REQUIRE(sidecar_client_guest_memory(c, (void **)&mem, &size) == 0);
	uint64_t *pml4 = (uint64_t *)(mem + 0x10000), *pdpt = (uint64_t *)(mem + 0x11000);
	uint64_t *pd = (uint64_t *)(mem + 0x12000);
	pml4[0] = 0x11000 | 0x7;
	pdpt[0] = 0x12000 | 0x7;
	pd[1] = 0x0 | 0x80 | 0x1; /* 2 MiB page at GVA 2 MiB -> GPA 0, read-only, supervisor */
	struct hv_register_assoc r[4] = {
		{.name = HV_X64_REGISTER_CR3, .value.reg64 = 0x10000},
		{.name = HV_X64_REGISTER_CR4, .value.reg64 = 1u << 5},
		{.name = HV_X64_REGISTER_EFER, .value.reg64 = (1u << 8) | (1u << 10)},
		{.name = HV_X64_REGISTER_CR0, .value.reg64 = 0x80010031},
	};
	CHECK_EQ(sidecar_vp_set_registers(vp, 0, r, 4), 0);
	CHECK_EQ(sidecar_vp_translate_gva(vp, (2u << 20 >> 12) + 5, HV_TRANSLATE_GVA_VALIDATE_READ, &out), 0);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result), HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(out.gpa_page, 5);
	CHECK_EQ(sidecar_vp_translate_gva(vp, (2u << 20 >> 12) + 5, HV_TRANSLATE_GVA_VALIDATE_WRITE, &out), 0);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result), HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION);
	CHECK_EQ(sidecar_vp_translate_gva(vp, 0x12345, HV_TRANSLATE_GVA_VALIDATE_READ, &out), 0);
	CHECK_EQ(HV_TRANSLATE_GVA_RESULT_CODE(out.translation_result.result), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

/* A garbage command reaches the kernel (a fault hook corrupts the posted command): the
 * kernel's error string comes back as -SIDECAR_EKERNEL. */
static _Atomic int corrupt;

static void corrupt_hook(void *ctx, struct sidecar_sim *s, uint32_t cpu, enum sidecar_fault_point where)
{
	(void)ctx;
	if (where != SIDECAR_FAULT_BEFORE_COMMAND || !atomic_exchange(&corrupt, 0))
		return;
	struct sidecar_command_page *p = &sim_pages(s, cpu)->command_page;
	sc_store_mb(&sidecar_command_page_fast(p)->command, 77);
	p->command = 77;
}

static void test_kernel_error(const void *arg)
{
	enum sidecar_wait_mode mode = wait_mode(arg);
	struct sidecar_sim *sim = sim_open("sim:cpus=1");
	struct sidecar_client *c = sim_client(sim);
	struct sidecar_vp *vp;

	sidecar_sim_set_fault_hook(sim, corrupt_hook, NULL);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, mode), 0);
	atomic_store(&corrupt, 1);
	CHECK_EQ(sidecar_vp_test(vp), -SIDECAR_EKERNEL);
	CHECK_STREQ(sidecar_vp_error_string(vp), "unknown command 77");
	CHECK_EQ(sidecar_vp_test(vp), 0);
	atomic_store(&corrupt, 1);
	bool intercept;
	CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), -SIDECAR_EKERNEL);
	CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	sidecar_sim_destroy(sim);
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

static void test_event_fd(void)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp[2];
	bool intercept;

	REQUIRE(sidecar_client_open("sim:cpus=2", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp[0]) == 0);
	REQUIRE(sidecar_vp_acquire(c, 2, &vp[1]) == 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp[1], SIDECAR_WAIT_SEED), 0);
	int fd = sidecar_client_event_fd(c);
	CHECK(fd >= 0);
	CHECK_EQ(sidecar_client_event_fd(c), fd);
	CHECK(!readable(fd));
	for (int round = 0; round < 50; round++) {
		CHECK_EQ(sidecar_vp_run(vp[0]), 0);
		CHECK_EQ(sidecar_vp_run(vp[1]), 0);
		int collected = 0;
		while (collected < 2) {
			if (!wait_readable(fd, 10000)) {
				CHECK(!"event fd never became readable");
				break;
			}
			for (int i = 0; i < 2; i++)
				if (sidecar_vp_try_wait(vp[i], &intercept) == 0)
					collected++;
		}
		CHECK(!readable(fd));
	}
	sidecar_vp_release(vp[0]);
	sidecar_vp_release(vp[1]);
	sidecar_client_close(c);
}

static void test_strerror(void)
{
	static const int codes[] = {0,        -EINVAL,    -EBUSY,           -ENOENT,      -ETIMEDOUT, -EAGAIN, -ENODEV,
				    -ENOTSUP, -ESHUTDOWN, -SIDECAR_EKERNEL, -SIDECAR_EHV, -EIO,       5};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = sidecar_strerror(codes[i]);
		CHECK(s != NULL && s[0] != 0);
	}
	CHECK(strcmp(sidecar_strerror(-SIDECAR_EKERNEL), sidecar_strerror(-SIDECAR_EHV)) != 0);
	CHECK_STREQ(sidecar_wait_mode_name(SIDECAR_WAIT_POLL), "poll");
	CHECK_STREQ(sidecar_wait_mode_name(SIDECAR_WAIT_SEED), "seed");
}

static void test_null_vp(void)
{
	bool b;
	struct sidecar_vp_stats st;

	CHECK_EQ(sidecar_vp_run(NULL), -EINVAL);
	CHECK_EQ(sidecar_vp_wait(NULL, 0, &b), -EINVAL);
	CHECK_EQ(sidecar_vp_try_wait(NULL, &b), -EINVAL);
	CHECK_EQ(sidecar_vp_cancel(NULL), -EINVAL);
	CHECK_EQ(sidecar_vp_run_sync(NULL, &b), -EINVAL);
	CHECK_EQ(sidecar_vp_test(NULL), -EINVAL);
	CHECK_EQ(sidecar_vp_set_wait_mode(NULL, SIDECAR_WAIT_POLL), -EINVAL);
	CHECK_EQ(sidecar_vp_set_poll_ns(NULL, 1, 1), -EINVAL);
	CHECK_EQ(sidecar_vp_translate_gva(NULL, 0, 0, NULL), -EINVAL);
	CHECK(sidecar_vp_cpu_context(NULL) == NULL);
	CHECK(sidecar_vp_intercept_message(NULL) == NULL);
	CHECK(sidecar_vp_register_page(NULL) == NULL);
	memset(&st, 0xa5, sizeof(st));
	sidecar_vp_get_stats(NULL, &st);
	CHECK_EQ(st.runs, 0xa5a5a5a5a5a5a5a5ull); /* nothing written */
	CHECK_EQ(sidecar_client_event_fd(NULL), -EINVAL);
	CHECK_EQ(sidecar_client_cpu_count(NULL), 0);
	CHECK_EQ(sidecar_client_node_count(NULL), 0);
	CHECK_EQ(sidecar_client_set_stop_timeout(NULL, 1000000000), -EINVAL);
	CHECK_EQ((int)sidecar_vp_get_wait_mode(NULL), -EINVAL);
	CHECK_EQ(sidecar_vp_cpu(NULL), UINT32_MAX);
	CHECK_EQ(sidecar_vp_sync_fx(NULL), -EINVAL);
	CHECK_EQ(sidecar_vp_get_registers(NULL, 0, NULL, 0), -EINVAL);
	CHECK_EQ(sidecar_vp_set_registers(NULL, 0, NULL, 0), -EINVAL);
	CHECK(strcmp(sidecar_vp_error_string(NULL), "") == 0);
	CHECK_EQ(sidecar_vp_hv_status(NULL), HV_STATUS_SUCCESS);
	CHECK_EQ(sidecar_message_type(NULL), HV_MESSAGE_TYPE_NONE);
	CHECK(strcmp(sidecar_wait_mode_name((enum sidecar_wait_mode)42), "?") == 0);
	/* No buffer for the reason: none is written, the error still returned. */
	struct sidecar_client *c = (struct sidecar_client *)1;
	CHECK_EQ(sidecar_client_open_err("bogus", &c, NULL, 64), -EINVAL);
	CHECK(c == NULL);
	CHECK_EQ(sidecar_client_open_err("sim:bogus=1", &c, NULL, 64), -EINVAL);
	sidecar_vp_release(NULL);
	sidecar_client_close(NULL);
}

/* After close, every call on a held accessor says so, in every mode. */
static void test_calls_after_close(void)
{
	for (size_t i = 0; i < 4; i++) {
		struct sidecar_client *c;
		struct sidecar_vp *vp;
		bool intercept;
		REQUIRE(sidecar_client_open("sim:cpus=1", &c) == 0);
		REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
		REQUIRE(sidecar_vp_set_wait_mode(vp, (enum sidecar_wait_mode)i) == 0);
		sidecar_client_close(c);
		CHECK_EQ(sidecar_vp_cancel(vp), -ESHUTDOWN);
		CHECK_EQ(sidecar_vp_set_poll_ns(vp, 1000, 1000), -ESHUTDOWN);
		CHECK_EQ(sidecar_vp_run(vp), -ESHUTDOWN);
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), -ESHUTDOWN);
		CHECK_EQ(sidecar_vp_test(vp), -ESHUTDOWN);
		CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_SEED), -ESHUTDOWN);
		sidecar_vp_release(vp);
	}
}

static void test_poll_ns(void)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp;

	REQUIRE(sidecar_client_open("sim:cpus=1", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	CHECK_EQ(sidecar_vp_set_poll_ns(vp, 5000, 7000), 0);
	CHECK_EQ(sidecar_vp_set_poll_ns(vp, 2000000000ull, 0), -EINVAL);
	CHECK_EQ(sidecar_vp_run(vp), 0);
	CHECK_EQ(sidecar_vp_set_poll_ns(vp, 5000, 7000), -EBUSY);
	bool intercept;
	CHECK_EQ(sidecar_vp_wait(vp, -1, &intercept), 0);
	CHECK_EQ(sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_SEED), 0);
	CHECK_EQ(sidecar_vp_set_poll_ns(vp, 5000, 7000), -ENOTSUP);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

static const struct check_case cases[] = {
	CHECK_CASE(open),
	CHECK_CASE(acquire),
	CHECK_CASE(strerror),
	CHECK_CASE(null_vp),
	CHECK_CASE(calls_after_close),
	CHECK_CASE(poll_ns),
	CHECK_CASE_ARG(run_wait, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(run_wait, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(run_wait, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(run_wait, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(timeout_cancel, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(timeout_cancel, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(timeout_cancel, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(timeout_cancel, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(registers, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(registers, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(registers, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(registers, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(translate, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(translate, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(translate, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(translate, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE_ARG(kernel_error, seed, WAIT_MODE(SEED)),
	CHECK_CASE_ARG(kernel_error, futex, WAIT_MODE(FUTEX)),
	CHECK_CASE_ARG(kernel_error, poll, WAIT_MODE(POLL)),
	CHECK_CASE_ARG(kernel_error, adaptive, WAIT_MODE(ADAPTIVE)),
	CHECK_CASE(event_fd),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_client_api", CHECK_CASES(cases), .watchdog_s = 120};
	return check_main(argc, argv, &suite);
}
