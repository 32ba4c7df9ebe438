/* SPDX-License-Identifier: MIT */
/*
 * The intercept messages of the module's synthetic guest, with Hyper-V's semantics: the
 * VP's RIP stays on the intercepting instruction, the header carries that RIP and the
 * instruction length, and the VMM advances RIP itself.
 *  - io: an IO-port write of one byte to the module's io_port, data from RAX (`out dx, al`);
 *  - halt: a HALT message (`hlt`).
 */
#include "dev_util.h"

static void set_rip(struct sidecar_vp *vp, uint64_t rip)
{
	struct hv_register_assoc r = {.name = HV_X64_REGISTER_RIP, .value.reg64 = rip};

	CHECK_EQ(sidecar_vp_set_registers(vp, 0, &r, 1), 0);
}

int main(void)
{
	struct sidecar_vp *vp;
	bool intercept;
	char port_s[32];

	check_watchdog(120);
	dev_require_device();
	const char *guest = dev_guest();
	if (strcmp(guest, "io") != 0 && strcmp(guest, "halt") != 0)
		SKIP("needs guest=io or guest=halt (the module runs guest=%s)", guest);
	unsigned port = dev_param("io_port", port_s, sizeof(port_s)) ? (unsigned)strtoul(port_s, NULL, 0) : 0x3f8;
	unsigned cpu = dev_first_sidecar_cpu();
	struct sidecar_client *c = dev_client();
	REQUIRE(sidecar_vp_acquire(c, cpu, &vp) == 0);

	uint64_t rip = 0xfff0;
	for (int i = 0; i < 5; i++) {
		struct sidecar_cpu_context_x64 *ctx = sidecar_vp_cpu_context(vp);
		ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = 0x41 + i;
		CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		CHECK(intercept);
		const struct hv_message *m = sidecar_vp_intercept_message(vp);
		if (strcmp(guest, "io") == 0) {
			const struct hv_x64_io_port_intercept_message *io = (const void *)m->payload;
			CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
			CHECK_EQ(io->port_number, port);
			CHECK_EQ(io->access_info & 0x7, 1); /* one byte */
			CHECK_EQ(io->header.intercept_access_type, HV_INTERCEPT_ACCESS_WRITE);
			CHECK_EQ(io->rax, 0x41 + i);
			CHECK_EQ(io->instruction_byte_count, 1);
			CHECK_EQ(io->instruction_bytes[0], 0xee);
			CHECK_EQ(io->header.rip, rip);
			CHECK_EQ(io->header.instruction_length_and_cr8 & 0xf, 1);
			CHECK_EQ(io->header.vp_index, cpu);
		} else {
			const struct hv_x64_intercept_message_header *h = (const void *)m->payload;
			CHECK_EQ(m->header.type, HV_MESSAGE_TYPE_X64_HALT);
			CHECK_EQ(h->rip, rip);
			CHECK_EQ(h->instruction_length_and_cr8 & 0xf, 1);
			CHECK_EQ(h->vp_index, cpu);
		}
		/* RIP did not move; the register page says so too. */
		struct hv_register_assoc r = {.name = HV_X64_REGISTER_RIP};
		CHECK_EQ(sidecar_vp_get_registers(vp, 0, &r, 1), 0);
		CHECK_EQ(r.value.reg64, rip);
		CHECK_EQ(sidecar_vp_register_page(vp)->rip, rip);
		/* Complete the instruction: advance RIP by its length. */
		rip += 1;
		set_rip(vp, rip);
	}
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_intercepts");
}
