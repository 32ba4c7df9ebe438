/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the KVM-backend tests: skip (exit 77, or the case's skip) when /dev/kvm is
 * missing or unusable; build real- and long-mode guests in the client's guest memory and set
 * their registers through the public API.
 */
#ifndef SIDECAR_TESTS_KVM_UTIL_H
#define SIDECAR_TESTS_KVM_UTIL_H

#include "check.h"
#include "wait_mode.h"

#include <sidecar/client.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Skips unless /dev/kvm can run a VM here. */
void kvm_require(void);

/* Monotonic nanoseconds. */
uint64_t now_ns(void);

struct kvm_test {
	struct sidecar_client *c;
	struct sidecar_vp *vp;
	uint8_t *mem;
	size_t mem_size;
};

/* Opens `target` (a sim:backend=kvm string) and acquires CPU 1 (CPU 0 is Linux's). */
void kt_open(struct kvm_test *t, const char *target);
void kt_close(struct kvm_test *t);

struct hv_register_assoc reg64(uint32_t name, uint64_t v);
struct hv_register_assoc regseg(uint32_t name, uint64_t base, uint32_t limit, uint16_t sel, uint16_t attr);
struct hv_register_assoc regtable(uint32_t name, uint64_t base, uint16_t limit);
int set1(struct sidecar_vp *vp, uint32_t name, uint64_t v);
/* One 64-bit register; a failure counts as a failed check. */
uint64_t get1(struct sidecar_vp *vp, uint32_t name);

/* Real mode, CS = 0 (flat 64 KiB), code at `rip`. */
void kt_real_mode(struct kvm_test *t, uint64_t rip);

/* Guest-physical layout of the long-mode guests (below 1 MiB; code from 0x10000). */
#define KT_PML4 0x1000ull
#define KT_PDPT 0x2000ull
#define KT_PD 0x3000ull
#define KT_GDT 0x500ull
#define KT_STACK 0x80000ull

/* Identity-maps the first 1 GiB with 2 MiB pages and enters 64-bit mode at `rip`. CR0.WP
 * and EFER.NXE are set. */
void kt_long_mode(struct kvm_test *t, uint64_t rip);

const struct hv_x64_io_port_intercept_message *kt_io(struct kvm_test *t);
const struct hv_x64_memory_intercept_message *kt_mem(struct kvm_test *t);
uint32_t kt_type(struct kvm_test *t);
unsigned int kt_len(const struct hv_x64_intercept_message_header *h);

/* Runs to the next intercept; fails the test on anything else. */
void kt_run(struct kvm_test *t);

/* The VMM completes the intercepted instruction: RIP += its length. */
void kt_skip(struct kvm_test *t, const struct hv_x64_intercept_message_header *h);

#endif
