/* SPDX-License-Identifier: MIT */
/*
 * The real device: /dev/mshv_vtl_sidecar<N>, one per node, as the upstream client opens it
 * (O_NONBLOCK, INFO, mmap of all per-CPU shared pages, START/STOP/RUN, read and poll).
 *
 * A driver with libsidecar's extension (this project's module: FAST_INFO answers with the
 * DIRECT and WAIT capabilities on every node) gets the direct operations: claim_direct,
 * release_direct and kick are its ioctls, and since a kernel driver cannot call the runtime's
 * completion hook, the owner sleeps in the driver instead (wait_done = WAIT, ended by the
 * completion signal of a sidecar CPU that saw SLEEPING, or by `wake`), and event loops get
 * the signals on an eventfd (set_notify_fd). Every one is a system call made only where the
 * other side sleeps or must be woken: the run/wait hot path of a polling VP makes none.
 *
 * An upstream driver answers FAST_INFO -ENOTTY: the client then runs SIDECAR_WAIT_SEED only
 * (the fast modes return -ENOTSUP). RUN cannot be cancelled from another thread without a
 * signal, which a library must not send on its own: `interrupt` is absent, and the seed port
 * then runs its synchronous commands with START instead, which a STOP cancels
 * (runtime/seed.c, seed_sync_started).
 */
#include "transport.h"

#include <sidecar/uapi.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

struct dev_node {
	int fd;
	struct mshv_vtl_sidecar_info info;
	uint8_t *map;
	size_t map_size;
};

struct dev {
	uint32_t count;
	struct dev_node nodes[SIDECAR_MAX_NODES];
};

static struct dev_node *dn(struct sidecar_drv_node *node)
{
	return (struct dev_node *)node;
}

static uint32_t dev_node_count(struct sidecar_drv *drv)
{
	return ((struct dev *)drv)->count;
}

static struct sidecar_drv_node *dev_node(struct sidecar_drv *drv, uint32_t index)
{
	struct dev *d = (struct dev *)drv;
	return index < d->count ? (struct sidecar_drv_node *)&d->nodes[index] : NULL;
}

static void dev_node_info(struct sidecar_drv_node *node, struct sidecar_drv_node_info *out)
{
	struct dev_node *n = dn(node);

	out->base_cpu = n->info.base_cpu;
	out->cpu_count = n->info.cpu_count;
	out->per_cpu_shmem = n->info.per_cpu_shmem;
	out->shmem = n->map;
	out->shmem_size = n->map_size;
}

static int dev_ioctl(struct sidecar_drv_node *node, unsigned long req, uint32_t cpu)
{
	if (ioctl(dn(node)->fd, req, (unsigned long)cpu) == 0)
		return 0;
	return -errno;
}

static int dev_start(struct sidecar_drv_node *node, uint32_t cpu)
{
	return dev_ioctl(node, MSHV_VTL_SIDECAR_START, cpu);
}

static int dev_stop(struct sidecar_drv_node *node, uint32_t cpu)
{
	return dev_ioctl(node, MSHV_VTL_SIDECAR_STOP, cpu);
}

/* `cancel` cannot reach a thread sleeping in the driver; the seed port does not use RUN on
 * this transport (see above). A signal that interrupted the RUN turned it into a STOP the
 * driver waited out (EINTR): the command has completed, its results are in the page. Never
 * re-issued: the kernel consumed the page's command. */
static int dev_run(struct sidecar_drv_node *node, uint32_t cpu, const _Atomic uint32_t *cancel)
{
	(void)cancel;
	int rc = dev_ioctl(node, MSHV_VTL_SIDECAR_RUN, cpu);
	return rc == -EINTR ? 0 : rc;
}

