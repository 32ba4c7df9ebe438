// SPDX-License-Identifier: MIT
// The two references every latency claim is a ratio to, on the CPU pair the single-VP
// benchmarks use, so that each harness run carries its own: `ref/spin`, a cache-line
// ping-pong, and `ref/futex`, a futex ping-pong. The round trips are bench/bench_refs.c,
// the same code sidecar-latency's reference rows run (docs/benchmarks.md), here without its
// per-sample clock reads.
#include "bench_cpu.h"
#include "bench_refs.h"
#include "harness_placement.h"
#include "harness_support.h"

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

namespace
{

void BM_Reference(benchmark::State &st, bench_ref_kind kind)
{
	const hs_placement *p = hs_placement_get();
	// Sharing one CPU with the other side, a pure spin would only measure the scheduler's
	// time slice: yield instead (as sidecar-latency does).
	bool yield = kind == BENCH_REF_SPIN && (!p->pinned || p->client_cpu == p->sidecar_cpu);
	bench_affinity *saved = bench_affinity_save();
	bench_ref *ref = nullptr;
	int rc;

	if (p->pinned && bench_pin_self(p->client_cpu)) {
		hs_note_error();
		st.SkipWithError("pin the benchmark thread");
		bench_affinity_restore(saved);
		return;
	}
	rc = bench_ref_start(kind, p->pinned ? p->sidecar_cpu : -1, yield, &ref);
	if (rc) {
		hs_note_error();
		st.SkipWithError((std::string("start the partner thread: ") + std::strerror(-rc)).c_str());
		bench_affinity_restore(saved);
		return;
	}
	for (auto _ : st)
		bench_ref_round_trip(ref);
	bench_ref_stop(ref);
	bench_affinity_restore(saved);
	if (p->pinned)
		st.SetLabel("client cpu " + std::to_string(p->client_cpu) + ", partner cpu " +
			    std::to_string(p->sidecar_cpu));
	else
		st.SetLabel("unpinned (1 allowed cpu)");
}

} // namespace

void harness_register_refs(void);
void harness_register_refs(void)
{
	benchmark::RegisterBenchmark("ref/spin", BM_Reference, BENCH_REF_SPIN)
		->UseRealTime()
		->Unit(benchmark::kMicrosecond);
	benchmark::RegisterBenchmark("ref/futex", BM_Reference, BENCH_REF_FUTEX)
		->UseRealTime()
		->Unit(benchmark::kMicrosecond);
}
