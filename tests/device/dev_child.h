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

#endif
