/* SPDX-License-Identifier: MIT */
/*
 * sidecar-emulate-bench: what completing an intercept with <sidecar/emulate.h> costs.
 *
 *   helper    the helper alone, per call, on a stopped VP (the synthetic backend; nothing
 *             runs): a plain OUT (the synthetic guest's own message), IN, a MOV store to and
 *             a MOV load from device memory, an ADD to device memory (read, ALU, flags,
 *             write) and a 16-byte REP OUTSB. Each is timed over --iterations calls, five
 *             times; min and median ns per call. The device callbacks do nothing but store.
 *             "OUT, SET_REGISTERS" is the same OUT completed with SIDECAR_EMULATE_F_SET_
 *             REGISTERS: RIP through a SET (a round trip to the sidecar CPU) instead of the
 *             register page.
 *   kvm       whole round trips on the KVM backend (skipped without /dev/kvm): a real-mode
 *             guest looping on `out 0x80, al` or on `mov [bx], al` to device memory, the
 *             VMM completing each intercept by hand (RIP += length in the register page),
 *             with the helper, or with the helper and SET_REGISTERS; SIDECAR_WAIT_POLL (or
 *             --wait-mode),
 *             client and sidecar CPU pinned apart where there are two CPUs; interleaved
 *             blocks, p50 and p99 per round trip.
 *
 *   sidecar-emulate-bench [--iterations N] [--round-trips N] [--wait-mode M] [--no-kvm] [--smoke]
 */
#include <sidecar/client.h>
#include <sidecar/emulate.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MMIO_BASE 0x10000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- a device that only records -------------------------------------------------------- */

static volatile uint64_t sink;

static int io_read(void *opaque, uint16_t port, uint8_t size, uint32_t *value)
{
	*value = port;
	return 0;
}

static int io_write(void *opaque, uint16_t port, uint8_t size, uint32_t value)
{
	sink = value;
	return 0;
}

static int mmio_read(void *opaque, uint64_t gpa, uint8_t size, uint64_t *value)
{
	*value = gpa;
	return 0;
}

static int mmio_write(void *opaque, uint64_t gpa, uint8_t size, uint64_t value)
{
	sink = value;
	return 0;
}

static const struct sidecar_emulate_ops ops = {io_read, io_write, mmio_read, mmio_write, NULL, NULL};

/* ---- messages ---------------------------------------------------------------------------- */

static void header(struct hv_x64_intercept_message_header *h, uint64_t rip, unsigned int len, uint8_t access)
{
	memset(h, 0, sizeof(*h));
	h->instruction_length_and_cr8 = (uint8_t)len;
	h->intercept_access_type = access;
	h->execution_state = HV_X64_EXEC_STATE_CR0_PE | HV_X64_EXEC_STATE_EFER_LMA;
	h->cs_segment.attributes = 0xa09b;
	h->rip = rip;
	h->rflags = 0x2;
}

static void mem_msg(struct hv_message *msg, const uint8_t *b, unsigned int len, uint8_t access)
{
	struct hv_x64_memory_intercept_message mi;

	memset(msg, 0, sizeof(*msg));
	memset(&mi, 0, sizeof(mi));
	header(&mi.header, 0x10000, len, access);
	mi.instruction_byte_count = (uint8_t)len;
	memcpy(mi.instruction_bytes, b, len);
	mi.guest_physical_address = mi.guest_virtual_address = MMIO_BASE + 0x100;
	mi.memory_access_info = HV_X64_MEMORY_ACCESS_GVA_VALID | HV_X64_MEMORY_ACCESS_GVA_GPA_VALID;
	msg->header.type = HV_MESSAGE_TYPE_UNMAPPED_GPA;
	msg->header.len = sizeof(mi);
	memcpy(msg->payload, &mi, sizeof(mi));
}

static void io_msg(struct hv_message *msg, const uint8_t *b, unsigned int len, uint8_t info, bool out)
{
	struct hv_x64_io_port_intercept_message io;

	memset(msg, 0, sizeof(*msg));
	memset(&io, 0, sizeof(io));
	header(&io.header, 0x10000, len, out ? HV_INTERCEPT_ACCESS_WRITE : HV_INTERCEPT_ACCESS_READ);
	io.port_number = 0x60;
	io.access_info = info;
	io.instruction_byte_count = (uint8_t)len;
	memcpy(io.instruction_bytes, b, len);
	msg->header.type = HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT;
	msg->header.len = sizeof(io);
	memcpy(msg->payload, &io, sizeof(io));
}

