/* SPDX-License-Identifier: MIT */
/*
 * sidecar-kvm-bench: the cost of driving a real vCPU through the sidecar, against driving it
 * directly (issue #7; docs/kvm.md).
 *
 *   raw       one thread pinned to the sidecar CPU: KVM_RUN, an IO exit, KVM_RUN again (KVM
 *             completes the OUT and moves RIP itself), for a real-mode guest that does
 *             `1: out 0x80, al; jmp 1b`. The reference.
 *   raw+sync  the same with kvm_valid_regs = REGS|SREGS|EVENTS: what KVM's copy-out of the
 *             state a Hyper-V message needs costs by itself (an attribution, not a goal).
 *   raw+fpu   the raw loop plus KVM_GET_XSAVE after each exit: what storing the FXSAVE image
 *             after every run would cost (an attribution).
 *   sidecar   the same guest through libsidecar with the kvm backend: the client thread pinned
 *             to --client-cpu, the sidecar CPU to --sidecar-cpu (pin=), SIDECAR_WAIT_POLL; each
 *             round trip is sidecar_vp_run_sync() to the OUT intercept, then the VMM moves RIP
 *             past it through the register page (Hyper-V semantics).
 *   sidecar/io  the same round trip the short way: sidecar_vp_io_exit() for the OUT and
 *             sidecar_vp_complete_io(), so that the kernel moves RIP at the next run and the
 *             VMM touches only the fast line (docs/runtime.md, "Port I/O: the short way").
 *             After each of its blocks the VP is released and acquired again, so that the
 *             other rows run without the kernel's summary (asked for from the first short
 *             completion on). The statistics line adds up both rows.
 *   spin      the spin reference (bench/bench_refs.h) between the same two CPUs: one line
 *             each way. raw+sync + spin is the least a hand-off between the CPUs can cost.
 *
 * All are measured in --rounds interleaved blocks (raw, raw+sync, raw+fpu, sidecar,
 * sidecar/io, spin, raw, ...), each after a short warm-up, so that a shared machine's slow
 * phases hit all of them alike. Prints min/p50/p99/max of each over all blocks, the ratios
 * of the p50s (the goal: sidecar <= 1.10 x raw) and the spread of the per-round ratios.
 * Exit 77 when /dev/kvm is missing or unusable.
 *
 * --sites N: the guest does N `out 0x80, al` in a row, then jumps back (default 1), so that the
 * exits come from N instructions in turn. The backend remembers the last few I/O sites it
 * located (docs/kvm.md, "Cost"): with more sites than that, no exit finds its site remembered
 * and every one is located by decoding. That measures the decoding path; the default guest
 * measures the common one.
 *
 *   sidecar-kvm-bench [--iterations N] [--rounds R] [--client-cpu C] [--sidecar-cpu S] [--sites N] [--smoke]
 */
#include "bench_cpu.h"
#include "bench_refs.h"
#include "futex.h"
#include <sidecar/client.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_RIP 0x1000
#define GUEST_PORT 0x80

#define MAX_SITES 32

/* 1000: N times `out 0x80, al`; jmp 1000 (built by set_guest_code) */
static uint8_t guest_code[2 * MAX_SITES + 2];
static size_t guest_code_size;

static void set_guest_code(unsigned int sites)
{
	for (unsigned int i = 0; i < sites; i++) {
		guest_code[2 * i] = 0xe6;
		guest_code[2 * i + 1] = GUEST_PORT;
	}
	guest_code[2 * sites] = 0xeb;
	guest_code[2 * sites + 1] = (uint8_t) - (int)(2 * sites + 2);
	guest_code_size = 2 * sites + 2;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct stats {
	uint64_t min, p50, p99, max;
};

/* Percentiles of a sorted copy: the sample at rank ceil(p * n) - 1. */
static struct stats summarize(uint64_t *v, size_t n)
{
	struct stats s = {0};

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_u64);
	s.min = v[0];
	s.p50 = v[(n * 50 + 99) / 100 - 1];
	s.p99 = v[(n * 99 + 99) / 100 - 1];
	s.max = v[n - 1];
	return s;
}

/* ---- the raw loop ------------------------------------------------------------------------ */

struct raw_vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	struct kvm_xsave *xsave;
	size_t xsave_size;
};

