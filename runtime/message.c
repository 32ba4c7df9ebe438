/* SPDX-License-Identifier: MIT */
/* Checked decoding of intercept messages and translation results (<sidecar/message.h>).
 * Every function copies the shared data once, then validates only the copy: a writer on the
 * other side cannot change a field between its check and its use. */
#include <sidecar/defs.h>
#include <sidecar/message.h>

#include <stdbool.h>
#include <string.h>

uint32_t sidecar_message_type(const struct hv_message *m)
{
	if (!m)
		return HV_MESSAGE_TYPE_NONE;
	uint32_t type;
	memcpy(&type, &m->header.type, sizeof(type));
	return type;
}

const char *sidecar_message_type_name(uint32_t type)
{
	switch (type) {
	case HV_MESSAGE_TYPE_NONE:
		return "none";
	case HV_MESSAGE_TYPE_UNMAPPED_GPA:
		return "unmapped-gpa";
	case HV_MESSAGE_TYPE_GPA_INTERCEPT:
		return "gpa";
	case HV_MESSAGE_TYPE_UNACCEPTED_GPA:
		return "unaccepted-gpa";
	case HV_MESSAGE_TYPE_TIMER_EXPIRED:
		return "timer-expired";
	case HV_MESSAGE_TYPE_INVALID_VP_REGISTER_VALUE:
		return "invalid-vp-register-value";
	case HV_MESSAGE_TYPE_UNRECOVERABLE_EXCEPTION:
		return "unrecoverable-exception";
	case HV_MESSAGE_TYPE_UNSUPPORTED_FEATURE:
		return "unsupported-feature";
	case HV_MESSAGE_TYPE_HYPERCALL_INTERCEPT:
		return "hypercall";
	case HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT:
		return "io-port";
	case HV_MESSAGE_TYPE_MSR_INTERCEPT:
		return "msr";
	case HV_MESSAGE_TYPE_X64_CPUID_INTERCEPT:
		return "cpuid";
	case HV_MESSAGE_TYPE_EXCEPTION_INTERCEPT:
		return "exception";
	case HV_MESSAGE_TYPE_X64_APIC_EOI:
		return "apic-eoi";
	case HV_MESSAGE_TYPE_REGISTER_INTERCEPT:
		return "register";
	case HV_MESSAGE_TYPE_X64_HALT:
		return "halt";
	case HV_MESSAGE_TYPE_X64_INTERRUPTION_DELIVERABLE:
		return "interruption-deliverable";
	case HV_MESSAGE_TYPE_X64_SIPI_INTERCEPT:
		return "sipi";
	}
	return "unknown";
}

/* Copies the header and `size` bytes of payload; checks the length the message claims. */
static int copy_payload(const struct hv_message *m, void *out, size_t size, uint32_t *type)
{
	struct hv_message_header h;

	memcpy(&h, &m->header, sizeof(h));
	*type = h.type;
	if (h.len > HV_MESSAGE_PAYLOAD_SIZE || h.len < size)
		return -EINVAL;
	memcpy(out, m->payload, size);
	return 0;
}

static int check_header(const struct hv_x64_intercept_message_header *h)
{
	if (h->intercept_access_type > HV_INTERCEPT_ACCESS_EXECUTE)
		return -EINVAL;
	return 0;
}

int sidecar_message_decode_header(const struct hv_message *m, struct hv_x64_intercept_message_header *out)
{
	uint32_t type;

	if (!m || !out)
		return -EINVAL;
	int rc = copy_payload(m, out, sizeof(*out), &type);
	if (rc)
		return rc;
	if ((type & 0x80000000u) == 0)
		return -ENOMSG; /* not an intercept */
	return check_header(out);
}

