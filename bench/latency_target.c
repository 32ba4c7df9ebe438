/* SPDX-License-Identifier: MIT */
/* Target strings (latency_target.h). The simulator parses them for real; this only looks
 * for the keys it may add, so a bad string still gets the simulator's own error. */
#include "latency_target.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lat_target_is_sim(const char *target)
{
	return strcmp(target, "sim") == 0 || strncmp(target, "sim:", 4) == 0;
}

/* The value of `key` in a sim target ("pin=0-1,3": the ',' items without '=' continue
 * the list, but only the key's own item matters here), or NULL. */
static const char *find_key(const char *target, const char *key)
{
	size_t klen = strlen(key);

	if (strncmp(target, "sim:", 4) != 0)
		return NULL;
	for (const char *s = target + 4; *s;) {
		size_t item = strcspn(s, ",");
		if (item > klen && strncmp(s, key, klen) == 0 && s[klen] == '=')
			return s + klen + 1;
		s += item;
		if (*s == ',')
			s++;
	}
	return NULL;
}

bool lat_target_has(const char *target, const char *key)
{
	return find_key(target, key) != NULL;
}

bool lat_target_never_intercepts(const char *target)
{
	const char *v = find_key(target, "guest");

	return v && strncmp(v, "spin", 4) == 0 && (v[4] == '\0' || v[4] == ',');
}

int lat_target_pin_cpu(const char *target)
{
	const char *v = find_key(target, "pin");
	char *end;

	if (!v || *v < '0' || *v > '9')
		return -1;
	unsigned long cpu = strtoul(v, &end, 10);
	return cpu > 65535 ? -1 : (int)cpu;
}

bool lat_target_build(const char *user, int sidecar_cpu, uint64_t work_ns, char *out, size_t len)
{
	int n = snprintf(out, len, "%s", user);

	if (n < 0 || (size_t)n >= len)
		return false;
	if (!lat_target_is_sim(user))
		return true; /* a device target: placement is the platform's */
	bool first = strcmp(user, "sim") == 0;
	if (sidecar_cpu >= 0 && !lat_target_has(user, "pin")) {
		n += snprintf(out + n, len - (size_t)n, "%cpin=%d", first ? ':' : ',', sidecar_cpu);
		first = false;
		if ((size_t)n >= len)
			return false;
	}
	if (!lat_target_has(user, "work_ns")) {
		n += snprintf(out + n, len - (size_t)n, "%cwork_ns=%" PRIu64, first ? ':' : ',', work_ns);
		if ((size_t)n >= len)
			return false;
	}
	return true;
}