static int raw_setup(struct raw_vm *r)
{
	const size_t mem_size = 1u << 20;
	struct kvm_sregs s;
	struct kvm_regs regs;

	memset(r, 0, sizeof(*r));
	r->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (r->kvm < 0)
		return -errno;
	r->vm = ioctl(r->kvm, KVM_CREATE_VM, 0);
	if (r->vm < 0)
		return -errno;
	ioctl(r->vm, KVM_SET_TSS_ADDR, 0xfeffd000ul);
	r->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->mem == MAP_FAILED)
		return -errno;
	memcpy(r->mem + GUEST_RIP, guest_code, guest_code_size);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = mem_size, .userspace_addr = (uintptr_t)r->mem};
	if (ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	r->vcpu = ioctl(r->vm, KVM_CREATE_VCPU, 0);
	if (r->vcpu < 0)
		return -errno;
	int size = ioctl(r->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return -EINVAL;
	r->run_size = (size_t)size;
	r->run = mmap(NULL, r->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->vcpu, 0);
	if (r->run == MAP_FAILED)
		return -errno;
	if (ioctl(r->vcpu, KVM_GET_SREGS, &s))
		return -errno;
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(r->vcpu, KVM_SET_SREGS, &s))
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_RIP;
	regs.rflags = 2;
	if (ioctl(r->vcpu, KVM_SET_REGS, &regs))
		return -errno;
	int x2 = ioctl(r->kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	r->xsave_size = x2 > (int)sizeof(struct kvm_xsave) ? (size_t)x2 : sizeof(struct kvm_xsave);
	r->xsave = calloc(1, r->xsave_size);
	return r->xsave ? 0 : -ENOMEM;
}

static void raw_teardown(struct raw_vm *r)
{
	free(r->xsave);
	if (r->run && r->run != MAP_FAILED)
		munmap(r->run, r->run_size);
	if (r->vcpu > 0)
		close(r->vcpu);
	if (r->vm > 0)
		close(r->vm);
	if (r->kvm > 0)
		close(r->kvm);
	if (r->mem && r->mem != MAP_FAILED)
		munmap(r->mem, 1u << 20);
}

enum raw_kind { RAW_PLAIN, RAW_SYNC, RAW_FPU, RAW_KINDS };

static int raw_loop(struct raw_vm *r, uint64_t *lat, size_t n, size_t warmup, enum raw_kind kind)
{
	unsigned long get = r->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	bool fpu = kind == RAW_FPU;

	r->run->kvm_valid_regs = kind == RAW_SYNC ? KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS : 0;
	for (size_t i = 0; i < warmup + n; i++) {
		uint64_t t0 = sidecar_now_ns();
		if (ioctl(r->vcpu, KVM_RUN, NULL) < 0)
			return -errno;
		if (fpu && ioctl(r->vcpu, get, r->xsave) < 0)
			return -errno;
		uint64_t t1 = sidecar_now_ns();
		if (r->run->exit_reason != KVM_EXIT_IO || r->run->io.port != GUEST_PORT) {
			fprintf(stderr, "raw loop: unexpected exit %u\n", r->run->exit_reason);
			return -EIO;
		}
		if (i >= warmup)
			lat[i - warmup] = t1 - t0;
	}
	r->run->kvm_valid_regs = 0;
	return 0;
}

/* The raw loops run on a thread of their own, pinned to the sidecar CPU, one block per
 * request, while the client thread waits (and the sidecar CPU's thread is parked). */
struct raw_thread {
	struct raw_vm vm;
	int cpu;
	sem_t go, done;
	bool quit;
	uint64_t *lat;
	size_t n, warmup;
	enum raw_kind kind;
	int rc;
};

static void *raw_main(void *arg)
{
	struct raw_thread *t = arg;

	if (t->cpu >= 0 && bench_pin_self(t->cpu))
		t->rc = -EINVAL;
	for (;;) {
		sem_wait(&t->go);
		if (t->quit)
			break;
		if (!t->rc)
			t->rc = raw_loop(&t->vm, t->lat, t->n, t->warmup, t->kind);
		sem_post(&t->done);
	}
	return NULL;
}

static int raw_block(struct raw_thread *t, uint64_t *lat, size_t n, size_t warmup, enum raw_kind kind)
{
	t->lat = lat;
	t->n = n;
	t->warmup = warmup;
	t->kind = kind;
	sem_post(&t->go);
	sem_wait(&t->done);
	return t->rc;
}

/* ---- the sidecar round trip --------------------------------------------------------------- */

/* The short way: the OUT from the fast line, RIP moved by the kernel at the next run. */
static int sidecar_io_loop(struct sidecar_vp *vp, uint64_t *lat, size_t n, size_t warmup)
{
	for (size_t i = 0; i < warmup + n; i++) {
		bool intercept = false;
		struct sidecar_io_exit io;
		uint64_t t0 = sidecar_now_ns();
		int rc = sidecar_vp_run_sync(vp, &intercept);
		uint64_t t1 = sidecar_now_ns();
		if (!rc)
			rc = intercept ? sidecar_vp_io_exit(vp, &io) : -EIO;
		if (!rc && (io.port != GUEST_PORT || !io.write))
			rc = -EIO;
		if (!rc)
			rc = sidecar_vp_complete_io(vp, 0);
		if (rc) {
			fprintf(stderr, "sidecar io loop: %s %s\n", sidecar_strerror(rc), sidecar_vp_error_string(vp));
			return rc;
		}
		if (i >= warmup)
			lat[i - warmup] = t1 - t0;
	}
	return 0;
}

/* The partner busy-waits between round trips: it lives for its block only, so that it takes
 * nothing from the sidecar CPU's and the raw loop's thread on that CPU. */
static int spin_loop(int cpu, uint64_t *lat, size_t n, size_t warmup)
{
	struct bench_ref *ref = NULL;
	int rc = bench_ref_start(BENCH_REF_SPIN, cpu, cpu < 0, &ref);
	if (rc) {
		fprintf(stderr, "spin reference: %s\n", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < warmup + n; i++) {
		uint64_t t0 = sidecar_now_ns();
		bench_ref_round_trip(ref);
		uint64_t t1 = sidecar_now_ns();
		if (i >= warmup)
			lat[i - warmup] = t1 - t0;
	}
	bench_ref_stop(ref);
	return 0;
}

static int sidecar_loop(struct sidecar_vp *vp, uint64_t *lat, size_t n, size_t warmup)
{
	const struct hv_message *msg = sidecar_vp_intercept_message(vp);
	const struct hv_x64_io_port_intercept_message *io = (const void *)msg->payload;
	struct hv_x64_register_page *page = sidecar_vp_register_page(vp);

	for (size_t i = 0; i < warmup + n; i++) {
		bool intercept = false;
		uint64_t t0 = sidecar_now_ns();
		int rc = sidecar_vp_run_sync(vp, &intercept);
		uint64_t t1 = sidecar_now_ns();
		if (rc || !intercept || msg->header.type != HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT ||
		    io->port_number != GUEST_PORT) {
			fprintf(stderr, "sidecar loop: %s %s\n", sidecar_strerror(rc), sidecar_vp_error_string(vp));
			return rc ? rc : -EIO;
		}
		/* The VMM completes the OUT: RIP past it, through the register page. */
		page->rip = io->header.rip + (io->header.instruction_length_and_cr8 & 0xf);
		page->dirty |= HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
		if (i >= warmup)
			lat[i - warmup] = t1 - t0;
	}
	return 0;
}

static int sidecar_setup(int sidecar_cpu, struct sidecar_client **c, struct sidecar_vp **vp, char *err, size_t len)
{
	char target[128];
	void *mem;
	size_t size;
	int rc;

	if (sidecar_cpu >= 0)
		snprintf(target, sizeof(target), "sim:backend=kvm,cpus=1,mem=1M,pin=%d", sidecar_cpu);
	else
		snprintf(target, sizeof(target), "sim:backend=kvm,cpus=1,mem=1M");
	rc = sidecar_client_open_err(target, c, err, len);
	if (rc)
		return rc;
	rc = sidecar_client_guest_memory(*c, &mem, &size);
	if (!rc)
		rc = sidecar_vp_acquire(*c, 1, vp); /* CPU 0 is Linux's */
	if (!rc)
		rc = sidecar_vp_set_wait_mode(*vp, SIDECAR_WAIT_POLL);
	if (rc) {
		snprintf(err, len, "setup: %s", sidecar_strerror(rc));
		return rc;
	}
	memcpy((uint8_t *)mem + GUEST_RIP, guest_code, guest_code_size);
	struct hv_register_assoc regs[3];
	memset(regs, 0, sizeof(regs));
	regs[0].name = HV_X64_REGISTER_CS;
	regs[0].value.segment =
		(struct hv_x64_segment_register){.base = 0, .limit = 0xffff, .selector = 0, .attributes = 0x9b};
	regs[1].name = HV_X64_REGISTER_RIP;
	regs[1].value.reg64 = GUEST_RIP;
	regs[2].name = HV_X64_REGISTER_RFLAGS;
	regs[2].value.reg64 = 2;
	rc = sidecar_vp_set_registers(*vp, 0, regs, 3);
	if (rc)
		snprintf(err, len, "registers: %s", sidecar_strerror(rc));
	return rc;
}

/* The statistics of an accessor about to be released, into the run's total. */
static void add_stats(struct sidecar_vp *vp, struct sidecar_vp_stats *total)
{
	struct sidecar_vp_stats st;

	sidecar_vp_get_stats(vp, &st);
	total->runs += st.runs;
	total->intercepts += st.intercepts;
	total->cancels += st.cancels;
	total->polled_completions += st.polled_completions;
	total->sleeps += st.sleeps;
	total->request_signals += st.request_signals;
	total->response_signals += st.response_signals;
}

static void print_row(const char *name, struct stats s)
{
	printf("%-10s %10.2f %10.2f %10.2f %10.2f\n", name, s.min / 1e3, s.p50 / 1e3, s.p99 / 1e3, s.max / 1e3);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--iterations N] [--rounds R] [--client-cpu C] [--sidecar-cpu S] [--sites N] [--smoke]\n",
		argv0);
}