int sidecar_message_decode_io(const struct hv_message *m, struct sidecar_io_intercept *out)
{
	uint32_t type;

	if (!m || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	int rc = copy_payload(m, &out->msg, sizeof(out->msg), &type);
	if (type != HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT)
		return -ENOMSG;
	if (rc)
		return rc;
	const struct hv_x64_io_port_intercept_message *io = &out->msg;
	uint8_t len = io->header.instruction_length_and_cr8 & 0xf;
	uint8_t size = io->access_info & HV_X64_IO_ACCESS_SIZE_MASK;
	if (check_header(&io->header) || io->header.intercept_access_type == HV_INTERCEPT_ACCESS_EXECUTE)
		return -EINVAL;
	if (len == 0 || (size != 1 && size != 2 && size != 4))
		return -EINVAL;
	if (io->instruction_byte_count > sizeof(io->instruction_bytes))
		return -EINVAL;
	if (io->access_info & ~(HV_X64_IO_ACCESS_SIZE_MASK | HV_X64_IO_ACCESS_STRING_OP | HV_X64_IO_ACCESS_REP_PREFIX))
		return -EINVAL;
	if ((io->access_info & HV_X64_IO_ACCESS_REP_PREFIX) && !(io->access_info & HV_X64_IO_ACCESS_STRING_OP))
		return -EINVAL;
	out->rip = io->header.rip;
	out->instruction_len = len;
	out->access_size = size;
	out->write = io->header.intercept_access_type == HV_INTERCEPT_ACCESS_WRITE;
	out->string_op = io->access_info & HV_X64_IO_ACCESS_STRING_OP;
	out->rep = io->access_info & HV_X64_IO_ACCESS_REP_PREFIX;
	out->port = io->port_number;
	if (out->write && !out->string_op)
		out->data = sidecar_io_value(io->rax, size);
	return 0;
}

int sidecar_message_decode_memory(const struct hv_message *m, struct sidecar_memory_intercept *out)
{
	uint32_t type;

	if (!m || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	int rc = copy_payload(m, &out->msg, sizeof(out->msg), &type);
	if (type != HV_MESSAGE_TYPE_GPA_INTERCEPT && type != HV_MESSAGE_TYPE_UNMAPPED_GPA &&
	    type != HV_MESSAGE_TYPE_UNACCEPTED_GPA)
		return -ENOMSG;
	if (rc)
		return rc;
	const struct hv_x64_memory_intercept_message *mi = &out->msg;
	if (check_header(&mi->header) || mi->instruction_byte_count > sizeof(mi->instruction_bytes))
		return -EINVAL;
	out->rip = mi->header.rip;
	out->instruction_len = mi->header.instruction_length_and_cr8 & 0xf;
	out->access = mi->header.intercept_access_type;
	out->gpa = mi->guest_physical_address;
	out->gva_valid = mi->memory_access_info & HV_X64_MEMORY_ACCESS_GVA_VALID;
	out->gva = out->gva_valid ? mi->guest_virtual_address : 0;
	return 0;
}

int sidecar_translate_decode(const struct hv_translate_virtual_address_ex_output_x64 *o, uint32_t *code, uint64_t *gpa)
{
	uint64_t result;
	uint64_t page;

	if (!o || !code || !gpa)
		return -EINVAL;
	memcpy(&result, &o->translation_result.result, sizeof(result));
	memcpy(&page, &o->gpa_page, sizeof(page));
	*code = HV_TRANSLATE_GVA_RESULT_CODE(result);
	*gpa = 0;
	if (*code > HV_TRANSLATE_GVA_GPA_UNACCEPTED || (result >> 41) != 0)
		return -EINVAL;
	if (*code == HV_TRANSLATE_GVA_SUCCESS) {
		if (page >> 52)
			return -EINVAL; /* beyond any physical address */
		*gpa = page << 12;
	}
	return 0;
}

const char *sidecar_translate_result_name(uint32_t code)
{
	static const char *const names[] = {
		"success",      "page-not-present",   "privilege-violation", "invalid-page-table-flags",
		"gpa-unmapped", "gpa-no-read-access", "gpa-no-write-access", "gpa-illegal-overlay-access",
		"intercept",    "gpa-unaccepted",
	};
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}
