/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the device tests: programs that run where /dev/mshv_vtl_sidecar<N> exists (the
 * qemu VM of scripts/vm-test.sh, or a real machine with the module loaded), statically
 * linked against libsidecar.a. Each program checks one behaviour (or a table of cases),
 * prints "<name>: ok" and exits 0, exits 1 on a failed check, 3 when its watchdog fires, and
 * 77 when what it needs is not there (no device, another guest than it needs).
 *
 * What the programs learn about the platform they learn from the device itself (INFO) and
 * from the module's sysfs attributes (/sys/class/misc/mshv_vtl_sidecar<N>/, and the module
 * parameters in /sys/module/mshv_vtl_sidecar/parameters/), so the same programs serve any
 * layout, and a later driver with the fast path.
 */
#ifndef SIDECAR_TESTS_DEVICE_UTIL_H
#define SIDECAR_TESTS_DEVICE_UTIL_H

#include "../check.h"

#include <sidecar/client.h>
#include <sidecar/uapi.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DEV_SYSFS "/sys/class/misc/mshv_vtl_sidecar%u/%s"
#define DEV_PARAMS "/sys/module/mshv_vtl_sidecar/parameters/%s"
#define DEV_MAX_CPUS 4096

/* The first line of the file at `path` into buf, without its newline; false when the file
 * is not there. */
static inline bool dev_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* Reads a sysfs attribute of node `node` into buf; false when it is not there. */
static inline bool dev_sysfs_read(unsigned node, const char *attr, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), DEV_SYSFS, node, attr);
	return dev_read_line(path, buf, len);
}

/* A numeric sysfs attribute of node `node`, or -1. */
static inline long long dev_sysfs_num(unsigned node, const char *attr)
{
	char buf[64];

	if (!dev_sysfs_read(node, attr, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

/* The module parameter `name` into buf; false when it is not there. */
static inline bool dev_param(const char *name, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), DEV_PARAMS, name);
	return dev_read_line(path, buf, len);
}

/* The synthetic guest the module runs ("io", "spin", "halt"), or "" when unknown. */
static inline const char *dev_guest(void)
{
	static char guest[32];

	if (!dev_param("guest", guest, sizeof(guest)))
		guest[0] = '\0';
	return guest;
}

/* Exits 77 unless the module runs `guest`. */
static inline void dev_require_guest(const char *guest)
{
	if (strcmp(dev_guest(), guest) != 0)
		SKIP("needs the module loaded with guest=%s (it runs guest=%s)", guest, dev_guest());
}

/* The number of device nodes. */
static inline unsigned dev_node_count(void)
{
	unsigned n = 0;
	char path[64];

	for (;;) {
		snprintf(path, sizeof(path), MSHV_VTL_SIDECAR_DEVICE_FMT, n);
		if (access(path, F_OK) != 0)
			return n;
		n++;
	}
}

/* Exits 77 when there is no device. */
static inline void dev_require_device(void)
{
	if (dev_node_count() == 0)
		SKIP("no /dev/mshv_vtl_sidecar0 (load the module first)");
}

/* Opens node `node` (O_RDWR | flags); exits on failure. */
static inline int dev_open(unsigned node, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), MSHV_VTL_SIDECAR_DEVICE_FMT, node);
	int fd = open(path, O_RDWR | O_CLOEXEC | flags);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static inline struct mshv_vtl_sidecar_info dev_info(int fd)
{
	struct mshv_vtl_sidecar_info info;

	memset(&info, 0, sizeof(info));
	REQUIRE(ioctl(fd, MSHV_VTL_SIDECAR_INFO, &info) == 0);
	return info;
}

/* Maps all per-CPU shared pages of the node `fd` is open on; exits on failure. */
static inline struct sidecar_vp_shared_pages *dev_map(int fd, const struct mshv_vtl_sidecar_info *info)
{
	size_t len = (size_t)info->cpu_count * info->per_cpu_shmem;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	REQUIRE(p != MAP_FAILED);
	return p;
}

static inline void dev_unmap(struct sidecar_vp_shared_pages *p, const struct mshv_vtl_sidecar_info *info)
{
	munmap(p, (size_t)info->cpu_count * info->per_cpu_shmem);
}

/* An ioctl's result as 0 or -errno. */
static inline int dev_ioctl(int fd, unsigned long req, unsigned long arg)
{
	return ioctl(fd, req, arg) == 0 ? 0 : -errno;
}

