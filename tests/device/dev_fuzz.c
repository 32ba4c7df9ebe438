/* SPDX-License-Identifier: MIT */
/*
 * Bad input from user space never harms the kernel. For a while (default 8 s, or argv[1]),
 * several processes throw random input at every node: ioctls with random numbers, argument
 * values and pointers; reads of random sizes into random buffers; mmaps of random sizes,
 * offsets, protections and flags, mprotect/mremap/madvise of good mappings; garbage in the
 * shared pages (commands, counts, request data, the fast line) followed by START/RUN;
 * libsidecar's extension (DIRECT claims, kicks, waits, wakes, eventfds, echoes, garbage
 * structures); open/close races and forks; and the parent kills a random worker every few
 * milliseconds and starts another. A worker may die of its own doing (SIGBUS after MADV_DONTNEED); the
 * kernel may not. Afterwards the shared pages are wiped, nothing may be left claimed or
 * open, and a client must run every CPU. (The VM's runner fails the step on any oops, WARN
 * or BUG in the kernel log.)
 */
#include "dev_util.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define WORKERS 3

static unsigned nodes;
static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned long random_cpu(const struct mshv_vtl_sidecar_info *info)
{
	switch (rnd() % 8) {
	case 0:
		return rnd();
	case 1:
		return info->base_cpu;
	case 2:
		return info->base_cpu + info->cpu_count + rnd() % 4;
	case 3:
		return (unsigned long)-1 - rnd() % 4;
	case 4:
		return (1ul << 32) + info->base_cpu + rnd() % info->cpu_count;
	default:
		return info->base_cpu + rnd() % info->cpu_count;
	}
}

/* A pointer argument: NULL, the kernel, unmapped, misaligned, or a real buffer. */
static unsigned long random_ptr(void *good)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return 0xffffffff81000000ul + rnd() % 4096;
	case 2:
		return 0x10000ul + rnd() % 4096; /* nothing is mapped that low */
	case 3:
		return (unsigned long)good + 1;
	case 4:
		return rnd();
	default:
		return (unsigned long)good;
	}
}

static void garbage_pages(struct sidecar_vp_shared_pages *pages, const struct mshv_vtl_sidecar_info *info)
{
	struct sidecar_command_page *cp = &pages[rnd() % info->cpu_count].command_page;
	uint8_t *bytes = (uint8_t *)cp;

	switch (rnd() % 5) {
	case 0:
		cp->command = (uint32_t)(rnd() % 8);
		break;
	case 1:
		cp->command = (uint32_t)rnd();
		break;
	case 2: {
		/* A register request with a random count (too many, zero, just right). */
		struct sidecar_get_set_vp_register_request req = {.count = (uint16_t)rnd(),
								  .target_vtl = (uint8_t)rnd()};
		memcpy(cp->request_data, &req, sizeof(req));
		cp->command = SIDECAR_COMMAND_GET_VP_REGISTERS + rnd() % 2;
		break;
	}
	case 3:
		/* Anywhere in the page, the fast line included. */
		for (int i = 0; i < 16; i++)
			bytes[rnd() % sizeof(*cp)] = (uint8_t)rnd();
		break;
	default: {
		struct sidecar_fast_line *fast = sidecar_command_page_fast(cp);
		fast->features = (uint32_t)rnd();
		fast->sidecar_poll_ns = (uint32_t)(rnd() % 2000000);
		fast->command = (uint32_t)(rnd() % 6);
		fast->request_seq++;
		break;
	}
	}
}

static void *open_close(void *arg)
{
	(void)arg;
	for (;;) {
		char path[64];
		snprintf(path, sizeof(path), MSHV_VTL_SIDECAR_DEVICE_FMT, (unsigned)(rnd() % (nodes + 1)));
		int fd = open(path, (rnd() % 2 ? O_RDWR : O_RDONLY) | (rnd() % 2 ? O_NONBLOCK : 0));
		if (fd >= 0) {
			if (rnd() % 2)
				dev_ioctl(fd, MSHV_VTL_SIDECAR_START, rnd() % 8);
			close(fd);
		}
	}
	return NULL;
}

