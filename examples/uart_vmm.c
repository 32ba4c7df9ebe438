/* SPDX-License-Identifier: MIT */
/*
 * sidecar-example-uart: a small VMM on libsidecar whose run loop has no decoder of its own.
 * Every port-I/O and MMIO intercept goes to <sidecar/emulate.h>, which calls back into two
 * device models: a 16550-style UART on COM1 (the guest's output goes to stdout) and a
 * register block in device memory. HLT ends the run.
 *
 *   sidecar-example-uart [--target T] [--wait-mode seed|futex|poll|adaptive]
 *
 * With the KVM backend (the default target, sim:backend=kvm) the guest is real 64-bit code
 * (uart_guest.S): it polls the UART's line status register before each character, reads,
 * writes and read-modify-writes the register block and copies from it with REP MOVSB. The
 * synthetic backend (a sim target without backend=kvm) runs no guest code: its canned guest
 * is one `out dx, al` to COM1 per run with AL from the CPU context, so there the example
 * supplies each character in RAX and the helper and the UART model do the rest; the
 * register block is not reached. Exit 77 when the KVM backend cannot be opened here.
 */
#include <sidecar/client.h>
#include <sidecar/emulate.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- COM1: a 16550-style UART, transmit side ----------------------------------------------- */

#define COM1 0x3f8
#define UART_THR 0 /* write: transmit holding register */
#define UART_IER 1
#define UART_IIR 2 /* read: interrupt identification; write: FCR */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5 /* line status: bit 5 THRE, bit 6 TEMT */
#define UART_MSR 6
#define UART_SCR 7
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

struct uart {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	unsigned long lsr_reads; /* the transmitter is "busy" on every other LSR read */
	unsigned long chars;
};

static int uart_read(struct uart *u, unsigned int reg, uint32_t *value)
{
	bool dlab = u->lcr & 0x80;

	switch (reg) {
	case UART_THR:
		*value = dlab ? u->dll : 0; /* no receiver: RBR reads 0 */
		break;
	case UART_IER:
		*value = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		*value = 0x01; /* no interrupt pending */
		break;
	case UART_LCR:
		*value = u->lcr;
		break;
	case UART_MCR:
		*value = u->mcr;
		break;
	case UART_LSR:
		/* A slow line: the guest has to poll. */
		*value = (u->lsr_reads++ & 1) ? LSR_THRE | LSR_TEMT : 0;
		break;
	case UART_MSR:
		*value = 0xb0; /* CTS, DSR, DCD */
		break;
	default:
		*value = u->scr;
		break;
	}
	return 0;
}

static int uart_write(struct uart *u, unsigned int reg, uint32_t value)
{
	bool dlab = u->lcr & 0x80;

	switch (reg) {
	case UART_THR:
		if (dlab) {
			u->dll = (uint8_t)value;
		} else {
			putchar((int)(value & 0xff));
			u->chars++;
		}
		break;
	case UART_IER:
		if (dlab)
			u->dlm = (uint8_t)value;
		else
			u->ier = value & 0x0f;
		break;
	case UART_LCR:
		u->lcr = (uint8_t)value;
		break;
	case UART_MCR:
		u->mcr = value & 0x1f;
		break;
	case UART_SCR:
		u->scr = (uint8_t)value;
		break;
	default:
		break; /* FCR, LSR, MSR: ignored */
	}
	return 0;
}

/* ---- DEMO: a register block in device memory ------------------------------------------------- */

#define DEMO_BASE 0x20000000ull
#define DEMO_SIZE 0x1000
#define DEMO_ID 0x00
#define DEMO_CTRL 0x04
#define DEMO_SCRATCH 0x08
#define DEMO_STATUS 0x0c
#define DEMO_NAME 0x20
#define DEMO_ID_VALUE 0x5344454du /* "MEDS" */

struct demo {
	uint32_t ctrl, scratch;
	uint8_t writes;
	unsigned long accesses;
};

static const char demo_name[16] = "sidecar demo dev";

static uint32_t demo_reg(const struct demo *d, uint64_t off)
{
	switch (off) {
	case DEMO_ID:
		return DEMO_ID_VALUE;
	case DEMO_CTRL:
		return d->ctrl;
	case DEMO_SCRATCH:
		return d->scratch;
	case DEMO_STATUS:
		return (d->ctrl & 1) | (uint32_t)d->writes << 8;
	default:
		if (off >= DEMO_NAME && off < DEMO_NAME + 16) {
			uint32_t v = 0;
			memcpy(&v, demo_name + (off - DEMO_NAME), off + 4 <= DEMO_NAME + 16 ? 4 : DEMO_NAME + 16 - off);
			return v;
		}
		return 0xffffffffu;
	}
}

