/* SPDX-License-Identifier: MIT */
/*
 * sidecar-latency: a cyclictest-style tool for the run -> intercept -> run round trip of a
 * thread-per-VP loop, measured for each wait mode together with the spin and futex
 * references on the same CPU pair (docs/benchmarks.md).
 *
 * This file is the command line: options, placement, and the order of the measurements.
 */
#include "latency.h"
#include "bench_cpu.h"
#include "latency_json.h"
#include "latency_machine.h"
#include "latency_overhead.h"
#include "latency_plot.h"
#include "latency_progress.h"
#include "latency_kref.h"
#include "latency_refs.h"
#include "latency_sweep.h"
#include "latency_table.h"
#include "latency_target.h"
#include "latency_vp.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ITERATIONS 20000u
#define DEFAULT_WARMUP 1000u
#define QUICK_DURATION_NS 1000000000ull /* --quick: 1 s per row */
#define SWEEP_DURATION_NS 200000000ull  /* --pin-sweep: 0.2 s per measurement */
#define MAX_ITERATIONS 1000000000ull
#define MAX_DURATION_S 3600.0

struct opts {
	const char *target;
	const char *modes;
	uint64_t iterations;
	double duration_s;
	long client_cpu, sidecar_cpu; /* -1: default */
	uint64_t work_ns;
	bool work_given;
	uint64_t warmup;
	bool warmup_given;
	uint32_t vp;
	const char *json, *plot;
	bool sweep, quick, read_message, progress;
};

enum {
	OPT_TARGET = 256,
	OPT_MODE,
	OPT_ITERATIONS,
	OPT_DURATION,
	OPT_CLIENT_CPU,
	OPT_SIDECAR_CPU,
	OPT_WORK_NS,
	OPT_JSON,
	OPT_PLOT,
	OPT_PIN_SWEEP,
	OPT_QUICK,
	OPT_WARMUP,
	OPT_READ_MESSAGE,
	OPT_PROGRESS,
	OPT_VP,
};

static const struct option long_opts[] = {
	{"target", required_argument, NULL, OPT_TARGET},
	{"mode", required_argument, NULL, OPT_MODE},
	{"iterations", required_argument, NULL, OPT_ITERATIONS},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"client-cpu", required_argument, NULL, OPT_CLIENT_CPU},
	{"sidecar-cpu", required_argument, NULL, OPT_SIDECAR_CPU},
	{"work-ns", required_argument, NULL, OPT_WORK_NS},
	{"json", required_argument, NULL, OPT_JSON},
	{"plot", required_argument, NULL, OPT_PLOT},
	{"pin-sweep", no_argument, NULL, OPT_PIN_SWEEP},
	{"quick", no_argument, NULL, OPT_QUICK},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"read-message", no_argument, NULL, OPT_READ_MESSAGE},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"vp", required_argument, NULL, OPT_VP},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sidecar-latency [--target T] [--mode seed,futex,poll,adaptive|all]\n"
		"                       [--iterations N | --duration S] [--client-cpu C] [--sidecar-cpu S]\n"
		"                       [--work-ns N] [--json FILE] [--plot FILE.png] [--warmup N]\n"
		"                       [--read-message] [--progress] [--vp CPU]\n"
		"       sidecar-latency --quick [--json FILE] [--plot FILE.png]\n"
		"       sidecar-latency --pin-sweep [--mode ...] [--iterations N | --duration S] [--json FILE]\n"
		"                       [--plot FILE.png]\n"
		"\n"
		"Measures the run -> intercept -> run round trip of a thread-per-VP loop\n"
		"(sidecar_vp_run_sync) in each wait mode, and in the same run, on the same CPU pair, the\n"
		"spin (cache-line ping-pong) and futex (futex ping-pong) references; on target device also\n"
		"the kernel path's: kwait (ECHO through the sidecar CPU's kernel thread, answered by a\n"
		"wait-queue wake-up of WAIT, the primitive FUTEX mode uses there) and kevent (the same\n"
		"answered through an eventfd). Prints a table with min/p50/p99/p99.9/max, round trips per\n"
		"second, CPU time and signals per round trip.\n"
		"\n"
		"  --target T        target to open (default " LAT_DEFAULT_TARGET "); for a sim target\n"
		"                    ,pin=<sidecar CPU> and ,work_ns=<N> are added unless it sets them\n"
		"  --mode LIST       comma list of seed, futex, poll, adaptive, or all (default all;\n"
		"                    --pin-sweep: poll,futex). Modes the target lacks are skipped.\n"
		"  --iterations N    measured round trips per row (default %u)\n"
		"  --duration S      or: seconds per row (e.g. 2, 0.5, 500ms)\n"
		"  --warmup N        round trips run first and left out of the stats (default %u, at\n"
		"                    most 10%% of --iterations, or of --duration's time)\n"
		"  --client-cpu C    CPU of the measuring (VMM) thread (default: first allowed CPU)\n"
		"  --sidecar-cpu S   CPU of the sidecar CPU thread and of the references' partner\n"
		"                    (default: the next allowed CPU; the same one if only one is allowed)\n"
		"  --work-ns N       simulated guest work per run (sim key work_ns, default 0)\n"
		"  --read-message    each round trip also reads the intercept message (type, port, RAX)\n"
		"  --vp CPU          the VP (sidecar CPU number) to drive (default 1: CPU 0 is node 0's\n"
		"                    base CPU, which Linux runs)\n"
		"  --json FILE       write the results as JSON\n"
		"  --plot FILE.png   plot the latency CDFs with gnuplot (--pin-sweep: a heatmap of the\n"
		"                    POLL p50 matrix, the recommended pair boxed)\n"
		"  --quick           all modes and both references, 1 s each: the whole table in seconds\n"
		"  --pin-sweep       every (client, sidecar) CPU pair: spin, poll and futex p50 matrices,\n"
		"                    a recommended and the worst placement (0.2 s per measurement by\n"
		"                    default; restrict the CPUs with taskset on a big machine)\n"
		"  --progress        progress on stderr even when it is not a terminal\n"
		"  -h, --help        this text\n"
		"\n"
		"Exit status: 0 ok, 1 the library or the system failed, 2 a bad option or value.\n",
		DEFAULT_ITERATIONS, DEFAULT_WARMUP);
}

