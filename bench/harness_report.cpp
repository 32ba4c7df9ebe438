// SPDX-License-Identifier: MIT
// The driver's finished-CPU reporting at the ABI's largest node, 4032 CPUs
// (docs/benchmarks.md "Harness"): upstream's scan of every status under a mutex
// (report=scan) against the lock-free bitmap (report=lockfree). A real simulator of 4032
// CPU threads is booted once per report mode (harness_support.c caches it); one VP does
// START -> complete -> read cycles through the driver's upstream operations while the
// 4031 others sit idle, so what differs between the two rows is the cost of `read`.
#include "bench_cpu.h"
#include "harness_placement.h"
#include "harness_support.h"

#include <benchmark/benchmark.h>

#include <string>

namespace
{

constexpr uint32_t kCpus = 4032; // SIDECAR_MAX_CPUS_PER_NODE: the base CPU and 4031 sidecar CPUs

void fail(benchmark::State &st, const std::string &msg)
{
	hs_note_error();
	st.SkipWithError(msg.c_str());
}

std::string target_for(const char *report)
{
	const hs_placement *p = hs_placement_get();
	std::string t = "sim:cpus=" + std::to_string(kCpus - 1) + ",report=" + report;

	// Every sidecar CPU on the sidecar host CPU; the reading thread is pinned elsewhere.
	if (p->pinned)
		t += ",pin=" + std::to_string(p->sidecar_cpu);
	return t;
}

hs_report *open_report(benchmark::State &st, const char *report)
{
	char err[256] = "";
	hs_report *r = hs_report_get(target_for(report).c_str(), err, sizeof(err));

	if (!r) {
		fail(st, "boot " + target_for(report) + ": " + err);
		return nullptr;
	}
	if (hs_report_cpu_count(r) != kCpus) {
		fail(st, "the node does not have 4032 cpus");
		return nullptr;
	}
	return r;
}

class Pinned
{
      public:
	explicit Pinned(benchmark::State &st) : saved_(bench_affinity_save())
	{
		const hs_placement *p = hs_placement_get();
		if (p->pinned && bench_pin_self(p->client_cpu))
			fail(st, "pin the benchmark thread");
	}
	~Pinned()
	{
		bench_affinity_restore(saved_);
	}

      private:
	bench_affinity *saved_;
};

// Time: the whole START -> poll() -> read cycle (the request IPI and the halted sidecar
// CPU's wake-up, the response IPI, the poll() wake-up). read_ns: the nonblocking `read`
// alone, the part scan and lock-free differ in (timed around the call; a counter rather
// than google-benchmark's manual time, which would size the run by the read alone and so
// run ~50 times longer than asked).
void BM_ReportRead(benchmark::State &st, const char *report, uint32_t index)
{
	hs_report *r = open_report(st, report);
	if (!r)
		return;
	Pinned pin(st);
	if (st.error_occurred())
		return;
	uint64_t read_ns = 0;
	int rc = 0;
	for (int i = 0; i < 20 && rc == 0; i++)
		rc = hs_report_cycle(r, index, &read_ns);
	if (rc) {
		fail(st, "warmup cycle: error " + std::to_string(rc));
		return;
	}
	uint64_t read_total = 0;
	for (auto _ : st) {
		rc = hs_report_cycle(r, index, &read_ns);
		if (rc) {
			fail(st, "cycle: error " + std::to_string(rc));
			break;
		}
		read_total += read_ns;
	}
	st.counters["read_ns"] = benchmark::Counter(double(read_total), benchmark::Counter::kAvgIterations);
	st.SetLabel(target_for(report));
}

// A nonblocking read with nothing finished (a reader task's last read of each wake-up).
void BM_ReportReadEmpty(benchmark::State &st, const char *report)
{
	hs_report *r = open_report(st, report);
	if (!r)
		return;
	Pinned pin(st);
	if (st.error_occurred())
		return;
	for (auto _ : st) {
		int rc = hs_report_read_empty(r);
		if (rc) {
			fail(st, "read with nothing finished: error " + std::to_string(rc));
			break;
		}
	}
	st.SetLabel(target_for(report));
}

} // namespace

void harness_register_report(void);
void harness_register_report(void)
{
	// Grouped by report mode: the cached simulator is rebooted only when the mode changes.
	for (const char *report : {"scan", "lockfree"}) {
		for (uint32_t index : {1u, kCpus - 1}) { // index 0 is the base CPU
			std::string name = std::string("report/") + report + "/cycle/vp:" + std::to_string(index);
			benchmark::RegisterBenchmark(name.c_str(), BM_ReportRead, report, index)
				->UseRealTime()
				->Unit(benchmark::kMicrosecond);
		}
		benchmark::RegisterBenchmark((std::string("report/") + report + "/read_empty").c_str(),
					     BM_ReportReadEmpty, report)
			->Unit(benchmark::kMicrosecond);
	}
}
