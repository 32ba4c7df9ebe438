/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the simulator's target-string parser (driver/sim/config.c) fed
 * arbitrary bytes (a NUL-terminated copy; an embedded NUL ends the string early, as for any
 * C caller). Nothing is booted. Checked on every input:
 *
 *   - the result is 0 or -EINVAL;
 *   - on -EINVAL the message is non-empty and NUL-terminated inside the buffer, and the
 *     config is untouched ("written only on success");
 *   - with a short error buffer (errlen 0..7, allocated at exactly that size) the result
 *     is the same, the message a NUL-terminated prefix, and errlen 0 writes nothing;
 *   - on 0 the config is within the documented bounds (nodes 1..128, cpus 1..4032,
 *     nodes*cpus <= SIDECAR_SIM_MAX_TOTAL_CPUS, mem a non-zero multiple of 4096 at most
 *     SIDECAR_SIM_MAX_MEM, pin entries < SIDECAR_SIM_MAX_PIN, work_ns at most
 *     SIDECAR_SIM_MAX_WORK_NS, guest only with the synthetic backend), and printing it
 *     back as a canonical target string parses to the same config (a round trip).
 */
#include "sim_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                             \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

#define ERR_LEN 256

static bool config_equal(const struct sidecar_sim_config *a, const struct sidecar_sim_config *b)
{
	return a->nodes == b->nodes && a->cpus == b->cpus && a->backend == b->backend && a->mem == b->mem &&
	       a->pin_count == b->pin_count && memcmp(a->pin, b->pin, a->pin_count * sizeof(a->pin[0])) == 0 &&
	       a->guest == b->guest && a->work_ns == b->work_ns && a->io_port == b->io_port && a->report == b->report;
}

static void check_bounds(const struct sidecar_sim_config *c)
{
	FUZZ_CHECK(c->nodes >= 1 && c->nodes <= SIDECAR_MAX_NODES);
	FUZZ_CHECK(c->cpus >= 1 && c->cpus <= SIDECAR_MAX_CPUS_PER_NODE);
	FUZZ_CHECK((uint64_t)c->nodes * c->cpus <= SIDECAR_SIM_MAX_TOTAL_CPUS);
	FUZZ_CHECK(c->backend == SIDECAR_SIM_BACKEND_SYNTHETIC || c->backend == SIDECAR_SIM_BACKEND_KVM);
	FUZZ_CHECK(c->mem != 0 && c->mem % 4096 == 0 && c->mem <= SIDECAR_SIM_MAX_MEM);
	FUZZ_CHECK(c->pin_count <= SIDECAR_SIM_MAX_PIN);
	for (uint32_t i = 0; i < c->pin_count; i++)
		FUZZ_CHECK(c->pin[i] < SIDECAR_SIM_MAX_PIN);
	FUZZ_CHECK(c->guest == SIDECAR_GUEST_IO || c->guest == SIDECAR_GUEST_SPIN || c->guest == SIDECAR_GUEST_HALT);
	FUZZ_CHECK(c->work_ns <= SIDECAR_SIM_MAX_WORK_NS);
	FUZZ_CHECK(c->report == SIDECAR_SIM_REPORT_SCAN || c->report == SIDECAR_SIM_REPORT_LOCKFREE);
}

/* Appends to a growing string; the buffer is large enough for the longest config. */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	FUZZ_CHECK(*len + n < cap);
	memcpy(buf + *len, s, n + 1);
	*len += n;
}

/* The config as a canonical target string that names every key. */
static char *print_config(const struct sidecar_sim_config *c)
{
	static const char *const guests[] = {"io", "spin", "halt"};
	size_t cap = 256 + 6 * (size_t)c->pin_count, len = 0;
	char *s = malloc(cap), item[96];

	FUZZ_CHECK(s);
	s[0] = '\0';
	snprintf(item, sizeof(item), "sim:nodes=%" PRIu32 ",cpus=%" PRIu32 ",backend=%s,mem=%" PRIu64, c->nodes,
		 c->cpus, c->backend == SIDECAR_SIM_BACKEND_KVM ? "kvm" : "synthetic", c->mem);
	put(s, cap, &len, item);
	/* "guest" is refused with the kvm backend even when it names the default. */
	if (c->backend == SIDECAR_SIM_BACKEND_SYNTHETIC) {
		snprintf(item, sizeof(item), ",guest=%s", guests[c->guest]);
		put(s, cap, &len, item);
	}
	snprintf(item, sizeof(item), ",work_ns=%" PRIu64 ",io_port=0x%x,report=%s", c->work_ns, c->io_port,
		 c->report == SIDECAR_SIM_REPORT_LOCKFREE ? "lockfree" : "scan");
	put(s, cap, &len, item);
	for (uint32_t i = 0; i < c->pin_count; i++) {
		/* Both list separators: '+' and the taskset-style ','. */
		snprintf(item, sizeof(item), "%s%u", i == 0 ? ",pin=" : (i % 2 ? "+" : ","), c->pin[i]);
		put(s, cap, &len, item);
	}
	return s;
}

static void fill_pattern(struct sidecar_sim_config *c)
{
	memset(c, 0xa5, sizeof(*c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size + 1 bytes: a read past the NUL is an ASan report. */
	char *target = malloc(size + 1);
	struct sidecar_sim_config cfg, untouched;
	char err[ERR_LEN + 1];

	FUZZ_CHECK(target);
	if (size)
		memcpy(target, data, size);
	target[size] = '\0';

	fill_pattern(&cfg);
	fill_pattern(&untouched);
	memset(err, 0x5a, sizeof(err));
	int rc = sidecar_sim_config_parse(target, &cfg, err, ERR_LEN);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(err[ERR_LEN] == 0x5a); /* nothing past errlen */
	if (rc == -EINVAL) {
		size_t n = strnlen(err, ERR_LEN);
		FUZZ_CHECK(n > 0 && n < ERR_LEN);
		FUZZ_CHECK(memcmp(&cfg, &untouched, sizeof(cfg)) == 0);
	} else {
		FUZZ_CHECK(err[0] == '\0');
		check_bounds(&cfg);
	}

	/* The same parse with a short error buffer of exactly errlen bytes. */
	size_t errlen = size % 8;
	char *small = malloc(errlen ? errlen : 1);
	struct sidecar_sim_config cfg2;
	FUZZ_CHECK(small);
	memset(small, 0x5a, errlen ? errlen : 1);
	fill_pattern(&cfg2);
	int rc2 = sidecar_sim_config_parse(target, &cfg2, small, errlen);
	FUZZ_CHECK(rc2 == rc);
	if (errlen == 0) {
		FUZZ_CHECK(small[0] == 0x5a);
	} else {
		size_t n = strnlen(small, errlen);
		FUZZ_CHECK(n < errlen);
		if (rc == -EINVAL)
			FUZZ_CHECK(memcmp(small, err, n) == 0);
		else
			FUZZ_CHECK(n == 0);
	}
	free(small);
	if (rc == 0)
		FUZZ_CHECK(config_equal(&cfg, &cfg2));

	/* Round trip: the canonical string of the config parses to the same config. */
	if (rc == 0) {
		char *again = print_config(&cfg);
		struct sidecar_sim_config cfg3;

		fill_pattern(&cfg3);
		rc2 = sidecar_sim_config_parse(again, &cfg3, err, ERR_LEN);
		if (rc2 != 0 || !config_equal(&cfg, &cfg3)) {
			fprintf(stderr, "round trip failed: '%s' -> rc %d: %s\n", again, rc2,
				rc2 ? err : "config differs");
			abort();
		}
		free(again);
	}
	free(target);
	return 0;
}