__attribute__((format(printf, 1, 2), noreturn)) static void bad(const char *fmt, ...)
{
	va_list ap;

	fputs("sidecar-latency: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(sidecar-latency --help lists the options)\n", stderr);
	exit(LAT_EXIT_USAGE);
}

static uint64_t parse_u64(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	char *end;

	errno = 0;
	if (!arg[0] || arg[0] == '-' || arg[0] == '+' || arg[0] == ' ')
		bad("%s: '%s' is not a number", opt, arg);
	unsigned long long v = strtoull(arg, &end, 10);
	if (*end)
		bad("%s: '%s' is not a number", opt, arg);
	if (errno == ERANGE || v < min || v > max)
		bad("%s: %s is out of range (%" PRIu64 "..%" PRIu64 ")", opt, arg, min, max);
	return v;
}

static double parse_duration(const char *arg)
{
	char *end;
	double scale = 1.0;

	errno = 0;
	double v = strtod(arg, &end);
	if (end == arg)
		bad("--duration: '%s' is not a duration (seconds, e.g. 2, 0.5 or 500ms)", arg);
	if (strcmp(end, "ms") == 0)
		scale = 1e-3;
	else if (strcmp(end, "us") == 0)
		scale = 1e-6;
	else if (*end && strcmp(end, "s") != 0)
		bad("--duration: '%s' is not a duration (seconds, e.g. 2, 0.5 or 500ms)", arg);
	v *= scale;
	if (errno == ERANGE || !isfinite(v) || v <= 0 || v > MAX_DURATION_S)
		bad("--duration: %s is out of range (more than 0, at most %.0f s)", arg, MAX_DURATION_S);
	return v;
}

