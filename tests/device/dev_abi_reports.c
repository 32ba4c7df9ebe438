/* SPDX-License-Identifier: MIT */
/*
 * Finished-CPU reporting and synchronous RUN through the raw device ABI (io guest: every
 * run ends at once with an intercept):
 *  - START of every sidecar CPU, then poll() and read(): each CPU is reported exactly once,
 *    then -EAGAIN; each run stopped on its intercept;
 *  - a STOP after the run ended but before the read is a no-op (0) and the run is still
 *    reported once; a blocking read (no O_NONBLOCK) returns when the run ends;
 *  - RUN runs the posted command synchronously: NONE, an unknown command (the kernel's
 *    error string), a register count that does not fit (error), GET of RIP;
 *  - an unread finished run holds its claim (sysfs `claims`) until read or close;
 *  - one thread per CPU, each with its own open file, START/poll/read in a loop: every
 *    file reads only its own CPU (reports are per file).
 */
#include "dev_util.h"

#include <poll.h>
#include <pthread.h>

#define LOOPS 300

static struct mshv_vtl_sidecar_info info;
static unsigned cpus[DEV_MAX_CPUS], ncpus;

static void post(struct sidecar_vp_shared_pages *pages, unsigned cpu, uint32_t command)
{
	struct sidecar_command_page *cp = &pages[cpu - info.base_cpu].command_page;

	memset(cp->request_data, 0, 16);
	cp->command = command;
}

struct worker {
	unsigned cpu;
	int failures;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	int fd = dev_open(0, O_NONBLOCK);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);

	for (int i = 0; i < LOOPS; i++) {
		post(pages, w->cpu, SIDECAR_COMMAND_RUN_VP);
		if (dev_ioctl(fd, MSHV_VTL_SIDECAR_START, w->cpu) != 0) {
			w->failures++;
			break;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 20000) != 1) {
			w->failures++;
			break;
		}
		long got = dev_read_cpu(fd);
		if (got != (long)w->cpu) {
			fprintf(stderr, "cpu %u: read %ld\n", w->cpu, got);
			w->failures++;
			break;
		}
		if (pages[w->cpu - info.base_cpu].command_page.request_data[0] != 1)
			w->failures++;
	}
	dev_unmap(pages, &info);
	close(fd);
	return NULL;
}

