/* SPDX-License-Identifier: MIT */
/*
 * A child process killed with SIGKILL once it is in place (dev_kill.c, dev_fast_kill.c): the
 * child runs a body that puts it in place (claims, runs, a sleep in the driver), writes a
 * byte into a pipe and, unless it goes on working until the signal, waits to be killed.
 */
#ifndef SIDECAR_TESTS_DEVICE_CHILD_H
#define SIDECAR_TESTS_DEVICE_CHILD_H

#include "dev_util.h"

#include <signal.h>
#include <sys/wait.h>

/* In the child: tells the parent it is in place through the pipe, then waits to be killed. */
static inline void dev_child_ready(int pipefd)
{
	char b = 'r';
	ssize_t r = write(pipefd, &b, 1);
	(void)r;
	for (;;)
		pause();
}

/* Forks a child that runs body(pipefd, arg), and kills it `delay_us` after it is in place.
 * Whether it got in place and died of the signal. */
static inline bool dev_child_kill(void (*body)(int pipefd, unsigned arg), unsigned arg, unsigned delay_us)
{
	int p[2];
	char b;

	REQUIRE(pipe(p) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		body(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	bool in_place = read(p[0], &b, 1) == 1;
	close(p[0]);
	if (delay_us)
		usleep(delay_us);
	kill(pid, SIGKILL);
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (!in_place || !WIFSIGNALED(status)) {
		fprintf(stderr, "the child did not get in place (status 0x%x)\n", status);
		return false;
	}
	return true;
}

/* In the child: acquires `cpus` and works them at random (run, cancel, wait, test, try_wait;
 * with `fast` also wait-mode switches, a bounded wait after a cancel, and an event fd for an
 * odd seed), after the byte that says it is in place, until it is killed. */
static inline void dev_child_churn(int pipefd, unsigned seed, const unsigned *cpus, unsigned ncpus, bool fast)
{
	struct sidecar_client *c = dev_client();
	struct sidecar_vp *vps[DEV_MAX_CPUS];
	bool intercept;

	srand(seed);
	if (fast && seed % 2 && sidecar_client_event_fd(c) < 0)
		_exit(14);
	for (unsigned i = 0; i < ncpus; i++)
		if (sidecar_vp_acquire(c, cpus[i], &vps[i]))
			_exit(15);
	char b = 'r';
	if (write(pipefd, &b, 1) != 1)
		_exit(16);
	for (;;) {
		struct sidecar_vp *vp = vps[rand() % ncpus];
		switch (rand() % (fast ? 5 : 4)) {
		case 0:
			if (sidecar_vp_run(vp) == 0 && rand() % 2) {
				sidecar_vp_cancel(vp);
				sidecar_vp_wait(vp, -1, &intercept);
			}
			break;
		case 1:
			sidecar_vp_cancel(vp);
			if (fast)
				sidecar_vp_wait(vp, 1000000, &intercept);
			break;
		case 2:
			sidecar_vp_test(vp);
			break;
		case 3:
			sidecar_vp_try_wait(vp, &intercept);
			break;
		case 4:
			sidecar_vp_set_wait_mode(vp, dev_all_modes[rand() % 4]);
			break;
		}
	}
}

#endif
