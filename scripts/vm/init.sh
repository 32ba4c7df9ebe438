#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the test VM (scripts/vm-test.sh): busybox sh as PID 1. Mounts what the kernel
# does not (proc, sysfs, devtmpfs), then runs /plan.sh, which the host script wrote as calls
# of the functions below, prints one result line per step and the summary
# "vm-test: N passed, M failed", and powers off through isa-debug-exit.
#
#   phase PARAMS...    insmod the module with PARAMS (a step)
#   t NAME [ARGS...]   run suite program /tests/NAME (a step; exit 77 counts as a failure:
#                      the plan runs each program where it applies)
#   x PATH [ARGS...]   run an extra program (--run; exit 77 is a skip, counted apart)
#   endphase           rmmod the module (a step: it must leave no allocation behind)
#
# Every step also fails when the kernel logged a warning meanwhile (oops, WARN, BUG, a
# lockup or a stall); the log of each step is printed with a "kernel: " prefix.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/tests
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp

STEP_TIMEOUT=${STEP_TIMEOUT:-300}
pass=0
fail=0
skip=0
loaded=

say() { echo "vm-test: $*"; }

# Prints the kernel messages since the last call; false when one of them is a warning.
kcheck() {
	dmesg -c >/tmp/kmsg 2>/dev/null
	[ -s /tmp/kmsg ] && sed 's/^/kernel: /' /tmp/kmsg
	! grep -qE 'WARNING:|BUG:|Oops|general protection|Call Trace|soft lockup|hard LOCKUP|rcu.*stall|RCU.*stall|hung_task|blocked for more than|UBSAN|KASAN|list_(add|del) corruption|refcount_t:|kernel BUG|double fault' /tmp/kmsg
}

# step NAME RC: one result.
step() {
	name=$1
	rc=$2
	warned=
	kcheck || warned=1
	if [ -n "$warned" ]; then
		fail=$((fail + 1))
		say "FAIL $name (kernel warning)"
	elif [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		say "PASS $name"
	else
		fail=$((fail + 1))
		say "FAIL $name (exit $rc)"
	fi
}

phase() {
	kcheck >/dev/null
	say "== insmod mshv_vtl_sidecar $*"
	if insmod /mshv_vtl_sidecar.ko "$@"; then
		loaded=1
		step "insmod $*" 0
	else
		loaded=
		step "insmod $*" 1
	fi
}

t() {
	name=$1
	shift
	if [ -z "$loaded" ]; then
		fail=$((fail + 1))
		say "FAIL $name (module not loaded)"
		return
	fi
	say "-- $name $*"
	timeout -s KILL "$STEP_TIMEOUT" "/tests/$name" "$@" >/tmp/out 2>&1
	rc=$?
	sed 's/^/  /' /tmp/out
	step "$name" "$rc"
}

x() {
	prog=$1
	say "-- $* (extra)"
	timeout -s KILL "$STEP_TIMEOUT" "$@" >/tmp/out 2>&1
	rc=$?
	sed 's/^/  /' /tmp/out
	if [ "$rc" -eq 77 ] && kcheck; then
		skip=$((skip + 1))
		say "SKIP $prog"
		return
	fi
	step "$prog" "$rc"
}

endphase() {
	[ -n "$loaded" ] || return
	loaded=
	if rmmod mshv_vtl_sidecar; then
		rc=0
		dmesg >/tmp/unload 2>/dev/null
		if ! grep -q 'unloaded: 0 core allocations outstanding' /tmp/unload; then
			say "the module left allocations behind"
			rc=1
		fi
	else
		rc=1
	fi
	step "rmmod" "$rc"
}

say "booted: $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus"
kcheck >/dev/null
. /plan.sh
say "$skip skipped"
say "$pass passed, $fail failed"
sync
vm-exit $((fail > 0 ? 1 : 0))
poweroff -f
