/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the sidecar kernel's command handling (kernel/core/dispatch.c, kernel/core/park.c)
 * against the synthetic backend, fed command pages from the other trust domain.
 *
 * One sidecar CPU is built by hand: a platform whose halt never blocks, the synthetic
 * backend (wrapped so that the input can make a run, or the VP's creation, fail) over a
 * 1 MiB guest memory whose contents (page tables) come from the input, one VP, and the
 * control, command and register pages in page-aligned static memory. No thread is started.
 * The input chooses the guest (io / halt / spin), the memory size, the io port, and one of
 * two modes:
 *
 *   dispatch  sidecar_kernel_dispatch() is called directly for each command, as the loop
 *             does after taking it from the page;
 *   loop      sidecar_kernel_cpu_main() runs on the fuzzer's thread: the platform's halt
 *             is where the "VMM" acts, so the upstream path (cpu_status RUN / STOP), the fast
 *             line (mailbox doorbell, stop_seq, suppression, poll windows), garbage status
 *             bytes, spurious wake-ups, REMOVE and the CPU's leaving are all served for real.
 *             A VMM turn can also be deferred into the CPU's poll loop (a request arriving
 *             while it polls) or to the fault point before it announces PARKED (a request
 *             that only the re-check after the announcement sees).
 *
 * Then a sequence of operations (docs/fuzzing.md has the byte format): pokes of arbitrary
 * bytes anywhere in the command page (CPU context, request data, fast line...), in the
 * register page (is_valid, dirty) and in guest memory; GET/SET_VP_REGISTERS requests with
 * any count and VTL and register names from the known ranges (one past each end included) or
 * raw; TRANSLATE_GVA with any GVN and flags; RUN_VP; any raw u32 command; and platform knobs.
 *
 * After each command (in loop mode, at the next halt) the invariants are checked:
 *   - has_error is 0 or 1; an unknown command and a GET/SET count above 31 set it with the
 *     upstream error string and change nothing else (the status field stays as it was);
 *     other commands leave it clear, RUN_VP too unless a failure was injected (then the
 *     backend's reason, else "vp run failed: -5", and no response);
 *   - GET/SET with count <= 31: the status is a defined hv_status, INVALID_PARAMETER for an
 *     invalid VTL byte; only the status, the values of the `count` entries (GET) or the CPU
 *     context (SET) change; a GET agrees with the same names read one at a time (status of
 *     the first failure, values before it, nothing from it on) and a successful SET reads
 *     back (dispatch mode);
 *   - TRANSLATE_GVA: status SUCCESS, or INVALID_PARAMETER (exactly for bad flags) with a
 *     zero output; the result decodes with the runtime's sidecar_translate_decode, gpa_page
 *     is in memory on success and 0 otherwise; guest memory changes only on a success with
 *     SET_PAGE_TABLE_BITS, and then only by setting bits 5/6 in entry bytes;
 *   - RUN_VP: intercept = 1 unless a stop was pending; the message decodes (io: port, size
 *     1, data = AL; halt: HALT) with the VP's RIP; the register page is valid, clean and
 *     mirrors the context;
 *   - no byte of the command page outside what the command may write changes, the register
 *     page changes only on RUN_VP, the control page only in the CPU's own status byte and
 *     needs_attention (loop mode), guest memory only as above; everything else out of
 *     bounds is AddressSanitizer's (the memory beyond the configured size is poisoned);
 *   - loop mode: an upstream command ends IDLE with command NONE and needs_attention set; a
 *     fast one with done_seq, intercept and has_error published; exactly the response
 *     signals the policy calls for; the CPU never halts once REMOVE was requested, and
 *     leaves REMOVED, GONE, with every posted fast request completed (or, when the VP
 *     cannot be created, REMOVED at once with the reason in the page).
 *
 * The spin guest only ends a run on a stop: a RUN_VP for it is always issued with its stop
 * already requested (status STOP, or stop_seq == request_seq), so nothing ever waits.
 */
#include "kernel.h"

#include <sidecar/message.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The invariant checks are not what is being explored: no coverage feedback (or cost) from
 * their loops and comparisons. */
#ifdef __clang__
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

#define FUZZ_CHECK(cond)                                                                             \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

#define MEM_MAX (1u << 20)
#define MEM_PAGES (MEM_MAX / 4096)
#define MAX_REGS SIDECAR_MAX_GET_SET_VP_REGISTERS
#define REQ_HDR sizeof(struct sidecar_get_set_vp_register_request)

/* The shared pages, page-aligned as the driver maps them; each its own object, so that
 * AddressSanitizer's redzones sit between them. */
static struct sidecar_control_page control __attribute__((aligned(4096)));
static struct sidecar_command_page page __attribute__((aligned(4096)));
static struct hv_x64_register_page regpage __attribute__((aligned(4096)));

/* What they held when the command under check was issued. */
static struct sidecar_control_page control_before;
static struct sidecar_command_page page_before;
static struct hv_x64_register_page regpage_before;

struct in {
	const uint8_t *p;
	size_t n;
};

/* The command whose completion is checked next. */
struct pending {
	bool active;
	uint32_t command;
	bool fast;          /* posted through the fast line (loop mode) */
	uint32_t seq;       /* its request_seq */
	bool stop;          /* a stop was requested before it ran: RUN_VP must not intercept */
	bool expect_signal; /* loop mode: the completion must send a response signal */
	uint64_t signals;   /* response signals before it */
	uint64_t commands;  /* kernel command count before it */
	uint8_t run_fails;  /* the backend's vp_run will fail this way (fail_run) */
	bool io_valid;      /* the kernel's record of a plain IN/OUT stop, for COMPLETE_IO */
	uint64_t io_next;   /* ... and the RIP after that instruction */
};

/* Where a deferred VMM turn comes. */
#define DEFER_POLL 1 /* while the CPU polls its doorbell */
#define DEFER_PARK 2 /* at the fault point before the CPU announces PARKED */

static struct {
	struct in in;
	struct sidecar_kcpu k;
	struct sidecar_backend be;
	bool loop;
	bool irq;           /* irq_pending's answer */
	unsigned int polls; /* irq_pending calls since the VMM's last turn */
	uint64_t clock, clock_step;
	uint8_t *mem;    /* MEM_MAX bytes; beyond mem_size poisoned */
	uint8_t *shadow; /* what guest memory holds, as far as the VMM knows */
	uint64_t mem_size;
	bool no_mem;
	uint64_t dirty[MEM_PAGES / 64]; /* pages poked this input: every other byte is zero */
	struct pending pend;
	uint64_t signals;
	bool removed;     /* REMOVE requested */
	uint8_t fail_run; /* the next vp_run fails: 1 silently, 2 with a reason, 3 a 255-byte one */
	bool fail_create; /* vp_create fails (loop mode: the CPU's boot) */
	uint8_t defer;    /* where the VMM's next turn comes, if not at the CPU's halt (DEFER_*) */
	bool booted;      /* the backend is initialised (once per process) */
} fz;

/* ---- input ------------------------------------------------------------------------------ */

static uint64_t take(unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++) {
		uint64_t b = 0;
		if (fz.in.n) {
			b = *fz.in.p++;
			fz.in.n--;
		}
		v |= b << (8 * i);
	}
	return v;
}

