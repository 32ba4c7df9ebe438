/* SPDX-License-Identifier: MIT */
/* A wait mode as a case's argument: CHECK_CASE_ARG(run_wait, poll, WAIT_MODE(POLL)) in the
 * table, `enum sidecar_wait_mode mode = wait_mode(arg);` in the case. */
#ifndef SIDECAR_TESTS_WAIT_MODE_H
#define SIDECAR_TESTS_WAIT_MODE_H

#include <sidecar/client.h>

#define WAIT_MODE(m) (&(const enum sidecar_wait_mode){SIDECAR_WAIT_##m})

static inline enum sidecar_wait_mode wait_mode(const void *arg)
{
	return *(const enum sidecar_wait_mode *)arg;
}

#endif
