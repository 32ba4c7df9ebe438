/* SPDX-License-Identifier: MIT */
/*
 * Promela model of the fast-path signalling protocol (docs/model.md has the full story).
 *
 * Processes, step for step with the C code (every shared access is one Promela step; the
 * C code uses seq_cst for every operation of the Dekker pairs, so interleaving semantics
 * are faithful for them). Ghost variables (c_*, s_phase, served, ...) only feed the
 * assertions; atomic blocks group one shared access with ghost or local updates.
 *
 *   Client     runtime/vp_wait.c   rt_fast_post, rt_fast_wait, sleep_until_done, collect
 *   Sidecar    kernel/core/park.c       sidecar_kernel_park, sidecar_kernel_respond
 *              kernel/core/dispatch.c   serve_fast_request, run_vp, kcpu_should_stop,
 *                                  complete_fast, leave, sidecar_kernel_cpu_main
 *              runtime/vp_wait.c   rt_fast_notify (the completion hook: the response IPI
 *                                  runs it inline on the sidecar CPU's thread, through
 *                                  driver/sim/driver.c sim_driver_isr)
 *              driver/sim/boot.c   plat_halt (consumes the interrupt latch)
 *   Canceller  runtime/vp_wait.c   rt_fast_cancel
 *   (outcome)  runtime/vp.c        rt_collect_error, after each collect
 *   Remover    driver/sim/driver.c / driver/sim/boot.c request_remove: status IDLE -> REMOVE, IPI
 *
 * Configuration (spin -D...):
 *   SUPPRESS=0|1   0: FUTEX mode (features MAILBOX); 1: POLL/ADAPTIVE (MAILBOX |
 *                  SIDECAR_POLL | SUPPRESS [| ADAPTIVE]): both sides poll a bounded,
 *                  nondeterministic number of times, PARKED / SLEEPING suppress signals
 *   N              round trips of the client (default 3)
 *   SEQMOD         the sequence in the state word is kept modulo SEQMOD (default 4)
 *   POLLS          most polls per wait, either side (default 2)
 *   SPURIOUS       spurious futex wake-ups the client may suffer in all (default 1)
 *   TIMEOUTS       timed-out waits (rt_fast_wait with a deadline) in all (default 0)
 *   CANCEL=1       a canceller process (rt_fast_cancel); CANCELLERS=2 for two of them
 *   REMOVE=1       a hot-remove process; the sidecar then leaves
 *   STRONG_REQ=1   property 3 for request IPIs in its strong (false) form: a post signals
 *                  only a sidecar that has not yet re-checked or will halt (docs/model.md)
 *   STRONG_RESP=1  property 3 for completion IPIs in its strong (false) form: the sidecar
 *                  signals only a client sleeping for this very command, not yet done
 *   STRONG_ENOENT  the removal's outcome in its strong form (1, the default): a command the
 *                  leaving CPU completed with "cpu removed" is reported -ENOENT by
 *                  rt_collect_error; 0: only as a failure (-ENOENT or the kernel error)
 *   CANCEL_ON_STATE=1  the targeted cancel fires as soon as the word says RUNNING(t)
 *                  rather than after the post of t returned
 *   SWITCH=k       the client switches the wait mode (FUTEX <-> POLL/ADAPTIVE, starting
 *                  from SUPPRESS) up to k times, between round trips (rt_vp_apply_mode)
 *   ASYNC_HOOK=1   the response IPI is delivered to another CPU (real hardware: the
 *                  driver's ISR on response_cpu) instead of running the hook inline on
 *                  the sidecar's thread (the simulator, sim_driver_isr): a HookCPU
 *                  process runs it, later; interrupts coalesce (one pending bit)
 * The code before the fixes of the model's findings (docs/model.md; each must make spin
 * find an error):
 *   OLD_CANCEL_STORE        rt_fast_cancel: a plain store of stop_seq (not forward-only)
 *   OLD_CANCEL_NO_PLUS_ONE  rt_fast_cancel: returns 0 when request_seq does not name the
 *                           word's command yet (no "+1" for a post not yet rung)
 *   OLD_LEAVE               leave: one flag, GONE, set before the check; the poster answers
 *                           -ENOENT whenever it sees GONE
 *   OLD_COLLECT_GONE  rt_collect_error tests GONE, not LEAVING (the fix of a later finding)
 *   OLD_COLLECT_ERROR       rt_collect_error: -ENOENT whenever GONE is set, even for a
 *                           command completed without error (served before the CPU left)
 * Mutations (each must make spin find an error):
 *   MUT_NO_SIDECAR_RECHECK  park: no re-check of the doorbell after announcing PARKED
 *   MUT_NO_CLIENT_RECHECK   sleep_until_done: no re-check of done_seq after SLEEPING
 *   SEQMOD=1                the state word carries no sequence (late-hook ABA)
 *   MUT_LEAVE_NO_COMPLETE   leave: a pending request is not completed
 *   MUT_PARK_ONLY_IF_SUPPRESS  park: PARKED announced (and re-checked) only under SUPPRESS
 *                           (the first version's bug: deadlock after a mode switch)
 */

