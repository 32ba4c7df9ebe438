/* SPDX-License-Identifier: MIT */
/*
 * sidecar-line-budget: which cache lines a POLL round trip moves between the two CPUs, by
 * experiment (docs/fast-path.md, "Cache-line budget"). For machines where the PMU cannot
 * count coherence traffic (perf c2c): each variant adds one access a VMM may make to the
 * round trip, and its cost is read against the spin reference measured beside it.
 *
 *   sidecar-line-budget [--round-trips N] [--rounds R] [--client-cpu C] [--sidecar-cpu S]
 *
 * One client ("sim:cpus=1,pin=S"), VP 1 in SIDECAR_WAIT_POLL, the measuring thread on C. Each
 * round measures, in blocks of N round trips timed as a whole (one clock read per block, so
 * no timer cost inside a round trip): the spin reference, then every variant, each followed
 * by the spin reference again. A variant's figure is its block's time over the mean of the
 * two spin blocks around it; the table gives the median over the rounds, so that a round in
 * which the host moved the CPUs (a shared machine does) does not decide. "lines" is the
 * variant's extra time over `fast`, in one-way line transfers (half a spin round trip).
 *
 * Variants (each a round trip, sidecar_vp_run_sync, plus):
 *   fast       nothing: the fast line alone moves, once each way.
 *   msg-type   reads the intercept message's type (its first line).
 *   msg-io     reads the type, the port and RAX (the message's first two lines).
 *   rip        moves RIP past the instruction through the register page (RIP and the dirty
 *              mask: two lines the sidecar CPU reads before and writes after the run).
 *   vmm        msg-io and rip: what a VMM's loop does with a port intercept.
 *   ctx-rax    writes RAX into the CPU context (a line the run reads).
 *   stats      reads the VP's statistics (sidecar_vp_get_stats: the owner's own lines).
 *   io-exit    what `vmm` does, the short way: sidecar_vp_io_exit() (port and value from the
 *              fast line) and sidecar_vp_complete_io() (the kernel moves RIP at the next run).
 * Exit status: 0; 1 the library or the reference failed; 2 a bad option.
 */
#include "bench_cpu.h"
#include "bench_refs.h"
#include "futex.h"

#include <sidecar/client.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum variant { V_FAST, V_MSG_TYPE, V_MSG_IO, V_RIP, V_VMM, V_CTX_RAX, V_STATS, V_IO_EXIT, V_COUNT };

static const char *const variant_names[V_COUNT] = {"fast", "msg-type", "msg-io", "rip",
						   "vmm",  "ctx-rax",  "stats",  "io-exit"};

struct budget {
	struct sidecar_client *client;
	struct sidecar_vp *vp;
	const struct hv_message *msg;
	struct hv_x64_register_page *page;
	struct sidecar_cpu_context_x64 *ctx;
	uint64_t sink;
};

static int vmm_rip(struct budget *b)
{
	const struct hv_x64_io_port_intercept_message *io = (const void *)b->msg->payload;

	b->page->rip = io->header.rip + (io->header.instruction_length_and_cr8 & 0xf);
	b->page->dirty |= HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
	return 0;
}

static int vmm_read(struct budget *b, bool all)
{
	const struct hv_x64_io_port_intercept_message *io = (const void *)b->msg->payload;
	const volatile struct hv_message *m = b->msg;

	if (m->header.type != HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT)
		return -EIO;
	if (all)
		b->sink += ((const volatile struct hv_x64_io_port_intercept_message *)io)->port_number +
			   ((const volatile struct hv_x64_io_port_intercept_message *)io)->rax;
	return 0;
}

