// SPDX-License-Identifier: MIT
// sidecar-bench: libsidecar's google-benchmark harness (docs/benchmarks.md "Harness").
//
//   sidecar-bench [google-benchmark flags] [--client-cpu=C] [--sidecar-cpu=S]
//                 [--scaling-vps=K,K,...] [--scaling-work-ns=N]
//
// Every google-benchmark flag works (--benchmark_filter, --benchmark_min_time,
// --benchmark_repetitions, --benchmark_out=FILE --benchmark_out_format=json, ...). Exit
// status: 0, 1 when a benchmark failed (its error is in the output), 2 for a bad option.
#include "harness_placement.h"
#include "harness_support.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

void harness_register_api(void);
void harness_register_refs(void);
void harness_register_state(void);
void harness_register_report(void);
void harness_scaling_configure(const std::vector<int> &vps, uint64_t work_ns);

namespace
{

// The simulator's node limit (SIDECAR_MAX_NODES): one node per VP.
constexpr int kMaxScalingVps = 128;

void usage()
{
	benchmark::PrintDefaultHelp();
	std::fprintf(stdout,
		     "sidecar-bench options:\n"
		     "          [--client-cpu=<cpu>]   the benchmark thread's CPU (default: first allowed)\n"
		     "          [--sidecar-cpu=<cpu>]  the sidecar CPUs' host CPU (default: next allowed)\n"
		     "          [--scaling-vps=<k,...>] the VP (thread) counts of scaling/ and scaling_work/\n"
		     "                                 (default 1,2,4,8; each 1..%d)\n"
		     "          [--scaling-work-ns=<n>] scaling_work/'s guest work per run (default 1000000)\n",
		     kMaxScalingVps);
}

// "--name=<int>": true and *value when argv matches.
bool int_flag(const char *arg, const char *name, int *value, bool *bad)
{
	size_t len = std::strlen(name);
	if (std::strncmp(arg, name, len) != 0 || arg[len] != '=')
		return false;
	char *end;
	long v = std::strtol(arg + len + 1, &end, 10);
	if (end == arg + len + 1 || *end || v < 0 || v > 1 << 20)
		*bad = true;
	*value = int(v);
	return true;
}

// "--scaling-vps=1,2,4,8,15": true when argv is that flag; *bad when a count is not 1..128,
// repeated, or the list is malformed.
bool vps_flag(const char *arg, std::vector<int> *vps, bool *bad)
{
	const char *name = "--scaling-vps=";
	size_t len = std::strlen(name);
	if (std::strncmp(arg, name, len) != 0)
		return false;
	vps->clear();
	for (const char *s = arg + len;;) {
		char *end;
		long v = std::strtol(s, &end, 10);
		if (end == s || v < 1 || v > kMaxScalingVps || (*end && *end != ',')) {
			*bad = true;
			return true;
		}
		for (int k : *vps)
			*bad |= k == v;
		vps->push_back(int(v));
		if (!*end)
			return true;
		s = end + 1;
	}
}

// "--scaling-work-ns=N", N in 0..10 s (the simulator's work_ns limit).
bool work_flag(const char *arg, uint64_t *work_ns, bool *bad)
{
	const char *name = "--scaling-work-ns=";
	size_t len = std::strlen(name);
	if (std::strncmp(arg, name, len) != 0)
		return false;
	char *end;
	const char *v = arg + len;
	unsigned long long n = std::strtoull(v, &end, 10);
	if (end == v || *end || *v == '-' || n > 10000000000ull)
		*bad = true;
	*work_ns = n;
	return true;
}

std::string cpu_model()
{
	std::ifstream in("/proc/cpuinfo");
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("model name", 0) == 0) {
			size_t colon = line.find(':');
			return colon == std::string::npos ? line : line.substr(colon + 2);
		}
	return "unknown";
}

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv, usage);
	int client_cpu = -1, sidecar_cpu = -1;
	std::vector<int> vps = {1, 2, 4, 8};
	uint64_t work_ns = 1000000;
	for (int i = 1; i < argc; i++) {
		bool bad = false;
		if (!int_flag(argv[i], "--client-cpu", &client_cpu, &bad) &&
		    !int_flag(argv[i], "--sidecar-cpu", &sidecar_cpu, &bad) && !vps_flag(argv[i], &vps, &bad) &&
		    !work_flag(argv[i], &work_ns, &bad)) {
			std::fprintf(stderr, "sidecar-bench: unknown option %s (--help lists them)\n", argv[i]);
			return 2;
		}
		if (bad) {
			std::fprintf(stderr, "sidecar-bench: bad value in %s\n", argv[i]);
			return 2;
		}
	}
	if (hs_placement_init(client_cpu, sidecar_cpu)) {
		std::fprintf(stderr, "sidecar-bench: --client-cpu/--sidecar-cpu: not a CPU this process may use\n");
		return 2;
	}

	const hs_placement *p = hs_placement_get();
	benchmark::AddCustomContext("cpu_model", cpu_model());
	benchmark::AddCustomContext("allowed_cpus", std::to_string(p->allowed_cpus));
	benchmark::AddCustomContext("placement", p->pinned ? "client cpu " + std::to_string(p->client_cpu) +
								     ", sidecar cpu " + std::to_string(p->sidecar_cpu)
							   : std::string("unpinned (1 allowed cpu)"));

	harness_scaling_configure(vps, work_ns);
	harness_register_state();
	harness_register_refs();
	harness_register_api();
	harness_register_report();
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	hs_report_release_all();
	if (hs_error_count()) {
		std::fprintf(stderr, "sidecar-bench: %d benchmark(s) failed\n", hs_error_count());
		return 1;
	}
	return 0;
}
