/* SPDX-License-Identifier: MIT */
/*
 * The emulation helper's port I/O on a real vCPU (KVM backend): a 64-bit and a real-mode
 * guest do IN/OUT of every size and INS/OUTS with REP, DF, 32-bit addressing in 64-bit code,
 * segment bases and 16-bit wrap-around; the VMM loop only calls sidecar_emulate_intercept.
 * The guest stores what it sees (RAX after each IN, the string registers after them) and
 * the test checks that and the device's log. Each runs the default way (the message and the
 * register page) and the short way (SIDECAR_EMULATE_F_IO_SHORT: plain IN/OUT from the fast line,
 * completed by the kernel, or by the runtime in SEED mode). Skips without /dev/kvm.
 */
#include "emu_util.h"
#include "kvm_util.h"

static struct kvm_test kt;
static struct dev dev;
static struct sidecar_emulator *emu;

/* Runs the guest to HLT, completing every IO-port intercept with the helper. */
static unsigned int run_guest(void)
{
	unsigned int n = 0;

	for (;;) {
		kt_run(&kt);
		const struct hv_message *m = sidecar_vp_intercept_message(kt.vp);
		if (getenv("EMU_IO_TRACE")) {
			const struct hv_x64_io_port_intercept_message *io = (const void *)m->payload;
			fprintf(stderr, "type %#x rip %#llx len %u bytes %02x %02x\n", m->header.type,
				(unsigned long long)io->header.rip, io->header.instruction_length_and_cr8 & 15,
				io->instruction_bytes[0], io->instruction_bytes[1]);
		}
		int rc = sidecar_emulate_intercept(emu, m);
		if (rc == -ENOMSG) {
			if (kt_type(&kt) != HV_MESSAGE_TYPE_X64_HALT)
				fprintf(stderr, "unexpected %s at RIP %#llx\n", sidecar_message_type_name(kt_type(&kt)),
					(unsigned long long)((const struct hv_x64_intercept_message_header *)m->payload)
						->rip);
			REQUIRE(kt_type(&kt) == HV_MESSAGE_TYPE_X64_HALT);
			return n;
		}
		if (rc) {
			fprintf(stderr, "emulate: %s: %s\n", sidecar_strerror(rc), sidecar_emulate_error(emu));
			exit(1);
		}
		n++;
	}
}

static uint64_t mem64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, kt.mem + gpa, 8);
	return v;
}

/* How a case completes: the helper's flags and the VP's wait mode. */
struct way {
	uint32_t flags;
	enum sidecar_wait_mode mode;
};
#define WAY(f, m) (&(const struct way){(f), SIDECAR_WAIT_##m})

static void make_emu(const void *arg)
{
	const struct way *w = arg;
	struct sidecar_emulate_config cfg = {
		.ops = &dev_ops, .opaque = &dev, .ram = kt.mem, .ram_size = kt.mem_size, .flags = w->flags};

	REQUIRE(sidecar_vp_set_wait_mode(kt.vp, w->mode) == 0);
	REQUIRE(sidecar_emulate_create(kt.vp, &cfg, &emu) == 0);
}

