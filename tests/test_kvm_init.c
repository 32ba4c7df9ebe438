/* SPDX-License-Identifier: MIT */
/*
 * KVM backend: setup and teardown. The kick signal (SIGRTMIN + 6, docs/kvm.md) is taken only
 * when nobody owns it: a client fails with -EBUSY and says why when the application already
 * handles that signal, and works once it is free again. Several backends (VMs) live side by
 * side, each with several VPs; a VP's guest memory is the client's.
 */
#include "kvm_util.h"

#include <signal.h>

#define KICK_SIGNAL (SIGRTMIN + 6)

static void app_handler(int sig)
{
	(void)sig;
}

static void test_signal_ownership(void)
{
	struct sidecar_client *c;
	struct sigaction sa, old;
	char err[256];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_handler;
	sigemptyset(&sa.sa_mask);
	REQUIRE(sigaction(KICK_SIGNAL, &sa, &old) == 0);
	CHECK(old.sa_handler == SIG_DFL);

	int rc = sidecar_client_open_err("sim:backend=kvm,cpus=1", &c, err, sizeof(err));
	CHECK_EQ(rc, -EBUSY);
	CHECK(strstr(err, "backend kvm") != NULL);
	CHECK(strstr(err, strerror(EBUSY)) != NULL);
	printf("with the signal taken: %s\n", err);
	/* The application's handler is left alone. */
	REQUIRE(sigaction(KICK_SIGNAL, NULL, &old) == 0);
	CHECK(old.sa_handler == app_handler);

	sa.sa_handler = SIG_DFL;
	REQUIRE(sigaction(KICK_SIGNAL, &sa, NULL) == 0);
	rc = sidecar_client_open_err("sim:backend=kvm,cpus=1", &c, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc == 0) {
		REQUIRE(sigaction(KICK_SIGNAL, NULL, &old) == 0);
		CHECK(old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
		sidecar_client_close(c);
	}
}

/* Two VMs, two VPs each: every VP runs its own guest in its own VM's memory. */
static void test_side_by_side(void)
{
	static const uint8_t code[] = {0xe6, 0x10, 0xeb, 0xfc}; /* out 0x10, al; jmp $-2 */
	struct sidecar_client *c[2];
	uint8_t *mem[2];

	for (int i = 0; i < 2; i++) {
		void *base;
		size_t size;
		REQUIRE(sidecar_client_open(i ? "sim:backend=kvm,cpus=2,mem=2M" : "sim:backend=kvm,cpus=2,nodes=1",
					    &c[i]) == 0);
		REQUIRE(sidecar_client_guest_memory(c[i], &base, &size) == 0);
		CHECK_EQ(size, i ? 2u << 20 : 64u << 20);
		mem[i] = base;
		memcpy(mem[i] + 0x1000, code, sizeof(code));
	}
	for (int i = 0; i < 2; i++) {
		for (uint32_t cpu = 1; cpu <= 2; cpu++) { /* CPU 0, the BSP, is Linux's */
			struct kvm_test t = {.c = c[i], .mem = mem[i]};
			REQUIRE(sidecar_vp_acquire(c[i], cpu, &t.vp) == 0);
			CHECK_EQ(get1(t.vp, HV_REGISTER_VP_INDEX), cpu);
			/* The BSP flag follows the VP index. */
			CHECK_EQ(get1(t.vp, HV_X64_REGISTER_APIC_BASE), 0xfee00800u | (cpu == 0 ? 0x100u : 0));
			kt_real_mode(&t, 0x1000);
			sidecar_vp_cpu_context(t.vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x10u * (uint32_t)i + cpu;
			for (int n = 0; n < 10; n++) {
				kt_run(&t);
				CHECK_EQ(kt_io(&t)->port_number, 0x10);
				CHECK_EQ(kt_io(&t)->header.vp_index, cpu);
				CHECK_EQ(kt_io(&t)->rax, 0x10u * (uint32_t)i + cpu);
				kt_skip(&t, &kt_io(&t)->header);
			}
			sidecar_vp_release(t.vp);
		}
	}
	for (int i = 0; i < 2; i++)
		sidecar_client_close(c[i]);
}

/* Open and close repeatedly: nothing leaks or hangs. */
static void test_open_close(void)
{
	for (int i = 0; i < 5; i++) {
		struct sidecar_client *c;
		REQUIRE(sidecar_client_open("sim:backend=kvm,cpus=3", &c) == 0);
		sidecar_client_close(c);
	}
}

static const struct check_case cases[] = {
	CHECK_CASE(signal_ownership),
	CHECK_CASE(side_by_side),
	CHECK_CASE(open_close),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_kvm_init", CHECK_CASES(cases), .watchdog_s = 60,
						 .setup = kvm_require};
	return check_main(argc, argv, &suite);
}
