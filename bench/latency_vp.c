/* SPDX-License-Identifier: MIT */
/* A wait mode's round trips through the public API (latency_vp.h). */
#include "latency_vp.h"

#include "bench_cpu.h"
#include "latency_loop.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* A round trip that ended without an intercept: the target's guest never intercepts
 * (guest=spin) or something stopped the VP. Positive: not an errno. */
#define RT_NO_INTERCEPT 1

struct vp_loop {
	struct sidecar_vp *vp;
	bool read_message;
	uint32_t type; /* the last message read */
	uint16_t port;
	uint64_t sink; /* what was read, so the compiler cannot drop the reads */
};

bool lat_mode_parse(const char *name, size_t len, enum sidecar_wait_mode *out)
{
	for (int m = SIDECAR_WAIT_SEED; m <= SIDECAR_WAIT_ADAPTIVE; m++) {
		const char *n = sidecar_wait_mode_name((enum sidecar_wait_mode)m);
		if (strlen(n) == len && strncmp(n, name, len) == 0) {
			*out = (enum sidecar_wait_mode)m;
			return true;
		}
	}
	return false;
}

/* What a VMM does with an intercept before it runs the VP again: look at the message
 * type and, for an IO port access, the port and the data. */
static void read_message(struct vp_loop *x)
{
	const struct hv_message *m = sidecar_vp_intercept_message(x->vp);
	uint32_t type = m->header.type;
	uint64_t sum = type;

	if (type == HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT) {
		uint16_t port;
		uint64_t rax;
		memcpy(&port, m->payload + offsetof(struct hv_x64_io_port_intercept_message, port_number),
		       sizeof(port));
		memcpy(&rax, m->payload + offsetof(struct hv_x64_io_port_intercept_message, rax), sizeof(rax));
		x->port = port;
		sum += port + rax;
	}
	x->type = type;
	x->sink += sum;
}

static int vp_round_trip(void *arg)
{
	struct vp_loop *x = arg;
	bool intercept = false;
	int rc = sidecar_vp_run_sync(x->vp, &intercept);

	if (rc)
		return rc;
	if (!intercept)
		return RT_NO_INTERCEPT;
	if (x->read_message)
		read_message(x);
	return 0;
}

static void report_error(const char *mode, const char *what, struct sidecar_vp *vp, int rc)
{
	if (rc == RT_NO_INTERCEPT) {
		fprintf(stderr,
			"sidecar-latency: %s: sidecar_vp_run_sync returned without an intercept "
			"(a guest that never intercepts, e.g. guest=spin, cannot be measured)\n",
			mode);
		return;
	}
	fprintf(stderr, "sidecar-latency: %s: %s: %s", mode, what, sidecar_strerror(rc));
	if (vp && rc == -SIDECAR_EKERNEL)
		fprintf(stderr, " (sidecar kernel: %s)", sidecar_vp_error_string(vp));
	else if (vp && rc == -SIDECAR_EHV)
		fprintf(stderr, " (hypervisor status %#x)", (unsigned int)sidecar_vp_hv_status(vp));
	fputc('\n', stderr);
}

static void counters_delta(const struct sidecar_vp_stats *a, const struct sidecar_vp_stats *b, struct lat_counters *out)
{
	out->request_signals = b->request_signals - a->request_signals;
	out->response_signals = b->response_signals - a->response_signals;
	out->sleeps = b->sleeps - a->sleeps;
	out->polled = b->polled_completions - a->polled_completions;
}

/*
 * The simulator checks pin= against the *calling thread's* affinity (sched_getaffinity(0)),
 * so a thread already pinned to the client CPU cannot put the sidecar CPU elsewhere. A VMM
 * opens the client from an unpinned thread and pins its VP threads afterwards; do the
 * same: open with the process's CPUs, then pin again.
 */
static struct sidecar_client *open_client(const struct lat_cfg *cfg, const char *target, char *err, size_t errlen,
					  int *rc)
{
	struct sidecar_client *c = NULL;
	int prc;

	if (cfg->allowed)
		bench_unpin_thread(pthread_self(), cfg->allowed);
	*rc = sidecar_client_open_err(target, &c, err, errlen);
	prc = cfg->client_cpu >= 0 ? bench_pin_self(cfg->client_cpu) : 0;
	if (prc) {
		snprintf(err, errlen, "cannot pin the measuring thread to CPU %d again: %s", cfg->client_cpu,
			 strerror(-prc));
		sidecar_client_close(c);
		*rc = -prc;
		return NULL;
	}
	return *rc ? NULL : c;
}