int main(void)
{
	check_watchdog(240);
	dev_require_device();
	dev_require_guest("io");
	int fd = dev_open(0, O_NONBLOCK);
	info = dev_info(fd);
	struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
	unsigned all[DEV_MAX_CPUS], nall = dev_sidecar_cpus(all, DEV_MAX_CPUS);
	for (unsigned i = 0; i < nall; i++)
		if (all[i] < info.base_cpu + info.cpu_count)
			cpus[ncpus++] = all[i];
	if (ncpus == 0)
		SKIP("node 0 has no sidecar CPU");

	/* Every CPU reported once. */
	for (unsigned i = 0; i < ncpus; i++) {
		post(pages, cpus[i], SIDECAR_COMMAND_RUN_VP);
		CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpus[i]), 0);
	}
	unsigned seen[DEV_MAX_CPUS] = {0};
	for (unsigned got = 0; got < ncpus;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		REQUIRE(poll(&pfd, 1, 20000) == 1);
		long cpu = dev_read_cpu(fd);
		if (cpu == -EAGAIN)
			continue;
		REQUIRE(cpu >= info.base_cpu && cpu < info.base_cpu + info.cpu_count);
		seen[cpu - info.base_cpu]++;
		got++;
	}
	for (unsigned i = 0; i < ncpus; i++) {
		CHECK_EQ(seen[cpus[i] - info.base_cpu], 1);
		struct sidecar_command_page *cp = &pages[cpus[i] - info.base_cpu].command_page;
		CHECK_EQ(cp->request_data[0], 1); /* sidecar_run_vp_response.intercept */
		CHECK_EQ(cp->has_error, 0);
		CHECK_EQ(cp->intercept_message.header.type, HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT);
		CHECK_EQ(cp->command, SIDECAR_COMMAND_NONE); /* the kernel took it */
	}
	CHECK_EQ(dev_read_cpu(fd), -EAGAIN);
	struct pollfd none = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&none, 1, 0), 0);

	/* STOP after the end: a no-op; the report stays, once. An unread run holds its claim. */
	unsigned cpu = cpus[0];
	post(pages, cpu, SIDECAR_COMMAND_RUN_VP);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_START, cpu), 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 20000), 1);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 1);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_STOP, cpu), 0);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_STOP, cpu), 0);
	CHECK_EQ(dev_read_cpu(fd), cpu);
	CHECK_EQ(dev_read_cpu(fd), -EAGAIN);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);

	/* A blocking read returns when the run ends. */
	int bfd = dev_open(0, 0);
	post(pages, cpu, SIDECAR_COMMAND_RUN_VP);
	CHECK_EQ(dev_ioctl(bfd, MSHV_VTL_SIDECAR_START, cpu), 0);
	CHECK_EQ(dev_read_cpu(bfd), cpu);
	/* Closing a file with an unread finished run gives its claim back. */
	post(pages, cpu, SIDECAR_COMMAND_RUN_VP);
	CHECK_EQ(dev_ioctl(bfd, MSHV_VTL_SIDECAR_START, cpu), 0);
	close(bfd);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);

	/* Synchronous RUN. */
	struct sidecar_command_page *cp = &pages[cpu - info.base_cpu].command_page;
	post(pages, cpu, SIDECAR_COMMAND_NONE);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu), 0);
	CHECK_EQ(cp->has_error, 0);
	post(pages, cpu, 99);
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu), 0);
	CHECK_EQ(cp->has_error, 1);
	CHECK(cp->error.len > 0 && memmem(cp->error.buf, cp->error.len, "99", 2) != NULL);
	struct sidecar_get_set_vp_register_request req = {.count = SIDECAR_MAX_GET_SET_VP_REGISTERS + 1};
	post(pages, cpu, SIDECAR_COMMAND_GET_VP_REGISTERS);
	memcpy(cp->request_data, &req, sizeof(req));
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu), 0);
	CHECK_EQ(cp->has_error, 1);
	req.count = 1;
	struct hv_register_assoc rip = {.name = HV_X64_REGISTER_RIP};
	post(pages, cpu, SIDECAR_COMMAND_GET_VP_REGISTERS);
	memcpy(cp->request_data, &req, sizeof(req));
	memcpy(cp->request_data + sizeof(req), &rip, sizeof(rip));
	CHECK_EQ(dev_ioctl(fd, MSHV_VTL_SIDECAR_RUN, cpu), 0);
	CHECK_EQ(cp->has_error, 0);
	memcpy(&req, cp->request_data, sizeof(req));
	memcpy(&rip, cp->request_data + sizeof(req), sizeof(rip));
	CHECK_EQ(req.status, HV_STATUS_SUCCESS);
	CHECK_EQ(rip.value.reg64, 0xfff0);
	CHECK_EQ(dev_sysfs_num(0, "claims"), 0);

	/* Per-file reports under concurrency. */
	long long ipis_before = dev_sysfs_num(0, "response_ipis");
	pthread_t threads[DEV_MAX_CPUS];
	struct worker workers[DEV_MAX_CPUS];
	for (unsigned i = 0; i < ncpus; i++) {
		workers[i] = (struct worker){.cpu = cpus[i]};
		REQUIRE(pthread_create(&threads[i], NULL, worker, &workers[i]) == 0);
	}
	for (unsigned i = 0; i < ncpus; i++) {
		pthread_join(threads[i], NULL);
		CHECK_EQ(workers[i].failures, 0);
	}
	CHECK(dev_sysfs_num(0, "response_ipis") > ipis_before);
	dev_unmap(pages, &info);
	close(fd);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_abi_reports");
}