#ifndef N
#define N 3
#endif
#ifndef SEQMOD
#define SEQMOD 4
#endif
#ifndef SUPPRESS
#define SUPPRESS 1
#endif
#ifndef POLLS
#define POLLS 2
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif
#ifndef TIMEOUTS
#define TIMEOUTS 0
#endif
#ifndef CANCEL
#define CANCEL 0
#endif
#ifndef CANCELLERS
#define CANCELLERS 1
#endif
#ifndef REMOVE
#define REMOVE 0
#endif
#ifndef STRONG_REQ
#define STRONG_REQ 0
#endif
#ifndef STRONG_RESP
#define STRONG_RESP 0
#endif
#ifndef STRONG_ENOENT
#define STRONG_ENOENT 1
#endif
#ifndef CANCEL_ON_STATE
#define CANCEL_ON_STATE 0
#endif
#ifndef ASYNC_HOOK
#define ASYNC_HOOK 0
#endif
#ifndef SWITCH
#define SWITCH 0
#endif

/* ---- the per-VP state word (runtime/internal.h) ----------------------------------------- */
#define STOPPED  0
#define RUNNING  1
#define FINISHED 2
#define WAITER   4
#define KIND(w)  ((w) & 3)
#define WSEQ(w)  ((w) >> 3)
#define WORD(s, k) ((((s) % SEQMOD) << 3) | (k))

byte state = 0;                 /* WORD(0, STOPPED); also the client's futex */

/* ---- the fast line (abi/include/sidecar/defs.h), full sequence numbers (no wrap: N < 256) */
byte request_seq = 0;           /* doorbell, written by the client */
byte command = 0;               /* "the command of request_seq": we write its sequence */
byte stop_seq = 0;              /* written by rt_fast_cancel */
bit  client_sleeping = 0;       /* client_flags & SIDECAR_FAST_CLIENT_SLEEPING */
byte done_seq = 0;              /* written by the sidecar */
#define PARKED 1
#define GONE   2
#define LEAVING 4
byte sidecar_flags = 0;         /* SIDECAR_FAST_SIDECAR_PARKED | _GONE | _LEAVING */
bit  has_error = 0;             /* the fast line's copy of the command page's has_error */

/* features & (SUPPRESS | SIDECAR_POLL): written by the client (rt_vp_apply_mode), read by
 * the sidecar at the top of each park loop and in respond */
bit features_suppress = SUPPRESS;

/* ---- the platform ------------------------------------------------------------------------ */
bit irq = 0;                    /* the sidecar CPU's interrupt latch (sim_cpu.irq) */
bit status_remove = 0;          /* cpu_status: IDLE (0) or REMOVE (1) */
bit c_blocked = 0;              /* the client is blocked in futex_wait(&state) */

