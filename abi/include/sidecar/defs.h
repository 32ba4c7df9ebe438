/* SPDX-License-Identifier: MIT */
/*
 * The sidecar ABI: what the boot shim, the sidecar kernel, the driver and the VMM share.
 *
 * A C rendering of OpenVMM's `sidecar_defs` crate, byte for byte. Every size and offset is
 * a static assertion at the bottom of this file. libsidecar's extensions (the fast line)
 * live only in reserved space, are enabled by a feature word that is zero after boot, and
 * all-zero means upstream behaviour; see docs/abi.md.
 */
#ifndef SIDECAR_DEFS_H
#define SIDECAR_DEFS_H

#include <sidecar/hvdef.h>

/* The fixed-width types: from libc, from the kernel in a kernel build, or from the including
 * environment when the sidecar kernel core is built freestanding (it defines
 * SIDECAR_FREESTANDING and the types before including this). */
#if defined(__KERNEL__)
#include <linux/stddef.h>
#include <linux/types.h>
#elif !defined(SIDECAR_FREESTANDING)
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SIDECAR_PAGE_SIZE 4096
#define SIDECAR_MAX_NODES 128
/* Most CPUs one node can hold: the number of status bytes in the control page. */
#define SIDECAR_MAX_CPUS_PER_NODE 4032
#define SIDECAR_STACK_PAGES 3
/* Reserved pages per VP: pml4, pdpt, pd, pt, globals, VP assist, hypercall in, out + stack. */
#define SIDECAR_PER_VP_PAGES (8 + SIDECAR_STACK_PAGES)
/* Shared pages per VP: the command page and the register page. */
#define SIDECAR_PER_VP_SHMEM_PAGES 2

/* Bytes of reserved memory a node with `vp_count` VPs needs: the control page plus, per VP,
 * the shared and the private pages. */
static inline size_t sidecar_required_memory(uint32_t vp_count)
{
	return (1 + (size_t)(SIDECAR_PER_VP_SHMEM_PAGES + SIDECAR_PER_VP_PAGES) * vp_count) * SIDECAR_PAGE_SIZE;
}

/* ---------------------------------------------------------------------------------------------
 * Boot parameters and output.
 */
struct sidecar_node_params {
	uint64_t memory_base; /* physical, page aligned */
	uint64_t memory_size; /* a page multiple */
	uint32_t base_vp;
	uint32_t vp_count;
};

struct sidecar_params {
	uint64_t hypercall_page;
	bool enable_logging;
	uint32_t node_count;
	struct sidecar_node_params nodes[SIDECAR_MAX_NODES];
} SIDECAR_ALIGNED(4096);

/* A UTF-8 error string, `len` bytes long, not NUL terminated. */
struct sidecar_command_error {
	uint8_t len;
	uint8_t buf[255];
};

struct sidecar_node_output {
	uint64_t control_page;     /* physical address */
	uint64_t shmem_pages_base; /* physical address of the per-VP shared pages */
	uint64_t shmem_pages_size;
};

struct sidecar_output {
	struct sidecar_command_error error; /* set only when boot fails */
	struct sidecar_node_output nodes[SIDECAR_MAX_NODES];
};

/* ---------------------------------------------------------------------------------------------
 * The per-node control page.
 */
enum sidecar_cpu_status {
	SIDECAR_CPU_REMOVED = 0, /* not running in the sidecar kernel */
	SIDECAR_CPU_IDLE = 1,    /* idle, previous commands complete */
	SIDECAR_CPU_RUN = 2,     /* running a command */
	SIDECAR_CPU_STOP = 3,    /* asked to stop the running command */
	SIDECAR_CPU_REMOVE = 4,  /* asked to leave the sidecar kernel */
};

struct sidecar_control_page {
	uint32_t index;           /* node index */
	uint32_t base_cpu;        /* first CPU of the node */
	uint32_t cpu_count;       /* CPUs in the node */
	uint32_t request_vector;  /* vector the driver IPIs to wake a sidecar CPU */
	uint32_t response_cpu;    /* APIC id the sidecar CPUs IPI when done */
	uint32_t response_vector; /* vector of that IPI; 0: do not send one */
	uint32_t needs_attention; /* non-zero: a sidecar CPU has something for the driver */
	uint8_t reserved[36];
	uint8_t cpu_status[SIDECAR_MAX_CPUS_PER_NODE]; /* enum sidecar_cpu_status, one per CPU */
} SIDECAR_ALIGNED(4096);

/* ---------------------------------------------------------------------------------------------
 * The per-VP command page.
 */
