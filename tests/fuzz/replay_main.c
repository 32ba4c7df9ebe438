/* SPDX-License-Identifier: MIT */
/*
 * The libFuzzer driver for builds without libFuzzer (GCC, the sanitizer configurations):
 * feeds every file named on the command line, or found in a directory named there, to
 * LLVMFuzzerTestOneInput, then a few deterministic mutations of each (bit flips, byte
 * overwrites, truncations; --mutations N per file, default 64, 0 for none). A failed
 * invariant aborts, so ctest reports it with the input's name printed just before.
 *
 *   fuzz_<target> [--mutations N] CORPUS_DIR_OR_FILE...
 *
 * docs/fuzzing.md has the clang/libFuzzer build that really fuzzes these targets.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long mutations = 64;
static unsigned long inputs, executions;

/* xorshift64*: the same mutations on every run and every machine. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dull;
}

static void run_one(const uint8_t *data, size_t size)
{
	/* A private copy of exactly `size` bytes: AddressSanitizer sees any read past it. */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy) {
		fprintf(stderr, "replay: out of memory\n");
		exit(1);
	}
	if (size)
		memcpy(copy, data, size);
	LLVMFuzzerTestOneInput(copy, size);
	free(copy);
	executions++;
}

static void run_mutations(const uint8_t *data, size_t size)
{
	uint8_t *buf;

	if (size == 0 || mutations == 0)
		return;
	buf = malloc(size);
	if (!buf) {
		fprintf(stderr, "replay: out of memory\n");
		exit(1);
	}
	for (unsigned long i = 0; i < mutations; i++) {
		size_t n = size;

		memcpy(buf, data, size);
		switch (rnd() % 4) {
		case 0: /* flip one bit */
			buf[rnd() % size] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* overwrite a few bytes */
			for (int j = 0; j < 4; j++)
				buf[rnd() % size] = (uint8_t)rnd();
			break;
		case 2: /* an interesting value */
		{
			static const uint8_t values[] = {0x00, 0x01, 0x1f, 0x20, 0x7f, 0x80, 0xfe, 0xff};
			buf[rnd() % size] = values[rnd() % sizeof(values)];
			break;
		}
		default: /* truncate */
			n = (size_t)(rnd() % size);
			break;
		}
		run_one(buf, n);
	}
	free(buf);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (size == cap) {
			cap = cap ? 2 * cap : 4096;
			uint8_t *grown = realloc(data, cap);
			if (!grown) {
				fprintf(stderr, "replay: out of memory\n");
				exit(1);
			}
			data = grown;
		}
		size_t got = fread(data + size, 1, cap - size, f);
		if (got == 0)
			break;
		size += got;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	/* Named first, so that a crash report follows the name of its input. */
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
	run_one(data, size);
	run_mutations(data, size);
	free(data);
	inputs++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);

	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		char *file = malloc(len);
		if (!file) {
			fprintf(stderr, "replay: out of memory\n");
			exit(1);
		}
		snprintf(file, len, "%s/%s", path, e->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && run_file(file) != 0)
			rc = -1;
		free(file);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0, paths = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mutations") == 0 && i + 1 < argc) {
			mutations = strtoul(argv[++i], NULL, 0);
			continue;
		}
		paths++;
		if (run_path(argv[i]) != 0)
			rc = 1;
	}
	if (paths == 0) {
		fprintf(stderr, "usage: %s [--mutations N] CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	if (inputs == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	printf("replay: %lu inputs, %lu executions, all invariants held\n", inputs, executions);
	return rc;
}
