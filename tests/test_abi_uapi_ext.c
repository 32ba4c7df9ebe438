/* SPDX-License-Identifier: MIT */
/*
 * libsidecar's driver extension (<sidecar/uapi.h>, docs/abi.md "Extension 3") at run time:
 * the sizes and offsets of its structures and its ioctl numbers, so that a header edited
 * wrongly and stripped of its static assertions still fails a test. The numbers must stay
 * out of upstream's range (0xf0..0xf3 on the sidecar device) and within 0xe0..0xe7.
 */
#include "check.h"

#include <sidecar/uapi.h>

#include <stddef.h>

int main(void)
{
	CHECK_EQ(sizeof(struct mshv_vtl_sidecar_fast_info), 32);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_fast_info, version), 0);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_fast_info, caps), 4);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_fast_info, features), 8);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_fast_info, reserved), 12);
	CHECK_EQ(sizeof(struct mshv_vtl_sidecar_wait), 24);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_wait, cpu), 0);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_wait, seq), 4);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_wait, timeout_ns), 8);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_wait, flags), 16);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_wait, reserved), 20);
	CHECK_EQ(sizeof(struct mshv_vtl_sidecar_eventfd), 8);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_eventfd, fd), 4);
	CHECK_EQ(sizeof(struct mshv_vtl_sidecar_echo), 16);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_echo, seq), 4);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_echo, signal), 8);
	CHECK_EQ(offsetof(struct mshv_vtl_sidecar_echo, reserved), 12);

	const unsigned long nrs[] = {MSHV_VTL_SIDECAR_FAST_INFO,      MSHV_VTL_SIDECAR_CLAIM_DIRECT,
				     MSHV_VTL_SIDECAR_RELEASE_DIRECT, MSHV_VTL_SIDECAR_KICK,
				     MSHV_VTL_SIDECAR_WAIT,           MSHV_VTL_SIDECAR_WAKE,
				     MSHV_VTL_SIDECAR_SET_EVENTFD,    MSHV_VTL_SIDECAR_ECHO};
	for (unsigned i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		CHECK_EQ(_IOC_TYPE(nrs[i]), 0xb8);
		CHECK_EQ(_IOC_NR(nrs[i]), 0xe0 + i);
	}
	CHECK_EQ(MSHV_VTL_SIDECAR_FAST_INFO, 0x8020b8e0);
	CHECK_EQ(MSHV_VTL_SIDECAR_CLAIM_DIRECT, 0xb8e1);
	CHECK_EQ(MSHV_VTL_SIDECAR_RELEASE_DIRECT, 0xb8e2);
	CHECK_EQ(MSHV_VTL_SIDECAR_KICK, 0xb8e3);
	CHECK_EQ(MSHV_VTL_SIDECAR_WAIT, 0x4018b8e4);
	CHECK_EQ(MSHV_VTL_SIDECAR_WAKE, 0xb8e5);
	CHECK_EQ(MSHV_VTL_SIDECAR_SET_EVENTFD, 0x4008b8e6);
	CHECK_EQ(MSHV_VTL_SIDECAR_ECHO, 0xc010b8e7);
	/* Upstream's four are untouched. */
	CHECK_EQ(MSHV_VTL_SIDECAR_START, 0xb8f0);
	CHECK_EQ(MSHV_VTL_SIDECAR_INFO, 0x800cb8f3);
	CHECK_EQ(MSHV_VTL_SIDECAR_CAP_DIRECT | MSHV_VTL_SIDECAR_CAP_WAIT | MSHV_VTL_SIDECAR_CAP_EVENTFD |
			 MSHV_VTL_SIDECAR_CAP_ECHO,
		 0xf);
	CHECK_EQ(MSHV_VTL_SIDECAR_WAIT_ECHO, 1);
	CHECK_EQ(MSHV_VTL_SIDECAR_ECHO_WAITQ, 0);
	CHECK_EQ(MSHV_VTL_SIDECAR_ECHO_EVENTFD, 1);
	return check_report("test_abi_uapi_ext");
}