static void test_long_mode(const void *arg)
{
	static const uint8_t code[] = {
		0x66, 0xba, 0xf8, 0x03,                                     /* mov dx, 0x3f8 */
		0xee,                                                       /* out dx, al */
		0xec,                                                       /* in al, dx */
		0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00,             /* mov [0x20000], rax */
		0x66, 0xed,                                                 /* in ax, dx */
		0x48, 0x89, 0x04, 0x25, 0x08, 0x00, 0x02, 0x00,             /* mov [0x20008], rax */
		0xed,                                                       /* in eax, dx */
		0x48, 0x89, 0x04, 0x25, 0x10, 0x00, 0x02, 0x00,             /* mov [0x20010], rax */
		0xe7, 0x80,                                                 /* out 0x80, eax */
		0xbe, 0x00, 0x10, 0x02, 0x00,                               /* mov esi, 0x21000 */
		0xb9, 0x05, 0x00, 0x00, 0x00,                               /* mov ecx, 5 */
		0xf3, 0x6e,                                                 /* rep outsb */
		0xbe, 0x06, 0x11, 0x02, 0x00,                               /* mov esi, 0x21106 */
		0xb9, 0x03, 0x00, 0x00, 0x00,                               /* mov ecx, 3 */
		0xfd,                                                       /* std */
		0xf3, 0x66, 0x6f,                                           /* rep outsw */
		0xfc,                                                       /* cld */
		0x48, 0x89, 0x34, 0x25, 0x18, 0x00, 0x02, 0x00,             /* mov [0x20018], rsi */
		0xbf, 0x00, 0x20, 0x02, 0x00,                               /* mov edi, 0x22000 */
		0xb9, 0x04, 0x00, 0x00, 0x00,                               /* mov ecx, 4 */
		0xf3, 0x6c,                                                 /* rep insb */
		0x48, 0x89, 0x3c, 0x25, 0x20, 0x00, 0x02, 0x00,             /* mov [0x20020], rdi */
		0x48, 0xbf, 0x00, 0x30, 0x02, 0x00, 0xff, 0xff, 0xff, 0xff, /* mov rdi, 0xffffffff00023000 */
		0x48, 0xb9, 0x02, 0x00, 0x00, 0x00, 0x77, 0x77, 0x00, 0x00, /* mov rcx, 0x777700000002 */
		0x67, 0xf3, 0x6d,                                           /* rep insd [edi] */
		0x48, 0x89, 0x3c, 0x25, 0x28, 0x00, 0x02, 0x00,             /* mov [0x20028], rdi */
		0x48, 0x89, 0x0c, 0x25, 0x30, 0x00, 0x02, 0x00,             /* mov [0x20030], rcx */
		0xf4,                                                       /* hlt */
	};
	struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(kt.vp);

	make_emu(arg);
	memcpy(kt.mem + 0x10000, code, sizeof(code));
	memcpy(kt.mem + 0x21000, "hello", 5);
	memcpy(kt.mem + 0x21100, "AABBCCDD", 8);
	memset(kt.mem + 0x22000, 0, 16);
	memset(kt.mem + 0x23000, 0, 16);
	kt_long_mode(&kt, 0x10000);
	ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x1122334455667741ull; /* AL = 'A' */
	dev.nout = 0;
	dev.in_value = 0xa1b2c3d4;

	unsigned int n = run_guest();
	/* 3 INs, 2 OUTs, and one intercept per string instruction. */
	CHECK_EQ(n, 9);
	CHECK_EQ(mem64(0x20000), 0x11223344556677d4ull); /* AL: the rest of RAX kept */
	CHECK_EQ(mem64(0x20008), 0x112233445566c3d5ull); /* AX */
	CHECK_EQ(mem64(0x20010), 0x00000000a1b2c3d6ull); /* EAX: zero-extended */
	/* OUT AL 'A', OUT EAX, "hello", then "DDCCBB" downwards. */
	CHECK_EQ(dev.nout, 1 + 4 + 5 + 6);
	CHECK_EQ(dev.out[0], 'A');
	CHECK_EQ(memcmp(dev.out + 1, "\xd6\xc3\xb2\xa1", 4), 0);
	CHECK_EQ(memcmp(dev.out + 5, "hello", 5), 0);
	CHECK_EQ(memcmp(dev.out + 10, "DDCCBB", 6), 0);
	CHECK_EQ(mem64(0x20018), 0x21100); /* RSI after the downward REP OUTSW */
	/* REP INSB: 4 bytes from the port (its counter goes on from 0xa1b2c3d7). */
	CHECK_EQ(memcmp(kt.mem + 0x22000, "\xd7\xd8\xd9\xda", 4), 0);
	CHECK_EQ(kt.mem[0x22004], 0);
	CHECK_EQ(mem64(0x20020), 0x22004);
	/* 67 REP INSD: EDI and ECX, zero-extended into RDI and RCX. */
	CHECK_EQ(*(uint32_t *)(kt.mem + 0x23000), 0xa1b2c3dbu);
	CHECK_EQ(*(uint32_t *)(kt.mem + 0x23004), 0xa1b2c3dcu);
	CHECK_EQ(*(uint32_t *)(kt.mem + 0x23008), 0);
	CHECK_EQ(mem64(0x20028), 0x23008);
	CHECK_EQ(mem64(0x20030), 0);
}

