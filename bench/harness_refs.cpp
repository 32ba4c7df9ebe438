// SPDX-License-Identifier: MIT
// The two references every latency claim is a ratio to (SPEC section 5), on the CPU pair the
// single-VP benchmarks use, so that each harness run carries its own: `ref/spin`, a
// cache-line ping-pong, and `ref/futex`, a futex ping-pong. The same round trips as
// sidecar-latency's references (docs/benchmarks.md), without its per-sample clock reads.
#include "harness_support.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace
{

// The ping-pong line; `stop` on a line of its own (only read in the loop).
struct Line {
	alignas(64) std::atomic<uint32_t> value{0};
	alignas(64) std::atomic<bool> stop{false};
};

void futex_wait(std::atomic<uint32_t> *word, uint32_t expected)
{
	// std::atomic<uint32_t> is a plain 32-bit word on Linux/x86-64 (static_assert below).
	syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t> *word)
{
	syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "a futex is a plain 32-bit word");

inline void cpu_relax()
{
	__builtin_ia32_pause();
}

// One side's wait for `want`. Sharing one CPU with the other side, a pure spin would only
// measure the scheduler's time slice: yield instead (as sidecar-latency does).
inline void spin_until(const std::atomic<uint32_t> &v, uint32_t want, bool yield)
{
	while (v.load(std::memory_order_acquire) != want) {
		if (yield)
			sched_yield();
		else
			cpu_relax();
	}
}

// The partner: a value it has not written is the benchmark thread's request, which it
// answers with the next value (odd requests, even answers; the counter may wrap).
void partner(Line *line, bool use_futex, bool yield)
{
	const hs_placement *p = hs_placement_get();
	if (p->pinned)
		hs_pin_self(p->sidecar_cpu);
	uint32_t seen = 0;
	for (;;) {
		if (line->stop.load(std::memory_order_acquire))
			return;
		uint32_t v = line->value.load(std::memory_order_acquire);
		if (v == seen) {
			if (use_futex)
				futex_wait(&line->value, v);
			else if (yield)
				sched_yield();
			else
				cpu_relax();
			continue;
		}
		seen = v + 1;
		line->value.store(seen, std::memory_order_release);
		if (use_futex)
			futex_wake(&line->value);
	}
}

void BM_Reference(benchmark::State &st, bool use_futex)
{
	const hs_placement *p = hs_placement_get();
	bool yield = !p->pinned || p->client_cpu == p->sidecar_cpu;
	hs_affinity *saved = hs_affinity_save();
	Line line;

	if (p->pinned && hs_pin_self(p->client_cpu)) {
		hs_note_error();
		st.SkipWithError("pin the benchmark thread");
		hs_affinity_restore(saved);
		return;
	}
	std::thread other(partner, &line, use_futex, yield);
	uint32_t v = 0;
	for (auto _ : st) {
		uint32_t request = v + 1;
		line.value.store(request, std::memory_order_release);
		if (use_futex) {
			futex_wake(&line.value);
			while (line.value.load(std::memory_order_acquire) == request)
				futex_wait(&line.value, request);
		} else {
			spin_until(line.value, request + 1, yield);
		}
		v = request + 1;
	}
	// Stop, and change the value so that a partner about to sleep on it does not.
	line.stop.store(true, std::memory_order_release);
	line.value.fetch_add(1, std::memory_order_acq_rel);
	futex_wake(&line.value);
	other.join();
	hs_affinity_restore(saved);
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
	benchmark::RegisterBenchmark("ref/spin", BM_Reference, false)->UseRealTime()->Unit(benchmark::kMicrosecond);
	benchmark::RegisterBenchmark("ref/futex", BM_Reference, true)->UseRealTime()->Unit(benchmark::kMicrosecond);
}