static int dev_read(struct sidecar_drv_node *node, uint32_t *cpu, bool nonblock)
{
	struct dev_node *n = dn(node);

	for (;;) {
		ssize_t r = read(n->fd, cpu, sizeof(*cpu));
		if (r == (ssize_t)sizeof(*cpu))
			return 0;
		if (r >= 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && !nonblock) {
			/* The fd is O_NONBLOCK (as upstream opens it): wait for readability. */
			struct pollfd pfd = {.fd = n->fd, .events = POLLIN};
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return -errno;
	}
}

static int dev_poll_fd(struct sidecar_drv_node *node)
{
	return dn(node)->fd;
}

/* ---- libsidecar's extension ---------------------------------------------------------------- */

static int dev_claim_direct(struct sidecar_drv_node *node, uint32_t cpu, const struct sidecar_drv_notify *nt)
{
	(void)nt; /* the kernel signals the sleep in WAIT (or the eventfd) instead */
	return dev_ioctl(node, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpu);
}

static void dev_release_direct(struct sidecar_drv_node *node, uint32_t cpu, bool keep_claim)
{
	/* A CPU that would not stop keeps the claim: the file's release (close) stops it and
	 * returns the claim once the CPU is quiet. */
	if (!keep_claim)
		dev_ioctl(node, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpu);
}

static void dev_kick(struct sidecar_drv_node *node, uint32_t cpu)
{
	dev_ioctl(node, MSHV_VTL_SIDECAR_KICK, cpu);
}

static int dev_wait_done(struct sidecar_drv_node *node, uint32_t cpu, uint32_t seq, int64_t timeout_ns)
{
	struct mshv_vtl_sidecar_wait w = {.cpu = cpu, .seq = seq, .timeout_ns = timeout_ns};
	int r = ioctl(dn(node)->fd, MSHV_VTL_SIDECAR_WAIT, &w);
	return r >= 0 ? r : -errno;
}

static void dev_wake(struct sidecar_drv_node *node, uint32_t cpu)
{
	dev_ioctl(node, MSHV_VTL_SIDECAR_WAKE, cpu);
}

static int dev_set_notify_fd(struct sidecar_drv_node *node, uint32_t cpu, int fd)
{
	struct mshv_vtl_sidecar_eventfd e = {.cpu = cpu, .fd = fd};
	return ioctl(dn(node)->fd, MSHV_VTL_SIDECAR_SET_EVENTFD, &e) == 0 ? 0 : -errno;
}

/* The extension is there: FAST_INFO answers, with what the fast modes need. */
static bool dev_has_fast(int fd)
{
	struct mshv_vtl_sidecar_fast_info fi;
	const uint32_t need = MSHV_VTL_SIDECAR_CAP_DIRECT | MSHV_VTL_SIDECAR_CAP_WAIT | MSHV_VTL_SIDECAR_CAP_EVENTFD;

	memset(&fi, 0, sizeof(fi));
	if (ioctl(fd, MSHV_VTL_SIDECAR_FAST_INFO, &fi) != 0)
		return false; /* ENOTTY: upstream's driver */
	return fi.version >= 1 && (fi.caps & need) == need && (fi.features & SIDECAR_FAST_F_MAILBOX);
}

static void dev_close_all(struct dev *d)
{
	for (uint32_t i = 0; i < d->count; i++) {
		if (d->nodes[i].map)
			munmap(d->nodes[i].map, d->nodes[i].map_size);
		d->nodes[i].map = NULL;
		if (d->nodes[i].fd >= 0)
			close(d->nodes[i].fd);
		d->nodes[i].fd = -1;
	}
}

static int dev_shutdown(struct sidecar_drv *drv)
{
	/* The device's VPs are stopped by the runtime; the mappings stay until release. */
	(void)drv;
	return 0;
}

static void dev_release(struct sidecar_drv *drv)
{
	dev_close_all((struct dev *)drv);
	free(drv);
}

/* The ops of upstream's driver, shared by both tables below. */
/* clang-format off */
#define DEV_UPSTREAM_OPS                  \
	.name = "device",                 \
	.node_count = dev_node_count,     \
	.node = dev_node,                 \
	.node_info = dev_node_info,       \
	.start = dev_start,               \
	.stop = dev_stop,                 \
	.run = dev_run,                   \
	.read = dev_read,                 \
	.poll_fd = dev_poll_fd,           \
	.shutdown = dev_shutdown,         \
	.release = dev_release
/* clang-format on */

static const struct sidecar_drv_ops dev_ops = {DEV_UPSTREAM_OPS};

/* The same, with libsidecar's extension. */
static const struct sidecar_drv_ops dev_fast_ops = {
	DEV_UPSTREAM_OPS,
	.claim_direct = dev_claim_direct,
	.release_direct = dev_release_direct,
	.kick = dev_kick,
	.wait_done = dev_wait_done,
	.wake = dev_wake,
	.set_notify_fd = dev_set_notify_fd,
};

int rt_transport_device_open(struct sidecar_drv_handle *out, char *err, size_t errlen)
{
	struct dev *d = calloc(1, sizeof(*d));
	bool fast = true;
	int rc = 0;

	if (!d)
		return -ENOMEM;
	for (uint32_t i = 0; i < SIDECAR_MAX_NODES; i++) {
		char path[64];
		snprintf(path, sizeof(path), MSHV_VTL_SIDECAR_DEVICE_FMT, i);
		int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				break;
			rc = -errno;
			if (errlen)
				snprintf(err, errlen, "open %s: %s", path, strerror(errno));
			goto fail;
		}
		struct dev_node *n = &d->nodes[d->count++];
		n->fd = fd;
		if (ioctl(fd, MSHV_VTL_SIDECAR_INFO, &n->info) < 0) {
			rc = -errno;
			if (errlen)
				snprintf(err, errlen, "%s: query info: %s", path, strerror(errno));
			goto fail;
		}
		if (n->info.per_cpu_shmem < sizeof(struct sidecar_vp_shared_pages) || n->info.cpu_count == 0) {
			rc = -EIO;
			if (errlen)
				snprintf(err, errlen, "%s: invalid state size %u for %u cpus", path,
					 n->info.per_cpu_shmem, n->info.cpu_count);
			goto fail;
		}
		n->map_size = (size_t)n->info.cpu_count * n->info.per_cpu_shmem;
		void *map = mmap(NULL, n->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			rc = -errno;
			if (errlen)
				snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
			goto fail;
		}
		n->map = map;
		fast = fast && dev_has_fast(fd);
	}
	if (d->count == 0) {
		rc = -ENODEV;
		if (errlen)
			snprintf(err, errlen, "no sidecar device (%s)", "/dev/mshv_vtl_sidecar0");
		goto fail;
	}
	/* Every node or none: the runtime does not mix the two kinds of driver. */
	out->ops = fast ? &dev_fast_ops : &dev_ops;
	out->drv = (struct sidecar_drv *)d;
	out->owned = true;
	return 0;
fail:
	dev_close_all(d);
	free(d);
	return rc;
}