int lat_probe_target(const struct lat_cfg *cfg, const char *target)
{
	struct sidecar_client *c;
	struct sidecar_vp *vp = NULL;
	char err[256] = "";
	int rc;

	c = open_client(cfg, target, err, sizeof(err), &rc);
	if (!c) {
		fprintf(stderr, "sidecar-latency: cannot open target '%s': %s\n", target,
			err[0] ? err : sidecar_strerror(rc));
		return rc == -EINVAL ? LAT_EXIT_USAGE : LAT_EXIT_FAIL;
	}
	rc = sidecar_vp_acquire(c, cfg->vp, &vp);
	if (rc)
		fprintf(stderr, "sidecar-latency: cannot acquire VP %u of '%s': %s%s\n", cfg->vp, target,
			sidecar_strerror(rc),
			rc == -EINVAL ? " (--vp names a CPU the target does not have)"
			: rc == -ENOENT
				? " (a node's first CPU is its base CPU, which Linux runs: node 0's first sidecar CPU "
				  "is 1)"
				: "");
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	if (rc)
		return rc == -EINVAL || rc == -ENOENT ? LAT_EXIT_USAGE : LAT_EXIT_FAIL;
	return LAT_EXIT_OK;
}

int lat_measure_mode(const struct lat_cfg *cfg, const char *target, const struct lat_budget *b,
		     enum sidecar_wait_mode mode, struct lat_result *r)
{
	const char *name = sidecar_wait_mode_name(mode);
	struct sidecar_client *c = NULL;
	struct sidecar_vp *vp = NULL;
	struct sidecar_vp_stats s0, s1;
	struct lat_counters delta;
	char err[256] = "";
	int ret = LAT_EXIT_FAIL;
	int rc;

	c = open_client(cfg, target, err, sizeof(err), &rc);
	if (!c) {
		fprintf(stderr, "sidecar-latency: cannot open target '%s': %s\n", target,
			err[0] ? err : sidecar_strerror(rc));
		return rc == -EINVAL ? LAT_EXIT_USAGE : LAT_EXIT_FAIL;
	}
	rc = sidecar_vp_acquire(c, cfg->vp, &vp);
	if (rc) {
		fprintf(stderr, "sidecar-latency: %s: cannot acquire VP %u of '%s': %s\n", name, cfg->vp, target,
			sidecar_strerror(rc));
		ret = rc == -EINVAL ? LAT_EXIT_USAGE : LAT_EXIT_FAIL;
		goto out;
	}
	rc = sidecar_vp_set_wait_mode(vp, mode);
	if (rc == -ENOTSUP) {
		char why[160];
		snprintf(why, sizeof(why), "the target has no %s wait mode (%s)", name, sidecar_strerror(rc));
		lat_result_skip(r, why);
		ret = LAT_EXIT_OK;
		goto out;
	}
	if (rc) {
		report_error(name, "sidecar_vp_set_wait_mode", vp, rc);
		goto out;
	}

	struct vp_loop x = {.vp = vp, .read_message = cfg->read_message};
	rc = lat_loop_warmup(b, vp_round_trip, &x, &r->warmup);
	if (rc) {
		report_error(name, "sidecar_vp_run_sync (warmup)", vp, rc);
		goto out;
	}
	sidecar_vp_get_stats(vp, &s0);
	char label[32];
	snprintf(label, sizeof(label), "mode %s", name);
	rc = lat_loop_measure(b, vp_round_trip, &x, label, r);
	sidecar_vp_get_stats(vp, &s1);
	if (rc) {
		report_error(name, "sidecar_vp_run_sync", vp, rc);
		goto out;
	}
	counters_delta(&s0, &s1, &delta);
	lat_result_set_counters(r, &delta);
	r->message_type = x.type;
	r->message_port = x.port;
	ret = LAT_EXIT_OK;
out:
	sidecar_vp_release(vp);
	sidecar_client_close(c);
	return ret;
}