/* ---- ghosts (never read by the protocol's own steps) ------------------------------------ */
byte c_seq = 0;                 /* the client's vp->seq */
byte c_posted = 0;              /* rt_fast_post(c_posted) has returned */
byte c_trips = 0;               /* round trips completed */
bit  c_enoent = 0;              /* the client was told -ENOENT */
bit  c_saw_done = 0;            /* the client's re-check saw done_seq == c_seq */
byte c_sleep_seq = 0;           /* the command of the client's last SLEEPING announcement */
#define S_OTHER     0
#define S_ANNOUNCED 1           /* PARKED set, re-check not yet made */
#define S_ABORTING  2           /* PARKED set, the re-check found work: will not halt */
#define S_HALTING   3           /* PARKED set, the re-check found nothing: halts */
#define S_WOKEN     4           /* PARKED set, the halt returned */
byte s_phase = S_OTHER;
int  served = 0;                /* bit s: command s was dispatched */
int  completed = 0;             /* bit s: done_seq = s was stored */
byte cancel_target = 0;         /* 0: the canceller races freely; t: it cancels command t */
int  cancel_meant = 0;          /* bit s: a cancel aimed at command s (and may store it) */
byte req_irqs = 0;              /* request IPIs sent by posts */
byte resp_irqs = 0;             /* completion IPIs sent by respond */

/* sim_cpu_ipi: the latch, then a futex wake of the halted CPU (the halt below is a guard). */
#define IPI irq = 1

#if ASYNC_HOOK
bit resp_pending = 0;           /* the response vector's pending bit on the VMM's CPU */
#endif

/* futex_wake(&state, 1): only the client ever waits on the word. */
#define FUTEX_WAKE c_blocked = 0

/* ============================================================================================
 * The completion hook, rt_fast_notify, run by the response IPI: inline on the sidecar's
 * thread (the simulator), or on the VMM's CPU (ASYNC_HOOK).
 * `raised` is the command whose completion raised the IPI (ANY: a response not raised
 * for a command, the CPU's last one).
 */
#define ANY 255
inline hook(raised)
{
	hd = done_seq;                          /* acquire load of done_seq */
	hst = state;                            /* relaxed load of the word */
	do
	:: (KIND(hst) != RUNNING || WSEQ(hst) != hd % SEQMOD) -> hok = 0; break
	:: else ->
		atomic {                        /* weak CAS RUNNING[|WAITER](s) -> FINISHED(s) */
			if
			:: state == hst ->
				state = WORD(WSEQ(hst), FINISHED);
				hok = 1;
				/* Property 2: only the command the IPI was raised for, and only
				 * the client's current one. */
				assert((raised == ANY || hd == raised) && hd == c_seq)
			:: else -> hst = state; hok = 0
			fi
		}
		if
		:: hok -> break
		:: else
		fi
	od;
	if
	:: hok && (hst & WAITER) -> FUTEX_WAKE
	:: else
	fi;
	d_step { hok = 0; hd = 0; hst = 0 }
}

/* The response IPI: inline (sim_driver_isr on the sidecar's thread), or posted to the
 * VMM's CPU (ASYNC_HOOK). */
#if ASYNC_HOOK
#define RESPONSE_IPI(raised) resp_pending = 1
#else
#define RESPONSE_IPI(raised) hook(raised)
#endif

/* sidecar_kernel_respond(k, true): the completion IPI, or its suppression. */
inline respond_fast(seq)
{
#if SWITCH
	fs = features_suppress;                 /* relaxed load of features */
#endif
	if
	:: fs ->
	atomic {
		if
		:: client_sleeping ->
			sig = 1;
			resp_irqs++;
			/* Property 3 (completion IPIs): the client has announced SLEEPING and
			 * has not withdrawn it, for this command or (late hook) the next one. */
#if STRONG_RESP
			assert(c_sleep_seq == seq && !c_saw_done);
#else
			assert(c_sleep_seq == seq || c_sleep_seq == seq + 1);
#endif
		:: else -> sig = 0
		fi
	}
	if
	:: sig -> RESPONSE_IPI(seq)
	:: else
	fi;
	sig = 0
	:: else ->
	resp_irqs++;
	RESPONSE_IPI(seq)
	fi
}

/* complete_fast: the copy of has_error (page->has_error: set by "cpu removed"), published
 * by the store of done_seq; then respond. */
inline complete_fast(seq, err)
{
	atomic {
		assert((completed & (1 << seq)) == 0);   /* each command completes once */
		completed = completed | (1 << seq);
		has_error = err;
		done_seq = seq
	}
	respond_fast(seq)
}