/* One finished CPU from a read(), or -errno. */
static inline long dev_read_cpu(int fd)
{
	uint32_t cpu;
	ssize_t r = read(fd, &cpu, sizeof(cpu));

	if (r < 0)
		return -errno;
	if (r != (ssize_t)sizeof(cpu))
		return -EIO;
	return cpu;
}

/* Whether `cpu` (a global number) runs the sidecar kernel, from node `node`'s sidecar_cpus
 * list ("1-3,5"). */
static inline bool dev_is_sidecar_cpu(unsigned node, unsigned cpu)
{
	char buf[512];

	if (!dev_sysfs_read(node, "sidecar_cpus", buf, sizeof(buf)))
		return false;
	for (char *s = buf; *s;) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			break;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		if (cpu >= a && cpu <= b)
			return true;
		s = *end == ',' ? end + 1 : end;
	}
	return false;
}

/* The sidecar CPUs of every node, ascending; returns how many (at most max). */
static inline unsigned dev_sidecar_cpus(unsigned *out, unsigned max)
{
	unsigned count = 0, nodes = dev_node_count();

	for (unsigned node = 0; node < nodes; node++) {
		long long base = dev_sysfs_num(node, "base_cpu"), n = dev_sysfs_num(node, "cpu_count");
		for (long long cpu = base; base >= 0 && cpu < base + n && count < max; cpu++)
			if (dev_is_sidecar_cpu(node, (unsigned)cpu))
				out[count++] = (unsigned)cpu;
	}
	return count;
}

/* The first sidecar CPU; exits 77 when there is none. */
static inline unsigned dev_first_sidecar_cpu(void)
{
	unsigned cpu = 0;

	if (dev_sidecar_cpus(&cpu, 1) != 1)
		SKIP("no sidecar CPU");
	return cpu;
}

/* Opens the client on target "device"; exits on failure. */
static inline struct sidecar_client *dev_client(void)
{
	struct sidecar_client *c;
	char err[256];
	int rc = sidecar_client_open_err("device", &c, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "sidecar_client_open(device): %s (%s)\n", sidecar_strerror(rc), err);
		exit(1);
	}
	return c;
}

/* Waits until every node shows no claim, orphan or open file (the release of a file that
 * another process closed may still be running): at most `seconds`. */
static inline bool dev_wait_quiet(unsigned seconds)
{
	for (unsigned tries = 0; tries < seconds * 100; tries++) {
		bool quiet = true;
		for (unsigned node = 0; node < dev_node_count(); node++)
			if (dev_sysfs_num(node, "claims") != 0 || dev_sysfs_num(node, "orphans") != 0 ||
			    dev_sysfs_num(node, "open_files") != 0)
				quiet = false;
		if (quiet)
			return true;
		usleep(10000);
	}
	return false;
}

/* libsidecar's extension on node `node`: FAST_INFO's answer, false on an upstream driver. */
static inline bool dev_fast_info(unsigned node, struct mshv_vtl_sidecar_fast_info *out)
{
	int fd = dev_open(node, 0);
	bool ok = ioctl(fd, MSHV_VTL_SIDECAR_FAST_INFO, out) == 0;

	close(fd);
	return ok && out->caps != 0;
}

/* Exits 77 unless every node has the extension (the fast path's tests). */
static inline void dev_require_fast(void)
{
	struct mshv_vtl_sidecar_fast_info fi;

	for (unsigned node = 0; node < dev_node_count(); node++)
		if (!dev_fast_info(node, &fi))
			SKIP("the driver of node %u has no fast-path extension (upstream's)", node);
}

/* Writes the module parameter `name` (a writable one); false when it cannot. */
static inline bool dev_param_write(const char *name, const char *value)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), DEV_PARAMS, name);
	f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fputs(value, f) >= 0;
	return fclose(f) == 0 && ok;
}

/* The sum of a numeric sysfs attribute over every node (-1 when one lacks it). */
static inline long long dev_sysfs_sum(const char *attr)
{
	long long sum = 0;

	for (unsigned node = 0; node < dev_node_count(); node++) {
		long long v = dev_sysfs_num(node, attr);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

/* The wait modes, in the order the fast-path tests use them. */
static const enum sidecar_wait_mode dev_all_modes[] = {SIDECAR_WAIT_FUTEX, SIDECAR_WAIT_POLL, SIDECAR_WAIT_ADAPTIVE,
						       SIDECAR_WAIT_SEED};

static inline uint64_t dev_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
