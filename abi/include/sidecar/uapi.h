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
 *
 * libsidecar's extension (docs/abi.md, "Extension 3"), numbers 0xe0..0xe7 of the same type,
 * a range upstream does not use (mshv's own ioctls count up from 0x00, the sidecar device
 * has 0xf0..0xf3). An upstream driver answers each of them -ENOTTY, which is how a client
 * tells the two apart (FAST_INFO); a zero `caps` also means upstream behaviour.
 *
 *   FAST_INFO       struct mshv_vtl_sidecar_fast_info: what the driver and its sidecar
 *                   kernel implement
 *   CLAIM_DIRECT    (cpu) hold the VP for this open file until RELEASE_DIRECT or close
 *                   (kill -9 included): commands are posted through the fast line only
 *   RELEASE_DIRECT  (cpu) the line back to the upstream policy; what it runs is stopped, and
 *                   the claim returns once the CPU is quiet (-ETIMEDOUT: it stays busy until
 *                   then)
 *   KICK            (cpu) the request IPI: wakes a parked sidecar CPU
 *   WAIT            struct mshv_vtl_sidecar_wait: sleep until the fast line's done_seq is
 *                   `seq` (the completion signal of a client that announced SLEEPING, or of
 *                   every completion without SUPPRESS), a WAKE, a signal or the timeout.
 *                   1: it slept and the completion woke it; 0: it did not sleep (the
 *                   condition held) or a WAKE ended it; -ETIMEDOUT; -EINTR
 *   WAKE            (cpu) ends this VP's WAIT, or the next one if none sleeps (close)
 *   SET_EVENTFD     struct mshv_vtl_sidecar_eventfd: an eventfd signalled with every
 *                   completion signal of the VP (event loops), or none (-1)
 *   ECHO            struct mshv_vtl_sidecar_echo: the latency reference: the sidecar CPU's
 *                   kernel thread, woken as a request wakes it, answers `seq` as a
 *                   completion would (WAIT with MSHV_VTL_SIDECAR_WAIT_ECHO, or the eventfd)
 *
 * CLAIM_DIRECT, RELEASE_DIRECT, KICK, WAKE, SET_EVENTFD and ECHO need the caller's own
 * DIRECT claim on the CPU (else -EBUSY, or -EINVAL when nobody holds it); a bad CPU is
 * -EINVAL, one that is not the sidecar kernel's -ENOENT.
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

/* ---- libsidecar's extension ---------------------------------------------------------------- */

#define MSHV_VTL_SIDECAR_FAST_VERSION 1

/* mshv_vtl_sidecar_fast_info.caps */
#define MSHV_VTL_SIDECAR_CAP_DIRECT (1u << 0)  /* CLAIM_DIRECT, RELEASE_DIRECT, KICK */
#define MSHV_VTL_SIDECAR_CAP_WAIT (1u << 1)    /* WAIT, WAKE */
#define MSHV_VTL_SIDECAR_CAP_EVENTFD (1u << 2) /* SET_EVENTFD */
#define MSHV_VTL_SIDECAR_CAP_ECHO (1u << 3)    /* ECHO */

struct mshv_vtl_sidecar_fast_info {
	uint32_t version;     /* MSHV_VTL_SIDECAR_FAST_VERSION */
	uint32_t caps;        /* MSHV_VTL_SIDECAR_CAP_* */
	uint32_t features;    /* the SIDECAR_FAST_F_* the node's sidecar kernel implements */
	uint32_t reserved[5]; /* 0 */
};

/* mshv_vtl_sidecar_wait.flags */
#define MSHV_VTL_SIDECAR_WAIT_ECHO (1u << 0) /* wait for the ECHO answer `seq` instead */

struct mshv_vtl_sidecar_wait {
	uint32_t cpu;
	uint32_t seq;       /* the request_seq whose completion to wait for */
	int64_t timeout_ns; /* < 0: none */
	uint32_t flags;     /* MSHV_VTL_SIDECAR_WAIT_* */
	uint32_t reserved;  /* 0 */
};

struct mshv_vtl_sidecar_eventfd {
	uint32_t cpu;
	int32_t fd; /* an eventfd, or -1 */
};

/* mshv_vtl_sidecar_echo.signal: how the kernel thread answers */
#define MSHV_VTL_SIDECAR_ECHO_WAITQ 0   /* wakes WAIT (MSHV_VTL_SIDECAR_WAIT_ECHO) */
#define MSHV_VTL_SIDECAR_ECHO_EVENTFD 1 /* also signals the VP's eventfd (SET_EVENTFD) */

struct mshv_vtl_sidecar_echo {
	uint32_t cpu;
	uint32_t seq; /* out: the answer to wait for */
	uint32_t signal;
	uint32_t reserved; /* 0 */
};

#define MSHV_VTL_SIDECAR_FAST_INFO _IOR(MSHV_VTL_SIDECAR_IOCTL, 0xe0, struct mshv_vtl_sidecar_fast_info)
#define MSHV_VTL_SIDECAR_CLAIM_DIRECT _IO(MSHV_VTL_SIDECAR_IOCTL, 0xe1)
#define MSHV_VTL_SIDECAR_RELEASE_DIRECT _IO(MSHV_VTL_SIDECAR_IOCTL, 0xe2)
#define MSHV_VTL_SIDECAR_KICK _IO(MSHV_VTL_SIDECAR_IOCTL, 0xe3)
#define MSHV_VTL_SIDECAR_WAIT _IOW(MSHV_VTL_SIDECAR_IOCTL, 0xe4, struct mshv_vtl_sidecar_wait)
#define MSHV_VTL_SIDECAR_WAKE _IO(MSHV_VTL_SIDECAR_IOCTL, 0xe5)
#define MSHV_VTL_SIDECAR_SET_EVENTFD _IOW(MSHV_VTL_SIDECAR_IOCTL, 0xe6, struct mshv_vtl_sidecar_eventfd)
#define MSHV_VTL_SIDECAR_ECHO _IOWR(MSHV_VTL_SIDECAR_IOCTL, 0xe7, struct mshv_vtl_sidecar_echo)

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

SIDECAR_ASSERT_SIZE(struct mshv_vtl_sidecar_fast_info, 32);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_fast_info, caps, 4);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_fast_info, features, 8);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_fast_info, reserved, 12);
SIDECAR_ASSERT_SIZE(struct mshv_vtl_sidecar_wait, 24);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_wait, seq, 4);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_wait, timeout_ns, 8);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_wait, flags, 16);
SIDECAR_ASSERT_SIZE(struct mshv_vtl_sidecar_eventfd, 8);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_eventfd, fd, 4);
SIDECAR_ASSERT_SIZE(struct mshv_vtl_sidecar_echo, 16);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_echo, seq, 4);
SIDECAR_ASSERT_OFFSET(struct mshv_vtl_sidecar_echo, signal, 8);
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_FAST_INFO == 0x8020b8e0, "FAST_INFO ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_CLAIM_DIRECT == 0xb8e1, "CLAIM_DIRECT ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_RELEASE_DIRECT == 0xb8e2, "RELEASE_DIRECT ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_KICK == 0xb8e3, "KICK ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_WAIT == 0x4018b8e4, "WAIT ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_WAKE == 0xb8e5, "WAKE ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_SET_EVENTFD == 0x4008b8e6, "SET_EVENTFD ioctl number");
SIDECAR_STATIC_ASSERT(MSHV_VTL_SIDECAR_ECHO == 0xc010b8e7, "ECHO ioctl number");

#ifdef __cplusplus
}
#endif

#endif /* SIDECAR_UAPI_H */