/* ---- the helper alone ------------------------------------------------------------------ */

struct op {
	const char *name;
	struct hv_message msg;
	bool io;
	bool string; /* reset RSI/RCX before each call */
	struct sidecar_emulator *emu;
};

static void time_op(const struct op *o, struct sidecar_cpu_context_x64 *ctx, struct hv_x64_register_page *page,
		    unsigned long iterations)
{
	uint64_t per[5];

	for (int r = 0; r < 5; r++) {
		uint64_t t0 = now_ns();
		for (unsigned long i = 0; i < iterations; i++) {
			if (o->string) {
				ctx->gps[SIDECAR_CPU_CONTEXT_RSI] = 0x4000;
				ctx->gps[SIDECAR_CPU_CONTEXT_RCX] = 16;
			}
			int rc = o->io ? sidecar_emulate_io(o->emu, &o->msg) : sidecar_emulate_mmio(o->emu, &o->msg);
			if (rc) {
				fprintf(stderr, "%s: %s (%s)\n", o->name, sidecar_strerror(rc),
					sidecar_emulate_error(o->emu));
				exit(1);
			}
		}
		per[r] = (now_ns() - t0) * 1000 / iterations; /* ps per call */
		page->dirty = 0;
	}
	qsort(per, 5, sizeof(per[0]), cmp_u64);
	printf("  %-28s %9.1f %9.1f\n", o->name, (double)per[0] / 1000, (double)per[2] / 1000);
}

static int bench_helper(unsigned long iterations)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	struct sidecar_emulator *emu, *emu_set;
	void *ram;
	size_t ram_size;
	bool intercept;
	int rc;

	if ((rc = sidecar_client_open("sim:cpus=1", &c)) || (rc = sidecar_client_guest_memory(c, &ram, &ram_size)) ||
	    (rc = sidecar_vp_acquire(c, 1, &vp)) || (rc = sidecar_vp_run_sync(vp, &intercept))) {
		fprintf(stderr, "sim: %s\n", sidecar_strerror(rc));
		return 1;
	}
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(vp);
	struct hv_x64_register_page *page = sidecar_vp_register_page(vp);
	struct sidecar_emulate_config cfg = {.ops = &ops, .ram = ram, .ram_size = ram_size};
	if ((rc = sidecar_emulate_create(vp, &cfg, &emu)))
		return 1;
	cfg.flags = SIDECAR_EMULATE_F_SET_REGISTERS;
	if ((rc = sidecar_emulate_create(vp, &cfg, &emu_set)))
		return 1;
	ctx->gps[SIDECAR_CPU_CONTEXT_RDI] = MMIO_BASE + 0x100;
	memcpy((uint8_t *)ram + 0x4000, "0123456789abcdef", 16);

	static const uint8_t in_al[] = {0xec}, st[] = {0x89, 0x07}, ld[] = {0x8b, 0x07}, add[] = {0x01, 0x07},
			     rep_outsb[] = {0xf3, 0x6e};
	static struct op o[7];
	memset(o, 0, sizeof(o));
	o[0].name = "OUT (plain)";
	o[0].msg = *sidecar_vp_intercept_message(vp); /* the synthetic guest's out dx, al */
	o[0].io = true;
	o[1].name = "IN (plain)";
	io_msg(&o[1].msg, in_al, 1, 1, false);
	o[1].io = true;
	o[2].name = "MOV [mmio], eax";
	mem_msg(&o[2].msg, st, 2, HV_INTERCEPT_ACCESS_WRITE);
	o[3].name = "MOV eax, [mmio]";
	mem_msg(&o[3].msg, ld, 2, HV_INTERCEPT_ACCESS_READ);
	o[4].name = "ADD [mmio], eax";
	mem_msg(&o[4].msg, add, 2, HV_INTERCEPT_ACCESS_READ);
	o[5].name = "REP OUTSB x16";
	io_msg(&o[5].msg, rep_outsb, 2, 1 | HV_X64_IO_ACCESS_STRING_OP | HV_X64_IO_ACCESS_REP_PREFIX, true);
	/* Real mode: no paging, so the source needs no translation (in 64-bit code the first
	 * element's page would cost one TRANSLATE_GVA). */
	((struct hv_x64_io_port_intercept_message *)o[5].msg.payload)->header.execution_state = 0;
	((struct hv_x64_io_port_intercept_message *)o[5].msg.payload)->header.cs_segment.attributes = 0x9b;
	o[5].io = true;
	o[5].string = true;
	o[6] = o[0];
	o[6].name = "OUT, SET_REGISTERS";
	for (int i = 0; i < 6; i++)
		o[i].emu = emu;
	o[6].emu = emu_set;

	printf("helper alone, ns per call (%lu calls x 5)\n  %-28s %9s %9s\n", iterations, "", "min", "median");
	for (int i = 0; i < 6; i++)
		time_op(&o[i], ctx, page, iterations);
	time_op(&o[6], ctx, page, iterations / 100 + 1);

	sidecar_emulate_destroy(emu);
	sidecar_emulate_destroy(emu_set);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	return 0;
}