enum sidecar_command {
	SIDECAR_COMMAND_NONE = 0,             /* do nothing (a liveness test) */
	SIDECAR_COMMAND_RUN_VP = 1,           /* run until an intercept or a stop */
	SIDECAR_COMMAND_GET_VP_REGISTERS = 2, /* sidecar_get_set_vp_register_request */
	SIDECAR_COMMAND_SET_VP_REGISTERS = 3, /* sidecar_get_set_vp_register_request */
	SIDECAR_COMMAND_TRANSLATE_GVA = 4,    /* sidecar_translate_gva_request */
};

/* Indices into sidecar_cpu_context_x64.gps: the usual order, but CR2 in RSP's slot. */
#define SIDECAR_CPU_CONTEXT_RAX 0
#define SIDECAR_CPU_CONTEXT_RCX 1
#define SIDECAR_CPU_CONTEXT_RDX 2
#define SIDECAR_CPU_CONTEXT_RBX 3
#define SIDECAR_CPU_CONTEXT_CR2 4
#define SIDECAR_CPU_CONTEXT_RBP 5
#define SIDECAR_CPU_CONTEXT_RSI 6
#define SIDECAR_CPU_CONTEXT_RDI 7
#define SIDECAR_CPU_CONTEXT_R8 8
#define SIDECAR_CPU_CONTEXT_R9 9
#define SIDECAR_CPU_CONTEXT_R10 10
#define SIDECAR_CPU_CONTEXT_R11 11
#define SIDECAR_CPU_CONTEXT_R12 12
#define SIDECAR_CPU_CONTEXT_R13 13
#define SIDECAR_CPU_CONTEXT_R14 14
#define SIDECAR_CPU_CONTEXT_R15 15

struct sidecar_cpu_context_x64 {
	uint64_t gps[16];
	struct x86_fxsave fx_state;
	uint8_t reserved[384];
} SIDECAR_ALIGNED(16);

#define SIDECAR_REQUEST_DATA_SIZE 1024

struct sidecar_command_page {
	uint32_t command;  /* enum sidecar_command; the kernel replaces it with NONE */
	uint8_t has_error; /* non-zero: `error` holds why the command failed */
	uint8_t padding[11];
	struct sidecar_cpu_context_x64 cpu_context;
	struct hv_message intercept_message; /* from the last RUN_VP that hit an intercept */
	struct sidecar_command_error error;
	uint8_t request_data[SIDECAR_REQUEST_DATA_SIZE] SIDECAR_ALIGNED(16);
	uint64_t reserved[190]; /* libsidecar puts its fast line here: see below */
};

/* GET/SET_VP_REGISTERS: this header, then `count` hv_register_assoc, updated in place by
 * GET. `status` is the hypervisor status of the first failing register. */
struct sidecar_get_set_vp_register_request {
	uint16_t count;
	uint8_t target_vtl; /* HvInputVtl: 0 is the current VTL */
	uint8_t rsvd;
	uint16_t status; /* hv_status */
	uint8_t rsvd2[10];
};

#define SIDECAR_MAX_GET_SET_VP_REGISTERS                                                    \
	((SIDECAR_REQUEST_DATA_SIZE - sizeof(struct sidecar_get_set_vp_register_request)) / \
	 sizeof(struct hv_register_assoc))

struct sidecar_translate_gva_request {
	uint64_t gvn;           /* guest virtual page number */
	uint64_t control_flags; /* HV_TRANSLATE_GVA_* */
};

struct sidecar_translate_gva_response {
	uint16_t status; /* hv_status */
	uint16_t rsvd[7];
	struct hv_translate_virtual_address_ex_output_x64 output;
};

struct sidecar_run_vp_response {
	uint8_t intercept; /* non-zero: the VP stopped on an intercept, else on a stop request */
};

/* The per-VP shared mapping: what the driver's mmap gives per CPU. */
struct sidecar_vp_shared_pages {
	struct sidecar_command_page command_page;
	struct hv_x64_register_page register_page;
};

/* ---------------------------------------------------------------------------------------------
 * libsidecar extension: the fast line (docs/abi.md, docs/fast-path.md).
 *
 * One cache line in the command page's reserved space through which the VMM posts commands
 * and the sidecar kernel publishes their completion, so that a round trip moves one line
 * each way. The kernel zeroes it at boot and then advertises what it supports in
 * `sidecar_caps`; an upstream kernel leaves `sidecar_caps` zero and a client must then use
 * the upstream protocol. `features` zero (the state after boot) means upstream behaviour:
 * the line is ignored.
 *
 * Mailbox protocol (SIDECAR_FAST_F_MAILBOX): while the VP's cpu_status is IDLE, the VMM
 * writes the request (request_data, cpu_context, `command`), then stores `request_seq + 1`
 * into `request_seq` (release). The kernel runs the command with cpu_status left IDLE, then
 * stores the sequence into `done_seq` (release) after writing the results (also copied into
 * `intercept` and `has_error`). `stop_seq == request_seq` asks a posted RUN_VP to stop.
 * cpu_status keeps its upstream meaning for requests the driver makes (RUN, STOP, REMOVE).
 */