/* ============================================================================================
 * The sidecar CPU: sidecar_kernel_cpu_main's loop.
 */
proctype Sidecar()
{
	byte seq, cmd, polls, hd, hst;
	bit hok, sig, stop, recheck;
	bit fs = SUPPRESS;                              /* its snapshot of the features */

park:   /* sidecar_kernel_park */
	do
	::
#if SWITCH
	   fs = features_suppress;                      /* relaxed load of features */
#endif
	   if
	   :: request_seq != done_seq -> goto serve     /* doorbell_rang (done_seq is ours) */
	   :: else
	   fi;
	   if
	   :: status_remove -> goto leave
	   :: else
	   fi;
	   /* The poll window (SIDECAR_POLL): nondeterministically 0..POLLS polls, each of the
	    * doorbell and the interrupt latch (irq_pending: break, the halt will consume it). */
	   polls = 0;
	   do
	   :: fs && polls < POLLS ->
		polls++;
		if
		:: request_seq != done_seq -> goto serve
		:: else
		fi;
		if
		:: irq -> break
		:: else
		fi
	   :: true -> break
	   od;
	   polls = 0;
#ifdef MUT_PARK_ONLY_IF_SUPPRESS
	   if
	   :: !fs -> recheck = 0; s_phase = S_HALTING; goto halt
	   :: else
	   fi;
#endif
	   atomic {                                     /* fetch_or PARKED, seq_cst */
		sidecar_flags = sidecar_flags | PARKED;
		s_phase = S_ANNOUNCED
	   }
#ifndef MUT_NO_SIDECAR_RECHECK
	   atomic {                                     /* doorbell_rang_sc */
		recheck = (request_seq != done_seq);
		if
		:: recheck -> s_phase = S_ABORTING
		:: else
		fi
	   }
	   if
	   :: !recheck ->
		atomic {                                /* || load_status(seq_cst) != IDLE */
			recheck = status_remove;
			s_phase = (recheck -> S_ABORTING : S_HALTING)
		}
	   :: else
	   fi;
#else
	   recheck = 0;
	   s_phase = S_HALTING;
#endif
	   if
	   :: recheck ->
		atomic {                                /* fetch_and ~PARKED; continue */
			sidecar_flags = sidecar_flags & ~PARKED;
			s_phase = S_OTHER;
			recheck = 0
		}
	   :: else ->
halt:
end_halt:	atomic { irq -> irq = 0; s_phase = S_WOKEN }    /* plat_halt */
		atomic {                                /* fetch_and ~PARKED */
			sidecar_flags = sidecar_flags & ~PARKED;
			s_phase = S_OTHER
		}
	   fi
	od;

serve:  /* serve_fast_request */
	seq = request_seq;                              /* acquire load */
	atomic {
		cmd = command;
		assert(cmd == seq);                     /* the request is the posted one */
		assert((served & (1 << seq)) == 0);     /* served at most once */
		served = served | (1 << seq)
	}
	/* run_vp: while (!kcpu_should_stop) vp_run(...) */
	do
	:: atomic {                                     /* status == REMOVE */
		stop = status_remove
	   }
	   if
	   :: !stop ->
		atomic {                                /* || stop_seq == serving_seq */
			stop = (stop_seq == seq);
			/* a stop ends only a command a cancel aimed at (saw RUNNING) */
			assert(!stop || (cancel_meant & (1 << seq)) != 0)
		}
	   :: else
	   fi;
	   if
	   :: stop -> break
	   :: else
	   fi;
	   /* vp_run: the guest exits (an intercept), or (a spinning guest) runs until
	    * should_stop, polling it (a guard: stop requests are never withdrawn, so a
	    * busy-wait on them is a wait for them) and returns RUN_STOPPED: loop. */
	   if
	   :: break
#if REMOVE
	   :: (status_remove || stop_seq == seq)
#endif
#if CANCEL
	   :: seq == cancel_target -> (status_remove || stop_seq == seq)
#endif
	   fi
	od;
	stop = 0;
	complete_fast(seq, 0);
	d_step { cmd = 0; seq = 0 }
	goto park;

leave:  /* leave(), then the CPU's last response */
#ifdef OLD_LEAVE
	sidecar_flags = sidecar_flags | GONE;           /* fetch_or GONE, seq_cst */
#else
	sidecar_flags = sidecar_flags | LEAVING;        /* fetch_or LEAVING, seq_cst */
#endif
	seq = request_seq;                              /* seq_cst load */
#ifndef MUT_LEAVE_NO_COMPLETE
	if
	:: seq != done_seq -> complete_fast(seq, 1)     /* "cpu removed" */
	:: else
	fi;
#endif
#ifndef OLD_LEAVE
	sidecar_flags = sidecar_flags | GONE;           /* fetch_or GONE, seq_cst */
#endif
	/* status = REMOVED; sidecar_kernel_respond(k, false): not a fast response, so no
	 * suppression, and sim_driver_isr runs the DIRECT owner's hook all the same. */
	RESPONSE_IPI(ANY)
}

