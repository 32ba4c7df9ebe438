/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the runtime's checked decoding of what the sidecar kernel hands back
 * (<sidecar/message.h>, runtime/message.c).
 *
 * Input: bytes 0..255 are a struct hv_message (copied into an aligned one, zero padded),
 * bytes 256..319 a struct hv_translate_virtual_address_ex_output_x64 (zero padded). Checked:
 *
 *   - every decoder returns 0, -EINVAL or -ENOMSG (the translation decoder 0 or -EINVAL),
 *     -ENOMSG exactly for another message type;
 *   - a successful decode is consistent with the message it came from: the length covers
 *     the structure, the copy equals the payload, an IO intercept has access_size 1, 2 or 4,
 *     instruction_len 1..15, no EXECUTE access, no REP without a string op, data that fits
 *     the access size (and is 0 for IN and string ops); a memory intercept's access is
 *     READ/WRITE/EXECUTE and its GVA is 0 unless marked valid; a translation result is a
 *     defined code with the GPA page-aligned, below 2^64 without wrapping, and 0 unless the
 *     code is SUCCESS;
 *   - the decoders never write outside their output, and the names are non-empty strings.
 */
#include <sidecar/message.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                             \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

/* Output structures wrapped with canaries: a decoder writing past its output trips them
 * (and AddressSanitizer would not see it inside one stack object). */
#define CANARY 0xc3

static void check_name(const char *name)
{
	FUZZ_CHECK(name != NULL);
	size_t n = strlen(name);
	FUZZ_CHECK(n > 0 && n < 64);
}

static void check_canary(const uint8_t *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(c[i] == CANARY);
}

static void fuzz_header(const struct hv_message *m)
{
	struct {
		struct hv_x64_intercept_message_header h;
		uint8_t canary[16];
	} out;
	memset(&out, CANARY, sizeof(out));
	int rc = sidecar_message_decode_header(m, &out.h);
	check_canary(out.canary, sizeof(out.canary));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMSG);
	if (rc == -ENOMSG)
		FUZZ_CHECK((m->header.type & 0x80000000u) == 0);
	if (rc == 0) {
		FUZZ_CHECK(m->header.type & 0x80000000u);
		FUZZ_CHECK(m->header.len >= sizeof(out.h) && m->header.len <= HV_MESSAGE_PAYLOAD_SIZE);
		FUZZ_CHECK(memcmp(&out.h, m->payload, sizeof(out.h)) == 0);
		FUZZ_CHECK(out.h.intercept_access_type <= HV_INTERCEPT_ACCESS_EXECUTE);
	}
}

static void fuzz_io(const struct hv_message *m)
{
	struct {
		struct sidecar_io_intercept io;
		uint8_t canary[16];
	} out;
	memset(&out, CANARY, sizeof(out));
	int rc = sidecar_message_decode_io(m, &out.io);
	check_canary(out.canary, sizeof(out.canary));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMSG);
	FUZZ_CHECK((rc == -ENOMSG) == (m->header.type != HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT));
	if (rc != 0)
		return;

	const struct sidecar_io_intercept *io = &out.io;
	const struct hv_x64_io_port_intercept_message *raw = &io->msg;
	FUZZ_CHECK(m->header.len >= sizeof(*raw) && m->header.len <= HV_MESSAGE_PAYLOAD_SIZE);
	FUZZ_CHECK(memcmp(raw, m->payload, sizeof(*raw)) == 0);
	FUZZ_CHECK(io->access_size == 1 || io->access_size == 2 || io->access_size == 4);
	FUZZ_CHECK(io->access_size == (raw->access_info & HV_X64_IO_ACCESS_SIZE_MASK));
	FUZZ_CHECK(io->instruction_len >= 1 && io->instruction_len <= 15);
	FUZZ_CHECK(io->instruction_len == (raw->header.instruction_length_and_cr8 & 0xf));
	FUZZ_CHECK(raw->instruction_byte_count <= sizeof(raw->instruction_bytes));
	FUZZ_CHECK(raw->header.intercept_access_type == HV_INTERCEPT_ACCESS_READ ||
		   raw->header.intercept_access_type == HV_INTERCEPT_ACCESS_WRITE);
	FUZZ_CHECK(io->write == (raw->header.intercept_access_type == HV_INTERCEPT_ACCESS_WRITE));
	FUZZ_CHECK(io->string_op == !!(raw->access_info & HV_X64_IO_ACCESS_STRING_OP));
	FUZZ_CHECK(io->rep == !!(raw->access_info & HV_X64_IO_ACCESS_REP_PREFIX));
	FUZZ_CHECK(!io->rep || io->string_op);
	FUZZ_CHECK((raw->access_info &
		    ~(HV_X64_IO_ACCESS_SIZE_MASK | HV_X64_IO_ACCESS_STRING_OP | HV_X64_IO_ACCESS_REP_PREFIX)) == 0);
	FUZZ_CHECK(io->port == raw->port_number);
	FUZZ_CHECK(io->rip == raw->header.rip);
	if (io->write && !io->string_op) {
		uint64_t mask = io->access_size == 4 ? 0xffffffffull : (1ull << (8 * io->access_size)) - 1;
		FUZZ_CHECK(io->data == (raw->rax & mask));
	} else {
		FUZZ_CHECK(io->data == 0);
	}
}