#define SIDECAR_FAST_LINE_OFFSET 2624

/* features: what the VMM asks for. */
#define SIDECAR_FAST_F_MAILBOX (1u << 0)      /* commands posted through request_seq */
#define SIDECAR_FAST_F_SUPPRESS (1u << 1)     /* signal only an announced sleeper, both ways */
#define SIDECAR_FAST_F_SIDECAR_POLL (1u << 2) /* poll the doorbell before parking */
#define SIDECAR_FAST_F_ADAPTIVE (1u << 3)     /* adapt the sidecar's poll window */
#define SIDECAR_FAST_F_LAZY_FX (1u << 4)      /* the FXSAVE image may be left stale (fx_stale) */
#define SIDECAR_FAST_F_IO_EXIT (1u << 5)      /* the port-I/O summary and COMPLETE_IO (below) */
#define SIDECAR_FAST_F_ALL                                                                                          \
	(SIDECAR_FAST_F_MAILBOX | SIDECAR_FAST_F_SUPPRESS | SIDECAR_FAST_F_SIDECAR_POLL | SIDECAR_FAST_F_ADAPTIVE | \
	 SIDECAR_FAST_F_LAZY_FX | SIDECAR_FAST_F_IO_EXIT)

/*
 * `command`: the command in the low 16 bits, libsidecar's modifiers above; a bit the kernel
 * does not know fails the command ("unknown command").
 *
 * SIDECAR_FAST_COMMAND_COMPLETE_IO (with RUN_VP; the stop it completes came from a run with
 * SIDECAR_FAST_F_IO_EXIT in `features`: only then does the kernel record it): before the VP runs,
 * complete the plain (not string) port-I/O instruction its last run stopped at, as KVM
 * completes an I/O exit: RIP moves past the instruction and, for an IN, the low `size` bytes
 * of `io_in_value` go into AL, AX or EAX (EAX zero-extends into RAX, as the CPU does). The
 * completion is applied after the register page's dirty fields, so it wins over a RIP or RAX
 * written there for the same stop. When the last run did not stop at such an instruction
 * (or a completion already consumed it), the command fails: has_error, the reason in the
 * page, the VP not run.
 */
#define SIDECAR_FAST_COMMAND_MASK 0xffffu
#define SIDECAR_FAST_COMMAND_COMPLETE_IO (1u << 31)

/*
 * io_info (SIDECAR_FAST_F_IO_EXIT): what done_seq's RUN_VP stopped at, so that a VMM handles
 * a plain IN/OUT from this line alone, without reading the intercept message's lines.
 * Zero: not a plain port-I/O intercept (another message, a string or REP instruction, no
 * intercept, an error); the message says what it was.
 */
#define SIDECAR_FAST_IO_SIZE_MASK 0x07u /* access size: 1, 2 or 4 bytes */
#define SIDECAR_FAST_IO_WRITE 0x08u     /* OUT: io_data holds the value written */
#define SIDECAR_FAST_IO_VALID 0x80u     /* io_port, io_data and the bits above describe it */

/* An IN or OUT of `size` bytes (1, 2 or 4): the part of RAX an OUT writes (io_data). */
static inline uint32_t sidecar_io_value(uint64_t rax, uint8_t size)
{
	return size == 4 ? (uint32_t)rax : (uint32_t)rax & ((1u << (8 * size)) - 1);
}

/* An IN's value into RAX, the CPU's rule (and COMPLETE_IO's): AL and AX keep the bits above
 * them, EAX zero-extends into RAX. */
static inline uint64_t sidecar_io_merge_in(uint64_t rax, uint8_t size, uint32_t value)
{
	if (size == 4)
		return value;
	uint64_t mask = (1ull << (8 * size)) - 1;
	return (rax & ~mask) | (value & mask);
}

/* client_flags */
#define SIDECAR_FAST_CLIENT_SLEEPING (1u << 0) /* the VMM sleeps: signal the completion */