/* Byte-granular on top of the 32-bit registers: any size, any alignment inside the block. */
static int demo_read(struct demo *d, uint64_t off, uint8_t size, uint64_t *value)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint32_t reg = demo_reg(d, o & ~3ull);
		v |= (uint64_t)((reg >> (8 * (o & 3))) & 0xff) << (8 * i);
	}
	*value = v;
	d->accesses++;
	return 0;
}

static int demo_write(struct demo *d, uint64_t off, uint8_t size, uint64_t value)
{
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint32_t *reg = (o & ~3ull) == DEMO_CTRL ? &d->ctrl : (o & ~3ull) == DEMO_SCRATCH ? &d->scratch : NULL;
		if (reg) {
			unsigned int sh = 8 * (o & 3);
			*reg = (*reg & ~(0xffu << sh)) | (uint32_t)((value >> (8 * i)) & 0xff) << sh;
		}
	}
	d->writes++;
	d->accesses++;
	return 0;
}

/* ---- the callbacks the helper calls ---------------------------------------------------------- */

struct machine {
	struct uart uart;
	struct demo demo;
};

static int io_read(void *opaque, uint16_t port, uint8_t size, uint32_t *value)
{
	struct machine *m = opaque;
	if (port >= COM1 && port < COM1 + 8 && size == 1)
		return uart_read(&m->uart, port - COM1, value);
	*value = 0xffffffffu; /* nothing there: the bus floats high */
	return 0;
}

static int io_write(void *opaque, uint16_t port, uint8_t size, uint32_t value)
{
	struct machine *m = opaque;
	if (port >= COM1 && port < COM1 + 8 && size == 1)
		return uart_write(&m->uart, port - COM1, value);
	return 0;
}

static int mmio_read(void *opaque, uint64_t gpa, uint8_t size, uint64_t *value)
{
	struct machine *m = opaque;
	if (gpa >= DEMO_BASE && gpa + size <= DEMO_BASE + DEMO_SIZE)
		return demo_read(&m->demo, gpa - DEMO_BASE, size, value);
	*value = ~0ull;
	return 0;
}

static int mmio_write(void *opaque, uint64_t gpa, uint8_t size, uint64_t value)
{
	struct machine *m = opaque;
	if (gpa >= DEMO_BASE && gpa + size <= DEMO_BASE + DEMO_SIZE)
		return demo_write(&m->demo, gpa - DEMO_BASE, size, value);
	return 0;
}

static const struct sidecar_emulate_ops machine_ops = {
	.io_read = io_read,
	.io_write = io_write,
	.mmio_read = mmio_read,
	.mmio_write = mmio_write,
};

/* ---- setting the guest up ---------------------------------------------------------------------- */

extern const uint8_t uart_guest_start[], uart_guest_end[];

#define GUEST_CODE 0x10000ull
#define GUEST_STACK 0x80000ull
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define GDT 0x500ull

static struct hv_register_assoc reg(uint32_t name, uint64_t v)
{
	struct hv_register_assoc r;
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.value.reg64 = v;
	return r;
}

static struct hv_register_assoc seg(uint32_t name, uint16_t sel, uint16_t attr)
{
	struct hv_register_assoc r = reg(name, 0);
	r.value.segment.limit = 0xffffffff;
	r.value.segment.selector = sel;
	r.value.segment.attributes = attr;
	return r;
}

/* 64-bit mode with the first 1 GiB identity-mapped by 2 MiB pages (RAM and the register
 * block alike), the guest's code at GUEST_CODE. */
static int load_guest(struct sidecar_vp *vp, uint8_t *mem, size_t mem_size)
{
	size_t len = (size_t)(uart_guest_end - uart_guest_start);
	uint64_t *pml4 = (uint64_t *)(mem + PML4), *pdpt = (uint64_t *)(mem + PDPT), *pd = (uint64_t *)(mem + PD);
	uint64_t *gdt = (uint64_t *)(mem + GDT);

	if (mem_size < GUEST_STACK || len > GUEST_STACK - GUEST_CODE - 0x1000)
		return -EINVAL;
	memcpy(mem + GUEST_CODE, uart_guest_start, len);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = PDPT | 0x3;
	pdpt[0] = PD | 0x3;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull; /* 0x08: 64-bit code */
	gdt[2] = 0x00cf93000000ffffull; /* 0x10: data */

	struct hv_register_assoc r[] = {
		reg(HV_X64_REGISTER_GDTR, 0),          reg(HV_X64_REGISTER_CR3, PML4),
		reg(HV_X64_REGISTER_CR4, 0x20),       /* PAE */
		reg(HV_X64_REGISTER_EFER, 0x500),     /* LME LMA */
		reg(HV_X64_REGISTER_CR0, 0x80000011), /* PG ET PE */
		seg(HV_X64_REGISTER_CS, 0x08, 0xa09b), seg(HV_X64_REGISTER_DS, 0x10, 0xc093),
		seg(HV_X64_REGISTER_ES, 0x10, 0xc093), seg(HV_X64_REGISTER_SS, 0x10, 0xc093),
		seg(HV_X64_REGISTER_TR, 0, 0x8b),      reg(HV_X64_REGISTER_RIP, GUEST_CODE),
		reg(HV_X64_REGISTER_RSP, GUEST_STACK), reg(HV_X64_REGISTER_RFLAGS, 0x2),
	};
	r[0].value.table.base = GDT;
	r[0].value.table.limit = 23;
	r[9].value.segment.limit = 0xffff;
	return sidecar_vp_set_registers(vp, 0, r, sizeof(r) / sizeof(r[0]));
}

