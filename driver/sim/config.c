/* SPDX-License-Identifier: MIT */
#include "sim_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void sidecar_sim_config_default(struct sidecar_sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = 1;
	cfg->cpus = 2;
	cfg->backend = SIDECAR_SIM_BACKEND_SYNTHETIC;
	cfg->mem = 64ull << 20;
	cfg->guest = SIDECAR_GUEST_IO;
	cfg->io_port = 0x3f8;
	cfg->report = SIDECAR_SIM_REPORT_SCAN;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Parses all of [s, end) as an unsigned integer (decimal, or hex with 0x). */
static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (s == end)
		return false;
	for (; s < end; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool parse_size(const char *s, const char *end, uint64_t *out)
{
	uint64_t mult = 1;

	if (end > s) {
		switch (end[-1]) {
		case 'k':
		case 'K':
			mult = 1ull << 10;
			end--;
			break;
		case 'm':
		case 'M':
			mult = 1ull << 20;
			end--;
			break;
		case 'g':
		case 'G':
			mult = 1ull << 30;
			end--;
			break;
		}
	}
	uint64_t v;
	if (!parse_u64(s, end, &v) || (v && mult > UINT64_MAX / v))
		return false;
	*out = v * mult;
	return true;
}

static bool equals(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - s) == n && memcmp(s, word, n) == 0;
}

/* Appends a cpu list item, N or N-M; items join with '+' ("pin=0-1+3") or, taskset style,
 * with ',' ("pin=0-1,3,cpus=4": a ',' item without '=' after pin continues the list). */
static int parse_pin(const char *s, const char *end, struct sidecar_sim_config *cfg, char *err, size_t errlen)
{
	while (s < end) {
		const char *item = s, *stop = memchr(s, '+', (size_t)(end - s));
		if (!stop)
			stop = end;
		const char *dash = memchr(item, '-', (size_t)(stop - item));
		uint64_t lo, hi;
		if (dash) {
			if (!parse_u64(item, dash, &lo) || !parse_u64(dash + 1, stop, &hi) || hi < lo)
				return fail(err, errlen,
					    "sim target: bad value '%.*s' for key 'pin' (a host cpu list, e.g. 0-3+6)",
					    (int)(end - s), s);
		} else {
			if (!parse_u64(item, stop, &lo))
				return fail(err, errlen,
					    "sim target: bad value '%.*s' for key 'pin' (a host cpu list, e.g. 0-3+6)",
					    (int)(end - s), s);
			hi = lo;
		}
		if (hi >= SIDECAR_SIM_MAX_PIN)
			return fail(err, errlen, "sim target: host cpu %" PRIu64 " in 'pin' is out of range (0..%d)",
				    hi, SIDECAR_SIM_MAX_PIN - 1);
		for (uint64_t c = lo; c <= hi; c++) {
			if (cfg->pin_count == SIDECAR_SIM_MAX_PIN)
				return fail(err, errlen, "sim target: too many entries in 'pin' (at most %d)",
					    SIDECAR_SIM_MAX_PIN);
			cfg->pin[cfg->pin_count++] = (uint16_t)c;
		}
		s = stop < end ? stop + 1 : end;
		if (stop < end && s == end)
			return fail(err, errlen, "sim target: bad value for key 'pin': trailing '+'");
	}
	return 0;
}

enum key { K_NODES, K_CPUS, K_BACKEND, K_MEM, K_PIN, K_GUEST, K_WORK_NS, K_IO_PORT, K_REPORT, K_COUNT };

static const char *const key_names[K_COUNT] = {
	"nodes", "cpus", "backend", "mem", "pin", "guest", "work_ns", "io_port", "report",
};

