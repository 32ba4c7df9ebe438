/* SPDX-License-Identifier: MIT */
/*
 * Every argument of the device's file interface is checked, with upstream's errors: a bad
 * CPU is -EINVAL, a CPU that is not the sidecar kernel's (the node's base CPU) -ENOENT, a
 * claimed one -EBUSY, a STOP of nothing running -EINVAL, an unknown ioctl -ENOTTY, a bad
 * pointer -EFAULT; read() shorter than 4 bytes is -EINVAL and -EAGAIN when nothing finished
 * (O_NONBLOCK); an mmap that is not exactly all shared pages at offset 0, shared, is -EINVAL
 * (-EPERM when executable). A table of cases on node 0.
 */
#include "dev_util.h"

#include <poll.h>
#include <sys/syscall.h>

struct ioctl_case {
	const char *what;
	unsigned long req;
	unsigned long arg;
	int expect;
};

int main(void)
{
	check_watchdog(60);
	dev_require_device();
	int fd = dev_open(0, O_NONBLOCK);
	struct mshv_vtl_sidecar_info info = dev_info(fd);
	unsigned base = info.base_cpu, end = info.base_cpu + info.cpu_count;
	unsigned cpu = 0;
	bool have_cpu = false;

	for (unsigned c = base + 1; c < end && !have_cpu; c++)
		if (dev_is_sidecar_cpu(0, c))
			cpu = c, have_cpu = true;
	if (!have_cpu)
		SKIP("node 0 has no sidecar CPU");

	const struct ioctl_case cases[] = {
		{"START past the node", MSHV_VTL_SIDECAR_START, end, -EINVAL},
		{"RUN past the node", MSHV_VTL_SIDECAR_RUN, end + 1000, -EINVAL},
		{"STOP past the node", MSHV_VTL_SIDECAR_STOP, end, -EINVAL},
		{"START of ~0", MSHV_VTL_SIDECAR_START, ~0ul, -EINVAL},
		{"START with high bits", MSHV_VTL_SIDECAR_START, (1ul << 32) | cpu, -EINVAL},
		{"RUN of -1", MSHV_VTL_SIDECAR_RUN, (unsigned long)-1l, -EINVAL},
		{"START of the base CPU", MSHV_VTL_SIDECAR_START, base, -ENOENT},
		{"RUN of the base CPU", MSHV_VTL_SIDECAR_RUN, base, -ENOENT},
		{"STOP of the base CPU", MSHV_VTL_SIDECAR_STOP, base, -ENOENT},
		{"STOP of nothing running", MSHV_VTL_SIDECAR_STOP, cpu, -EINVAL},
		{"unknown nr", _IO(MSHV_VTL_SIDECAR_IOCTL, 0xf4), cpu, -ENOTTY},
		{"unknown type", _IO(0xb9, 0xf0), cpu, -ENOTTY},
		{"INFO written", _IOW(MSHV_VTL_SIDECAR_IOCTL, 0xf3, struct mshv_vtl_sidecar_info), 0, -ENOTTY},
		{"INFO sized wrong", _IOR(MSHV_VTL_SIDECAR_IOCTL, 0xf3, uint64_t), 0, -ENOTTY},
		{"ioctl 0", 0, 0, -ENOTTY},
		{"INFO to NULL", MSHV_VTL_SIDECAR_INFO, 0, -EFAULT},
		{"INFO to 1", MSHV_VTL_SIDECAR_INFO, 1, -EFAULT},
		{"INFO to the kernel", MSHV_VTL_SIDECAR_INFO, 0xffffffff81000000ul, -EFAULT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = dev_ioctl(fd, cases[i].req, cases[i].arg);
		if (rc != cases[i].expect) {
			fprintf(stderr, "%s: got %d, expected %d\n", cases[i].what, rc, cases[i].expect);
			check_failures++;
		}
	}

	/* read() */
	uint8_t buf[16];
	for (size_t len = 0; len < 4; len++)
		CHECK_EQ(read(fd, buf, len) < 0 ? -errno : 0, -EINVAL);
	CHECK_EQ(dev_read_cpu(fd), -EAGAIN);
	CHECK_EQ(write(fd, buf, 4) < 0 ? -errno : 0, -EINVAL);
	CHECK_EQ(lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0, -ESPIPE);

	/* A claimed CPU: busy for every other claim, and its report survives a bad buffer. */
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	pages[cpu - base].command_page.command = SIDECAR_COMMAND_NONE;
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpu), 0);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu), -EBUSY);
	int other = dev_open(0, O_NONBLOCK);
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_START, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_RUN, cpu), -EBUSY);
	CHECK_EQ(dev_ioctl(other, MSHV_VTL_SIDECAR_STOP, cpu), -EBUSY);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 10000), 1);
	CHECK_EQ(syscall(SYS_read, fd, NULL, 4) < 0 ? -errno : 0, -EFAULT);
	CHECK_EQ(syscall(SYS_read, fd, 0xffffffff81000000ul, 4) < 0 ? -errno : 0, -EFAULT);
	/* The other file has no report: its read and poll see nothing of ours. */
	CHECK_EQ(dev_read_cpu(other), -EAGAIN);
	struct pollfd opfd = {.fd = other, .events = POLLIN};
	CHECK_EQ(poll(&opfd, 1, 0), 0);
	/* A long read still returns 4 bytes: one CPU. */
	CHECK_EQ(read(fd, buf, sizeof(buf)), 4);
	uint32_t got;
	memcpy(&got, buf, 4);
	CHECK_EQ(got, cpu);
	CHECK_EQ(dev_read_cpu(fd), -EAGAIN);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_STOP, cpu), -EINVAL);
	close(other);

	/* mmap */
	size_t len = (size_t)info.cpu_count * info.per_cpu_shmem;
	struct {
		const char *what;
		size_t len;
		int prot, flags;
		off_t off;
		int expect;
	} maps[] = {
		{"one page short", len - 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, -EINVAL},
		{"one page more", len + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, -EINVAL},
		{"one page", 4096, PROT_READ, MAP_SHARED, 0, -EINVAL},
		{"at an offset", len - 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 4096, -EINVAL},
		{"far offset", len, PROT_READ, MAP_SHARED, (off_t)1 << 40, -EINVAL},
		{"private", len, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, -EINVAL},
		{"executable", len, PROT_READ | PROT_EXEC, MAP_SHARED, 0, -EPERM},
		{"read-only", len, PROT_READ, MAP_SHARED, 0, 0},
	};
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		void *p = mmap(NULL, maps[i].len, maps[i].prot, maps[i].flags, fd, maps[i].off);
		int rc = p == MAP_FAILED ? -errno : 0;
		if (rc != maps[i].expect) {
			fprintf(stderr, "mmap %s: got %d, expected %d\n", maps[i].what, rc, maps[i].expect);
			check_failures++;
		}
		if (p != MAP_FAILED)
			munmap(p, maps[i].len);
	}
	/* A good mapping can become neither executable nor larger. */
	CHECK(mprotect(pages, len, PROT_READ | PROT_EXEC) != 0);
	CHECK(mremap(pages, len, len + 4096, 0) == MAP_FAILED);
	dev_unmap(pages, &info);
	close(fd);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_abi_errors");
}
