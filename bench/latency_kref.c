/* SPDX-License-Identifier: MIT */
/* The kernel path's references (latency_kref.h). */
#include "latency_kref.h"

#include "latency_loop.h"

#include <sidecar/uapi.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct kref {
	enum lat_kref_kind kind;
	int fd, efd;
	uint32_t cpu;
	uint64_t sleeps, polled;
};

static int kref_round_trip(void *arg)
{
	struct kref *k = arg;
	struct mshv_vtl_sidecar_echo e = {
		.cpu = k->cpu,
		.signal = k->kind == LAT_KREF_EVENTFD ? MSHV_VTL_SIDECAR_ECHO_EVENTFD : MSHV_VTL_SIDECAR_ECHO_WAITQ,
	};

	if (ioctl(k->fd, MSHV_VTL_SIDECAR_ECHO, &e) != 0)
		return -errno;
	if (k->kind == LAT_KREF_EVENTFD) {
		uint64_t v;
		for (;;) {
			if (read(k->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
				break;
			if (errno != EINTR)
				return -errno;
		}
		k->sleeps++;
		return 0;
	}
	struct mshv_vtl_sidecar_wait w = {
		.cpu = k->cpu, .seq = e.seq, .timeout_ns = -1, .flags = MSHV_VTL_SIDECAR_WAIT_ECHO};
	for (;;) {
		int r = ioctl(k->fd, MSHV_VTL_SIDECAR_WAIT, &w);
		if (r == 1) {
			k->sleeps++;
			return 0;
		}
		if (r == 0) {
			k->polled++;
			return 0;
		}
		if (errno != EINTR)
			return -errno;
	}
}

/* Opens the node of `cpu`: its fd, or -1 with the reason. */
static int open_node_of(uint32_t cpu, char *why, size_t len)
{
	for (uint32_t node = 0; node < SIDECAR_MAX_NODES; node++) {
		char path[64];
		struct mshv_vtl_sidecar_info info;
		snprintf(path, sizeof(path), MSHV_VTL_SIDECAR_DEVICE_FMT, node);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, len, "no node of CPU %u (%s: %s)", cpu, path, strerror(errno));
			return -1;
		}
		if (ioctl(fd, MSHV_VTL_SIDECAR_INFO, &info) == 0 && cpu >= info.base_cpu &&
		    cpu - info.base_cpu < info.cpu_count)
			return fd;
		close(fd);
	}
	snprintf(why, len, "no node of CPU %u", cpu);
	return -1;
}

int lat_measure_kref(enum lat_kref_kind kind, const struct lat_cfg *cfg, struct lat_result *r)
{
	struct kref k = {.kind = kind, .fd = -1, .efd = -1, .cpu = cfg->vp};
	struct mshv_vtl_sidecar_fast_info fi;
	char why[160];
	int ret = LAT_EXIT_OK;

	k.fd = open_node_of(cfg->vp, why, sizeof(why));
	if (k.fd < 0) {
		lat_result_skip(r, why);
		return LAT_EXIT_OK;
	}
	memset(&fi, 0, sizeof(fi));
	if (ioctl(k.fd, MSHV_VTL_SIDECAR_FAST_INFO, &fi) != 0 || !(fi.caps & MSHV_VTL_SIDECAR_CAP_ECHO)) {
		lat_result_skip(r, "the driver has no ECHO (upstream's, or an older module)");
		goto out;
	}
	if (ioctl(k.fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, (unsigned long)k.cpu) != 0) {
		snprintf(why, sizeof(why), "cannot claim VP %u: %s", k.cpu, strerror(errno));
		lat_result_skip(r, why);
		goto out;
	}
	if (kind == LAT_KREF_EVENTFD) {
		struct mshv_vtl_sidecar_eventfd ev = {.cpu = k.cpu};
		k.efd = eventfd(0, EFD_CLOEXEC);
		ev.fd = k.efd;
		if (k.efd < 0 || ioctl(k.fd, MSHV_VTL_SIDECAR_SET_EVENTFD, &ev) != 0) {
			fprintf(stderr, "sidecar-latency: kevent reference: eventfd: %s\n", strerror(errno));
			ret = LAT_EXIT_FAIL;
			goto out;
		}
	}
	int rc = lat_loop_warmup(&cfg->budget, kref_round_trip, &k, &r->warmup);
	uint64_t s0 = k.sleeps, p0 = k.polled;
	if (!rc)
		rc = lat_loop_measure(&cfg->budget, kref_round_trip, &k,
				      kind == LAT_KREF_WAIT ? "kernel wait reference" : "kernel eventfd reference", r);
	if (rc) {
		fprintf(stderr, "sidecar-latency: %s reference: %s\n", r->name, strerror(-rc));
		ret = LAT_EXIT_FAIL;
		goto out;
	}
	/* One request IPI (the echo's) and one completion wake-up per round trip. */
	struct lat_counters c = {
		.request_signals = r->iterations,
		.response_signals = r->iterations,
		.sleeps = k.sleeps - s0,
		.polled = k.polled - p0,
	};
	lat_result_set_counters(r, &c);
out:
	if (k.efd >= 0)
		close(k.efd);
	close(k.fd); /* gives the claim back */
	return ret;
}