/* ---- the run loop ---------------------------------------------------------------------------------- */

static const char synthetic_text[] = "Hello from the synthetic backend: UART through the emulation helper.\n";

static int parse_mode(const char *s, enum sidecar_wait_mode *mode)
{
	static const char *const names[] = {"seed", "futex", "poll", "adaptive"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*mode = (enum sidecar_wait_mode)i;
			return 0;
		}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	const char *target = "sim:backend=kvm,cpus=1,mem=16M";
	enum sidecar_wait_mode mode = SIDECAR_WAIT_ADAPTIVE;
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	struct sidecar_emulator *emu;
	struct machine machine;
	char err[256];
	void *mem;
	size_t mem_size;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--target") && i + 1 < argc) {
			target = argv[++i];
		} else if (!strcmp(argv[i], "--wait-mode") && i + 1 < argc && !parse_mode(argv[i + 1], &mode)) {
			i++;
		} else {
			fprintf(stderr, "usage: %s [--target T] [--wait-mode seed|futex|poll|adaptive]\n", argv[0]);
			return 2;
		}
	}
	bool kvm = strstr(target, "backend=kvm") != NULL;

	rc = sidecar_client_open_err(target, &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: %s (%s)\n", target, sidecar_strerror(rc), err);
		return kvm && (rc == -ENOENT || rc == -EACCES || rc == -EPERM || rc == -ENODEV) ? 77 : 1;
	}
	if ((rc = sidecar_client_guest_memory(c, &mem, &mem_size)) || (rc = sidecar_vp_acquire(c, 1, &vp)) ||
	    (rc = sidecar_vp_set_wait_mode(vp, mode))) {
		fprintf(stderr, "setup: %s\n", sidecar_strerror(rc));
		return 1;
	}
	memset(&machine, 0, sizeof(machine));
	/* IO_SHORT: the UART's plain IN/OUT come from the fast line and are completed at the next
	 * run, without the message or the register page (docs/runtime.md). */
	struct sidecar_emulate_config cfg = {.ops = &machine_ops,
					     .opaque = &machine,
					     .ram = mem,
					     .ram_size = mem_size,
					     .flags = SIDECAR_EMULATE_F_IO_SHORT};
	if ((rc = sidecar_emulate_create(vp, &cfg, &emu))) {
		fprintf(stderr, "emulator: %s\n", sidecar_strerror(rc));
		return 1;
	}
	if (kvm && (rc = load_guest(vp, mem, mem_size))) {
		fprintf(stderr, "guest setup: %s\n", sidecar_strerror(rc));
		return 1;
	}

	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(vp);
	unsigned long intercepts = 0;
	size_t next_char = 0;
	for (;;) {
		bool intercept;
		if (!kvm) {
			/* The synthetic guest: `out dx, al` to COM1 with AL from here. */
			if (next_char == sizeof(synthetic_text) - 1)
				break;
			ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = (uint8_t)synthetic_text[next_char++];
			ctx->gps[SIDECAR_CPU_CONTEXT_RDX] = COM1;
		}
		if ((rc = sidecar_vp_run_sync(vp, &intercept))) {
			fprintf(stderr, "run: %s: %s\n", sidecar_strerror(rc), sidecar_vp_error_string(vp));
			return 1;
		}
		const struct hv_message *msg = sidecar_vp_intercept_message(vp);
		rc = sidecar_emulate_intercept(emu, msg);
		if (rc == -ENOMSG && sidecar_message_type(msg) == HV_MESSAGE_TYPE_X64_HALT)
			break;
		if (rc) {
			fprintf(stderr, "intercept %s: %s: %s\n", sidecar_message_type_name(sidecar_message_type(msg)),
				sidecar_strerror(rc), sidecar_emulate_error(emu));
			return 1;
		}
		intercepts++;
	}
	fflush(stdout);
	fprintf(stderr,
		"%s, %s: %lu intercepts completed by the helper (%lu characters, %lu LSR polls, %lu "
		"register-block accesses)\n",
		target, sidecar_wait_mode_name(mode), intercepts, machine.uart.chars, machine.uart.lsr_reads,
		machine.demo.accesses);
	sidecar_emulate_destroy(emu);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	return 0;
}
