// SPDX-License-Identifier: MIT
// The public API under google-benchmark (docs/benchmarks.md "Harness"): each synchronous
// command and the run/intercept round trip per wait mode on one VP, and the round trip
// with K VPs driven concurrently, with and without guest work. Only <sidecar/client.h> (and
// the bench helpers): what a VMM linking libsidecar gets.
#include "bench_cpu.h"
#include "bench_cputime.h"
#include "harness_placement.h"
#include "harness_support.h"

#include <sidecar/client.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace
{

struct ModeInfo {
	sidecar_wait_mode mode;
	const char *name;
};

const ModeInfo kModes[] = {
	{SIDECAR_WAIT_SEED, "seed"},
	{SIDECAR_WAIT_FUTEX, "futex"},
	{SIDECAR_WAIT_POLL, "poll"},
	{SIDECAR_WAIT_ADAPTIVE, "adaptive"},
};

// Round trips / commands run before the timed loop, so that neither the seed mode's reader
// task start nor the adaptive window's first growth lands in the first timed samples.
constexpr int kWarmup = 50;

void fail(benchmark::State &st, const std::string &what, int rc)
{
	std::string msg = what;
	if (rc)
		msg += std::string(": ") + sidecar_strerror(rc);
	hs_note_error();
	st.SkipWithError(msg.c_str());
}

// One client over "sim:cpus=1" with its sidecar CPU pinned away from the benchmark thread
// (when the process may use two CPUs), VP 1 (the node's one sidecar CPU) acquired in `mode`. The client is opened before
// the benchmark thread pins itself, and the mode set after, so the seed mode's reader task
// inherits the benchmark thread's CPU, as sidecar-latency does it (docs/benchmarks.md).
class OneVp
{
      public:
	~OneVp()
	{
		if (vp_)
			sidecar_vp_release(vp_);
		if (client_)
			sidecar_client_close(client_);
		bench_affinity_restore(saved_);
	}

	bool open(benchmark::State &st, sidecar_wait_mode mode)
	{
		const hs_placement *p = hs_placement_get();
		std::string target = "sim:cpus=1";
		char err[256] = "";
		int rc;

		if (p->pinned)
			target += ",pin=" + std::to_string(p->sidecar_cpu);
		rc = sidecar_client_open_err(target.c_str(), &client_, err, sizeof(err));
		if (rc) {
			fail(st, "open " + target + ": " + err, rc);
			return false;
		}
		saved_ = bench_affinity_save();
		if (p->pinned && (rc = bench_pin_self(p->client_cpu)) != 0) {
			fail(st, "pin the benchmark thread to cpu " + std::to_string(p->client_cpu), rc);
			return false;
		}
		if ((rc = sidecar_vp_acquire(client_, 1, &vp_)) != 0) { // CPU 0 is Linux's
			fail(st, "acquire vp 1", rc);
			return false;
		}
		if ((rc = sidecar_vp_set_wait_mode(vp_, mode)) != 0) {
			fail(st, std::string("set wait mode ") + sidecar_wait_mode_name(mode), rc);
			return false;
		}
		return true;
	}

	sidecar_vp *vp() const
	{
		return vp_;
	}

      private:
	sidecar_client *client_ = nullptr;
	sidecar_vp *vp_ = nullptr;
	bench_affinity *saved_ = nullptr;
};

// Per-iteration deltas of the VP's signal counters and of the benchmark thread's CPU time.
class Signals
{
      public:
	explicit Signals(sidecar_vp *vp) : vp_(vp)
	{
		sidecar_vp_get_stats(vp_, &before_);
		cpu0_ = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	}

	void report(benchmark::State &st)
	{
		sidecar_vp_stats after;
		uint64_t cpu = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0_;

		sidecar_vp_get_stats(vp_, &after);
		auto avg = benchmark::Counter::kAvgIterations;
		st.counters["req_signals"] =
			benchmark::Counter(double(after.request_signals - before_.request_signals), avg);
		st.counters["resp_signals"] =
			benchmark::Counter(double(after.response_signals - before_.response_signals), avg);
		st.counters["sleeps"] = benchmark::Counter(double(after.sleeps - before_.sleeps), avg);
		st.counters["polled"] =
			benchmark::Counter(double(after.polled_completions - before_.polled_completions), avg);
		st.counters["client_cpu_ns"] = benchmark::Counter(double(cpu), avg);
	}

      private:
	sidecar_vp *vp_;
	sidecar_vp_stats before_;
	uint64_t cpu0_;
};

void set_label(benchmark::State &st)
{
	const hs_placement *p = hs_placement_get();
	if (p->pinned)
		st.SetLabel("client cpu " + std::to_string(p->client_cpu) + ", sidecar cpu " +
			    std::to_string(p->sidecar_cpu));
	else
		st.SetLabel("unpinned (1 allowed cpu)");
}

// ---- synchronous commands ----------------------------------------------------------------

enum class Command { Test, GetRegs, SetRegs, TranslateGva };

// 62 registers every backend serves (two requests of SIDECAR_MAX_GET_SET_VP_REGISTERS):
// the general-purpose ones come from the CPU context in the command page, the rest from the
// VP backend, so both paths of the kernel's get/set are in the mix. The array has cache
// lines of its own: a small heap block may share a line with something the sidecar CPU's
// thread writes, and the benchmark would then measure its own false sharing.
class Registers
{
      public:
	explicit Registers(size_t count) : buf_(new Buffer), count_(count)
	{
		std::vector<uint32_t> names;
		for (uint32_t r = HV_X64_REGISTER_RAX; r <= HV_X64_REGISTER_R15; r++)
			names.push_back(r);
		for (uint32_t r = HV_X64_REGISTER_XMM0; r <= HV_X64_REGISTER_XMM15; r++)
			names.push_back(r);
		for (uint32_t r = HV_X64_REGISTER_FP_MMX0; r <= HV_X64_REGISTER_FP_MMX7; r++)
			names.push_back(r);
		for (uint32_t r = HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0; r <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF; r++)
			names.push_back(r);
		for (uint32_t r = HV_X64_REGISTER_DR0; r <= HV_X64_REGISTER_DR3; r++)
			names.push_back(r);
		names.push_back(HV_X64_REGISTER_KERNEL_GS_BASE);
		names.push_back(HV_X64_REGISTER_TSC_AUX);
		for (size_t i = 0; i < count_ && i < kMax; i++)
			buf_->regs[i].name = names[i % names.size()];
	}

	hv_register_assoc *data()
	{
		return buf_->regs;
	}
	size_t size() const
	{
		return count_ < kMax ? count_ : kMax;
	}

      private:
	static constexpr size_t kMax = 64;
	struct alignas(64) Buffer {
		hv_register_assoc regs[kMax] = {};
	};
	std::unique_ptr<Buffer> buf_;
	size_t count_;
};

int one_command(sidecar_vp *vp, Command cmd, Registers &regs)
{
	switch (cmd) {
	case Command::Test:
		return sidecar_vp_test(vp);
	case Command::GetRegs:
		return sidecar_vp_get_registers(vp, 0, regs.data(), regs.size());
	case Command::SetRegs:
		return sidecar_vp_set_registers(vp, 0, regs.data(), regs.size());
	case Command::TranslateGva: {
		hv_translate_virtual_address_ex_output_x64 out;
		int rc = sidecar_vp_translate_gva(vp, 0x10, HV_TRANSLATE_GVA_VALIDATE_READ, &out);
		// CR0.PG is clear: the identity (the simulator's synthetic guest).
		if (rc == 0 && out.gpa_page != 0x10)
			rc = -EIO;
		return rc;
	}
	}
	return -EINVAL;
}

void BM_Command(benchmark::State &st, Command cmd, size_t nregs, sidecar_wait_mode mode)
{
	OneVp one;
	if (!one.open(st, mode))
		return;
	sidecar_vp *vp = one.vp();
	Registers regs(nregs);
	int rc = 0;

	if (cmd == Command::SetRegs) {
		// Write back what is there: the benchmark changes nothing in the VP.
		rc = sidecar_vp_get_registers(vp, 0, regs.data(), regs.size());
		if (rc) {
			fail(st, "get the registers to set", rc);
			return;
		}
	}
	for (int i = 0; i < kWarmup && rc == 0; i++)
		rc = one_command(vp, cmd, regs);
	if (rc) {
		fail(st, "warmup command", rc);
		return;
	}
	Signals sig(vp);
	for (auto _ : st) {
		rc = one_command(vp, cmd, regs);
		if (rc) {
			fail(st, "command", rc);
			break;
		}
	}
	sig.report(st);
	set_label(st);
}

// ---- the run/intercept round trip -----------------------------------------------------------

int round_trip(sidecar_vp *vp)
{
	bool intercept = false;
	int rc = sidecar_vp_run_sync(vp, &intercept);
	// The synthetic io guest ends every run with an intercept.
	return rc ? rc : (intercept ? 0 : -EIO);
}

// A VMM's round trip: run to the intercept, read what it says (type, port, RAX), then
// complete the OUT as a VMM does, RIP past it through the register page. The intercept
// message and the register page then move between the two CPUs as well as the fast line
// (docs/fast-path.md, "Cache-line budget").
int vmm_round_trip(sidecar_vp *vp)
{
	const hv_message *msg = sidecar_vp_intercept_message(vp);
	const auto *io = reinterpret_cast<const hv_x64_io_port_intercept_message *>(msg->payload);
	hv_x64_register_page *page = sidecar_vp_register_page(vp);
	int rc = round_trip(vp);

	if (rc)
		return rc;
	if (msg->header.type != HV_MESSAGE_TYPE_X64_IO_PORT_INTERCEPT || !(io->access_info & 7))
		return -EIO;
	benchmark::DoNotOptimize(io->port_number);
	benchmark::DoNotOptimize(io->rax);
	page->rip = io->header.rip + (io->header.instruction_length_and_cr8 & 0xf);
	page->dirty |= HV_X64_REGISTER_PAGE_DIRTY_INSTRUCTION_POINTER;
	return 0;
}

void BM_RunSync(benchmark::State &st, sidecar_wait_mode mode, bool vmm)
{
	OneVp one;
	if (!one.open(st, mode))
		return;
	sidecar_vp *vp = one.vp();
	int (*trip)(sidecar_vp *) = vmm ? vmm_round_trip : round_trip;
	int rc = 0;

	for (int i = 0; i < kWarmup && rc == 0; i++)
		rc = trip(vp);
	if (rc) {
		fail(st, "warmup round trip", rc);
		return;
	}
	Signals sig(vp);
	for (auto _ : st) {
		rc = trip(vp);
		if (rc) {
			fail(st, "round trip", rc);
			break;
		}
	}
	sig.report(st);
	set_label(st);
}

// ---- scaling: K VPs, K threads ----------------------------------------------------------------

// One client per run with K nodes of one CPU each ("sim:nodes=K,cpus=1", plus work_ns for
// scaling_work/), opened by Setup before the K benchmark threads start; thread i drives VP i.
// Nothing is pinned: with more threads than CPUs the scheduler places them (and on 2 CPUs
// K > 1 oversubscribes them).
sidecar_client *scale_client;
std::string scale_error;

// Thread 0's CPU-time window over a scaling run: it opens once every thread has finished its
// warmup (so no warmup is inside) and closes once every loop has ended (the end of the
// range-for is a barrier of the K threads) and before any VP is released. The threads wait
// for each other with yields, outside the window. Reset by Setup, before the threads start.
struct ScaleWindow {
	std::atomic<int> arrived{0};
	std::atomic<bool> opened{false};
	std::atomic<bool> closed{false};
	bench_cputime cpu0, cpu1;
};
ScaleWindow scale_window;

// What harness_scaling_configure set: the thread (VP) counts and scaling_work/'s guest work.
std::vector<int> scale_vps = {1, 2, 4, 8};
uint64_t scale_work_ns = 1000000;

void scale_open(const benchmark::State &st, uint64_t work_ns)
{
	std::string target = "sim:nodes=" + std::to_string(st.threads()) + ",cpus=1";
	char err[256] = "";

	if (work_ns)
		target += ",work_ns=" + std::to_string(work_ns);
	int rc = sidecar_client_open_err(target.c_str(), &scale_client, err, sizeof(err));
	scale_window.arrived.store(0);
	scale_window.opened.store(false);
	scale_window.closed.store(false);
	scale_error.clear();
	if (rc) {
		scale_client = nullptr;
		scale_error = "open " + target + ": " + err + ": " + sidecar_strerror(rc);
	}
}

void scale_setup(const benchmark::State &st)
{
	scale_open(st, 0);
}

void scale_setup_work(const benchmark::State &st)
{
	scale_open(st, scale_work_ns);
}

void scale_teardown(const benchmark::State &)
{
	if (scale_client)
		sidecar_client_close(scale_client);
	scale_client = nullptr;
}

void wait_for(const std::atomic<bool> &flag)
{
	while (!flag.load(std::memory_order_acquire))
		std::this_thread::yield();
}

void BM_Scaling(benchmark::State &st, sidecar_wait_mode mode)
{
	ScaleWindow &w = scale_window;
	bool first = st.thread_index() == 0;
	sidecar_vp *vp = nullptr;
	int rc = 0;

	// Every thread goes through the window's gates and google-benchmark's loop whatever
	// fails: a thread that returned early would leave the others waiting forever.
	if (!scale_client) {
		fail(st, scale_error, 0);
	} else if ((rc = sidecar_vp_acquire(scale_client, 2 * uint32_t(st.thread_index()) + 1, &vp)) != 0) {
		// Node t's CPUs are 2t (its base CPU, Linux's) and 2t + 1.
		fail(st, "acquire vp " + std::to_string(2 * st.thread_index() + 1), rc);
		vp = nullptr;
	} else {
		rc = sidecar_vp_set_wait_mode(vp, mode);
		for (int i = 0; i < kWarmup && rc == 0; i++)
			rc = round_trip(vp);
		if (rc)
			fail(st, "warmup", rc);
	}
	w.arrived.fetch_add(1, std::memory_order_acq_rel);
	if (first) {
		while (w.arrived.load(std::memory_order_acquire) < st.threads())
			std::this_thread::yield();
		bench_cputime_snapshot(&w.cpu0);
		w.opened.store(true, std::memory_order_release);
	} else {
		wait_for(w.opened);
	}

	uint64_t t0 = 0, thr0 = 0;
	for (auto _ : st) {
		if (t0 == 0) {
			thr0 = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
			t0 = hs_now_ns();
		}
		rc = round_trip(vp);
		if (rc) {
			fail(st, "round trip", rc);
			break;
		}
	}
	uint64_t elapsed = t0 ? hs_now_ns() - t0 : 0;
	uint64_t thr = t0 ? bench_clock_ns(CLOCK_THREAD_CPUTIME_ID) - thr0 : 0;
	if (first) {
		bench_cputime_snapshot(&w.cpu1);
		w.closed.store(true, std::memory_order_release);
	} else {
		wait_for(w.closed);
	}
	if (vp)
		sidecar_vp_release(vp);
	if (st.error_occurred())
		return;

	auto avg = benchmark::Counter::kAvgIterations; // over every thread's round trips
	// Summed over the threads, then divided by the (per-thread average) real time.
	st.counters["round_trips_per_s"] = benchmark::Counter(double(st.iterations()), benchmark::Counter::kIsRate);
	// Each thread's own mean round trip, averaged over the threads.
	st.counters["per_vp_ns"] = benchmark::Counter(st.iterations() ? double(elapsed) / double(st.iterations()) : 0.0,
						      benchmark::Counter::kAvgThreads);
	// CPU per round trip: the K VMM threads' own (each adds its thread clock), and the
	// whole process's (thread 0 alone adds it: every thread, the sidecar CPUs' included).
	st.counters["client_cpu_ns_per_rt"] = benchmark::Counter(double(thr), avg);
	if (first) {
		st.counters["cpu_ns_per_rt"] = benchmark::Counter(double(bench_cputime_delta(&w.cpu0, &w.cpu1)), avg);
		int threads = 2 * st.threads(), cpus = hs_placement_get()->allowed_cpus;
		std::string label =
			std::to_string(threads) + " threads (VMM + sidecar CPU) on " + std::to_string(cpus) + " cpus";
		if (threads > cpus)
			label += ": oversubscribed";
		st.SetLabel(label);
	}
}

} // namespace