static int round_trip(struct budget *b, enum variant v)
{
	bool intercept = false;
	int rc = sidecar_vp_run_sync(b->vp, &intercept);

	if (rc)
		return rc;
	if (!intercept)
		return -EIO;
	switch (v) {
	case V_FAST:
		return 0;
	case V_MSG_TYPE:
		return vmm_read(b, false);
	case V_MSG_IO:
		return vmm_read(b, true);
	case V_RIP:
		return vmm_rip(b);
	case V_VMM:
		rc = vmm_read(b, true);
		return rc ? rc : vmm_rip(b);
	case V_CTX_RAX:
		b->ctx->gps[SIDECAR_CPU_CONTEXT_RAX] = b->sink++;
		return 0;
	case V_STATS: {
		struct sidecar_vp_stats st;
		sidecar_vp_get_stats(b->vp, &st);
		b->sink += st.runs + st.polled_completions;
		return 0;
	}
	case V_IO_EXIT: {
		struct sidecar_io_exit io;
		rc = sidecar_vp_io_exit(b->vp, &io);
		if (rc)
			return rc;
		b->sink += io.port + io.value;
		return sidecar_vp_complete_io(b->vp, 0);
	}
	case V_COUNT:
		break;
	}
	return -EINVAL;
}

static int vp_open(struct budget *b)
{
	int rc = sidecar_vp_acquire(b->client, 1, &b->vp); /* CPU 0 is Linux's */
	if (!rc)
		rc = sidecar_vp_set_wait_mode(b->vp, SIDECAR_WAIT_POLL);
	if (rc)
		fprintf(stderr, "sidecar-line-budget: VP 1 in POLL: %s\n", sidecar_strerror(rc));
	return rc;
}

/* Mean nanoseconds per round trip of one block. */
static int block(struct budget *b, enum variant v, unsigned long n, double *ns)
{
	uint64_t t0 = sidecar_now_ns();
	for (unsigned long i = 0; i < n; i++) {
		int rc = round_trip(b, v);
		if (rc) {
			fprintf(stderr, "sidecar-line-budget: %s round trip: %s %s\n", variant_names[v],
				sidecar_strerror(rc), sidecar_vp_error_string(b->vp));
			return rc;
		}
	}
	*ns = (double)(sidecar_now_ns() - t0) / (double)n;
	if (v == V_IO_EXIT) {
		/* The VP now asks the kernel for the port-I/O summary on every run (about 50
		 * instructions on the sidecar CPU): a fresh accessor, so that the other
		 * variants run without it. The pages stay where they are. */
		sidecar_vp_release(b->vp);
		int rc = vp_open(b);
		if (rc)
			return rc;
	}
	return 0;
}

/* The spin reference, its partner started for the block only (a partner spinning through the
 * other blocks would take the sidecar CPU's host CPU). */