/* Real mode: DS and ES bases, SI/DI wrapping at 64 KiB. (A segment override on OUTS is
 * left to test_emulate_unit: the KVM backend reports `64 6e` as the `6e` it ends with,
 * which explains the exit as well; docs/emulate.md.) */
static void test_real_mode(const void *arg)
{
	static const uint8_t code[] = {
		0xba, 0x00, 0x05,       /* 1000: mov dx, 0x500 */
		0xb8, 0x00, 0x01,       /* mov ax, 0x100 */
		0x8e, 0xd8,             /* mov ds, ax         (base 0x1000) */
		0xb8, 0x00, 0x02,       /* mov ax, 0x200 */
		0x8e, 0xc0,             /* mov es, ax         (base 0x2000) */
		0xbe, 0xfe, 0xff,       /* mov si, 0xfffe */
		0xb9, 0x04, 0x00,       /* mov cx, 4 */
		0xf3, 0x6e,             /* rep outsb          ds:si, wraps */
		0xbf, 0xff, 0xff,       /* mov di, 0xffff */
		0xb9, 0x03, 0x00,       /* mov cx, 3 */
		0xf3, 0x6c,             /* rep insb           es:di, wraps */
		0x31, 0xc0,             /* xor ax, ax */
		0x8e, 0xd8,             /* mov ds, ax */
		0x89, 0x36, 0x00, 0x50, /* mov [0x5000], si */
		0x89, 0x3e, 0x02, 0x50, /* mov [0x5002], di */
		0x89, 0x0e, 0x04, 0x50, /* mov [0x5004], cx */
		0xf4,                   /* hlt */
	};

	memcpy(kt.mem + 0x1000, code, sizeof(code));
	memcpy(kt.mem + 0x1000 + 0xfffe, "wx", 2); /* DS:FFFE, DS:FFFF */
	/* DS:0000 and DS:0001 are the code's first bytes: 0xba 0x00. */
	memset(kt.mem + 0x2000, 0, 4);
	memset(kt.mem + 0x2000 + 0xffff, 0, 1);
	make_emu(arg);
	kt_real_mode(&kt, 0x1000);
	dev.nout = 0;
	dev.in_value = 0x61;

	unsigned int n = run_guest();
	CHECK_EQ(n, 2);
	CHECK_EQ(dev.nout, 4);
	CHECK_EQ(memcmp(dev.out, "wx\xba\x00", 4), 0);
	CHECK_EQ(kt.mem[0x2000 + 0xffff], 'a');
	CHECK_EQ(kt.mem[0x2000], 'b');
	CHECK_EQ(kt.mem[0x2001], 'c');
	CHECK_EQ(kt.mem[0x2002], 0);
	CHECK_EQ(*(uint16_t *)(kt.mem + 0x5000), 0x0002);
	CHECK_EQ(*(uint16_t *)(kt.mem + 0x5002), 0x0002);
	CHECK_EQ(*(uint16_t *)(kt.mem + 0x5004), 0);
}

/* Each case's client, VP, device and helper. */
static void setup(void)
{
	memset(&dev, 0, sizeof(dev));
	kt_open(&kt, "sim:backend=kvm,cpus=1");
	emu = NULL;
}

static void teardown(void)
{
	sidecar_emulate_destroy(emu);
	kt_close(&kt);
}

static const struct check_case cases[] = {
	CHECK_CASE_ARG(real_mode, page, WAY(0, FUTEX)),
	CHECK_CASE_ARG(real_mode, short_poll, WAY(SIDECAR_EMULATE_F_IO_SHORT, POLL)),
	CHECK_CASE_ARG(real_mode, short_seed, WAY(SIDECAR_EMULATE_F_IO_SHORT, SEED)),
	CHECK_CASE_ARG(long_mode, page, WAY(0, FUTEX)),
	CHECK_CASE_ARG(long_mode, short_poll, WAY(SIDECAR_EMULATE_F_IO_SHORT, POLL)),
	CHECK_CASE_ARG(long_mode, short_seed, WAY(SIDECAR_EMULATE_F_IO_SHORT, SEED)),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_emulate_io_kvm", CHECK_CASES(cases), .watchdog_s = 60,
						 .setup = setup, .teardown = teardown};
	return check_main(argc, argv, &suite);
}
