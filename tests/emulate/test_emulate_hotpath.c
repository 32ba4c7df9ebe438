/* SPDX-License-Identifier: MIT */
/*
 * The helper's per-intercept path makes no system call and allocates nothing: a plain OUT,
 * IN, MOV store and load, ADD, REP MOVSB and a refused instruction (its error string
 * included), each completed many times on a stopped VP with a valid register page.
 *
 *   system calls: a forked child runs the calls under seccomp's strict mode, which allows
 *                 only read, write, exit and sigreturn and kills the process on anything
 *                 else; it must exit normally.
 *   allocations:  malloc, calloc, realloc and free are interposed (the Zydis shared library
 *                 included) and counted on this thread while the calls run: zero. Not in
 *                 sanitizer builds, whose runtime owns those symbols.
 */
#include "emu_util.h"

#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MMIO_BASE 0x10000000ull
#define ROUNDS 1000

#ifndef EMU_NO_MALLOC_COUNT
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static __thread bool counting;
static __thread unsigned long allocations;

void *malloc(size_t size)
{
	if (counting)
		allocations++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		allocations++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (counting)
		allocations++;
	return __libc_realloc(p, size);
}

void free(void *p)
{
	if (counting && p)
		allocations++;
	__libc_free(p);
}
#endif

static struct dev dev;
static struct hv_message msgs[7];
static struct sidecar_emulator *emu;
static struct sidecar_cpu_context_x64 *ctx;
static struct hv_x64_register_page *page;

/* Every message, ROUNDS times; returns the number of unexpected results. */
static unsigned int run_all(void)
{
	unsigned int bad = 0;

	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < 7; i++) {
			ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = MMIO_BASE + 0x100;
			ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = i == 5 ? 0x6000 : MMIO_BASE + 0x100;
			ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 16;
			int rc = sidecar_emulate_intercept(emu, &msgs[i]);
			if (rc != (i == 6 ? -ENOTSUP : 0))
				bad++;
			if (i == 6 && strstr(sidecar_emulate_error(emu), "cmpxchg") == NULL)
				bad++;
		}
		page->dirty = 0;
	}
	return bad;
}

static struct sidecar_client *client;
static struct sidecar_vp *vp;
static uint8_t *ram;

/* Each case's client, VP (after a run: its register page is valid), device, helper and
 * messages; then every message once, to warm up (the PLT's lazy binding, first touches). */
static void setup(void)
{
	void *base;
	size_t ram_size;
	bool intercept;

	memset(&dev, 0, sizeof(dev));
	REQUIRE(sidecar_client_open("sim:cpus=1", &client) == 0);
	REQUIRE(sidecar_client_guest_memory(client, &base, &ram_size) == 0);
	ram = base;
	REQUIRE(sidecar_vp_acquire(client, 1, &vp) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0 && intercept);
	ctx = sidecar_vp_cpu_context(vp);
	page = sidecar_vp_register_page(vp);
	REQUIRE(page->is_valid);
	dev.base = MMIO_BASE;
	struct sidecar_emulate_config cfg = {.ops = &dev_ops, .opaque = &dev, .ram = ram, .ram_size = ram_size};
	REQUIRE(sidecar_emulate_create(vp, &cfg, &emu) == 0);

	static const uint8_t in_al[] = {0xec}, st[] = {0x89, 0x07}, ld[] = {0x8b, 0x07}, add[] = {0x01, 0x07},
			     rep_movsb[] = {0xf3, 0xa4}, cmpxchg[] = {0x0f, 0xb1, 0x0f};
	msgs[0] = *sidecar_vp_intercept_message(vp); /* the synthetic guest's OUT */
	mk_io(&msgs[1], 64, 0x1000, in_al, 1, 0x60, 1, false, 0x2, ctx, 0, 0);
	mk_mem(&msgs[2], 64, 0x1000, st, 2, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_WRITE, 0x2);
	mk_mem(&msgs[3], 64, 0x1000, ld, 2, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_READ, 0x2);
	mk_mem(&msgs[4], 64, 0x1000, add, 2, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_READ, 0x2);
	/* Device -> RAM in real mode (no paging: no translation, which is a round trip). */
	mk_mem(&msgs[5], 16, 0x1000, rep_movsb, 2, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_READ, 0x2);
	mk_mem(&msgs[6], 64, 0x1000, cmpxchg, 3, MMIO_BASE + 0x100, HV_INTERCEPT_ACCESS_READ, 0x2);
	/* Real mode addresses DS:SI: put DS's base where SI's low 16 bits reach the device. */
	struct hv_register_assoc ds = {.name = HV_X64_REGISTER_DS};
	ds.value.segment.base = MMIO_BASE;
	ds.value.segment.limit = 0xffff;
	ds.value.segment.attributes = 0x93;
	REQUIRE(sidecar_vp_set_registers(vp, 0, &ds, 1) == 0);
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0);
	REQUIRE(run_all() == 0);
}

static void teardown(void)
{
	page->dirty = 0;
	sidecar_emulate_destroy(emu);
	sidecar_vp_release(vp);
	sidecar_client_close(client);
}

/* Every message gives its result, every time; the REP MOVSB moved the device's bytes. */
static void test_results(void)
{
	CHECK_EQ(run_all(), 0);
	CHECK_EQ(memcmp(ram + 0x6000, dev.mem + 0x100, 16), 0);
}

static void test_no_allocation(void)
{
#ifdef EMU_NO_MALLOC_COUNT
	SKIP("a sanitizer build: its runtime owns malloc");
#else
	counting = true;
	unsigned int bad = run_all();
	counting = false;
	CHECK_EQ(bad, 0);
	CHECK_EQ(allocations, 0);
#endif
}

static void test_no_system_call(void)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
			syscall(SYS_exit, 2);
		unsigned int child_bad = run_all();
		syscall(SYS_exit, child_bad ? 1 : 0); /* exit_group (_exit) is not allowed */
	}
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "the helper made a system call (killed by signal %d under strict seccomp)\n",
			WTERMSIG(status));
		check_failures++;
	} else {
		CHECK_EQ(WEXITSTATUS(status), 0);
	}
}

static const struct check_case cases[] = {
	CHECK_CASE(results),
	CHECK_CASE(no_allocation),
	CHECK_CASE(no_system_call),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_emulate_hotpath", CHECK_CASES(cases), .watchdog_s = 60,
						 .setup = setup, .teardown = teardown};
	return check_main(argc, argv, &suite);
}
