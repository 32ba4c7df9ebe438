// SPDX-License-Identifier: MIT
// The per-VP state machine alone (docs/benchmarks.md "Harness"): no sidecar CPU, no
// driver, one thread, on the word runtime/internal.h defines (harness_support.c holds the
// steps, in C, on a real struct sidecar_vp). These are the uncontended costs of the atomic
// operations; across two CPUs each transition also moves the cache line, which the spin
// reference of sidecar-latency measures.
#include "harness_support.h"

#include <benchmark/benchmark.h>

namespace
{

// Steps per call into the C side, so that the call and google-benchmark's loop are spread
// over many steps (KeepRunningBatch counts each step as one iteration).
constexpr uint64_t kBatch = 256;

void fail(benchmark::State &st, const char *what)
{
	hs_note_error();
	st.SkipWithError(what);
}

class Word
{
      public:
	Word() : s_(hs_state_new())
	{
	}
	~Word()
	{
		hs_state_free(s_);
	}
	hs_state *get() const
	{
		return s_;
	}

      private:
	hs_state *s_;
};

template <typename Steps> void run_batches(benchmark::State &st, Steps steps)
{
	Word s;
	bool ok = s.get() != nullptr;

	if (!ok) {
		fail(st, "out of memory");
		return;
	}
	while (st.KeepRunningBatch(kBatch))
		ok &= steps(s.get(), kBatch);
	if (!ok)
		fail(st, "the state word did not follow the expected transitions");
}

void BM_StateCycle(benchmark::State &st)
{
	run_batches(st, hs_state_cycle);
}

void BM_StatePollCycle(benchmark::State &st)
{
	run_batches(st, hs_state_poll_cycle);
}

void BM_StateHook(benchmark::State &st, bool waiter)
{
	run_batches(st, [waiter](hs_state *s, uint64_t n) { return hs_state_hook(s, n, waiter); });
}

void BM_FutexWakeNoWaiter(benchmark::State &st)
{
	run_batches(st, [](hs_state *s, uint64_t n) {
		hs_futex_wake_no_waiter(s, n);
		return true;
	});
}

void BM_SeedStateCycle(benchmark::State &st)
{
	run_batches(st, hs_seed_state_cycle);
}

} // namespace

void harness_register_state(void);
void harness_register_state(void)
{
	benchmark::RegisterBenchmark("state/cycle", BM_StateCycle);
	benchmark::RegisterBenchmark("state/poll_cycle", BM_StatePollCycle);
	benchmark::RegisterBenchmark("state/hook/no_waiter", BM_StateHook, false);
	benchmark::RegisterBenchmark("state/hook/waiter", BM_StateHook, true);
	benchmark::RegisterBenchmark("state/futex_wake_no_waiter", BM_FutexWakeNoWaiter);
	benchmark::RegisterBenchmark("state/seed_mutex_cycle", BM_SeedStateCycle);
}
