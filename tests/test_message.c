/* SPDX-License-Identifier: MIT */
/* <sidecar/message.h>: real messages decode; every kind of tampering is refused. */
#include "check.h"

#include <sidecar/client.h>

static void test_io(void)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	struct sidecar_io_intercept io;
	struct sidecar_memory_intercept mem;
	struct hv_x64_intercept_message_header h;
	bool intercept;

	REQUIRE(sidecar_client_open("sim:cpus=1,io_port=0x2f8", &c) == 0);
	REQUIRE(sidecar_vp_acquire(c, 1, &vp) == 0);
	sidecar_vp_cpu_context(vp)->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x1234;
	REQUIRE(sidecar_vp_run_sync(vp, &intercept) == 0 && intercept);
	const struct hv_message *m = sidecar_vp_intercept_message(vp);
	CHECK_EQ(sidecar_message_type(m), HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
	CHECK_STREQ(sidecar_message_type_name(sidecar_message_type(m)), "io-port");
	CHECK_EQ(sidecar_message_decode_io(m, &io), 0);
	CHECK_EQ(io.port, 0x2f8);
	CHECK_EQ(io.access_size, 1);
	CHECK(io.write);
	CHECK(!io.string_op && !io.rep);
	CHECK_EQ(io.data, 0x34);
	CHECK_EQ(io.instruction_len, 1);
	CHECK_EQ(io.rip, 0xfff0);
	CHECK_EQ(sidecar_message_decode_header(m, &h), 0);
	CHECK_EQ(h.rip, 0xfff0);
	CHECK_EQ(sidecar_message_decode_memory(m, &mem), -ENOMSG);

	/* Tampered copies. */
	struct hv_message t;
	t = *m;
	t.header.len = 127; /* shorter than the message it claims to be */
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -EINVAL);
	t = *m;
	t.header.len = 241;
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -EINVAL);
	t = *m;
	((struct hv_x64_io_port_intercept_message *)t.payload)->access_info = 3; /* size 3 */
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -EINVAL);
	t = *m;
	((struct hv_x64_io_port_intercept_message *)t.payload)->access_info = 1 | HV_X64_IO_ACCESS_REP_PREFIX;
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -EINVAL); /* rep without a string op */
	t = *m;
	((struct hv_x64_io_port_intercept_message *)t.payload)->instruction_byte_count = 17;
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -EINVAL);
	t = *m;
	((struct hv_x64_io_port_intercept_message *)t.payload)->header.instruction_length_and_cr8 = 0;
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -EINVAL);
	t = *m;
	((struct hv_x64_io_port_intercept_message *)t.payload)->header.intercept_access_type = 7;
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -EINVAL);
	CHECK_EQ(sidecar_message_decode_header(&t, &h), -EINVAL);
	t = *m;
	t.header.type = HV_MESSAGE_TYPE_X64_HALT;
	CHECK_EQ(sidecar_message_decode_io(&t, &io), -ENOMSG);
	t.header.type = 0x1234;
	CHECK_EQ(sidecar_message_decode_header(&t, &h), -ENOMSG);
	CHECK_STREQ(sidecar_message_type_name(0x1234), "unknown");
	CHECK_EQ(sidecar_message_decode_io(NULL, &io), -EINVAL);

	/* A string OUT with rep: no data, flags set. */
	t = *m;
	((struct hv_x64_io_port_intercept_message *)t.payload)->access_info =
		2 | HV_X64_IO_ACCESS_STRING_OP | HV_X64_IO_ACCESS_REP_PREFIX;
	CHECK_EQ(sidecar_message_decode_io(&t, &io), 0);
	CHECK(io.string_op && io.rep);
	CHECK_EQ(io.data, 0);

	/* A memory intercept built by hand. */
	t = *m;
	t.header.type = HV_MESSAGE_TYPE_UNMAPPED_GPA;
	t.header.len = sizeof(struct hv_x64_memory_intercept_message);
	struct hv_x64_memory_intercept_message *mi = (void *)t.payload;
	memset(mi, 0, sizeof(*mi));
	mi->header.intercept_access_type = HV_INTERCEPT_ACCESS_WRITE;
	mi->header.rip = 0x1000;
	mi->guest_physical_address = 0xfee00000;
	mi->guest_virtual_address = 0xdead;
	mi->memory_access_info = HV_X64_MEMORY_ACCESS_GVA_VALID;
	CHECK_EQ(sidecar_message_decode_memory(&t, &mem), 0);
	CHECK_EQ(mem.gpa, 0xfee00000);
	CHECK(mem.gva_valid);
	CHECK_EQ(mem.gva, 0xdead);
	CHECK_EQ(mem.access, HV_INTERCEPT_ACCESS_WRITE);
	mi->memory_access_info = 0;
	CHECK_EQ(sidecar_message_decode_memory(&t, &mem), 0);
	CHECK(!mem.gva_valid);
	CHECK_EQ(mem.gva, 0);
	sidecar_vp_release(vp);
	sidecar_client_close(c);
}

static void test_translate(void)
{
	struct hv_translate_virtual_address_ex_output_x64 o;
	uint32_t code;
	uint64_t gpa;

	memset(&o, 0, sizeof(o));
	o.gpa_page = 0x42;
	CHECK_EQ(sidecar_translate_decode(&o, &code, &gpa), 0);
	CHECK_EQ(code, HV_TRANSLATE_GVA_SUCCESS);
	CHECK_EQ(gpa, 0x42000);
	o.translation_result.result = HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
	CHECK_EQ(sidecar_translate_decode(&o, &code, &gpa), 0);
	CHECK_EQ(code, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	CHECK_EQ(gpa, 0);
	CHECK_STREQ(sidecar_translate_result_name(code), "page-not-present");
	o.translation_result.result = 99;
	CHECK_EQ(sidecar_translate_decode(&o, &code, &gpa), -EINVAL);
	CHECK_STREQ(sidecar_translate_result_name(99), "unknown");
	o.translation_result.result = 1ull << 50; /* reserved bits */
	CHECK_EQ(sidecar_translate_decode(&o, &code, &gpa), -EINVAL);
	o.translation_result.result = HV_TRANSLATE_GVA_SUCCESS;
	o.gpa_page = 1ull << 60;
	CHECK_EQ(sidecar_translate_decode(&o, &code, &gpa), -EINVAL);
	CHECK_EQ(sidecar_translate_decode(NULL, &code, &gpa), -EINVAL);
}

static const struct check_case cases[] = {
	CHECK_CASE(io),
	CHECK_CASE(translate),
};

int main(int argc, char **argv)
{
	static const struct check_suite suite = {"test_message", CHECK_CASES(cases), .watchdog_s = 60};
	return check_main(argc, argv, &suite);
}
