/* SPDX-License-Identifier: MIT */
/*
 * The ioctls of the upstream Linux driver (drivers/hv/mshv_vtl_sidecar.c), one misc device
 * per node: /dev/mshv_vtl_sidecar<node>.
 *
 *   START (cpu)  claim the VP for an asynchronous run and start the posted command
 *   STOP  (cpu)  ask an asynchronously running VP to stop (no-op when already stopping)
 *   RUN   (cpu)  run the posted command synchronously; a signal turns it into a STOP
 *   INFO         struct mshv_vtl_sidecar_info
 *   read()       one finished CPU number (4 bytes) per call; EAGAIN with O_NONBLOCK
 *   poll()       readable while a finished CPU is pending
 *   mmap()       exactly all per-CPU shared pages of the node, offset 0
 *
 * The CPU number of START, STOP and RUN is the ioctl argument itself, not a pointer.
 */
#ifndef SIDECAR_UAPI_H
#define SIDECAR_UAPI_H

#include <sidecar/hvdef.h>

#include <linux/ioctl.h>
#ifndef __KERNEL__
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define MSHV_VTL_SIDECAR_IOCTL 0xb8

struct mshv_vtl_sidecar_info {
	uint32_t base_cpu;
	uint32_t cpu_count;
	uint32_t per_cpu_shmem; /* bytes of shared pages per CPU */
};

#define MSHV_VTL_SIDECAR_START _IO(MSHV_VTL_SIDECAR_IOCTL, 0xf0)
#define MSHV_VTL_SIDECAR_STOP _IO(MSHV_VTL_SIDECAR_IOCTL, 0xf1)
#define MSHV_VTL_SIDECAR_RUN _IO(MSHV_VTL_SIDECAR_IOCTL, 0xf2)
#define MSHV_VTL_SIDECAR_INFO _IOR(MSHV_VTL_SIDECAR_IOCTL, 0xf3, struct mshv_vtl_sidecar_info)

/* The device node of `node`, for snprintf. */
#define MSHV_VTL_SIDECAR_DEVICE_FMT "/dev/mshv_vtl_sidecar%u"

SIDECAR_ASSERT_SIZE(struct mshv_vtl_sidecar_info, 12);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_info, base_cpu, 0);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_info, cpu_count, 4);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_info, per_cpu_shmem, 8);
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_START == 0xb8f0, "START ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_STOP == 0xb8f1, "STOP ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_RUN == 0xb8f2, "RUN ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_INFO == 0x800cb8f3, "INFO ioctl number");

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_UAPI_H */