static int spin_block(int partner_cpu, unsigned long n, double *ns)
{
	struct bench_ref *r;
	int rc = bench_ref_start(BENCH_REF_SPIN, partner_cpu, false, &r);

	if (rc) {
		fprintf(stderr, "sidecar-line-budget: spin reference: %s\n", strerror(-rc));
		return rc;
	}
	for (unsigned long i = 0; i < n / 10; i++) /* warm-up */
		bench_ref_round_trip(r);
	uint64_t t0 = sidecar_now_ns();
	for (unsigned long i = 0; i < n; i++)
		bench_ref_round_trip(r);
	*ns = (double)(sidecar_now_ns() - t0) / (double)n;
	bench_ref_stop(r);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse_num(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < min || v > max) {
		fprintf(stderr, "sidecar-line-budget: %s: expected a number %ld..%ld, got '%s'\n", opt, min, max,
			s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: sidecar-line-budget [--round-trips N] [--rounds R] [--client-cpu C] [--sidecar-cpu S]\n"
		    "  the cost of each cache line a VMM's round trip moves, against the spin reference\n"
		    "  (defaults: 20000 round trips per block, 9 rounds, the first two allowed CPUs)\n");
}

static int setup(struct budget *b, int sidecar_cpu)
{
	char target[64], err[256];
	int rc;

	snprintf(target, sizeof(target), "sim:cpus=1,pin=%d", sidecar_cpu);
	rc = sidecar_client_open_err(target, &b->client, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sidecar-line-budget: open %s: %s\n", target, err);
		return rc;
	}
	rc = vp_open(b);
	if (rc)
		return rc;
	b->msg = sidecar_vp_intercept_message(b->vp);
	b->page = sidecar_vp_register_page(b->vp);
	b->ctx = sidecar_vp_cpu_context(b->vp);
	if (!b->page) {
		fprintf(stderr, "sidecar-line-budget: the target has no register page\n");
		return -ENOTSUP;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n = 20000, rounds = 9, client_cpu = -1, sidecar_cpu = -1;
	struct budget b = {0};
	struct bench_cpus cpus;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--round-trips")) {
			bad = parse_num(a, v, 1, 100000000, &n);
		} else if (!strcmp(a, "--rounds")) {
			bad = parse_num(a, v, 1, 1000, &rounds);
		} else if (!strcmp(a, "--client-cpu")) {
			bad = parse_num(a, v, 0, 65535, &client_cpu);
		} else if (!strcmp(a, "--sidecar-cpu")) {
			bad = parse_num(a, v, 0, 65535, &sidecar_cpu);
		} else {
			fprintf(stderr, "sidecar-line-budget: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (bad)
			return 2;
		i++;
	}
	if (bench_cpus_allowed(&cpus)) {
		fprintf(stderr, "sidecar-line-budget: cannot read the allowed CPUs\n");
		return 1;
	}
	if (client_cpu < 0)
		client_cpu = cpus.cpu[0];
	if (sidecar_cpu < 0)
		sidecar_cpu = cpus.n > 1 ? cpus.cpu[1] : cpus.cpu[0];
	if (!bench_cpus_has(&cpus, (int)client_cpu) || !bench_cpus_has(&cpus, (int)sidecar_cpu)) {
		fprintf(stderr, "sidecar-line-budget: CPU %ld or %ld is not allowed here\n", client_cpu, sidecar_cpu);
		bench_cpus_free(&cpus);
		return 2;
	}
	bench_cpus_free(&cpus);
	if (bench_pin_self((int)client_cpu) || setup(&b, (int)sidecar_cpu)) {
		sidecar_client_close(b.client);
		return 1;
	}

	double *ratio[V_COUNT], *spin = calloc((size_t)rounds, sizeof(double));
	for (int v = 0; v < V_COUNT; v++)
		ratio[v] = calloc((size_t)rounds, sizeof(double));
	int rc = 0;
	for (long r = 0; r < rounds && !rc; r++) {
		double before, after, t;
		rc = spin_block((int)sidecar_cpu, (unsigned long)n, &before);
		spin[r] = before;
		for (int v = 0; v < V_COUNT && !rc; v++) {
			rc = block(&b, V_FAST, (unsigned long)n / 10, &t); /* warm-up: the sidecar CPU polls again */
			if (!rc)
				rc = block(&b, (enum variant)v, (unsigned long)n, &t);
			if (!rc)
				rc = spin_block((int)sidecar_cpu, (unsigned long)n, &after);
			if (!rc)
				ratio[v][r] = t / ((before + after) / 2);
			before = after;
		}
	}
	if (!rc) {
		double s = median(spin, (int)rounds), fast = median(ratio[V_FAST], (int)rounds);
		printf("line budget: client cpu %ld, sidecar cpu %ld, %ld rounds of %ld round trips per block, POLL\n",
		       client_cpu, sidecar_cpu, rounds, n);
		printf("spin reference: %.1f ns per round trip (median of the rounds' first blocks)\n", s);
		printf("%-10s %10s %9s %8s\n", "variant", "x spin", "~ns", "lines");
		for (int v = 0; v < V_COUNT; v++) {
			double m = median(ratio[v], (int)rounds);
			printf("%-10s %10.2f %9.0f %8.1f\n", variant_names[v], m, m * s, (m - fast) * 2);
		}
		printf("x spin: the variant's block over the spin blocks around it, median of the rounds; ~ns: that\n"
		       "times the spin figure; lines: the extra over `fast` in one-way line transfers (half a spin\n"
		       "round trip each). `fast` itself is at least 1.00: one line, once each way, like the spin.\n");
	}
	for (int v = 0; v < V_COUNT; v++)
		free(ratio[v]);
	free(spin);
	sidecar_vp_release(b.vp);
	sidecar_client_close(b.client);
	return rc ? 1 : 0;
}