static void parse_modes(const char *arg, struct lat_cfg *cfg)
{
	if (strcmp(arg, "all") == 0) {
		for (int m = SIDECAR_WAIT_SEED; m <= SIDECAR_WAIT_ADAPTIVE; m++)
			cfg->modes[cfg->nmodes++] = (enum sidecar_wait_mode)m;
		return;
	}
	for (const char *s = arg;;) {
		size_t len = strcspn(s, ",");
		enum sidecar_wait_mode m;
		if (!len)
			bad("--mode: empty mode name in '%s' (seed, futex, poll, adaptive, or all)", arg);
		if (!lat_mode_parse(s, len, &m))
			bad("--mode: unknown mode '%.*s' (seed, futex, poll, adaptive, or all)", (int)len, s);
		for (int i = 0; i < cfg->nmodes; i++)
			if (cfg->modes[i] == m)
				bad("--mode: '%.*s' is listed twice", (int)len, s);
		cfg->modes[cfg->nmodes++] = m;
		s += len;
		if (!*s)
			break;
		s++;
		if (!*s)
			bad("--mode: trailing ',' in '%s'", arg);
	}
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int c, li = -1;

	memset(o, 0, sizeof(*o));
	o->vp = 1; /* node 0's first sidecar CPU: CPU 0 is its base CPU, Linux's */
	o->client_cpu = o->sidecar_cpu = -1;
	opterr = 0; /* our messages name the option */
	while ((c = getopt_long(argc, argv, ":h", long_opts, &li)) != -1) {
		/* "--json --iterations 5": getopt takes "--iterations" as the file name. */
		if (optarg && li >= 0 && strncmp(optarg, "--", 2) == 0)
			bad("--%s needs a value, not the option '%s'", long_opts[li].name, optarg);
		li = -1;
		switch (c) {
		case OPT_TARGET:
			if (!optarg[0])
				bad("--target: empty target");
			o->target = optarg;
			break;
		case OPT_MODE:
			o->modes = optarg;
			break;
		case OPT_ITERATIONS:
			o->iterations = parse_u64("--iterations", optarg, 1, MAX_ITERATIONS);
			break;
		case OPT_DURATION:
			o->duration_s = parse_duration(optarg);
			break;
		case OPT_CLIENT_CPU:
			o->client_cpu = (long)parse_u64("--client-cpu", optarg, 0, 65535);
			break;
		case OPT_SIDECAR_CPU:
			o->sidecar_cpu = (long)parse_u64("--sidecar-cpu", optarg, 0, 65535);
			break;
		case OPT_WORK_NS:
			o->work_ns = parse_u64("--work-ns", optarg, 0, 10000000000ull);
			o->work_given = true;
			break;
		case OPT_JSON:
			o->json = optarg;
			break;
		case OPT_PLOT:
			o->plot = optarg;
			break;
		case OPT_PIN_SWEEP:
			o->sweep = true;
			break;
		case OPT_QUICK:
			o->quick = true;
			break;
		case OPT_WARMUP:
			o->warmup = parse_u64("--warmup", optarg, 0, MAX_ITERATIONS);
			o->warmup_given = true;
			break;
		case OPT_READ_MESSAGE:
			o->read_message = true;
			break;
		case OPT_PROGRESS:
			o->progress = true;
			break;
		case OPT_VP:
			o->vp = (uint32_t)parse_u64("--vp", optarg, 0, UINT32_MAX - 1);
			break;
		case 'h':
			usage(stdout);
			exit(LAT_EXIT_OK);
		case ':':
			bad("%s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				bad("unknown option '-%c'", optopt);
			bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	if (o->iterations && o->duration_s > 0)
		bad("--iterations and --duration exclude each other");
	if (o->sweep && o->quick)
		bad("--quick and --pin-sweep exclude each other");
	if (o->sweep && (o->client_cpu >= 0 || o->sidecar_cpu >= 0))
		bad("--client-cpu / --sidecar-cpu do not apply to --pin-sweep (it tries every pair)");
}

static void budget_from(const struct opts *o, struct lat_budget *b)
{
	memset(b, 0, sizeof(*b));
	if (o->iterations)
		b->iterations = o->iterations;
	else if (o->duration_s > 0)
		b->duration_ns = (uint64_t)(o->duration_s * 1e9);
	else if (o->sweep)
		b->duration_ns = SWEEP_DURATION_NS;
	else if (o->quick)
		b->duration_ns = QUICK_DURATION_NS;
	else
		b->iterations = DEFAULT_ITERATIONS;

	if (o->warmup_given) {
		b->warmup = o->warmup;
	} else if (b->iterations) {
		/* 10 % of a short run, so --iterations 300 with 1 ms of work stays short. */
		b->warmup = b->iterations / 10 < DEFAULT_WARMUP ? b->iterations / 10 : DEFAULT_WARMUP;
	} else {
		b->warmup = DEFAULT_WARMUP;
		b->warmup_max_ns = b->duration_ns / 10;
	}
}

/* "0-3,6" for the messages. */
static void format_cpus(const struct bench_cpus *cpus, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < cpus->n && n + 16 < len; i++) {
		int j = i;
		while (j + 1 < cpus->n && cpus->cpu[j + 1] == cpus->cpu[j] + 1)
			j++;
		if (j > i)
			n += (size_t)snprintf(buf + n, len - n, "%s%d-%d", n ? "," : "", cpus->cpu[i], cpus->cpu[j]);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%d", n ? "," : "", cpus->cpu[i]);
		i = j;
	}
}

static void check_cpu(const struct bench_cpus *cpus, const char *what, long cpu)
{
	char list[256];

	if (bench_cpus_has(cpus, (int)cpu))
		return;
	format_cpus(cpus, list, sizeof(list));
	bad("%s: CPU %ld is not available to this process (allowed: %s)", what, cpu, list);
}

/* The first allowed CPU other than `not` (or `not` itself if it is the only one). */
static int other_cpu(const struct bench_cpus *cpus, int not, bool after)
{
	if (after) {
		for (int i = 0; i < cpus->n; i++)
			if (cpus->cpu[i] > not )
				return cpus->cpu[i];
	}
	for (int i = 0; i < cpus->n; i++)
		if (cpus->cpu[i] != not )
			return cpus->cpu[i];
	return not ;
}

/* Fills cfg's placement and target from the options (defaults: docs/benchmarks.md). */
static void resolve(const struct opts *o, const struct bench_cpus *cpus, const char *user, struct lat_cfg *cfg)
{
	bool sim = lat_target_is_sim(user);
	int pin = sim ? lat_target_pin_cpu(user) : -1;

	if (sim && lat_target_has(user, "pin") && pin < 0)
		bad("--target: cannot read the first CPU of pin= in '%s'", user);
	if (sim && lat_target_never_intercepts(user))
		bad("--target: guest=spin never intercepts, so there is no round trip to measure "
		    "(use guest=io or guest=halt)");
	if (o->work_given && !sim)
		bad("--work-ns applies to sim targets only (target '%s')", user);
	if (o->work_given && lat_target_has(user, "work_ns"))
		bad("--work-ns and the target's work_ns= both set the guest's work: use one");
	if (o->sweep && pin >= 0)
		bad("--pin-sweep sets the target's pin= itself: drop it from --target");
	if (pin >= 0 && o->sidecar_cpu >= 0 && o->sidecar_cpu != pin)
		bad("--sidecar-cpu %ld disagrees with the target's pin=%d", o->sidecar_cpu, pin);

	cfg->work_ns = o->work_ns;
	if (sim && !o->work_given && lat_target_has(user, "work_ns")) {
		/* Shown in the header; the target string is what counts. */
		const char *w = strstr(user, "work_ns=");
		cfg->work_ns = w ? strtoull(w + 8, NULL, 10) : 0;
	}
	if (o->sweep) {
		cfg->client_cpu = cfg->sidecar_cpu = -1;
		if (!lat_target_build(user, -1, cfg->work_ns, cfg->target, sizeof(cfg->target)))
			bad("--target: too long");
		return;
	}

	if (o->client_cpu >= 0)
		check_cpu(cpus, "--client-cpu", o->client_cpu);
	if (o->sidecar_cpu >= 0)
		check_cpu(cpus, "--sidecar-cpu", o->sidecar_cpu);
	if (pin >= 0)
		check_cpu(cpus, "--target pin=", pin);
	int sidecar = o->sidecar_cpu >= 0 ? (int)o->sidecar_cpu : pin;
	int client = (int)o->client_cpu;
	if (client < 0)
		client = sidecar >= 0 ? other_cpu(cpus, sidecar, false) : cpus->cpu[0];
	if (sidecar < 0)
		sidecar = other_cpu(cpus, client, true);
	cfg->client_cpu = client;
	cfg->sidecar_cpu = sidecar;
	if (!lat_target_build(user, sidecar, cfg->work_ns, cfg->target, sizeof(cfg->target)))
		bad("--target: too long");
}

static int measure_all(struct lat_run *run)
{
	const struct lat_cfg *cfg = &run->cfg;
	int rc;

	/* The loop's own overhead first, on the same pinned thread (latency_overhead.h). */
	if (lat_result_init(&run->overhead, "null", true))
		return LAT_EXIT_FAIL;
	run->overhead.null_loop = true;
	run->has_overhead = true;
	rc = lat_measure_overhead(&cfg->budget, &run->overhead);
	if (rc)
		return rc;
	if (lat_result_init(&run->refs[0], "spin", true) || lat_result_init(&run->refs[1], "futex", true))
		return LAT_EXIT_FAIL;
	run->nrefs = 2;
	rc = lat_measure_spin(cfg->client_cpu, cfg->sidecar_cpu, &cfg->budget, &run->refs[0]);
	if (rc)
		return rc;
	rc = lat_measure_futex(cfg->client_cpu, cfg->sidecar_cpu, &cfg->budget, &run->refs[1]);
	if (rc)
		return rc;
	/* The device: the kernel path's references, against the sidecar CPU's own thread. */
	if (!lat_target_is_sim(cfg->target)) {
		if (lat_result_init(&run->refs[2], "kwait", true) || lat_result_init(&run->refs[3], "kevent", true))
			return LAT_EXIT_FAIL;
		run->nrefs = 4;
		rc = lat_measure_kref(LAT_KREF_WAIT, cfg, &run->refs[2]);
		if (rc)
			return rc;
		rc = lat_measure_kref(LAT_KREF_EVENTFD, cfg, &run->refs[3]);
		if (rc)
			return rc;
	}
	for (int i = 0; i < cfg->nmodes; i++) {
		struct lat_result *r = &run->modes[i];
		if (lat_result_init(r, sidecar_wait_mode_name(cfg->modes[i]), false))
			return LAT_EXIT_FAIL;
		run->nmodes = i + 1;
		rc = lat_measure_mode(cfg, cfg->target, &cfg->budget, cfg->modes[i], r);
		if (rc)
			return rc;
	}
	lat_run_set_net(run);
	return LAT_EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct lat_run run;
	struct lat_cfg *cfg = &run.cfg;
	struct bench_cpus cpus;
	struct opts o;
	int rc, ret;

	parse_args(argc, argv, &o);
	const char *user = o.target ? o.target : LAT_DEFAULT_TARGET;
	if (o.modes)
		parse_modes(o.modes, cfg);
	else if (o.sweep) {
		cfg->modes[cfg->nmodes++] = SIDECAR_WAIT_POLL;
		cfg->modes[cfg->nmodes++] = SIDECAR_WAIT_FUTEX;
	} else {
		parse_modes("all", cfg);
	}
	budget_from(&o, &cfg->budget);
	cfg->read_message = o.read_message;
	cfg->vp = o.vp;

	/* Before any pinning: the process's own CPUs. */
	rc = bench_cpus_allowed(&cpus);
	if (rc || !cpus.n) {
		fprintf(stderr, "sidecar-latency: cannot read the allowed CPUs: %s\n", strerror(rc ? -rc : ENOENT));
		return LAT_EXIT_FAIL;
	}
	cfg->allowed = &cpus;
	resolve(&o, &cpus, user, cfg);
	lat_progress_configure(o.progress);
	lat_machine_probe(&run.machine, cpus.n);

	if (o.sweep) {
		char probe[LAT_TARGET_MAX];
		struct lat_cfg pc = *cfg;
		pc.client_cpu = pc.sidecar_cpu = cpus.cpu[0];
		lat_target_build(user, cpus.cpu[0], cfg->work_ns, probe, sizeof(probe));
		ret = lat_probe_target(&pc, probe);
		if (ret) {
			bench_cpus_free(&cpus);
			return ret;
		}
		ret = lat_sweep_run(cfg, user, &cpus, &run.machine, o.json, o.plot);
		bench_cpus_free(&cpus);
		return ret;
	}

	rc = bench_pin_self(cfg->client_cpu);
	if (rc) {
		fprintf(stderr, "sidecar-latency: cannot pin the measuring thread to CPU %d: %s\n", cfg->client_cpu,
			strerror(-rc));
		bench_cpus_free(&cpus);
		return LAT_EXIT_FAIL;
	}
	ret = lat_probe_target(cfg, cfg->target);
	if (ret) {
		bench_cpus_free(&cpus);
		return ret;
	}
	lat_table_header(stdout, cfg, &run.machine);
	fflush(stdout);

	ret = measure_all(&run);
	if (ret == LAT_EXIT_OK) {
		lat_table_print(stdout, &run);
		fflush(stdout);
		if (o.json)
			ret = lat_json_write_run(&run, o.json);
		if (o.plot) {
			int prc = lat_plot_run(&run, o.plot);
			if (prc)
				ret = prc;
		}
	}
	lat_run_free(&run);
	bench_cpus_free(&cpus);
	return ret;
}