/* sidecar_flags */
#define SIDECAR_FAST_SIDECAR_PARKED (1u << 0)  /* the sidecar CPU halts: signal a request */
#define SIDECAR_FAST_SIDECAR_GONE (1u << 1)    /* the CPU left (REMOVE): it serves nothing more */
#define SIDECAR_FAST_SIDECAR_LEAVING (1u << 2) /* it is leaving: GONE follows its last check */

struct sidecar_fast_line {
	/* Written by the VMM. */
	uint32_t features;        /* SIDECAR_FAST_F_* */
	uint32_t request_seq;     /* doorbell */
	uint32_t command;         /* enum sidecar_command of request_seq */
	uint32_t stop_seq;        /* == request_seq: stop that RUN_VP */
	uint32_t client_flags;    /* SIDECAR_FAST_CLIENT_* */
	uint32_t client_host_cpu; /* host CPU + 1 the VMM thread last ran on, 0 unknown */
	uint32_t sidecar_poll_ns; /* cap of the sidecar's poll window */
	uint32_t io_in_value;     /* COMPLETE_IO of an IN: the value read (its low `size` bytes) */
	/* Written by the sidecar kernel. */
	uint32_t done_seq;         /* request_seq of the last completed posted command */
	uint32_t sidecar_flags;    /* SIDECAR_FAST_SIDECAR_* */
	uint32_t sidecar_caps;     /* SIDECAR_FAST_F_* this kernel implements */
	uint32_t sidecar_host_cpu; /* host CPU + 1 the sidecar CPU runs on, 0 unknown */
	uint8_t intercept;         /* copy of sidecar_run_vp_response.intercept of done_seq */
	uint8_t has_error;         /* copy of the page's has_error for done_seq */
	uint16_t io_port;          /* IO_EXIT: the port of done_seq's plain IN/OUT */
	uint32_t io_data;          /* IO_EXIT: an OUT's value (the low `size` bytes of RAX), else 0 */
	uint8_t io_info;           /* IO_EXIT: SIDECAR_FAST_IO_*, 0 when not a plain IN/OUT */
	uint8_t reserved1[7];
} SIDECAR_ALIGNED(64);

/*
 * libsidecar extension: the lazy FXSAVE image (SIDECAR_FAST_F_LAZY_FX). The first byte of
 * sidecar_cpu_context_x64.reserved (offset 640) is `fx_stale`: non-zero means the VP holds
 * newer x87/SSE state than cpu_context.fx_state (a backend that reads the FPU state only on
 * demand, such as KVM, left it there). The kernel brings the image up to date before any
 * GET/SET of a register that lives in it, so a GET_VP_REGISTERS of XMM0 is the way to sync.
 * Zero, always so unless the client asked for LAZY_FX, is the upstream behaviour: the image
 * is current after every run.
 */
#define SIDECAR_CPU_CONTEXT_FX_STALE_OFFSET 640

static inline uint8_t *sidecar_cpu_context_fx_stale(struct sidecar_cpu_context_x64 *ctx)
{
	return &ctx->reserved[0];
}

/* The fast line of a command page. */
static inline struct sidecar_fast_line *sidecar_command_page_fast(struct sidecar_command_page *p)
{
	return (struct sidecar_fast_line *)((uint8_t *)p + SIDECAR_FAST_LINE_OFFSET);
}

/* ---------------------------------------------------------------------------------------------
 * Layout assertions: every size and offset of the upstream layout.
 */
SIDECAR_ASSERT_SIZE(struct sidecar_node_params, 24);
SIDECAR_ASSERT_OFFSET(struct sidecar_node_params, memory_base, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_node_params, memory_size, 8);
SIDECAR_ASSERT_OFFSET(struct sidecar_node_params, base_vp, 16);
SIDECAR_ASSERT_OFFSET(struct sidecar_node_params, vp_count, 20);
SIDECAR_ASSERT_SIZE(struct sidecar_params, 4096);
SIDECAR_STATIC_ASSERT(SIDECAR_ALIGNOF(struct sidecar_params) == 4096, "sidecar_params alignment");
SIDECAR_ASSERT_OFFSET(struct sidecar_params, hypercall_page, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_params, enable_logging, 8);
SIDECAR_ASSERT_OFFSET(struct sidecar_params, node_count, 12);
SIDECAR_ASSERT_OFFSET(struct sidecar_params, nodes, 16);

SIDECAR_ASSERT_SIZE(struct sidecar_command_error, 256);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_error, buf, 1);
SIDECAR_ASSERT_SIZE(struct sidecar_node_output, 24);
SIDECAR_ASSERT_SIZE(struct sidecar_output, 3328);
SIDECAR_ASSERT_OFFSET(struct sidecar_output, error, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_output, nodes, 256);

