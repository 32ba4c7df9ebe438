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

int sidecar_sim_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

#define fail(err, errlen, ...) sidecar_sim_fail(err, errlen, -EINVAL, __VA_ARGS__)

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

/* A bad value: the key and what it wants first, then the value (cut if it is long), so a
 * long value cannot push the useful part out of a short buffer. */
static int bad_value(char *err, size_t errlen, const char *key, const char *wants, const char *v, const char *end)
{
	int n = (int)(end - v);
	return fail(err, errlen, "sim target: key '%s' wants %s, got '%.*s%s'", key, wants, n > 40 ? 40 : n, v,
		    n > 40 ? "..." : "");
}

/* A CPU list: items N or N-M, joined with '+' ("0-1+3") or, taskset style, with ','
 * ("pin=0-1,3,cpus=4": a ',' item without '=' after a list key continues the list). Calls
 * add(lo..hi) for each item. */
static int parse_list(const char *key, const char *wants, const char *s, const char *end, uint64_t max,
		      int (*add)(struct sidecar_sim_config *cfg, uint64_t lo, uint64_t hi, char *err, size_t errlen),
		      struct sidecar_sim_config *cfg, char *err, size_t errlen)
{
	const char *all = s;

	while (s < end) {
		const char *item = s, *stop = memchr(s, '+', (size_t)(end - s));
		if (!stop)
			stop = end;
		const char *dash = memchr(item, '-', (size_t)(stop - item));
		uint64_t lo, hi;
		if (dash) {
			if (!parse_u64(item, dash, &lo) || !parse_u64(dash + 1, stop, &hi) || hi < lo)
				return bad_value(err, errlen, key, wants, all, end);
		} else {
			if (!parse_u64(item, stop, &lo))
				return bad_value(err, errlen, key, wants, all, end);
			hi = lo;
		}
		if (hi > max)
			return fail(err, errlen,
				    "sim target: key '%s' wants %s; %" PRIu64 " is out of range (at most %" PRIu64 ")",
				    key, wants, hi, max);
		int rc = add(cfg, lo, hi, err, errlen);
		if (rc)
			return rc;
		s = stop < end ? stop + 1 : end;
		if (stop < end && s == end)
			return fail(err, errlen, "sim target: key '%s' wants %s: trailing '+'", key, wants);
	}
	return 0;
}

static int add_pin(struct sidecar_sim_config *cfg, uint64_t lo, uint64_t hi, char *err, size_t errlen)
{
	for (uint64_t c = lo; c <= hi; c++) {
		if (cfg->pin_count == SIDECAR_SIM_MAX_PIN)
			return fail(err, errlen, "sim target: key 'pin' has too many entries (at most %d)",
				    SIDECAR_SIM_MAX_PIN);
		cfg->pin[cfg->pin_count++] = (uint16_t)c;
	}
	return 0;
}

static int add_linux(struct sidecar_sim_config *cfg, uint64_t lo, uint64_t hi, char *err, size_t errlen)
{
	if (lo == 0)
		return fail(err, errlen,
			    "sim target: key 'linux' lists cpu index 0, the base cpu, which Linux always keeps");
	for (uint64_t c = lo; c <= hi; c++)
		cfg->linux_cpu[c / 64] |= 1ull << (c % 64);
	return 0;
}

#define PIN_WANTS "a host cpu list (e.g. 0-3+6)"
#define LINUX_WANTS "a list of node cpu indexes 1..cpus (e.g. 2+4-5)"

enum key {
	K_NODES,
	K_CPUS,
	K_BACKEND,
	K_MEM,
	K_PIN,
	K_GUEST,
	K_WORK_NS,
	K_IO_PORT,
	K_REPORT,
	K_LINUX,
	K_STRICT,
	K_COUNT
};

static const char *const key_names[K_COUNT] = {
	"nodes", "cpus", "backend", "mem", "pin", "guest", "work_ns", "io_port", "report", "linux", "strict",
};