static void fuzz_memory(const struct hv_message *m)
{
	struct {
		struct sidecar_memory_intercept mi;
		uint8_t canary[16];
	} out;
	memset(&out, CANARY, sizeof(out));
	int rc = sidecar_message_decode_memory(m, &out.mi);
	check_canary(out.canary, sizeof(out.canary));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMSG);
	uint32_t type = m->header.type;
	bool memory_type = type == HV_MESSAGE_TYPE_GPA_INTERCEPT || type == HV_MESSAGE_TYPE_UNMAPPED_GPA ||
			   type == HV_MESSAGE_TYPE_UNACCEPTED_GPA;
	FUZZ_CHECK((rc == -ENOMSG) == !memory_type);
	if (rc != 0)
		return;

	const struct sidecar_memory_intercept *mi = &out.mi;
	const struct hv_x64_memory_intercept_message *raw = &mi->msg;
	FUZZ_CHECK(m->header.len >= sizeof(*raw) && m->header.len <= HV_MESSAGE_PAYLOAD_SIZE);
	FUZZ_CHECK(memcmp(raw, m->payload, sizeof(*raw)) == 0);
	FUZZ_CHECK(mi->instruction_len <= 15);
	FUZZ_CHECK(mi->access <= HV_INTERCEPT_ACCESS_EXECUTE);
	FUZZ_CHECK(raw->instruction_byte_count <= sizeof(raw->instruction_bytes));
	FUZZ_CHECK(mi->rip == raw->header.rip);
	FUZZ_CHECK(mi->gpa == raw->guest_physical_address);
	FUZZ_CHECK(mi->gva_valid == !!(raw->memory_access_info & HV_X64_MEMORY_ACCESS_GVA_VALID));
	FUZZ_CHECK(mi->gva == (mi->gva_valid ? raw->guest_virtual_address : 0));
}

static void fuzz_translate(const struct hv_translate_virtual_address_ex_output_x64 *o)
{
	uint32_t code = 0xdeadbeef;
	uint64_t gpa = 0xdeadbeef;
	int rc = sidecar_translate_decode(o, &code, &gpa);
	uint64_t result = o->translation_result.result;

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(code == HV_TRANSLATE_GVA_RESULT_CODE(result));
	check_name(sidecar_translate_result_name(code));
	if (rc == 0) {
		FUZZ_CHECK(code <= HV_TRANSLATE_GVA_GPA_UNACCEPTED);
		FUZZ_CHECK((result >> 41) == 0);
		FUZZ_CHECK(strcmp(sidecar_translate_result_name(code), "unknown") != 0);
		if (code == HV_TRANSLATE_GVA_SUCCESS) {
			FUZZ_CHECK((o->gpa_page >> 52) == 0);
			FUZZ_CHECK(gpa == o->gpa_page << 12);
			FUZZ_CHECK((gpa & 0xfff) == 0);
		} else {
			FUZZ_CHECK(gpa == 0);
		}
	} else {
		FUZZ_CHECK(gpa == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_message m;
	struct hv_translate_virtual_address_ex_output_x64 o;

	memset(&m, 0, sizeof(m));
	memcpy(&m, data, size < sizeof(m) ? size : sizeof(m));
	memset(&o, 0, sizeof(o));
	if (size > sizeof(m))
		memcpy(&o, data + sizeof(m), size - sizeof(m) < sizeof(o) ? size - sizeof(m) : sizeof(o));

	FUZZ_CHECK(sidecar_message_type(&m) == m.header.type);
	check_name(sidecar_message_type_name(m.header.type));
	fuzz_header(&m);
	fuzz_io(&m);
	fuzz_memory(&m);
	fuzz_translate(&o);

	/* The decoders copy once: the message they were given is unchanged. */
	FUZZ_CHECK(memcmp(&m, data, size < sizeof(m) ? size : sizeof(m)) == 0);

	/* NULL arguments are refused, not dereferenced. */
	struct sidecar_io_intercept io;
	struct sidecar_memory_intercept mi;
	struct hv_x64_intercept_message_header h;
	uint32_t code;
	uint64_t gpa;
	FUZZ_CHECK(sidecar_message_decode_header(NULL, &h) == -EINVAL);
	FUZZ_CHECK(sidecar_message_decode_header(&m, NULL) == -EINVAL);
	FUZZ_CHECK(sidecar_message_decode_io(NULL, &io) == -EINVAL);
	FUZZ_CHECK(sidecar_message_decode_io(&m, NULL) == -EINVAL);
	FUZZ_CHECK(sidecar_message_decode_memory(NULL, &mi) == -EINVAL);
	FUZZ_CHECK(sidecar_message_decode_memory(&m, NULL) == -EINVAL);
	FUZZ_CHECK(sidecar_translate_decode(NULL, &code, &gpa) == -EINVAL);
	FUZZ_CHECK(sidecar_translate_decode(&o, NULL, &gpa) == -EINVAL);
	FUZZ_CHECK(sidecar_translate_decode(&o, &code, NULL) == -EINVAL);
	return 0;
}
