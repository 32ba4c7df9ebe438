/* SPDX-License-Identifier: MIT */
/*
 * The C half of the google-benchmark harness (bench/harness*.cpp, docs/benchmarks.md
 * "Harness"). Everything that needs the library's internals lives here: runtime/internal.h
 * and driver/sim/sim_internal.h use C11 _Atomic, which C++17 does not accept, so the C++ files
 * see only this plain C API.
 */
#ifndef SIDECAR_BENCH_HARNESS_SUPPORT_H
#define SIDECAR_BENCH_HARNESS_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- clocks and errors ------------------------------------------------------------------- */

/* sidecar_now_ns (runtime/os/futex.h, which is C11 only): CLOCK_MONOTONIC in ns. */
uint64_t hs_now_ns(void);

/* A benchmark failed (SkipWithError): the process exits 1 so the smoke test notices. */
void hs_note_error(void);
int hs_error_count(void);

/* ---- the per-VP state word alone (runtime/internal.h) ---------------------------------- */

/* A zeroed struct sidecar_vp (so the word is exactly the library's: its type, its 64-byte
 * aligned line and its neighbours) and a stand-in for the fast line's done_seq on a line of
 * its own, as the real one is in the shared command page. */
struct hs_state;
struct hs_state *hs_state_new(void);
void hs_state_free(struct hs_state *s);
/* Each runs the steps `n` times and returns true when the word ends where the steps must
 * leave it (a self-check, so a broken mirror cannot report a fast nonsense number). */
/* post (STOPPED -> RUNNING(s+1)), completion hook (RUNNING -> FINISHED, no waiter), collect
 * (FINISHED -> STOPPED): the FUTEX/ADAPTIVE life of one command when the hook wins. */
bool hs_state_cycle(struct hs_state *s, uint64_t n);
/* post, then the owner sees done_seq itself (RUNNING -> STOPPED): the POLL life. */
bool hs_state_poll_cycle(struct hs_state *s, uint64_t n);
/* The completion hook alone from RUNNING (waiter false) or RUNNING|WAITER (waiter true: it
 * then makes the futex wake the hook makes, here with nobody asleep). Each step first
 * re-arms the word with a relaxed store (a plain mov on x86), counted in the time. */
bool hs_state_hook(struct hs_state *s, uint64_t n, bool waiter);
/* FUTEX_WAKE on the word with no sleeper: the cost of a wake that was not needed. */
void hs_futex_wake_no_waiter(struct hs_state *s, uint64_t n);
/* The seed mode's equivalent of hs_state_cycle: state under a mutex, the reader task's
 * mark with a condition-variable broadcast (nobody waiting), the collect; uncontended. */
bool hs_seed_state_cycle(struct hs_state *s, uint64_t n);

/* ---- the driver's finished-CPU reporting (driver/sim/driver.c) ----------------------- */

/* A simulator the harness owns, driven through the driver's upstream operations (START,
 * poll, read) the way the seed mode's reader task does. One is cached at a time: opening
 * another target shuts the previous one down (4032 CPU threads each). */
struct hs_report;
/* The cached simulator for `target`, booting it if needed. NULL on failure (err says why). */
struct hs_report *hs_report_get(const char *target, char *err, size_t errlen);
void hs_report_release_all(void);
uint32_t hs_report_cpu_count(const struct hs_report *r);
/* One cycle on node 0's CPU `index`: START (a NONE command), poll the node's fd until the
 * report is readable, then one nonblocking read, which must return that CPU. *read_ns is the
 * read alone. 0 or a negative errno (-EIO: read returned another CPU). */
int hs_report_cycle(struct hs_report *r, uint32_t index, uint64_t *read_ns);
/* One nonblocking read with nothing finished: 0 when it said -EAGAIN, else an error. */
int hs_report_read_empty(struct hs_report *r);

#ifdef __cplusplus
}
#endif

#endif
