/* SPDX-License-Identifier: MIT */
/*
 * Checked decoding of what the sidecar kernel hands back: intercept messages and GVA
 * translation results. The message lives in shared memory written by another trust
 * domain; these functions copy it out once and validate it (type, length, field ranges)
 * before a VMM acts on it. Each returns 0, or -EINVAL for a message that is not what it
 * claims to be or a NULL pointer (-ENOMSG for another message type). sidecar_message_type
 * of NULL is HV_MESSAGE_TYPE_NONE.
 */
#ifndef SIDECAR_MESSAGE_H
#define SIDECAR_MESSAGE_H

#include <sidecar/hvdef.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An IO-port intercept, decoded. */
struct sidecar_io_intercept {
	struct hv_x64_io_port_intercept_message msg; /* the copy that was validated */
	uint64_t rip;                                /* the intercepting instruction */
	uint8_t instruction_len;                     /* 1..15 */
	uint8_t access_size;                         /* 1, 2 or 4 bytes */
	bool write;                                  /* OUT (else IN) */
	bool string_op, rep;
	uint16_t port;
	uint32_t data; /* for a non-string OUT: the low access_size bytes of RAX */
};

/* A memory intercept (HV_MESSAGE_TYPE_GPA_INTERCEPT or _UNMAPPED_GPA), decoded. */
struct sidecar_memory_intercept {
	struct hv_x64_memory_intercept_message msg;
	uint64_t rip;
	uint8_t instruction_len; /* 0 when unknown, else 1..15 */
	uint8_t access;          /* HV_INTERCEPT_ACCESS_READ / _WRITE / _EXECUTE */
	uint64_t gpa;
	uint64_t gva; /* valid when gva_valid */
	bool gva_valid;
};

/* The message's type (a copy of header.type) and a printable name ("io-port", ...). */
uint32_t sidecar_message_type(const struct hv_message *m);
const char *sidecar_message_type_name(uint32_t type);
/* The intercept header common to x64 intercepts: checks the payload length covers it and the
 * instruction length (low nibble) is 0..15. */
int sidecar_message_decode_header(const struct hv_message *m, struct hv_x64_intercept_message_header *out);
int sidecar_message_decode_io(const struct hv_message *m, struct sidecar_io_intercept *out);
int sidecar_message_decode_memory(const struct hv_message *m, struct sidecar_memory_intercept *out);

/* A TRANSLATE_GVA output: the result code (HV_TRANSLATE_GVA_*) and, on success, the GPA of
 * the page. -EINVAL for a result code no hypervisor defines or reserved bits set. */
int sidecar_translate_decode(const struct hv_translate_virtual_address_ex_output_x64 *o, uint32_t *code, uint64_t *gpa);
const char *sidecar_translate_result_name(uint32_t code);

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_MESSAGE_H */