static void worker(unsigned seed)
{
	struct mshv_vtl_sidecar_info info[SIDECAR_MAX_NODES];
	struct sidecar_vp_shared_pages *pages[SIDECAR_MAX_NODES];
	int fds[SIDECAR_MAX_NODES];
	uint8_t buf[256];
	pthread_t t;

	rng = 0x9e3779b97f4a7c15ull * (seed + 1);
	for (unsigned n = 0; n < nodes; n++) {
		fds[n] = dev_open(n, O_NONBLOCK);
		info[n] = dev_info(fds[n]);
		pages[n] = dev_map(fds[n], &info[n]);
	}
	if (pthread_create(&t, NULL, open_close, NULL))
		_exit(2);
	for (;;) {
		unsigned n = (unsigned)(rnd() % nodes);
		int fd = fds[n];
		size_t len = (size_t)info[n].cpu_count * info[n].per_cpu_shmem;

		switch (rnd() % 13) {
		case 0: {
			static const unsigned long reqs[] = {MSHV_VTL_SIDECAR_START, MSHV_VTL_SIDECAR_STOP,
							     MSHV_VTL_SIDECAR_RUN};
			/* A RUN may sleep until the run ends: only with a command that ends. */
			unsigned long req = reqs[rnd() % 3];
			unsigned long cpu = random_cpu(&info[n]);
			if (req == MSHV_VTL_SIDECAR_RUN && cpu - info[n].base_cpu < info[n].cpu_count)
				pages[n][cpu - info[n].base_cpu].command_page.command = SIDECAR_COMMAND_NONE;
			ioctl(fd, req, cpu);
			break;
		}
		case 1:
			ioctl(fd, MSHV_VTL_SIDECAR_INFO, random_ptr(buf));
			break;
		case 2: {
			/* Random numbers: other types, other numbers, sizes and directions. */
			unsigned long req = rnd() % 2 ? _IOC(rnd() % 4, MSHV_VTL_SIDECAR_IOCTL, rnd() % 256, rnd() % 64)
						      : (unsigned long)(uint32_t)rnd();
			if (_IOC_TYPE(req) == MSHV_VTL_SIDECAR_IOCTL &&
			    ((_IOC_NR(req) >= 0xf0 && _IOC_NR(req) <= 0xf3) ||
			     (_IOC_NR(req) >= 0xe0 && _IOC_NR(req) <= 0xe7)))
				break; /* the real ones are cases 0, 1 and 11 */
			/* The VFS's own ioctls act on the file or its inode, not the driver (FIOCLEX,
			 * FS_IOC_SETFLAGS could make the node immutable): leave them out. */
			if (req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC ||
			    _IOC_TYPE(req) == 'f' || _IOC_TYPE(req) == 'X' || _IOC_TYPE(req) == 0x94)
				break;
			ioctl(fd, req, random_ptr(buf));
			break;
		}
		case 3:
			syscall(SYS_read, fd, random_ptr(buf), rnd() % 16);
			break;
		case 4: {
			static const size_t lens[] = {0, 1, 4096, 8192};
			size_t l = rnd() % 2 ? len : lens[rnd() % 4] + (rnd() % 2) * len;
			int prot = (int)(rnd() % 8);
			int flags = rnd() % 4 ? MAP_SHARED : MAP_PRIVATE;
			off_t off = rnd() % 3 ? 0 : (off_t)(rnd() % 4) * 4096;
			void *p = mmap(NULL, l, prot, flags, fd, off);
			if (p != MAP_FAILED)
				munmap(p, l);
			break;
		}
		case 5: {
			void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			size_t cur = len;
			if (p == MAP_FAILED)
				break;
			switch (rnd() % 4) {
			case 0:
				mprotect(p, len, (int)(rnd() % 8));
				break;
			case 1: {
				void *q = mremap(p, len, len * 2, MREMAP_MAYMOVE);
				if (q != MAP_FAILED) {
					p = q;
					cur = len * 2;
				}
				break;
			}
			case 2:
				munmap((uint8_t *)p + 4096, 4096); /* a hole */
				break;
			default:
				/* Then a touch of the zapped page: SIGBUS kills this worker. */
				if (madvise(p, 4096, MADV_DONTNEED) == 0 && rnd() % 8 == 0)
					(void)*(volatile uint8_t *)p;
				break;
			}
			munmap(p, cur);
			break;
		}
		case 6:
		case 7:
			garbage_pages(pages[n], &info[n]);
			break;
		case 8:
			/* A few runs of whatever the pages say, then their reports. */
			for (unsigned i = 0; i < info[n].cpu_count; i++)
				ioctl(fd, MSHV_VTL_SIDECAR_START, info[n].base_cpu + i);
			while (dev_read_cpu(fd) >= 0)
				;
			break;
		case 9:
			if (fork() == 0) {
				/* The child shares the files: its exit must not release them. */
				ioctl(fd, MSHV_VTL_SIDECAR_START, random_cpu(&info[n]));
				_exit(0);
			}
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			break;
		case 10:
			/* Reopen: the old file's claims go back. */
			munmap(pages[n], len);
			close(fd);
			fds[n] = dev_open(n, O_NONBLOCK);
			pages[n] = dev_map(fds[n], &info[n]);
			break;
		case 11: {
			/* libsidecar's extension: claims, kicks, short waits, wakes, eventfds and
			 * echoes on random CPUs, with garbage in the structures now and then. */
			unsigned long cpu = random_cpu(&info[n]);
			struct mshv_vtl_sidecar_wait w = {.cpu = (uint32_t)cpu,
							  .seq = (uint32_t)rnd(),
							  .timeout_ns = (int64_t)(rnd() % 1000000),
							  .flags = rnd() % 8 ? (uint32_t)(rnd() % 2) : (uint32_t)rnd()};
			struct mshv_vtl_sidecar_echo e = {.cpu = (uint32_t)cpu, .signal = (uint32_t)(rnd() % 3)};
			struct mshv_vtl_sidecar_eventfd ev = {.cpu = (uint32_t)cpu,
							      .fd = rnd() % 2 ? -1 : (int32_t)(rnd() % 8)};
			switch (rnd() % 8) {
			case 0:
				ioctl(fd, MSHV_VTL_SIDECAR_CLAIM_DIRECT, cpu);
				break;
			case 1:
				ioctl(fd, MSHV_VTL_SIDECAR_RELEASE_DIRECT, cpu);
				break;
			case 2:
				ioctl(fd, MSHV_VTL_SIDECAR_KICK, cpu);
				break;
			case 3:
				ioctl(fd, MSHV_VTL_SIDECAR_WAIT, rnd() % 4 ? (void *)&w : (void *)random_ptr(buf));
				break;
			case 4:
				ioctl(fd, MSHV_VTL_SIDECAR_WAKE, cpu);
				break;
			case 5:
				ioctl(fd, MSHV_VTL_SIDECAR_SET_EVENTFD,
				      rnd() % 4 ? (void *)&ev : (void *)random_ptr(buf));
				break;
			case 6:
				ioctl(fd, MSHV_VTL_SIDECAR_ECHO, rnd() % 4 ? (void *)&e : (void *)random_ptr(buf));
				break;
			default:
				ioctl(fd, MSHV_VTL_SIDECAR_FAST_INFO, random_ptr(buf));
				break;
			}
			break;
		}
		default:
			dev_read_cpu(fd);
			break;
		}
	}
}