/* One key's value, [v, stop), into cfg. */
static int apply_key(int key, const char *v, const char *stop, struct sidecar_sim_config *cfg, char *err, size_t errlen)
{
	uint64_t n;
	switch (key) {
	case K_NODES:
		if (!parse_u64(v, stop, &n) || n < 1 || n > SIDECAR_MAX_NODES)
			return bad_value(err, errlen, "nodes", "1..128", v, stop);
		cfg->nodes = (uint32_t)n;
		break;
	case K_CPUS:
		/* The node also has its base CPU: at most 4031 more fit its status bytes. */
		if (!parse_u64(v, stop, &n) || n < 1 || n > SIDECAR_MAX_CPUS_PER_NODE - 1)
			return bad_value(err, errlen, "cpus", "1..4031 (sidecar cpus per node, besides the base cpu)",
					 v, stop);
		cfg->cpus = (uint32_t)n;
		break;
	case K_BACKEND:
		if (equals(v, stop, "synthetic"))
			cfg->backend = SIDECAR_SIM_BACKEND_SYNTHETIC;
		else if (equals(v, stop, "kvm"))
			cfg->backend = SIDECAR_SIM_BACKEND_KVM;
		else
			return bad_value(err, errlen, "backend", "synthetic or kvm", v, stop);
		break;
	case K_MEM:
		if (!parse_size(v, stop, &n) || n == 0 || n % SIDECAR_PAGE_SIZE || n > SIDECAR_SIM_MAX_MEM)
			return bad_value(err, errlen, "mem", "a multiple of 4K up to 256G (e.g. 64M)", v, stop);
		cfg->mem = n;
		break;
	case K_PIN: {
		int rc = parse_list("pin", PIN_WANTS, v, stop, SIDECAR_SIM_MAX_PIN - 1, add_pin, cfg, err, errlen);
		if (rc)
			return rc;
		break;
	}
	case K_LINUX: {
		int rc = parse_list("linux", LINUX_WANTS, v, stop, SIDECAR_MAX_CPUS_PER_NODE - 1, add_linux, cfg, err,
				    errlen);
		if (rc)
			return rc;
		break;
	}
	case K_STRICT:
		if (equals(v, stop, "fixed"))
			cfg->strict_upstream = false;
		else if (equals(v, stop, "upstream"))
			cfg->strict_upstream = true;
		else
			return bad_value(err, errlen, "strict", "fixed or upstream", v, stop);
		break;
	case K_GUEST:
		if (equals(v, stop, "io"))
			cfg->guest = SIDECAR_GUEST_IO;
		else if (equals(v, stop, "spin"))
			cfg->guest = SIDECAR_GUEST_SPIN;
		else if (equals(v, stop, "halt"))
			cfg->guest = SIDECAR_GUEST_HALT;
		else
			return bad_value(err, errlen, "guest", "io, spin or halt", v, stop);
		break;
	case K_WORK_NS:
		if (!parse_u64(v, stop, &n) || n > SIDECAR_SIM_MAX_WORK_NS)
			return bad_value(err, errlen, "work_ns", "0..10000000000", v, stop);
		cfg->work_ns = n;
		break;
	case K_IO_PORT:
		if (!parse_u64(v, stop, &n) || n > 0xffff)
			return bad_value(err, errlen, "io_port", "0..65535", v, stop);
		cfg->io_port = (uint16_t)n;
		break;
	case K_REPORT:
		if (equals(v, stop, "scan"))
			cfg->report = SIDECAR_SIM_REPORT_SCAN;
		else if (equals(v, stop, "lockfree"))
			cfg->report = SIDECAR_SIM_REPORT_LOCKFREE;
		else
			return bad_value(err, errlen, "report", "scan or lockfree", v, stop);
		break;
	}
	return 0;
}

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
		if (!eq && (last_key == K_PIN || last_key == K_LINUX)) {
			int rc = last_key == K_PIN
					 ? parse_list("pin", PIN_WANTS, s, stop, SIDECAR_SIM_MAX_PIN - 1, add_pin, &cfg,
						      err, errlen)
					 : parse_list("linux", LINUX_WANTS, s, stop, SIDECAR_MAX_CPUS_PER_NODE - 1,
						      add_linux, &cfg, err, errlen);
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
				    "io_port, report, linux, strict)",
				    (int)(eq - s), s);
		if (seen[key])
			return fail(err, errlen, "sim target: key '%s' given twice", key_names[key]);
		seen[key] = true;
		last_key = key;

		int rc = apply_key(key, v, stop, &cfg, err, errlen);
		if (rc)
			return rc;
		s = comma ? comma + 1 : end;
		if (comma && s == end)
			return fail(err, errlen, "sim target: empty option (trailing ',')");
	}
	if (seen[K_GUEST] && cfg.backend != SIDECAR_SIM_BACKEND_SYNTHETIC)
		return fail(err, errlen, "sim target: key 'guest' is for the synthetic backend only");
	if ((uint64_t)cfg.nodes * (cfg.cpus + 1) > SIDECAR_SIM_MAX_TOTAL_CPUS)
		return fail(err, errlen,
			    "sim target: %u nodes x %u cpus (plus each node's base cpu) is more than the %d cpus a "
			    "simulator runs",
			    cfg.nodes, cfg.cpus, SIDECAR_SIM_MAX_TOTAL_CPUS);
	uint32_t kept = 0;
	for (uint32_t i = 1; i < SIDECAR_MAX_CPUS_PER_NODE; i++) {
		if (!sidecar_sim_config_linux_cpu(&cfg, i))
			continue;
		if (i > cfg.cpus)
			return fail(err, errlen,
				    "sim target: key 'linux' lists cpu index %u, but a node has cpus 1..%u", i,
				    cfg.cpus);
		kept++;
	}
	if (kept == cfg.cpus)
		return fail(err, errlen, "sim target: key 'linux' leaves no sidecar cpu in a node");
	*out = cfg;
	return 0;
}
