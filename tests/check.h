/* SPDX-License-Identifier: MIT */
/*
 * A tiny assertion kit and case runner for the tests: failures are counted and reported with
 * file:line, a watchdog turns a hang into a failure, and exit code 77 means "skipped".
 *
 * Header-only, so that a program built on its own (tests/device/) needs nothing else. The
 * state a failure or a skip touches is one weak definition shared by every file of a test
 * program (the test and its helpers in tests/support/).
 *
 * A test program is a table of cases and a main that hands it to check_main():
 *
 *	static const struct check_case cases[] = {
 *		CHECK_CASE(open),                                 runs test_open(void)
 *		CHECK_CASE_ARG(run_wait, poll, WAIT_MODE(POLL)),  runs test_run_wait(arg), as "run_wait.poll"
 *	};
 *
 *	int main(int argc, char **argv)
 *	{
 *		static const struct check_suite suite = {"test_client_api", CHECK_CASES(cases), .watchdog_s = 60};
 *		return check_main(argc, argv, &suite);
 *	}
 *
 * One CHECK_CASE or CHECK_CASE_ARG per entry, names made of [a-z0-9_]: tests/CMakeLists.txt
 * reads them from the source to register one ctest test per case, and a test per program
 * compares that list with the program's --list.
 *
 *	prog                  every case, in table order
 *	prog --case GLOB ...  the cases whose name matches (fnmatch; repeatable; a glob that
 *	                      matches nothing: exit 2)
 *	prog --list           the case names, one a line
 *
 * Each case runs between the suite's setup and teardown (a fresh fixture each time, so that
 * no case depends on another having run) under its own watchdog. Exit status: 1 if a check
 * failed, 77 if every case run was skipped, 0 otherwise.
 */
#ifndef SIDECAR_TESTS_CHECK_H
#define SIDECAR_TESTS_CHECK_H

#include <fnmatch.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Failed checks so far, and where a skip returns to (NULL outside a case: exit 77). */
__attribute__((weak)) int check_failures;
__attribute__((weak)) jmp_buf *check_skip_to;

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

/* Skip the current case (from the thread that runs it), or the program outside a case. */
#define SKIP(...)                    \
	do {                         \
		printf("SKIP: ");    \
		printf(__VA_ARGS__); \
		printf("\n");        \
		check_skip();        \
	} while (0)

static inline _Noreturn void check_skip(void)
{
	fflush(stdout);
	if (check_skip_to)
		longjmp(*check_skip_to, 1);
	exit(77);
}

static inline int check_report(const char *name)
{
	if (check_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
	else
		printf("%s: ok\n", name);
	return check_failures ? 1 : 0;
}

static const char *check_watchdog_what = "the test";

static void check_watchdog_fired(int sig)
{
	(void)sig;
	static const char msg[] = "watchdog: ", hung[] = " hung\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	r = write(2, check_watchdog_what, strlen(check_watchdog_what));
	r = write(2, hung, sizeof(hung) - 1);
	(void)r;
	_exit(3);
}

/* A hang becomes a failure after `seconds` (0: no bound). */
static inline void check_watchdog(unsigned seconds)
{
	signal(SIGALRM, check_watchdog_fired);
	alarm(seconds);
}

/* ---- cases ------------------------------------------------------------------------------ */

struct check_case {
	const char *name;
	void (*fn)(void);
	void (*fn_arg)(const void *arg);
	const void *arg;
};

#define CHECK_CASE(f)                    \
	{                                \
#f, test_##f, NULL, NULL \
	}
#define CHECK_CASE_ARG(f, variant, a)                \
	{                                            \
#f "." #variant, NULL, test_##f, (a) \
	}
#define CHECK_CASES(table) (table), sizeof(table) / sizeof((table)[0])

struct check_suite {
	const char *name; /* the program's */
	const struct check_case *cases;
	size_t count;
	unsigned watchdog_s;    /* per case (0: none) */
	void (*setup)(void);    /* before each case */
	void (*teardown)(void); /* after each case whose setup returned */
	/* The program's own options: how many of argv[i..] it took (0: not one of its own). */
	int (*option)(int argc, char **argv, int i);
	const char *usage; /* of those options */
};

static inline int check_usage(const struct check_suite *s, FILE *f, int status)
{
	fprintf(f, "usage: %s [--list] [--case GLOB]...%s%s\n", s->name, s->usage ? " " : "", s->usage ? s->usage : "");
	return status;
}

static inline int check_main(int argc, char **argv, const struct check_suite *s)
{
	const char **globs = calloc((size_t)argc + 1, sizeof(*globs));
	size_t nglobs = 0;
	int list = 0;

	if (!globs)
		return 1;
	for (int i = 1; i < argc; i++) {
		int took;
		if (!strcmp(argv[i], "--list")) {
			list = 1;
		} else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
			globs[nglobs++] = argv[++i];
		} else if (!strncmp(argv[i], "--case=", 7)) {
			globs[nglobs++] = argv[i] + 7;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			free(globs);
			return check_usage(s, stdout, 0);
		} else if (s->option && (took = s->option(argc, argv, i)) > 0) {
			i += took - 1;
		} else {
			fprintf(stderr, "%s: bad argument '%s'\n", s->name, argv[i]);
			free(globs);
			return check_usage(s, stderr, 2);
		}
	}
	if (list) {
		for (size_t c = 0; c < s->count; c++)
			printf("%s\n", s->cases[c].name);
		free(globs);
		return 0;
	}
	for (size_t g = 0; g < nglobs; g++) {
		size_t c = 0;
		while (c < s->count && fnmatch(globs[g], s->cases[c].name, 0) != 0)
			c++;
		if (c == s->count) {
			fprintf(stderr, "%s: no case matches '%s' (--list names them)\n", s->name, globs[g]);
			free(globs);
			return 2;
		}
	}

	unsigned ran = 0, skipped = 0, failed = 0;
	signal(SIGALRM, check_watchdog_fired);
	for (size_t c = 0; c < s->count; c++) {
		const struct check_case *k = &s->cases[c];
		size_t g = 0;
		while (g < nglobs && fnmatch(globs[g], k->name, 0) != 0)
			g++;
		if (nglobs && g == nglobs)
			continue;

		static jmp_buf skip_to;
		volatile int set_up = 0, skip = 0;
		int before = check_failures;
		ran++;
		check_watchdog_what = k->name;
		fflush(stdout);
		if (setjmp(skip_to) == 0) {
			check_skip_to = &skip_to;
			alarm(s->watchdog_s);
			if (s->setup)
				s->setup();
			set_up = 1;
			if (k->fn)
				k->fn();
			else
				k->fn_arg(k->arg);
		} else {
			skip = 1;
			skipped++;
		}
		check_skip_to = NULL;
		if (set_up && s->teardown)
			s->teardown();
		alarm(0);
		if (check_failures != before) {
			failed++;
			fprintf(stderr, "%s: %d check(s) failed\n", k->name, check_failures - before);
		} else {
			printf("%s: %s\n", k->name, skip ? "skipped" : "ok");
		}
		fflush(stdout);
	}
	free(globs);
	check_watchdog_what = "the test";
	if (failed) {
		fprintf(stderr, "%s: %u of %u case(s) failed\n", s->name, failed, ran);
		return 1;
	}
	if (skipped == ran) {
		printf("%s: %u case(s) skipped\n", s->name, ran);
		return 77;
	}
	printf("%s: ok (%u case(s), %u skipped)\n", s->name, ran, skipped);
	return 0;
}

#endif