int sidecar_sim_config_parse(const char *target, struct sidecar_sim_config *out, char *err, size_t errlen)
{
	struct sidecar_sim_config cfg;
	bool seen[K_COUNT] = {false};

	if (errlen)
		err[0] = '\0';
	if (!target)
		return fail(err, errlen, "sim target: none given");
	sidecar_sim_config_default(&cfg);
	if (strncmp(target, "sim", 3) != 0 || (target[3] != '\0' && target[3] != ':'))
		return fail(err, errlen, "target '%s' is not a simulator target (sim[:key=value,...])", target);

	const char *s = target[3] == ':' ? target + 4 : target + 3;
	const char *end = s + strlen(s);
	int last_key = -1;
	if (target[3] == ':' && s == end)
		return fail(err, errlen, "sim target: empty option list after ':'");
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma ? comma : end;
		const char *eq = memchr(s, '=', (size_t)(stop - s));
		if (stop == s)
			return fail(err, errlen, "sim target: empty option (stray ',')");
		if (!eq && last_key == K_PIN) {
			int rc = parse_pin(s, stop, &cfg, err, errlen);
			if (rc)
				return rc;
			s = comma ? comma + 1 : end;
			if (comma && s == end)
				return fail(err, errlen, "sim target: empty option (trailing ',')");
			continue;
		}
		if (!eq)
			return fail(err, errlen, "sim target: option '%.*s' has no '=value'", (int)(stop - s), s);
		const char *v = eq + 1;
		if (v == stop)
			return fail(err, errlen, "sim target: empty value for key '%.*s'", (int)(eq - s), s);

		int key = -1;
		for (int i = 0; i < K_COUNT; i++)
			if (equals(s, eq, key_names[i]))
				key = i;
		if (key < 0)
			return fail(err, errlen,
				    "sim target: unknown key '%.*s' (nodes, cpus, backend, mem, pin, guest, work_ns, "
				    "io_port, report)",
				    (int)(eq - s), s);
		if (seen[key])
			return fail(err, errlen, "sim target: key '%s' given twice", key_names[key]);
		seen[key] = true;
		last_key = key;

		uint64_t n;
		int vlen = (int)(stop - v);
		switch (key) {
		case K_NODES:
			if (!parse_u64(v, stop, &n) || n < 1 || n > SIDECAR_MAX_NODES)
				return fail(err, errlen, "sim target: bad value '%.*s' for key 'nodes' (1..%d)", vlen,
					    v, SIDECAR_MAX_NODES);
			cfg.nodes = (uint32_t)n;
			break;
		case K_CPUS:
			if (!parse_u64(v, stop, &n) || n < 1 || n > SIDECAR_MAX_CPUS_PER_NODE)
				return fail(err, errlen, "sim target: bad value '%.*s' for key 'cpus' (1..%d per node)",
					    vlen, v, SIDECAR_MAX_CPUS_PER_NODE);
			cfg.cpus = (uint32_t)n;
			break;
		case K_BACKEND:
			if (equals(v, stop, "synthetic"))
				cfg.backend = SIDECAR_SIM_BACKEND_SYNTHETIC;
			else if (equals(v, stop, "kvm"))
				cfg.backend = SIDECAR_SIM_BACKEND_KVM;
			else
				return fail(err, errlen,
					    "sim target: bad value '%.*s' for key 'backend' (synthetic, kvm)", vlen, v);
			break;
		case K_MEM:
			if (!parse_size(v, stop, &n) || n == 0 || n % SIDECAR_PAGE_SIZE || n > SIDECAR_SIM_MAX_MEM)
				return fail(
					err, errlen,
					"sim target: bad value '%.*s' for key 'mem' (a multiple of 4K, at most 256G)",
					vlen, v);
			cfg.mem = n;
			break;
		case K_PIN: {
			int rc = parse_pin(v, stop, &cfg, err, errlen);
			if (rc)
				return rc;
			break;
		}
		case K_GUEST:
			if (equals(v, stop, "io"))
				cfg.guest = SIDECAR_GUEST_IO;
			else if (equals(v, stop, "spin"))
				cfg.guest = SIDECAR_GUEST_SPIN;
			else if (equals(v, stop, "halt"))
				cfg.guest = SIDECAR_GUEST_HALT;
			else
				return fail(err, errlen,
					    "sim target: bad value '%.*s' for key 'guest' (io, spin, halt)", vlen, v);
			break;
		case K_WORK_NS:
			if (!parse_u64(v, stop, &n) || n > SIDECAR_SIM_MAX_WORK_NS)
				return fail(err, errlen,
					    "sim target: bad value '%.*s' for key 'work_ns' (0..10000000000)", vlen, v);
			cfg.work_ns = n;
			break;
		case K_IO_PORT:
			if (!parse_u64(v, stop, &n) || n > 0xffff)
				return fail(err, errlen, "sim target: bad value '%.*s' for key 'io_port' (0..65535)",
					    vlen, v);
			cfg.io_port = (uint16_t)n;
			break;
		case K_REPORT:
			if (equals(v, stop, "scan"))
				cfg.report = SIDECAR_SIM_REPORT_SCAN;
			else if (equals(v, stop, "lockfree"))
				cfg.report = SIDECAR_SIM_REPORT_LOCKFREE;
			else
				return fail(err, errlen,
					    "sim target: bad value '%.*s' for key 'report' (scan, lockfree)", vlen, v);
			break;
		}
		s = comma ? comma + 1 : end;
		if (comma && s == end)
			return fail(err, errlen, "sim target: empty option (trailing ',')");
	}
	if (seen[K_GUEST] && cfg.backend != SIDECAR_SIM_BACKEND_SYNTHETIC)
		return fail(err, errlen, "sim target: key 'guest' is for the synthetic backend only");
	if ((uint64_t)cfg.nodes * cfg.cpus > SIDECAR_SIM_MAX_TOTAL_CPUS)
		return fail(err, errlen, "sim target: %u nodes x %u cpus is more than the %d cpus a simulator runs",
			    cfg.nodes, cfg.cpus, SIDECAR_SIM_MAX_TOTAL_CPUS);
	*out = cfg;
	return 0;
}
