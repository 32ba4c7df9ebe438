/* SPDX-License-Identifier: MIT */
/* A tiny assertion kit for the tests: failures are counted and reported with file:line, a
 * watchdog turns a hang into a failure, and exit code 77 means "skipped". */
#ifndef SIDECAR_TESTS_CHECK_H
#define SIDECAR_TESTS_CHECK_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_failures;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                                        \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                                                \
	do {                                                                                                          \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                       \
		if (check_a_ != check_b_) {                                                                           \
			fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
				check_a_, check_b_);                                                                  \
			check_failures++;                                                                             \
		}                                                                                                     \
	} while (0)

#define CHECK_STREQ(a, b)                                                                                            \
	do {                                                                                                         \
		const char *check_a_ = (a), *check_b_ = (b);                                                         \
		if (strcmp(check_a_, check_b_) != 0) {                                                               \
			fprintf(stderr, "%s:%d: CHECK_STREQ(%s, %s) failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
				#a, #b, check_a_, check_b_);                                                         \
			check_failures++;                                                                            \
		}                                                                                                    \
	} while (0)

/* Stop a test that cannot go on. */
#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define SKIP(...)                    \
	do {                         \
		printf("SKIP: ");    \
		printf(__VA_ARGS__); \
		printf("\n");        \
		exit(77);            \
	} while (0)

static inline int check_report(const char *name)
{
	if (check_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
	else
		printf("%s: ok\n", name);
	return check_failures ? 1 : 0;
}

static void check_watchdog_fired(int sig)
{
	(void)sig;
	static const char msg[] = "watchdog: the test hung\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(3);
}

/* A hang becomes a failure after `seconds`. */
static inline void check_watchdog(unsigned seconds)
{
	signal(SIGALRM, check_watchdog_fired);
	alarm(seconds);
}

#endif