static uint64_t block_p50(const uint64_t *v, size_t n, uint64_t *tmp)
{
	memcpy(tmp, v, n * sizeof(*v));
	return summarize(tmp, n).p50;
}

int main(int argc, char **argv)
{
	size_t iterations = 20000, rounds = 10, warmup = 200, sites = 1;
	int client_cpu = 0, sidecar_cpu = 1;
	bool smoke = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke")) {
			smoke = true;
		} else if (!strcmp(argv[i], "--sites") && i + 1 < argc) {
			sites = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
			iterations = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--client-cpu") && i + 1 < argc) {
			client_cpu = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--sidecar-cpu") && i + 1 < argc) {
			sidecar_cpu = atoi(argv[++i]);
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (smoke) {
		iterations = 200;
		rounds = 2;
		warmup = 20;
	}
	if (rounds == 0 || iterations < rounds || sites == 0 || sites > MAX_SITES) {
		usage(argv[0]);
		return 2;
	}
	set_guest_code((unsigned int)sites);
	size_t block = iterations / rounds;
	iterations = block * rounds;

	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP: /dev/kvm is not usable here: %s\n", strerror(errno));
		return 77;
	}
	close(fd);

	/* The smoke run must work anywhere: without the CPUs asked for, run unpinned. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (client_cpu >= ncpu || sidecar_cpu >= ncpu) {
		if (!smoke) {
			fprintf(stderr, "cpu %d or %d does not exist (%ld online)\n", client_cpu, sidecar_cpu, ncpu);
			return 2;
		}
		client_cpu = sidecar_cpu = -1;
	}

	uint64_t *raw[RAW_KINDS], *side = calloc(iterations, sizeof(*side)), *tmp = calloc(block, sizeof(*tmp));
	uint64_t *side_io = calloc(iterations, sizeof(*side_io)), *spin = calloc(iterations, sizeof(*spin));
	double *ratio = calloc(rounds, sizeof(*ratio));
	for (int k = 0; k < RAW_KINDS; k++)
		raw[k] = calloc(iterations, sizeof(*raw[k]));
	if (!raw[RAW_PLAIN] || !raw[RAW_SYNC] || !raw[RAW_FPU] || !side || !side_io || !spin || !tmp || !ratio)
		return 1;

	/* The raw VM and its thread, on the sidecar CPU. */
	static struct raw_thread t;
	int rc = raw_setup(&t.vm);
	if (rc) {
		printf("SKIP: /dev/kvm cannot run a VM here: %s\n", strerror(-rc));
		raw_teardown(&t.vm);
		return 77;
	}
	t.cpu = sidecar_cpu;
	sem_init(&t.go, 0, 0);
	sem_init(&t.done, 0, 0);
	pthread_t raw_tid;
	if (pthread_create(&raw_tid, NULL, raw_main, &t)) {
		fprintf(stderr, "cannot start the raw loop's thread\n");
		return 1;
	}

	/* The sidecar: client here, sidecar CPU there. */
	if (client_cpu >= 0 && bench_pin_self(client_cpu)) {
		fprintf(stderr, "cannot pin to cpu %d\n", client_cpu);
		return 1;
	}
	struct sidecar_client *c = NULL;
	struct sidecar_vp *vp = NULL;
	struct sidecar_vp_stats st = {0};
	char err[256] = "";
	rc = sidecar_setup(sidecar_cpu, &c, &vp, err, sizeof(err));
	if (rc)
		fprintf(stderr, "sidecar: %s\n", err);

	for (size_t r = 0; r < rounds && !rc; r++) {
		size_t off = r * block;
		for (int k = 0; k < RAW_KINDS && !rc; k++) {
			rc = raw_block(&t, raw[k] + off, block, warmup, (enum raw_kind)k);
			if (rc)
				fprintf(stderr, "raw loop: %s\n", strerror(-rc));
		}
		if (!rc)
			rc = sidecar_loop(vp, side + off, block, warmup);
		if (!rc)
			rc = sidecar_io_loop(vp, side_io + off, block, warmup);
		if (!rc) {
			/* A fresh accessor: the short way's summary (asked for from its first
			 * completion on) stays out of the other rows. The VP keeps its state. */
			add_stats(vp, &st);
			sidecar_vp_release(vp);
			vp = NULL;
			rc = sidecar_vp_acquire(c, 1, &vp);
			if (!rc)
				rc = sidecar_vp_set_wait_mode(vp, SIDECAR_WAIT_POLL);
			if (rc)
				fprintf(stderr, "sidecar: re-acquire: %s\n", sidecar_strerror(rc));
		}
		if (!rc)
			rc = spin_loop(sidecar_cpu, spin + off, block, warmup);
		if (!rc)
			ratio[r] = (double)block_p50(side + off, block, tmp) /
				   (double)block_p50(raw[RAW_PLAIN] + off, block, tmp);
	}
	t.quit = true;
	sem_post(&t.go);
	pthread_join(raw_tid, NULL);
	raw_teardown(&t.vm);

	if (vp) {
		add_stats(vp, &st);
		sidecar_vp_release(vp);
	}
	if (c)
		sidecar_client_close(c);
	if (rc)
		return 1;

	struct stats sr = summarize(raw[RAW_PLAIN], iterations), ssync = summarize(raw[RAW_SYNC], iterations),
		     sf = summarize(raw[RAW_FPU], iterations), ss = summarize(side, iterations),
		     sio = summarize(side_io, iterations), sspin = summarize(spin, iterations);
	qsort(ratio, rounds, sizeof(*ratio), cmp_double);
	printf("kvm round trip, %zu rounds of %zu iterations (each after %zu warm-up), client cpu %d, sidecar cpu %d, "
	       "wait mode poll, %zu OUT site(s)\n",
	       rounds, block, warmup, client_cpu, sidecar_cpu, sites);
	printf("%-10s %10s %10s %10s %10s   (microseconds)\n", "", "min", "p50", "p99", "max");
	print_row("raw", sr);
	print_row("raw+sync", ssync);
	print_row("raw+fpu", sf);
	print_row("sidecar", ss);
	print_row("sidecar/io", sio);
	print_row("spin", sspin);
	printf("sidecar/raw p50: %.3f (goal <= 1.10)   per round: min %.3f median %.3f max %.3f\n",
	       (double)ss.p50 / (double)sr.p50, ratio[0], ratio[(rounds - 1) / 2], ratio[rounds - 1]);
	printf("raw+sync/raw p50: %.3f   sidecar/(raw+sync) p50: %.3f   sidecar/(raw+fpu) p50: %.3f\n",
	       (double)ssync.p50 / (double)sr.p50, (double)ss.p50 / (double)ssync.p50, (double)ss.p50 / (double)sf.p50);
	printf("sidecar/io/(raw+sync) p50: %.3f   the limit, (raw+sync + spin)/(raw+sync): %.3f   "
	       "over raw+sync + spin: sidecar %+.0f ns, sidecar/io %+.0f ns\n",
	       (double)sio.p50 / (double)ssync.p50, (double)(ssync.p50 + sspin.p50) / (double)ssync.p50,
	       (double)ss.p50 - (double)(ssync.p50 + sspin.p50), (double)sio.p50 - (double)(ssync.p50 + sspin.p50));
	printf("sidecar, both rows: %llu runs, %llu polled completions, %llu sleeps, %llu request / %llu response "
	       "signals\n",
	       (unsigned long long)st.runs, (unsigned long long)st.polled_completions, (unsigned long long)st.sleeps,
	       (unsigned long long)st.request_signals, (unsigned long long)st.response_signals);
	for (int k = 0; k < RAW_KINDS; k++)
		free(raw[k]);
	free(side);
	free(side_io);
	free(spin);
	free(tmp);
	free(ratio);
	return 0;
}
