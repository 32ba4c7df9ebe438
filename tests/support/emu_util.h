/* SPDX-License-Identifier: MIT */
/*
 * Shared by the emulation helper's tests: a recording device (ports and a block of device
 * memory) behind struct sidecar_emulate_ops, and builders of intercept messages.
 */
#ifndef SIDECAR_TESTS_EMU_UTIL_H
#define SIDECAR_TESTS_EMU_UTIL_H

#include "check.h"

#include <sidecar/client.h>
#include <sidecar/emulate.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define DEV_SIZE 8192

struct dev {
	uint64_t base; /* GPA of mem[0] */
	uint8_t mem[DEV_SIZE];
	unsigned int reads, writes; /* device-memory accesses */
	uint64_t last_gpa;
	uint8_t last_size;
	uint64_t last_value;
	int fail_read, fail_write; /* returned by the next access of that kind, then cleared */
	/* Ports: OUT data is appended to out[]; IN returns in_value (+1 after each). */
	uint8_t out[4096];
	size_t nout;
	uint16_t last_port;
	uint8_t last_io_size;
	uint32_t in_value;
	unsigned int ins;
};

/* The recording device's callbacks, `opaque` a struct dev. */
extern const struct sidecar_emulate_ops dev_ops;

/* Code segment attributes (the VMX layout). */
#define CS64 0xa09b
#define CS32 0xc09b
#define CS16 0x009b

/* An intercept header: `bits` 64 (long mode), 32 (protected) or 16 (real mode). */
void mk_header(struct hv_x64_intercept_message_header *h, unsigned int bits, uint64_t rip, unsigned int len,
	       uint8_t access, uint64_t rflags);

/* A memory intercept at `gpa` (= its GVA: identity) for the instruction in `bytes`. */
void mk_mem(struct hv_message *msg, unsigned int bits, uint64_t rip, const uint8_t *bytes, unsigned int len,
	    uint64_t gpa, uint8_t access, uint64_t rflags);

/* An IO-port intercept. `info`: size | HV_X64_IO_ACCESS_STRING_OP | _REP_PREFIX. */
void mk_io(struct hv_message *msg, unsigned int bits, uint64_t rip, const uint8_t *bytes, unsigned int len,
	   uint16_t port, uint8_t info, bool out, uint64_t rflags, const struct sidecar_cpu_context_x64 *ctx,
	   uint64_t ds_base, uint64_t es_base);

#endif