static pid_t spawn(unsigned seed)
{
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		alarm(120); /* never outlive the test */
		worker(seed);
		_exit(0);
	}
	return pid;
}

/* Zeroes every CPU's shared pages (the garbage above included). */
static void wipe(void)
{
	for (unsigned n = 0; n < nodes; n++) {
		int fd = dev_open(n, O_NONBLOCK);
		struct mshv_vtl_sidecar_info info = dev_info(fd);
		struct sidecar_vp_shared_pages *pages = dev_map(fd, &info);
		memset(pages, 0, (size_t)info.cpu_count * info.per_cpu_shmem);
		dev_unmap(pages, &info);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 8;
	pid_t pids[WORKERS];
	unsigned seed = 1, kills = 0;

	check_watchdog(seconds + 200);
	dev_require_device();
	nodes = dev_node_count();
	rng = 0x1234567;
	long long allocations = dev_sysfs_num(0, "allocations");
	signal(SIGPIPE, SIG_IGN);

	for (unsigned i = 0; i < WORKERS; i++)
		pids[i] = spawn(seed++);
	uint64_t end = dev_now_ns() + (uint64_t)seconds * 1000000000u;
	while (dev_now_ns() < end) {
		usleep(2000 + rnd() % 20000);
		unsigned i = (unsigned)(rnd() % WORKERS);
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
		kills++;
		pids[i] = spawn(seed++);
	}
	for (unsigned i = 0; i < WORKERS; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	printf("dev_fuzz: %u s, %u workers killed\n", seconds, kills);

	/* Runs may still be ending (a fast-line request ignores STOP until its CPU sees the
	 * next one); then nothing may be left. */
	wipe();
	if (!dev_wait_quiet(30)) {
		fprintf(stderr, "claims %lld, orphans %lld, open files %lld left\n", dev_sysfs_num(0, "claims"),
			dev_sysfs_num(0, "orphans"), dev_sysfs_num(0, "open_files"));
		check_failures++;
	}
	CHECK_EQ(dev_sysfs_num(0, "allocations"), allocations);

	/* Every CPU still works. */
	unsigned cpus[DEV_MAX_CPUS], ncpus = dev_sidecar_cpus(cpus, DEV_MAX_CPUS);
	struct sidecar_client *c = dev_client();
	for (unsigned i = 0; i < ncpus; i++) {
		struct sidecar_vp *vp;
		bool intercept;
		REQUIRE(sidecar_vp_acquire(c, cpus[i], &vp) == 0);
		CHECK_EQ(sidecar_vp_test(vp), 0);
		if (strcmp(dev_guest(), "spin") != 0)
			CHECK_EQ(sidecar_vp_run_sync(vp, &intercept), 0);
		sidecar_vp_release(vp);
	}
	sidecar_client_close(c);
	CHECK(dev_wait_quiet(10));
	return check_report("dev_fuzz");
}