void harness_scaling_configure(const std::vector<int> &vps, uint64_t work_ns);
void harness_scaling_configure(const std::vector<int> &vps, uint64_t work_ns)
{
	scale_vps = vps;
	scale_work_ns = work_ns;
}

void harness_register_api(void);
void harness_register_api(void)
{
	struct CommandInfo {
		Command cmd;
		size_t nregs;
		const char *name;
	};
	const CommandInfo commands[] = {
		{Command::Test, 0, "test"},
		{Command::GetRegs, 1, "get_regs/1"},
		{Command::GetRegs, 31, "get_regs/31"},
		{Command::GetRegs, 62, "get_regs/62"},
		{Command::SetRegs, 1, "set_regs/1"},
		{Command::SetRegs, 31, "set_regs/31"},
		{Command::SetRegs, 62, "set_regs/62"},
		{Command::TranslateGva, 0, "translate_gva"},
	};

	for (const CommandInfo &c : commands)
		for (const ModeInfo &m : kModes)
			benchmark::RegisterBenchmark((std::string("command/") + c.name + "/" + m.name).c_str(),
						     BM_Command, c.cmd, c.nregs, m.mode)
				->UseRealTime()
				->MeasureProcessCPUTime()
				->Unit(benchmark::kMicrosecond);
	for (const ModeInfo &m : kModes)
		benchmark::RegisterBenchmark((std::string("run_sync/") + m.name).c_str(), BM_RunSync, m.mode, false)
			->UseRealTime()
			->MeasureProcessCPUTime()
			->Unit(benchmark::kMicrosecond);
	// run_vmm/: the same with what a VMM does with each intercept (POLL: the fast path).
	benchmark::RegisterBenchmark("run_vmm/poll", BM_RunSync, SIDECAR_WAIT_POLL, true)
		->UseRealTime()
		->MeasureProcessCPUTime()
		->Unit(benchmark::kMicrosecond);
	// scaling/: no guest work, the round trip's own throughput as VPs are added (POLL, FUTEX,
	// ADAPTIVE). scaling_work/: scale_work_ns of guest work per run, where the wait modes
	// differ in the CPU they burn while the guest runs (FUTEX, ADAPTIVE).
	for (const ModeInfo &m : kModes) {
		if (m.mode == SIDECAR_WAIT_SEED)
			continue;
		auto *b = benchmark::RegisterBenchmark((std::string("scaling/") + m.name).c_str(), BM_Scaling, m.mode)
				  ->Setup(scale_setup)
				  ->Teardown(scale_teardown);
		for (int k : scale_vps)
			b->Threads(k);
		b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
	}
	for (const ModeInfo &m : kModes) {
		if (m.mode != SIDECAR_WAIT_FUTEX && m.mode != SIDECAR_WAIT_ADAPTIVE)
			continue;
		auto *b = benchmark::RegisterBenchmark((std::string("scaling_work/") + m.name).c_str(), BM_Scaling,
						       m.mode)
				  ->Setup(scale_setup_work)
				  ->Teardown(scale_teardown);
		for (int k : scale_vps)
			b->Threads(k);
		b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
	}
}