/* ============================================================================================
 * The client, the VP's owner thread: N round trips of rt_fast_post + rt_fast_wait.
 */
inline collect()
{
	atomic {                                        /* CAS loop from any word to STOPPED(s) */
		cst = state;
		/* Property 2: the completion is the one of the command we posted */
		assert(WSEQ(cst) == s % SEQMOD && (KIND(cst) == RUNNING || KIND(cst) == FINISHED));
		assert(done_seq == s);
		state = WORD(s, STOPPED);
		cst = 0
	}
}

#define R_OK     0
#define R_ENOENT 1
#define R_EKERNEL 2

proctype Client()
{
	byte s = 0, cst, f, polls, spurious = 0, timeouts = 0, switches = 0, rc;
	bit ok, timedout;
	bit cs = SUPPRESS;                              /* vp->features & SUPPRESS */

	do
	:: c_trips == N -> break
#if SWITCH
	:: c_trips < N && switches < SWITCH ->
		/* rt_vp_apply_mode between round trips (nothing in flight):
		 * program_fast_line stores client_flags = 0, then the features (release) */
		switches++;
		cs = !cs;
		client_sleeping = 0;
		features_suppress = cs
#endif
	:: c_trips < N ->
		/* ---- rt_fast_post ---- */
		cst = state;                            /* relaxed load */
		assert(KIND(cst) == STOPPED);           /* never -EBUSY: we collected */
		atomic {                                /* CAS STOPPED(s) -> RUNNING(s+1) */
			ok = (state == cst);
			assert(ok);
			state = WORD(s + 1, RUNNING); s++; c_seq = s;
			ok = 0; cst = 0
		}
		command = s;                            /* store command */
		request_seq = s;                        /* xchg: the doorbell */
		atomic {
			f = sidecar_flags;              /* seq_cst load */
			/* Property 3 (request IPIs), where the decision is made: a post that
			 * will signal saw the sidecar inside its PARKED window. */
			if
			:: (f & PARKED) ->
#if STRONG_REQ
				assert(s_phase == S_ANNOUNCED || s_phase == S_HALTING);
#else
				assert(s_phase != S_OTHER);
#endif
			:: else
			fi
		}
		if
#ifdef OLD_LEAVE
		:: (f & GONE) ->
#else
		:: (f & LEAVING) ->
			/* while (!(sidecar_flags & GONE)) sched_yield(): GONE is never withdrawn */
			(sidecar_flags & GONE);         /* seq_cst load */
			atomic {                        /* acquire load of done_seq */
				ok = (done_seq == s);
				if
				:: ok -> c_posted = s   /* completed (served, or "cpu removed"): posted */
				:: else
				fi
			}
			if
			:: ok -> ok = 0; f = 0; goto wait
			:: else
			fi;
#endif
			atomic {                        /* CAS RUNNING(s) -> STOPPED(s) */
				if
				:: state == WORD(s, RUNNING) -> state = WORD(s, STOPPED)
				:: else
				fi;
				/* Property 4: -ENOENT from the post leaves the word STOPPED(s) and
				 * is given only for a command that was not executed. */
				assert(state == WORD(s, STOPPED));
				assert((served & (1 << s)) == 0)
			}
			c_enoent = 1;
			break                           /* -ENOENT: the client gives up */
		:: else
		fi;
		atomic {                                /* kick, or not */
			if
			:: cs && !(f & PARKED)          /* it polls, or will look before it parks */
			:: else ->
				IPI;
				req_irqs++
			fi;
			c_posted = s;
			f = 0
		}

wait:		/* ---- rt_fast_wait ---- */
		if
		:: done_seq == s -> collect(); goto next        /* fast_done */
		:: else
		fi;
		polls = 0;                              /* the poll window (FUTEX: none) */
		do
		:: cs && polls < POLLS ->
			polls++;
			if
			:: done_seq == s -> collect(); goto next
			:: else
			fi
		:: true -> break
		od;
		polls = 0;
		/* ---- sleep_until_done ---- */
		atomic {                                /* CAS RUNNING(s) -> RUNNING|WAITER(s) */
			cst = state;
			ok = (cst == WORD(s, RUNNING));
			if
			:: ok -> state = cst | WAITER; cst = 0
			:: else
			fi
		}
		if
		:: !ok ->
			assert(KIND(cst) == FINISHED && WSEQ(cst) == s % SEQMOD);
			collect(); goto next            /* FINISHED already */
		:: else
		fi;
		if
		:: cs ->
			atomic {                        /* xchg client_flags := SLEEPING */
				client_sleeping = 1;
				c_sleep_seq = s;
				c_saw_done = 0
			}
		:: else
		fi;
		timedout = 0;
		do
		::
#ifndef MUT_NO_CLIENT_RECHECK
			atomic {                        /* seq_cst re-check of done_seq */
				ok = (done_seq == s);
				c_saw_done = ok
			}
			if
			:: ok -> collect(); break
			:: else
			fi;
#endif
#if TIMEOUTS
			if
			:: timeouts < TIMEOUTS ->       /* the deadline passed */
				timeouts++;
				atomic {                /* CAS RUNNING|WAITER(s) -> RUNNING(s) */
					cst = state;
					if
					:: cst == (WORD(s, RUNNING) | WAITER) -> state = WORD(s, RUNNING)
					:: else
					fi
				}
				if
				:: KIND(cst) == FINISHED ->
					assert(WSEQ(cst) == s % SEQMOD);
					collect()
				:: else -> timedout = 1; cst = 0        /* -ETIMEDOUT */
				fi;
				break
			:: true
			fi;
#endif
			/* futex_wait(&state, RUNNING|WAITER(s)): atomic check-and-block */
			atomic {
				if
				:: state == (WORD(s, RUNNING) | WAITER) -> c_blocked = 1
				:: else
				fi
			}
			if
			:: !c_blocked
			:: atomic { c_blocked && spurious < SPURIOUS -> c_blocked = 0; spurious++ }
			fi;
			cst = state;                    /* acquire load */
			if
			:: KIND(cst) == FINISHED ->
				assert(WSEQ(cst) == s % SEQMOD);
				collect(); break
			:: else -> cst = 0
			fi
		od;
		if
		:: cs -> client_sleeping = 0            /* clear_sleeping */
		:: else
		fi;
		if
		:: timedout -> goto wait                /* the caller waits again */
		:: else
		fi;
next:
		/* rt_collect_error(vp, fast->has_error): has_error is the completion's (published
		 * by done_seq, stable until the next post); the load of sidecar_flags is acquire. */
		atomic {
#if defined(OLD_COLLECT_ERROR)
			rc = ((sidecar_flags & GONE) -> R_ENOENT : (has_error -> R_EKERNEL : R_OK));
#elif defined(OLD_COLLECT_GONE)
			rc = (!has_error -> R_OK : ((sidecar_flags & GONE) -> R_ENOENT : R_EKERNEL));
#else
			/* LEAVING is set before the "cpu removed" completion, GONE after it. */
			rc = (!has_error -> R_OK : ((sidecar_flags & LEAVING) -> R_ENOENT : R_EKERNEL));
#endif
			/* Property 4: a command that was executed returns its results (the model's
			 * commands never fail); one the leaving CPU completed without executing
			 * it ("cpu removed") fails: -ENOENT (STRONG_ENOENT), or the kernel error. */
			if
			:: (served & (1 << s)) -> assert(rc == R_OK)
			:: else ->
#if STRONG_ENOENT
				assert(rc == R_ENOENT)
#else
				assert(rc != R_OK)
#endif
			fi;
			rc = 0
		}
		c_trips++
	od
}