SIDECAR_ASSERT_SIZE(struct sidecar_control_page, 4096);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, index, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, base_cpu, 4);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, cpu_count, 8);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, request_vector, 12);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, response_cpu, 16);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, response_vector, 20);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, needs_attention, 24);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, reserved, 28);
SIDECAR_ASSERT_OFFSET(struct sidecar_control_page, cpu_status, 64);

SIDECAR_ASSERT_SIZE(struct sidecar_cpu_context_x64, 1024);
SIDECAR_STATIC_ASSERT(SIDECAR_ALIGNOF(struct sidecar_cpu_context_x64) == 16, "cpu context alignment");
SIDECAR_ASSERT_OFFSET(struct sidecar_cpu_context_x64, gps, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_cpu_context_x64, fx_state, 128);
SIDECAR_ASSERT_OFFSET(struct sidecar_cpu_context_x64, reserved, 640);

SIDECAR_ASSERT_SIZE(struct sidecar_command_page, 4096);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, command, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, has_error, 4);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, padding, 5);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, cpu_context, 16);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, intercept_message, 1040);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, error, 1296);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, request_data, 1552);
SIDECAR_ASSERT_OFFSET(struct sidecar_command_page, reserved, 2576);

SIDECAR_ASSERT_SIZE(struct sidecar_get_set_vp_register_request, 16);
SIDECAR_ASSERT_OFFSET(struct sidecar_get_set_vp_register_request, count, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_get_set_vp_register_request, target_vtl, 2);
SIDECAR_ASSERT_OFFSET(struct sidecar_get_set_vp_register_request, rsvd, 3);
SIDECAR_ASSERT_OFFSET(struct sidecar_get_set_vp_register_request, status, 4);
SIDECAR_ASSERT_OFFSET(struct sidecar_get_set_vp_register_request, rsvd2, 6);
SIDECAR_STATIC_ASSERT(SIDECAR_MAX_GET_SET_VP_REGISTERS == 31, "31 registers per request");

SIDECAR_ASSERT_SIZE(struct sidecar_translate_gva_request, 16);
SIDECAR_ASSERT_OFFSET(struct sidecar_translate_gva_request, gvn, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_translate_gva_request, control_flags, 8);
SIDECAR_ASSERT_SIZE(struct sidecar_translate_gva_response, 80);
SIDECAR_ASSERT_OFFSET(struct sidecar_translate_gva_response, status, 0);
SIDECAR_ASSERT_OFFSET(struct sidecar_translate_gva_response, rsvd, 2);
SIDECAR_ASSERT_OFFSET(struct sidecar_translate_gva_response, output, 16);
SIDECAR_ASSERT_SIZE(struct sidecar_run_vp_response, 1);

SIDECAR_ASSERT_SIZE(struct sidecar_vp_shared_pages, 8192);
SIDECAR_ASSERT_OFFSET(struct sidecar_vp_shared_pages, register_page, 4096);

SIDECAR_ASSERT_SIZE(struct sidecar_fast_line, 64);
SIDECAR_ASSERT_OFFSET(struct sidecar_fast_line, request_seq, 4);
SIDECAR_ASSERT_OFFSET(struct sidecar_fast_line, done_seq, 32);
SIDECAR_ASSERT_OFFSET(struct sidecar_fast_line, intercept, 48);
SIDECAR_ASSERT_OFFSET(struct sidecar_fast_line, io_in_value, 28);
SIDECAR_ASSERT_OFFSET(struct sidecar_fast_line, io_port, 50);
SIDECAR_ASSERT_OFFSET(struct sidecar_fast_line, io_data, 52);
SIDECAR_ASSERT_OFFSET(struct sidecar_fast_line, io_info, 56);
SIDECAR_STATIC_ASSERT(SIDECAR_FAST_LINE_OFFSET % 64 == 0, "fast line is cache-line aligned");
SIDECAR_STATIC_ASSERT(SIDECAR_CPU_CONTEXT_FX_STALE_OFFSET == offsetof(struct sidecar_cpu_context_x64, reserved),
		      "fx_stale lies in the cpu context's reserved space");
SIDECAR_STATIC_ASSERT(SIDECAR_FAST_LINE_OFFSET >= offsetof(struct sidecar_command_page, reserved) &&
			      SIDECAR_FAST_LINE_OFFSET + sizeof(struct sidecar_fast_line) <=
				      sizeof(struct sidecar_command_page),
		      "fast line lies in the command page's reserved space");

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_DEFS_H */