/* ---- round trips on the KVM backend ----------------------------------------------------- */

enum completion { BY_HAND, HELPER, HELPER_SET, HELPER_SHORT, NCOMPLETION };
static const char *const completion_names[NCOMPLETION] = {"by hand (register page)", "helper", "helper, SET_REGISTERS",
							  "helper, IO_SHORT"};

static int pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int set_reg(struct sidecar_vp *vp, uint32_t name, uint64_t v)
{
	struct hv_register_assoc r;
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.value.reg64 = v;
	return sidecar_vp_set_registers(vp, 0, &r, 1);
}

static int bench_kvm(unsigned long round_trips, enum sidecar_wait_mode mode, bool smoke)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	struct sidecar_emulator *emu[NCOMPLETION] = {0};
	char target[96], err[256];
	void *ram;
	size_t ram_size;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("kvm: skipped (/dev/kvm: %s)\n", strerror(errno));
		return 0;
	}
	snprintf(target, sizeof(target), "sim:backend=kvm,cpus=1,mem=1M%s", ncpu >= 2 ? ",pin=1" : "");
	rc = sidecar_client_open_err(target, &c, err, sizeof(err));
	if (rc) {
		printf("kvm: skipped (%s)\n", err);
		return 0;
	}
	if (ncpu >= 2)
		pin_self(0);
	if ((rc = sidecar_client_guest_memory(c, &ram, &ram_size)) || (rc = sidecar_vp_acquire(c, 1, &vp)) ||
	    (rc = sidecar_vp_set_wait_mode(vp, mode)))
		return 1;
	struct sidecar_emulate_config cfg = {.ops = &ops, .ram = ram, .ram_size = ram_size};
	if (sidecar_emulate_create(vp, &cfg, &emu[HELPER]))
		return 1;
	cfg.flags = SIDECAR_EMULATE_F_SET_REGISTERS;
	if (sidecar_emulate_create(vp, &cfg, &emu[HELPER_SET]))
		return 1;
	cfg.flags = SIDECAR_EMULATE_F_IO_SHORT;
	if (sidecar_emulate_create(vp, &cfg, &emu[HELPER_SHORT]))
		return 1;

	/* Real mode, CS = 0; DS in device memory (its base is all the guest needs). */
	struct hv_register_assoc segs[2];
	memset(segs, 0, sizeof(segs));
	segs[0].name = HV_X64_REGISTER_CS;
	segs[0].value.segment = (struct hv_x64_segment_register){0, 0xffff, 0, 0x9b};
	segs[1].name = HV_X64_REGISTER_DS;
	segs[1].value.segment = (struct hv_x64_segment_register){MMIO_BASE, 0xffff, 0, 0x93};
	if ((rc = sidecar_vp_set_registers(vp, 0, segs, 2)))
		return 1;
	static const uint8_t guest_out[] = {0xe6, 0x80, 0xeb, 0xfc}, guest_mmio[] = {0x88, 0x07, 0xeb, 0xfc};
	memcpy((uint8_t *)ram + 0x1000, guest_out, sizeof(guest_out));
	memcpy((uint8_t *)ram + 0x2000, guest_mmio, sizeof(guest_mmio));

	unsigned int rounds = smoke ? 1 : 5, block = (unsigned int)(round_trips / rounds / NCOMPLETION);
	if (block < 10)
		block = 10;
	uint64_t *samples = calloc((size_t)block * rounds * NCOMPLETION * 2, sizeof(uint64_t));
	if (!samples)
		return 1;
	size_t nsamp[2][NCOMPLETION] = {{0}};
	struct hv_x64_register_page *page = sidecar_vp_register_page(vp);

	for (int g = 0; g < 2; g++) {
		if ((rc = set_reg(vp, HV_X64_REGISTER_RIP, g == 0 ? 0x1000 : 0x2000)))
			return 1;
		for (unsigned int r = 0; r < rounds; r++)
			for (int m = 0; m < NCOMPLETION; m++)
				for (unsigned int i = 0; i < block + 100; i++) {
					bool intercept;
					uint64_t t0 = now_ns();
					if ((rc = sidecar_vp_run_sync(vp, &intercept))) {
						fprintf(stderr, "run: %s\n", sidecar_strerror(rc));
						return 1;
					}
					const struct hv_message *msg = sidecar_vp_intercept_message(vp);
					if (m == BY_HAND) {
						const struct hv_x64_intercept_message_header *h =
							(const void *)msg->payload;
						page->rip = h->rip + (h->instruction_length_and_cr8 & 0xf);
						page->dirty |= HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
					} else if ((rc = sidecar_emulate_intercept(emu[m], msg))) {
						fprintf(stderr, "emulate: %s\n", sidecar_emulate_error(emu[m]));
						return 1;
					}
					uint64_t dt = now_ns() - t0;
					if (i >= 100) /* warm-up */
						samples[((size_t)(g * NCOMPLETION + m) * rounds * block) +
							nsamp[g][m]++] = dt;
				}
	}
	for (int g = 0; g < 2; g++) {
		printf("kvm round trip, %s, %s (%u x %u per way, interleaved; ns)\n  %-28s %9s %9s\n",
		       g == 0 ? "`out 0x80, al`" : "`mov [bx], al` to device memory", sidecar_wait_mode_name(mode),
		       rounds, block, "", "p50", "p99");
		for (int m = 0; m < NCOMPLETION; m++) {
			uint64_t *s = samples + (size_t)(g * NCOMPLETION + m) * rounds * block;
			size_t n = nsamp[g][m];
			qsort(s, n, sizeof(*s), cmp_u64);
			printf("  %-28s %9llu %9llu\n", completion_names[m], (unsigned long long)s[n / 2],
			       (unsigned long long)s[n * 99 / 100]);
		}
	}
	free(samples);
	sidecar_emulate_destroy(emu[HELPER]);
	sidecar_emulate_destroy(emu[HELPER_SET]);
	sidecar_emulate_destroy(emu[HELPER_SHORT]);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 2000000, round_trips = 60000;
	bool kvm = true, smoke = false;
	enum sidecar_wait_mode mode = SIDECAR_WAIT_POLL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iterations = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--round-trips") && i + 1 < argc)
			round_trips = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--wait-mode") && i + 1 < argc) {
			const char *m = argv[++i];
			mode = !strcmp(m, "seed")    ? SIDECAR_WAIT_SEED
			       : !strcmp(m, "futex") ? SIDECAR_WAIT_FUTEX
			       : !strcmp(m, "poll")  ? SIDECAR_WAIT_POLL
						     : SIDECAR_WAIT_ADAPTIVE;
		} else if (!strcmp(argv[i], "--no-kvm"))
			kvm = false;
		else if (!strcmp(argv[i], "--smoke"))
			smoke = true;
		else {
			fprintf(stderr, "usage: sidecar-emulate-bench [--iterations N] [--round-trips N] [--no-kvm] "
					"[--smoke]\n");
			return 2;
		}
	}
	if (smoke) {
		iterations = 20000;
		round_trips = 600;
	}
	if (!iterations)
		iterations = 1;
	if (bench_helper(iterations))
		return 1;
	if (kvm && bench_kvm(round_trips, mode, smoke))
		return 1;
	return 0;
}