/* ============================================================================================
 * rt_fast_cancel, from another thread.
 */
/* (int32_t)(a - b) > 0: a is newer than b in wrapping order (of the model's 8 bits). */
#define NEWER(a, b) ((((a) - (b) + 256) % 256) > 0 && (((a) - (b) + 256) % 256) < 128)

proctype Canceller(bit targeted)
{
	byte cst, rs, tgt, old, saw;

	if
	:: targeted && cancel_target != 0 ->
#if CANCEL_ON_STATE
		/* "called while the word says RUNNING(t)"; a guest that exits at once may
		 * close that window first: then the cancel is never called (a valid end) */
end_never_called:
		(KIND(state) == RUNNING && WSEQ(state) == cancel_target % SEQMOD)
#else
		/* "called after the post of t returned" (0: a post answered -ENOENT does
		 * not count; then the cancel is never called, a valid end) */
end_not_posted:
		(c_posted >= cancel_target)
#endif
	:: else
	fi;
	atomic {
		cst = state;                            /* acquire load */
		saw = c_seq                             /* ghost: the command RUNNING(s) names */
	}
	if
	:: KIND(cst) != RUNNING -> goto out
	:: else
	fi;
	atomic {
		rs = request_seq;                       /* acquire load */
		if
		:: rs % SEQMOD == WSEQ(cst) -> tgt = rs
#ifndef OLD_CANCEL_NO_PLUS_ONE
		:: rs % SEQMOD != WSEQ(cst) && (rs + 1) % SEQMOD == WSEQ(cst) ->
			tgt = rs + 1                   /* the post of tgt has not rung yet */
#endif
		:: else -> goto out                     /* the word moved on */
		fi;
		/* Property 2: the cancel aims at the very command it saw RUNNING. */
		assert(tgt == saw);
		cancel_meant = cancel_meant | (1 << tgt);
		cst = 0; rs = 0; saw = 0
	}
#ifdef OLD_CANCEL_STORE
	atomic { stop_seq = tgt; tgt = 0 }              /* release store */
#else
	old = stop_seq;                                 /* relaxed load */
	do                                              /* forward only: CAS while newer */
	:: atomic {
		if
		:: !NEWER(tgt, old) -> old = 0; tgt = 0; break
		:: else ->
			if                              /* CAS stop_seq old -> tgt; failure: */
			:: stop_seq == old -> stop_seq = tgt; old = 0; tgt = 0; break
			:: else -> old = stop_seq       /* old = the value found */
			fi
		fi
	   }
	od;
#endif
	IPI;                                            /* vp_kick -> sim_cpu_ipi */
out:
	skip;
	d_step { cst = 0; rs = 0; tgt = 0; old = 0; saw = 0 }
}

#if ASYNC_HOOK
/* The CPU that takes the response interrupts and runs the hook. */
proctype HookCPU()
{
	byte hd, hst;
	bit hok;

end_idle:
	do
	:: atomic { resp_pending -> resp_pending = 0 }
	   hook(ANY)
	od
}
#endif

/* request_remove: CAS IDLE -> REMOVE, then the IPI. */
proctype Remover()
{
	status_remove = 1;
	IPI
}

init
{
	atomic {
#if CANCEL
		/* Which command the canceller means to stop (0: none in particular, it races).
		 * Only that command's guest may spin until stopped. */
		cancel_target = 0;
		do
		:: cancel_target < N -> cancel_target++
		:: break
		od;
#endif
		run Sidecar();
#if ASYNC_HOOK
		run HookCPU();
#endif
		run Client();
#if CANCEL
		run Canceller(1);
#if CANCELLERS > 1
		run Canceller(0);
#endif
#endif
#if REMOVE
		run Remover();
#endif
	}
}