static uint8_t take8(void)
{
	return (uint8_t)take(1);
}

static uint16_t take16(void)
{
	return (uint16_t)take(2);
}

static uint32_t take32(void)
{
	return (uint32_t)take(4);
}

/* Copies up to `len` input bytes to dst (what the input still has). */
static void take_bytes(uint8_t *dst, size_t len)
{
	if (len > fz.in.n)
		len = fz.in.n;
	memcpy(dst, fz.in.p, len);
	fz.in.p += len;
	fz.in.n -= len;
}

/* ---- the backend: the synthetic one, with failures on demand ------------------------------ */

static struct sidecar_backend_ops backend_ops;

static int fuzz_vp_create(struct sidecar_backend *be, uint32_t vp_index, struct sidecar_backend_vp **out)
{
	if (fz.fail_create)
		return -ENOMEM;
	return sidecar_backend_synthetic_ops.vp_create(be, vp_index, out);
}

static int fuzz_vp_run(struct sidecar_backend_vp *vp, struct sidecar_cpu_context_x64 *ctx, struct hv_message *msg,
		       const struct sidecar_run_ctl *ctl, struct sidecar_command_error *err)
{
	uint8_t mode = fz.fail_run;

	if (!mode)
		return sidecar_backend_synthetic_ops.vp_run(vp, ctx, msg, ctl, err);
	fz.fail_run = 0;
	if (mode == 2) {
		err->len = 9;
		memcpy(err->buf, "fuzz: eio", 9);
	} else if (mode == 3) {
		err->len = sizeof(err->buf);
		memset(err->buf, 'f', sizeof(err->buf));
	}
	return -EIO;
}

/* ---- the platform: halt is where the VMM acts -------------------------------------------- */

static uint8_t *status_byte(void)
{
	return sidecar_kcpu_status(&fz.k);
}

static struct sidecar_fast_line *fast_line(void)
{
	return sidecar_command_page_fast(&page);
}

static void plat_halt(struct sidecar_kcpu *k);

static void vmm_turn(void);

/* Polled while the CPU spins for the doorbell. A deferred VMM turn runs here: a request
 * posted now is one that arrives during the poll window. A poll window must end, whatever
 * its size and the clock: after 256 polls an interrupt is pending (the preemption check
 * of kernel/core/park.c may end it sooner, on a clock that jumps). */
static bool plat_irq_pending(struct sidecar_kcpu *k)
{
	if (++fz.polls > 256)
		return true;
	if (fz.defer == DEFER_POLL) {
		fz.defer = 0;
		vmm_turn();
		if (sc_load_relaxed(status_byte()) != SIDECAR_CPU_IDLE)
			return true;
		if (fast_line()->request_seq != fast_line()->done_seq)
			return false; /* the poll finds the doorbell next */
	}
	return fz.irq;
}

static void plat_signal_response(struct sidecar_kcpu *k)
{
	fz.signals++;
}

uint64_t fuzz_now_ns(void)
{
	fz.clock += fz.clock_step;
	return fz.clock;
}

static int plat_host_cpu(struct sidecar_kcpu *k)
{
	return 0;
}

static void plat_vp_online(struct sidecar_kcpu *k, struct sidecar_backend_vp *vp)
{
}

/* With faults_on: a deferred VMM turn just before the CPU announces PARKED, so that the
 * re-check after the announcement finds the request. */
static void plat_fault(struct sidecar_kcpu *k, enum sidecar_fault_point where)
{
	if (where == SIDECAR_FAULT_BEFORE_PARK && fz.defer == DEFER_PARK) {
		fz.defer = 0;
		vmm_turn();
	}
}

static const struct sidecar_host_ops plat_ops = {
	.halt = plat_halt,
	.irq_pending = plat_irq_pending,
	.signal_response = plat_signal_response,
	.host_cpu = plat_host_cpu,
	.vp_online = plat_vp_online,
	.fault = plat_fault,
};

/* ---- invariants --------------------------------------------------------------------------- */

NO_COVERAGE static bool known_hv_status(hv_status s)
{
	static const hv_status known[] = {
		HV_STATUS_SUCCESS,
		HV_STATUS_INVALID_HYPERCALL_CODE,
		HV_STATUS_INVALID_HYPERCALL_INPUT,
		HV_STATUS_INVALID_ALIGNMENT,
		HV_STATUS_INVALID_PARAMETER,
		HV_STATUS_ACCESS_DENIED,
		HV_STATUS_INVALID_PARTITION_STATE,
		HV_STATUS_OPERATION_DENIED,
		HV_STATUS_UNKNOWN_PROPERTY,
		HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE,
		HV_STATUS_INSUFFICIENT_MEMORY,
		HV_STATUS_PARTITION_TOO_DEEP,
		HV_STATUS_INVALID_PARTITION_ID,
		HV_STATUS_INVALID_VP_INDEX,
		HV_STATUS_NOT_FOUND,
		HV_STATUS_INVALID_PORT_ID,
		HV_STATUS_INVALID_CONNECTION_ID,
		HV_STATUS_INSUFFICIENT_BUFFERS,
		HV_STATUS_NOT_ACKNOWLEDGED,
		HV_STATUS_INVALID_VP_STATE,
		HV_STATUS_ACKNOWLEDGED,
		HV_STATUS_INVALID_SAVE_RESTORE_STATE,
		HV_STATUS_INVALID_SYNIC_STATE,
		HV_STATUS_OBJECT_IN_USE,
		HV_STATUS_INVALID_PROXIMITY_DOMAIN_INFO,
		HV_STATUS_NO_DATA,
		HV_STATUS_INACTIVE,
		HV_STATUS_NO_RESOURCES,
		HV_STATUS_FEATURE_UNAVAILABLE,
		HV_STATUS_PARTIAL_PACKET,
		HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED,
		HV_STATUS_INSUFFICIENT_BUFFER,
		HV_STATUS_INVALID_LP_INDEX,
		HV_STATUS_INVALID_REGISTER_VALUE,
		HV_STATUS_INVALID_VTL_STATE,
		HV_STATUS_OPERATION_FAILED,
		HV_STATUS_TIMEOUT,
		HV_STATUS_VTL_ALREADY_ENABLED,
		HV_STATUS_UNKNOWN_REGISTER_NAME,
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (s == known[i])
			return true;
	return false;
}

/* The input-VTL byte the simulated VP accepts (kernel/core/dispatch.c): VTL 0..2 or current. */
NO_COVERAGE static bool vtl_valid(uint8_t vtl)
{
	if (vtl & ~(HV_INPUT_VTL_TARGET_MASK | HV_INPUT_VTL_USE_TARGET))
		return false;
	return !(vtl & HV_INPUT_VTL_USE_TARGET) || (vtl & HV_INPUT_VTL_TARGET_MASK) <= 2;
}

NO_COVERAGE static bool bad_translate_flags(uint64_t flags)
{
	return (flags & HV_TRANSLATE_GVA_RESERVED_MASK) ||
	       ((flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS) && (flags & HV_TRANSLATE_GVA_USER_ACCESS));
}

/* The kernel's stop predicate for a command served fast (seq) or not, from the pages. */
static bool stop_requested(bool fast, uint32_t seq)
{
	uint8_t status = sc_load_relaxed(status_byte());

	if (!fast)
		return status == SIDECAR_CPU_STOP;
	return status == SIDECAR_CPU_REMOVE || fast_line()->stop_seq == seq;
}

NO_COVERAGE static void allow(uint8_t *allowed, size_t off, size_t len)
{
	FUZZ_CHECK(off + len <= sizeof(page));
	memset(allowed + off, 1, len);
}

NO_COVERAGE static void check_error_string(const char *expect)
{
	size_t n = strlen(expect);

	FUZZ_CHECK(page.has_error == 1);
	FUZZ_CHECK(page.error.len == n && memcmp(page.error.buf, expect, n) == 0);
}

/* The bytes of dirty page `i` inside guest memory: [*lo, *hi). False for a clean page. */
NO_COVERAGE static bool dirty_range(unsigned int i, uint64_t *lo, uint64_t *hi)
{
	if (!(fz.dirty[i / 64] & (1ull << (i % 64))))
		return false;
	*lo = (uint64_t)i * 4096;
	*hi = *lo + 4096 < fz.mem_size ? *lo + 4096 : fz.mem_size;
	return *lo < *hi;
}

/* The VMM's copy of memory catches up (after commands nobody checks). */
/* The next dirty page from `from` on, or MEM_PAGES. */
NO_COVERAGE static unsigned int next_dirty(unsigned int from)
{
	for (unsigned int w = from / 64; w < MEM_PAGES / 64; w++) {
		uint64_t bits = fz.dirty[w];
		if (w == from / 64)
			bits &= ~0ull << (from % 64);
		if (bits)
			return w * 64 + (unsigned int)__builtin_ctzll(bits);
	}
	return MEM_PAGES;
}

NO_COVERAGE static void sync_shadow(void)
{
	uint64_t lo, hi;

	for (unsigned int i = next_dirty(0); i < MEM_PAGES; i = next_dirty(i + 1))
		if (dirty_range(i, &lo, &hi))
			memcpy(fz.shadow + lo, fz.mem + lo, hi - lo);
}

/* Guest memory may change only by A/D bits of a successful SET_PAGE_TABLE_BITS walk. Only
 * poked pages can change at all: a walk writes only present (non-zero) entries. */
NO_COVERAGE static void check_memory(bool may_set_bits, bool dirty_bit)
{
	uint8_t bits = dirty_bit ? 0x60 : 0x20;
	uint64_t lo, hi;

	for (unsigned int p = next_dirty(0); p < MEM_PAGES; p = next_dirty(p + 1)) {
		if (!dirty_range(p, &lo, &hi) || memcmp(fz.mem + lo, fz.shadow + lo, hi - lo) == 0)
			continue;
		for (uint64_t i = lo; i < hi; i++) {
			uint8_t was = fz.shadow[i], now = fz.mem[i];
			if (was == now)
				continue;
			if (!may_set_bits || i % 4 != 0 || (was & ~now) || (now & ~was & ~bits)) {
				fprintf(stderr, "guest memory byte %#llx changed %#x -> %#x\n", (unsigned long long)i,
					was, now);
				abort();
			}
		}
		memcpy(fz.shadow + lo, fz.mem + lo, hi - lo);
	}
}

NO_COVERAGE static void check_intercept(void)
{
	const struct hv_message *m = &page.intercept_message;
	struct hv_x64_intercept_message_header h;
	struct sidecar_io_intercept io;

	FUZZ_CHECK(sidecar_message_decode_header(m, &h) == 0);
	FUZZ_CHECK(h.rip == regpage.rip && h.rflags == regpage.rflags);
	FUZZ_CHECK((h.instruction_length_and_cr8 & 0xf) == 1);
	FUZZ_CHECK(h.vp_index == fz.k.vp_index);
	switch (fz.be.cfg.guest) {
	case SIDECAR_GUEST_IO:
		FUZZ_CHECK(sidecar_message_decode_io(m, &io) == 0);
		FUZZ_CHECK(io.port == fz.be.cfg.io_port);
		FUZZ_CHECK(io.access_size == 1 && io.write && !io.string_op && !io.rep);
		FUZZ_CHECK(io.instruction_len == 1 && io.rip == h.rip);
		FUZZ_CHECK(io.data == (page.cpu_context.gps[SIDECAR_CPU_CONTEXT_RAX] & 0xff));
		break;
	case SIDECAR_GUEST_HALT:
		FUZZ_CHECK(sidecar_message_type(m) == HV_MESSAGE_TYPE_X64_HALT);
		FUZZ_CHECK(sidecar_message_decode_io(m, &io) == -ENOMSG);
		break;
	case SIDECAR_GUEST_SPIN:
		fprintf(stderr, "the spin guest intercepted\n");
		abort();
	}
}

/* Snapshot of everything the command must not touch, taken when it is issued. */
NO_COVERAGE static void begin_pending(uint32_t command, bool fast, uint32_t seq)
{
	struct pending *p = &fz.pend;
	const struct sidecar_fast_line *f = fast_line();

	FUZZ_CHECK(!p->active);
	p->active = true;
	p->command = command;
	p->fast = fast;
	p->seq = seq;
	p->stop = stop_requested(fast, seq);
	p->signals = fz.signals;
	p->commands = sc_load_relaxed(&fz.k.stats.commands);
	p->io_valid = fz.k.io.valid;
	p->io_next = fz.k.io.rip + fz.k.io.len;
	/* RUN_VP with libsidecar's COMPLETE_IO (the fast line only) runs when the kernel has a
	 * port-I/O stop to complete; else it fails before the VP runs. */
	bool runs = command == SIDECAR_COMMAND_RUN_VP ||
		    (fast && command == (SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO) && p->io_valid);
	p->run_fails = runs && !p->stop ? fz.fail_run : 0;
	p->expect_signal = control.response_vector != 0 && (!fast || !(f->features & SIDECAR_FAST_F_SUPPRESS) ||
							    (f->client_flags & SIDECAR_FAST_CLIENT_SLEEPING));
	memcpy(&page_before, &page, sizeof(page));
	memcpy(&regpage_before, &regpage, sizeof(regpage));
	memcpy(&control_before, &control, sizeof(control));
}

NO_COVERAGE static void check_completion(void)
{
	struct pending *p = &fz.pend;
	static uint8_t allowed[sizeof(page)];
	const size_t fast_off = SIDECAR_FAST_LINE_OFFSET;
	bool may_set_bits = false, dirty_bit = false;

	FUZZ_CHECK(p->active);
	p->active = false;
	memset(allowed, 0, sizeof(allowed));
	/* The command as the kernel serves it: COMPLETE_IO (fast line only) is a RUN_VP that
	 * first completes the recorded port I/O, or fails with its own reason. */
	uint32_t command = p->command;
	bool complete_io = p->fast && command == (SIDECAR_COMMAND_RUN_VP | SIDECAR_FAST_COMMAND_COMPLETE_IO);
	if (complete_io)
		command = SIDECAR_COMMAND_RUN_VP;

	FUZZ_CHECK(page.has_error == 0 || page.has_error == 1);
	FUZZ_CHECK(page.error.len <= sizeof(page.error.buf));
	allow(allowed, offsetof(struct sidecar_command_page, has_error), 1);
	FUZZ_CHECK(sc_load_relaxed(&fz.k.stats.commands) == p->commands + 1);

	if (fz.loop) {
		const struct sidecar_fast_line *f = fast_line();

		/* Taking a command clears the error string's length with has_error. */
		allow(allowed, offsetof(struct sidecar_command_page, error.len), 1);
		if (!page.has_error)
			FUZZ_CHECK(page.error.len == 0);

		FUZZ_CHECK(sc_load_relaxed(status_byte()) == SIDECAR_CPU_IDLE);
		if (p->fast) {
			FUZZ_CHECK(f->done_seq == p->seq);
			FUZZ_CHECK(f->has_error == page.has_error);
			FUZZ_CHECK(f->intercept ==
				   (command == SIDECAR_COMMAND_RUN_VP && !page.has_error && page.request_data[0]));
			FUZZ_CHECK(control.needs_attention == control_before.needs_attention);
		} else {
			FUZZ_CHECK(page.command == SIDECAR_COMMAND_NONE);
			FUZZ_CHECK(control.needs_attention == 1);
			allow(allowed, offsetof(struct sidecar_command_page, command), 4);
		}
		FUZZ_CHECK(fz.signals - p->signals == (p->expect_signal ? 1u : 0u));
		/* The kernel's half of the fast line (done_seq onwards). */
		allow(allowed, fast_off + offsetof(struct sidecar_fast_line, done_seq),
		      sizeof(struct sidecar_fast_line) - offsetof(struct sidecar_fast_line, done_seq));
		/* The control page: only this CPU's status byte and needs_attention. */
		control_before.cpu_status[fz.k.node_cpu_index] = control.cpu_status[fz.k.node_cpu_index];
		control_before.needs_attention = control.needs_attention;
	}
	FUZZ_CHECK(memcmp(&control, &control_before, sizeof(control)) == 0);

	bool refused = complete_io && !p->io_valid;
	if (refused) {
		check_error_string("complete-io: the last run did not stop at a plain port I/O instruction");
		allow(allowed, offsetof(struct sidecar_command_page, error), sizeof(page.error));
		FUZZ_CHECK(memcmp(&regpage, &regpage_before, sizeof(regpage)) == 0); /* not run */
	}
	switch (refused ? SIDECAR_COMMAND_NONE : command) {
	case SIDECAR_COMMAND_NONE:
		if (refused)
			break; /* nothing else of the page may change */
		FUZZ_CHECK(page.has_error == 0);
		break;

	case SIDECAR_COMMAND_RUN_VP:
		if (p->run_fails) {
			/* The backend's reason, else the kernel's. Taking a command (the loop)
			 * clears the old reason; dispatching alone keeps one still in the page
			 * (the kernel cannot tell it apart). */
			FUZZ_CHECK(page.has_error == 1 && page.error.len > 0);
			if (p->run_fails == 2)
				check_error_string("fuzz: eio");
			else if (p->run_fails == 1 && (fz.loop || page_before.error.len == 0))
				check_error_string("vp run failed: -5");
			else if (p->run_fails == 1)
				FUZZ_CHECK(memcmp(&page.error, &page_before.error, sizeof(page.error)) == 0);
			FUZZ_CHECK(page.request_data[0] == page_before.request_data[0]); /* no response */
			allow(allowed, offsetof(struct sidecar_command_page, error), sizeof(page.error));
		} else {
			FUZZ_CHECK(page.has_error == 0);
			FUZZ_CHECK(page.request_data[0] == (p->stop ? 0 : 1));
			if (page.request_data[0])
				check_intercept();
			/* A completed IN/OUT: the VP went on past it, whatever the page said. */
			if (complete_io)
				FUZZ_CHECK(regpage.rip == p->io_next);
		}
		FUZZ_CHECK(regpage.is_valid == 1 && regpage.dirty == 0);
		for (int i = 0; i < 16; i++)
			if (i != 4) /* RSP's slot of the context holds CR2 */
				FUZZ_CHECK(regpage.gp_registers[i] == page.cpu_context.gps[i]);
		allow(allowed, offsetof(struct sidecar_command_page, cpu_context), sizeof(page.cpu_context));
		allow(allowed, offsetof(struct sidecar_command_page, intercept_message),
		      sizeof(page.intercept_message));
		allow(allowed, offsetof(struct sidecar_command_page, request_data), 1);
		break;

	case SIDECAR_COMMAND_GET_VP_REGISTERS:
	case SIDECAR_COMMAND_SET_VP_REGISTERS: {
		bool set = p->command == SIDECAR_COMMAND_SET_VP_REGISTERS;
		struct sidecar_get_set_vp_register_request before, after;
		memcpy(&before, page_before.request_data, sizeof(before));
		memcpy(&after, page.request_data, sizeof(after));
		if (before.count > MAX_REGS) {
			char expect[64];
			snprintf(expect, sizeof(expect), "%s: %u",
				 set ? "invalid register count" : "invalid register name count", before.count);
			check_error_string(expect);
			allow(allowed, offsetof(struct sidecar_command_page, error), sizeof(page.error));
			break; /* the status field is left alone, as upstream */
		}
		FUZZ_CHECK(page.has_error == 0);
		FUZZ_CHECK(known_hv_status(after.status));
		if (!vtl_valid(before.target_vtl) && before.count)
			FUZZ_CHECK(after.status == HV_STATUS_INVALID_PARAMETER);
		if (before.count == 0)
			FUZZ_CHECK(after.status == HV_STATUS_SUCCESS);
		size_t req = offsetof(struct sidecar_command_page, request_data);
		allow(allowed, req + offsetof(struct sidecar_get_set_vp_register_request, status), 2);
		if (set) {
			allow(allowed, offsetof(struct sidecar_command_page, cpu_context), sizeof(page.cpu_context));
		} else {
			for (unsigned int i = 0; i < before.count; i++)
				allow(allowed,
				      req + REQ_HDR + i * sizeof(struct hv_register_assoc) +
					      offsetof(struct hv_register_assoc, value),
				      sizeof(union hv_register_value));
		}
		break;
	}

	case SIDECAR_COMMAND_TRANSLATE_GVA: {
		struct sidecar_translate_gva_request req;
		struct sidecar_translate_gva_response resp;
		memcpy(&req, page_before.request_data, sizeof(req));
		memcpy(&resp, page.request_data, sizeof(resp));
		FUZZ_CHECK(page.has_error == 0);
		for (int i = 0; i < 7; i++)
			FUZZ_CHECK(resp.rsvd[i] == 0);
		if (bad_translate_flags(req.control_flags)) {
			FUZZ_CHECK(resp.status == HV_STATUS_INVALID_PARAMETER);
		} else {
			FUZZ_CHECK(resp.status == HV_STATUS_SUCCESS);
		}
		if (resp.status != HV_STATUS_SUCCESS) {
			static const struct hv_translate_virtual_address_ex_output_x64 zero;
			FUZZ_CHECK(memcmp(&resp.output, &zero, sizeof(zero)) == 0);
		} else {
			uint32_t code;
			uint64_t gpa;
			FUZZ_CHECK(sidecar_translate_decode(&resp.output, &code, &gpa) == 0);
			FUZZ_CHECK(code <= HV_TRANSLATE_GVA_GPA_UNMAPPED);
			if (code == HV_TRANSLATE_GVA_SUCCESS) {
				FUZZ_CHECK(fz.be.cfg.mem != NULL);
				FUZZ_CHECK(resp.output.gpa_page < fz.mem_size / 4096);
				may_set_bits = req.control_flags & HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS;
				dirty_bit = req.control_flags & HV_TRANSLATE_GVA_VALIDATE_WRITE;
			} else {
				FUZZ_CHECK(resp.output.gpa_page == 0);
			}
		}
		allow(allowed, offsetof(struct sidecar_command_page, request_data), sizeof(resp));
		break;
	}

	default: {
		char expect[64];
		snprintf(expect, sizeof(expect), "unknown command %u", p->command);
		check_error_string(expect);
		allow(allowed, offsetof(struct sidecar_command_page, error), sizeof(page.error));
		break;
	}
	}

	const uint8_t *now = (const uint8_t *)&page, *was = (const uint8_t *)&page_before;
	for (size_t i = 0; i < sizeof(page); i++) {
		if (i % 64 == 0 && memcmp(now + i, was + i, 64) == 0) {
			i += 63; /* an unchanged line */
			continue;
		}
		if (now[i] != was[i] && !allowed[i]) {
			fprintf(stderr, "command %u changed command page byte %zu: %#x -> %#x\n", p->command, i, was[i],
				now[i]);
			abort();
		}
	}
	if (command != SIDECAR_COMMAND_RUN_VP)
		FUZZ_CHECK(memcmp(&regpage, &regpage_before, sizeof(regpage)) == 0);
	check_memory(may_set_bits, dirty_bit);
}

/*
 * Dispatch mode, after a GET_VP_REGISTERS of `count` <= 31: the batch agrees with the same
 * names read one at a time (GET has no side effects). Its status is that of the first name
 * that fails (SUCCESS if none), the entries before it hold the values read one at a time
 * (but TSC, which moves), and the failing entry and those after it are untouched: processing
 * stops at the first failure.
 */
NO_COVERAGE static void check_get_one_by_one(void)
{
	static struct sidecar_command_page batch;
	struct sidecar_get_set_vp_register_request hdr, one;
	struct hv_register_assoc was, got, single;
	hv_status first_failure = HV_STATUS_SUCCESS;
	unsigned int failed_at;

	memcpy(&hdr, page_before.request_data, sizeof(hdr));
	if (hdr.count > MAX_REGS || page.has_error)
		return;
	failed_at = hdr.count;
	memcpy(&batch, &page, sizeof(page));
	for (unsigned int i = 0; i < hdr.count; i++) {
		size_t at = REQ_HDR + i * sizeof(struct hv_register_assoc);
		memcpy(&was, page_before.request_data + at, sizeof(was));
		memcpy(&got, batch.request_data + at, sizeof(got));

		one = hdr;
		one.count = 1;
		one.status = 0xffff;
		memcpy(page.request_data, &one, sizeof(one));
		memcpy(page.request_data + REQ_HDR, &was, sizeof(was));
		page.has_error = 0;
		sidecar_kernel_dispatch(&fz.k, SIDECAR_COMMAND_GET_VP_REGISTERS);
		memcpy(&one, page.request_data, sizeof(one));
		memcpy(&single, page.request_data + REQ_HDR, sizeof(single));
		FUZZ_CHECK(page.has_error == 0);

		if (failed_at == hdr.count && one.status != HV_STATUS_SUCCESS) {
			failed_at = i;
			first_failure = one.status;
		}
		if (i >= failed_at)
			FUZZ_CHECK(memcmp(&got, &was, sizeof(got)) == 0);
		else if (was.name != HV_X64_REGISTER_TSC)
			FUZZ_CHECK(memcmp(&got.value, &single.value, sizeof(got.value)) == 0);
	}
	memcpy(&hdr, batch.request_data, sizeof(hdr));
	FUZZ_CHECK(hdr.status == first_failure);
	memcpy(&page, &batch, sizeof(page));
}

/*
 * Dispatch mode, after a SET_VP_REGISTERS that succeeded: reading each name back gives
 * what the batch wrote last for it (the low 8 bytes, the part every kind of register
 * keeps; TSC moves and is skipped).
 */
NO_COVERAGE static void check_set_read_back(void)
{
	static struct sidecar_command_page batch;
	struct sidecar_get_set_vp_register_request hdr, one;
	struct hv_register_assoc set, later, single;

	memcpy(&hdr, page_before.request_data, sizeof(hdr));
	memcpy(&one, page.request_data, sizeof(one));
	if (hdr.count > MAX_REGS || page.has_error || one.status != HV_STATUS_SUCCESS)
		return;
	memcpy(&batch, &page, sizeof(page));
	for (unsigned int i = 0; i < hdr.count; i++) {
		memcpy(&set, page_before.request_data + REQ_HDR + i * sizeof(set), sizeof(set));
		bool overwritten = false;
		for (unsigned int j = i + 1; j < hdr.count; j++) {
			memcpy(&later, page_before.request_data + REQ_HDR + j * sizeof(later), sizeof(later));
			overwritten |= later.name == set.name;
		}
		if (overwritten || set.name == HV_X64_REGISTER_TSC)
			continue;
		one = hdr;
		one.count = 1;
		one.status = 0xffff;
		memcpy(page.request_data, &one, sizeof(one));
		memcpy(page.request_data + REQ_HDR, &set, sizeof(set));
		page.has_error = 0;
		sidecar_kernel_dispatch(&fz.k, SIDECAR_COMMAND_GET_VP_REGISTERS);
		memcpy(&one, page.request_data, sizeof(one));
		memcpy(&single, page.request_data + REQ_HDR, sizeof(single));
		FUZZ_CHECK(page.has_error == 0 && one.status == HV_STATUS_SUCCESS);
		FUZZ_CHECK(single.value.reg64 == set.value.reg64);
	}
	memcpy(&page, &batch, sizeof(page));
}

/* ---- operations --------------------------------------------------------------------------- */

/* Register names: the known ranges, one past each end included, or raw. */
static const struct {
	uint32_t base, count;
} name_ranges[] = {
	{HV_X64_REGISTER_RAX, 18},  /* RAX..R15, RIP, RFLAGS */
	{HV_X64_REGISTER_XMM0, 26}, /* XMM0..15, FP_MMX0..7, FP and XMM control/status */
	{HV_X64_REGISTER_CR0, 6},
	{HV_X64_REGISTER_DR0, 6},
	{HV_X64_REGISTER_ES, 8},
	{HV_X64_REGISTER_IDTR, 2},
	{HV_X64_REGISTER_TSC, 0x8c}, /* the MSRs, holes included */
	{HV_REGISTER_GUEST_OS_ID, 2},
	{HV_REGISTER_PENDING_INTERRUPTION, 3},
	{HV_REGISTER_INSTRUCTION_EMULATION_HINTS, 1},
};

static uint32_t take_name(void)
{
	uint8_t r = take8();

	if (r == 0xff)
		return take32();
	unsigned int n = sizeof(name_ranges) / sizeof(name_ranges[0]);
	uint32_t base = name_ranges[r % n].base, count = name_ranges[r % n].count;
	return base + take8() % (count + 1);
}

/* Writes `len` input bytes at an input-chosen offset of a shared page. */
static void poke(uint8_t *base, size_t cap)
{
	size_t off = take16() % cap;
	size_t len = take8();

	if (len > cap - off)
		len = cap - off;
	take_bytes(base + off, len);
}

static void poke_mem(void)
{
	uint32_t gpa = take32();
	uint64_t v = take(8);

	if (fz.no_mem || fz.mem_size < 8)
		return;
	gpa = (uint32_t)(gpa % (fz.mem_size - 7)) & ~3u;
	memcpy(fz.mem + gpa, &v, sizeof(v));
	memcpy(fz.shadow + gpa, &v, sizeof(v));
	fz.dirty[(gpa / 4096) / 64] |= 1ull << ((gpa / 4096) % 64);
	fz.dirty[((gpa + 7) / 4096) / 64] |= 1ull << (((gpa + 7) / 4096) % 64);
}

static uint32_t build_registers(void)
{
	uint8_t b = take8();
	bool set = b & 1;
	struct sidecar_get_set_vp_register_request hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.count = (b & 2) ? take16() : (uint16_t)(b >> 2);
	hdr.target_vtl = take8();
	hdr.status = 0xffff; /* overwritten unless the count is refused */
	memcpy(page.request_data, &hdr, sizeof(hdr));
	if (hdr.count <= MAX_REGS) {
		for (unsigned int i = 0; i < hdr.count; i++) {
			struct hv_register_assoc r;
			memset(&r, 0, sizeof(r));
			r.name = take_name();
			take_bytes(r.value.bytes, sizeof(r.value.bytes));
			memcpy(page.request_data + REQ_HDR + i * sizeof(r), &r, sizeof(r));
		}
	}
	return set ? SIDECAR_COMMAND_SET_VP_REGISTERS : SIDECAR_COMMAND_GET_VP_REGISTERS;
}

static uint32_t build_translate(void)
{
	struct sidecar_translate_gva_request req;

	req.gvn = take(8);
	req.control_flags = take(8);
	memcpy(page.request_data, &req, sizeof(req));
	return SIDECAR_COMMAND_TRANSLATE_GVA;
}

/* The spin guest must never run without a stop pending (loop mode). */
static void spin_guard(void)
{
	struct sidecar_fast_line *f = fast_line();

	if (fz.be.cfg.guest != SIDECAR_GUEST_SPIN)
		return;
	if (f->request_seq != f->done_seq)
		f->stop_seq = f->request_seq;
	if (sc_load_relaxed(status_byte()) == SIDECAR_CPU_RUN)
		sc_store_relaxed(status_byte(), SIDECAR_CPU_STOP);
}

/*
 * Issues a command. Dispatch mode: runs and checks it at once (false). Loop mode: posts it,
 * the caller returns from halt, and the next halt checks it (true).
 *   deliv, dispatch mode RUN_VP: 0 status RUN, 1 status STOP, 2 served fast and not
 *          stopped, 3 the state as the input left it;
 *   deliv, loop mode: 0 upstream (RUN), 1 upstream (STOP), 2 fast line, 3 fast line with
 *          stop_seq == request_seq.
 */
static bool issue(uint32_t command, unsigned int deliv)
{
	struct sidecar_kcpu *k = &fz.k;
	struct sidecar_fast_line *f = fast_line();

	if (!fz.loop) {
		/* RUN_VP, with or without libsidecar's modifiers: the stop set-up (a spin guest
		 * must not run unstopped). */
		if ((command & SIDECAR_FAST_COMMAND_MASK) == SIDECAR_COMMAND_RUN_VP) {
			switch (deliv) {
			case 0:
			case 1:
				k->serving_fast = false;
				sc_store_relaxed(status_byte(), deliv ? SIDECAR_CPU_STOP : SIDECAR_CPU_RUN);
				break;
			case 2:
				k->serving_fast = true;
				k->serving_seq = f->request_seq;
				f->stop_seq = k->serving_seq + 1;
				sc_store_relaxed(status_byte(), SIDECAR_CPU_IDLE);
				break;
			default:
				break;
			}
			if (fz.be.cfg.guest == SIDECAR_GUEST_SPIN && !stop_requested(k->serving_fast, k->serving_seq)) {
				if (k->serving_fast)
					f->stop_seq = k->serving_seq;
				else
					sc_store_relaxed(status_byte(), SIDECAR_CPU_STOP);
			}
		}
		page.has_error = 0; /* as the loop does before dispatching */
		begin_pending(command, k->serving_fast, k->serving_seq);
		sidecar_kernel_dispatch(k, command);
		check_completion();
		if (command == SIDECAR_COMMAND_GET_VP_REGISTERS)
			check_get_one_by_one();
		if (command == SIDECAR_COMMAND_SET_VP_REGISTERS)
			check_set_read_back();
		return false;
	}

	if (deliv & 2) {
		uint32_t seq = f->done_seq + 1;
		f->features |= SIDECAR_FAST_F_MAILBOX;
		f->command = command;
		f->stop_seq = (deliv & 1) ? seq : seq - 1;
		sc_store_release(&f->request_seq, seq);
		spin_guard();
		begin_pending(command, true, seq);
	} else {
		/* One command at a time: no fast request left ringing. */
		f->request_seq = f->done_seq;
		page.command = command;
		control.needs_attention = 0;
		sc_store_relaxed(status_byte(), (deliv & 1) ? SIDECAR_CPU_STOP : SIDECAR_CPU_RUN);
		spin_guard();
		begin_pending(command, false, 0);
	}
	return true;
}

/* Platform and protocol knobs. Returns true when it wakes the CPU (loop mode). */
static bool misc(unsigned int sub)
{
	struct sidecar_fast_line *f = fast_line();

	switch (sub % 8) {
	case 1: { /* any status byte: garbage, REMOVE, or RUN/STOP of whatever the page holds */
		uint8_t s = take8();
		if (!fz.loop) {
			sc_store_relaxed(status_byte(), s);
			return false;
		}
		if (s == SIDECAR_CPU_REMOVE)
			fz.removed = true;
		sc_store_relaxed(status_byte(), s);
		return true;
	}
	case 2: /* the VMM's half of the fast line */
		f->features = take32();
		f->sidecar_poll_ns = take32();
		f->client_host_cpu = take32();
		f->client_flags = take32();
		return false;
	case 3:
		control.response_vector = take32();
		return false;
	case 4: /* time passes while halted */
		fz.clock += (uint64_t)take32() * 1000;
		return fz.loop;
	case 5:
		sc_store_relaxed(&fz.k.faults_on, take8() & 1);
		return false;
	case 6:
		if (sub & 8) { /* the next vp_run fails */
			fz.fail_run = take8() % 4;
			return false;
		}
		/* the stop predicate's view of a fast request (dispatch mode) */
		if (!fz.loop) {
			fz.k.serving_fast = take8() & 1;
			fz.k.serving_seq = take32();
		}
		return false;
	case 7: /* the next turn comes during the CPU's poll window, or before it parks */
		fz.defer = fz.loop ? ((sub & 8) ? DEFER_PARK : DEFER_POLL) : 0;
		return fz.loop;
	default: /* a spurious wake-up */
		return fz.loop;
	}
}

/* Runs operations until one wakes the CPU (loop mode: true) or the input ends (false). */
static bool run_ops(void)
{
	while (fz.in.n) {
		uint8_t op = take8();
		unsigned int arg = op >> 3;

		switch (op & 7) {
		case 0:
			poke((uint8_t *)&page, sizeof(page));
			break;
		case 1:
			poke((uint8_t *)&regpage, sizeof(regpage));
			break;
		case 2:
			poke_mem();
			break;
		case 3:
			if (issue(build_registers(), arg & 3))
				return true;
			break;
		case 4:
			if (issue(build_translate(), arg & 3))
				return true;
			break;
		case 5:
			if (issue(SIDECAR_COMMAND_RUN_VP, arg & 3))
				return true;
			break;
		case 6:
			if (issue(take32(), arg & 3))
				return true;
			break;
		default:
			if (misc(arg))
				return true;
			break;
		}
	}
	return false;
}

/* The VMM's turn: check the command that completed, then act until something wakes the
 * CPU; at the end of the input, REMOVE it. */
static void vmm_turn(void)
{
	/* The CPU waits only when idle, and never once REMOVE was requested. */
	FUZZ_CHECK(fz.loop && !fz.removed);
	fz.polls = 0;
	FUZZ_CHECK(sc_load_relaxed(status_byte()) == SIDECAR_CPU_IDLE);
	if (fz.pend.active) {
		check_completion();
	} else {
		/* A command nobody checks (posted by pokes) may have set A/D bits. */
		sync_shadow();
	}
	if (!run_ops()) {
		fz.removed = true;
		sc_store_relaxed(status_byte(), SIDECAR_CPU_REMOVE);
	}
	spin_guard();
}

static void plat_halt(struct sidecar_kcpu *k)
{
	fz.defer = 0;
	vmm_turn();
}

/* ---- one input ---------------------------------------------------------------------------- */

static void setup(void)
{
	if (!fz.booted) {
		fz.mem = malloc(MEM_MAX);
		fz.shadow = malloc(MEM_MAX);
		FUZZ_CHECK(fz.mem && fz.shadow);
		memset(fz.mem, 0, MEM_MAX);
		memset(fz.shadow, 0, MEM_MAX);
		backend_ops = sidecar_backend_synthetic_ops;
		backend_ops.name = "fuzz";
		backend_ops.vp_create = fuzz_vp_create;
		backend_ops.vp_run = fuzz_vp_run;
		fz.be.ops = &backend_ops;
		FUZZ_CHECK(fz.be.ops->init(&fz.be) == 0); /* once: it reads CPUID */
		fz.booted = true;
	}
	/* Back to zeroed memory: only the bytes poked last time can be non-zero. */
	UNPOISON(fz.mem, MEM_MAX);
	for (unsigned int i = next_dirty(0); i < MEM_PAGES; i = next_dirty(i + 1)) {
		memset(fz.mem + (uint64_t)i * 4096, 0, 4096);
		memset(fz.shadow + (uint64_t)i * 4096, 0, 4096);
	}
	memset(fz.dirty, 0, sizeof(fz.dirty));
	memset(&control, 0, sizeof(control));
	memset(&page, 0, sizeof(page));
	memset(&regpage, 0, sizeof(regpage));
	memset(&fz.k, 0, sizeof(fz.k));
	memset(&fz.pend, 0, sizeof(fz.pend));
	fz.signals = 0;
	fz.polls = 0;
	fz.removed = false;
	fz.defer = 0;
	fz.fail_run = 0;
	fz.clock = 1000000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sidecar_guest guests[4] = {SIDECAR_GUEST_IO, SIDECAR_GUEST_HALT, SIDECAR_GUEST_SPIN,
						     SIDECAR_GUEST_IO};
	static const uint64_t steps[4] = {1, 1000, 60000, 1u << 20};
	struct sidecar_kcpu *k = &fz.k;

	setup();
	fz.in.p = data;
	fz.in.n = size;

	/* Header: flags, CPU index, memory trim, io port, injected failures. */
	uint8_t flags = take8();
	uint8_t cpu_index = take8();
	uint16_t trim = take16();
	uint16_t io_port = take16();
	uint8_t inject = take8();

	fz.loop = flags & 4;
	fz.fail_create = fz.loop && (inject & 1);
	fz.no_mem = flags & 16;
	fz.clock_step = steps[flags >> 6];
	fz.irq = flags & 32;
	fz.mem_size = MEM_MAX - trim;
	if (!fz.no_mem)
		POISON(fz.mem + fz.mem_size, MEM_MAX - fz.mem_size);

	fz.be.cfg.mem = fz.no_mem ? NULL : fz.mem;
	fz.be.cfg.mem_size = fz.mem_size;
	fz.be.cfg.guest = guests[flags & 3];
	fz.be.cfg.work_ns = 0;
	fz.be.cfg.io_port = io_port;

	k->host = &plat_ops;
	k->be = fz.be.ops;
	k->backend = &fz.be;
	k->control = &control;
	k->command_page = &page;
	k->register_page = &regpage;
	k->node_cpu_index = cpu_index;
	k->vp_index = 1000u + cpu_index;
	sc_store_relaxed(&k->faults_on, (flags & 8) != 0);

	if (fz.loop) {
		/* The boot shim leaves the CPU in RUN; it reports IDLE, then halts. */
		sc_store_relaxed(status_byte(), SIDECAR_CPU_RUN);
		int rc = sidecar_kernel_cpu_main(k);
		if (fz.fail_create) {
			/* The CPU never came up: REMOVED at once, the reason in the page. */
			char expect[64];
			snprintf(expect, sizeof(expect), "cannot create vp %u: error %d", k->vp_index, -ENOMEM);
			FUZZ_CHECK(rc == -ENOMEM && k->boot_error == rc && k->vp == NULL);
			FUZZ_CHECK(sc_load_relaxed(status_byte()) == SIDECAR_CPU_REMOVED);
			check_error_string(expect);
			return 0;
		}
		FUZZ_CHECK(rc == 0);
		struct sidecar_fast_line *f = fast_line();
		FUZZ_CHECK(fz.removed && !fz.pend.active);
		FUZZ_CHECK(sc_load_relaxed(status_byte()) == SIDECAR_CPU_REMOVED);
		FUZZ_CHECK(k->vp == NULL);
		FUZZ_CHECK(f->sidecar_flags & SIDECAR_FAST_SIDECAR_GONE);
		FUZZ_CHECK(f->done_seq == f->request_seq); /* nothing posted is left waiting */
	} else {
		FUZZ_CHECK(k->be->vp_create(&fz.be, k->vp_index, &k->vp) == 0);
		sc_store_relaxed(status_byte(), SIDECAR_CPU_IDLE);
		run_ops();
		k->be->vp_destroy(k->vp);
		k->vp = NULL;
	}
	return 0;
}
