#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/vm-test.sh [--run PROGRAM [ARGS...]]...
#
# The kernel module in a VM: builds driver/linux's mshv_vtl_sidecar.ko against Debian 12's
# cloud kernel (sparse-checked, no warning allowed), builds the device test programs
# (tests/device/, static, linked against a libsidecar.a built without the simulator) and
# sidecar-latency, packs them with busybox into an initramfs and boots qemu-system-x86_64
# -smp 4 under TCG (KVM only where the CPU shows vmx/svm and a smoke boot works). Inside,
# /init (scripts/vm/init.sh) loads the module with several layouts and guests, runs the
# suite on target "device" (each program where it applies), the kill -9 and bad-input tests,
# a sidecar-latency smoke run, and rmmod; then every --run PROGRAM (copied in with the shared
# libraries it needs, run after the suite with the module loaded as cpus=1-3, each counted;
# exit 77 is a skip); any oops/WARN/BUG fails the step.
#
# Ends with "N passed, M failed"; exits 0 only when M is 0, and 77 only when qemu or the
# kernel packages cannot be installed. Work folder: $SIDECAR_VM_WORK (default build-vm/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${SIDECAR_VM_WORK:-$ROOT/build-vm}
BOOT_TIMEOUT=${SIDECAR_VM_TIMEOUT:-900}
START=$(date +%s)

# ---- arguments: --run PROGRAM [ARGS...], repeatable -----------------------------------------
extra_prog=() # per --run: the program
extra_args=() # per --run: its arguments, shell-quoted
while [ $# -gt 0 ]; do
	case $1 in
	--run)
		shift
		[ $# -gt 0 ] || { echo "vm-test.sh: --run needs a program" >&2; exit 2; }
		[ -f "$1" ] || { echo "vm-test.sh: --run $1: no such file" >&2; exit 2; }
		extra_prog+=("$1")
		shift
		args=
		while [ $# -gt 0 ] && [ "$1" != --run ]; do
			args+=" $(printf '%q' "$1")"
			shift
		done
		extra_args+=("$args")
		;;
	-h | --help)
		awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0"
		exit 0
		;;
	*)
		echo "vm-test.sh: unknown argument '$1' (usage: vm-test.sh [--run PROGRAM [ARGS...]]...)" >&2
		exit 2
		;;
	esac
done

log() { echo "vm-test.sh: $*"; }

# ---- packages ---------------------------------------------------------------------------------
need=()
for p in linux-image-cloud-amd64 linux-headers-cloud-amd64 qemu-system-x86 busybox-static cpio sparse \
	build-essential cmake pkg-config libcjson-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
	log "installing ${need[*]}"
	if ! { "${sudo[@]}" apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
			"${need[@]}" >/dev/null; }; then
		log "cannot install ${need[*]}: skipped"
		exit 77
	fi
fi

# The newest cloud kernel that has its image and its headers.
KVER=
for d in $(ls -d /lib/modules/*-cloud-amd64 2>/dev/null | sort -V -r); do
	v=$(basename "$d")
	if [ -f "/boot/vmlinuz-$v" ] && [ -e "$d/build/Makefile" ]; then
		KVER=$v
		break
	fi
done
if [ -z "$KVER" ]; then
	log "no cloud kernel with its headers in /boot and /lib/modules: skipped"
	exit 77
fi
log "kernel $KVER"

mkdir -p "$WORK"
# Debian's kernel images are root's (0600): qemu needs a readable copy otherwise.
KERNEL="/boot/vmlinuz-$KVER"
if [ ! -r "$KERNEL" ]; then
	sudo -n cat "$KERNEL" >"$WORK/vmlinuz" 2>/dev/null || { log "cannot read $KERNEL: skipped"; exit 77; }
	KERNEL="$WORK/vmlinuz"
fi
JOBS=$(($(nproc) < 2 ? $(nproc) : 2))

# ---- the module: sparse-checked, no warning -----------------------------------------------------
log "building the module (make C=1 W=1)"
rm -rf "$WORK/module"
if ! make -s -C driver/linux KVER="$KVER" BUILD="$WORK/module" C=1 W=1 >"$WORK/module.log" 2>&1; then
	cat "$WORK/module.log"
	log "the module does not build"
	exit 1
fi
if grep -E 'warning:|error:|: (error|warning)' "$WORK/module.log"; then
	log "the module builds with warnings (compiler or sparse)"
	exit 1
fi

# ---- user space: libsidecar.a without the simulator, sidecar-latency, the device tests ---------
log "building libsidecar.a and sidecar-latency (SIDECAR_SIM=OFF)"
cmake -S . -B "$WORK/user" -DSIDECAR_SIM=OFF -DSIDECAR_BUILD_TESTS=OFF -DBUILD_TESTING=OFF \
	-DSIDECAR_WERROR=ON -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log"; exit 1; }
cmake --build "$WORK/user" -j"$JOBS" --target sidecar_static sidecar-latency >>"$WORK/cmake.log" 2>&1 ||
	{ cat "$WORK/cmake.log"; exit 1; }
LIB="$WORK/user/lib/libsidecar.a"
if nm "$LIB" | grep -qw dlopen; then
	log "libsidecar.a refers to dlopen: not the SIDECAR_SIM=OFF library"
	exit 1
fi

ROOTFS="$WORK/rootfs"
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"/{bin,sbin,tests,extra,lib,lib64,proc,sys,dev,tmp}
log "building the device tests"
CFLAGS=(-std=gnu17 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -static -pthread
	-I"$ROOT/runtime/include" -I"$ROOT/abi/include" -I"$ROOT/tests/device"
	-I"$ROOT/runtime" -I"$ROOT/runtime/transport")
tests=()
for src in tests/device/dev_*.c; do
	name=$(basename "$src" .c)
	gcc "${CFLAGS[@]}" -o "$ROOTFS/tests/$name" "$src" "$LIB" || { log "$src does not build"; exit 1; }
	tests+=("$name")
done
gcc -O2 -Wall -Wextra -Werror -static -o "$ROOTFS/bin/vm-exit" scripts/vm/vm-exit.c

# Copies a program and, when it is dynamic, the shared libraries it needs, into the rootfs.
copy_program() {
	local src=$1 dst=$2 lib
	cp "$src" "$ROOTFS/$dst"
	chmod +x "$ROOTFS/$dst"
	if ldd "$src" >/dev/null 2>&1; then
		for lib in $(ldd "$src" | grep -oE '/[^ ]+'); do
			mkdir -p "$ROOTFS/$(dirname "$lib")"
			cp -L "$lib" "$ROOTFS/$lib"
		done
	fi
}
# sidecar-latency links libsidecar.a, but libcjson exists only as a shared library here:
# the program goes in with its libraries.
copy_program "$WORK/user/bench/sidecar-latency" tests/sidecar-latency

# ---- the initramfs ---------------------------------------------------------------------------------
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
(cd "$ROOTFS/bin" && for a in $(./busybox --list); do [ -e "$a" ] || ln -s busybox "$a"; done)
cp "$WORK/module/mshv_vtl_sidecar.ko" "$ROOTFS/"
install -m 0755 scripts/vm/init.sh "$ROOTFS/init"

plan="$ROOTFS/plan.sh"
{
	echo "# Written by scripts/vm-test.sh: the steps of this run."
	echo "phase cpus=1-3 guest=io"
	for t in dev_abi_info dev_abi_errors dev_abi_reports dev_seed_calls dev_registers dev_translate \
		dev_intercepts dev_release dev_fuzz dev_roundtrip dev_fast_abi dev_fast_calls dev_fast_counts; do
		echo "t $t"
	done
	# The default VP of sidecar-latency is 0, the base CPU (Linux's): drive CPU 1.
	echo "t sidecar-latency --target device --quick --vp 1"
	echo "endphase"
	echo "phase cpus=1-3 guest=spin"
	echo "t dev_cancel"
	echo "t dev_release"
	echo "t dev_kill"
	echo "t dev_fast_cancel"
	echo "t dev_fast_kill"
	echo "t dev_long_spin 12"
	echo "endphase"
	echo "phase cpus=1-3 guest=halt"
	echo "t dev_intercepts"
	echo "t dev_fast_calls"
	echo "endphase"
	# The fast path under load: guest work so that cancels land inside runs, all four modes
	# on the three sidecar CPUs, then random delays on both sides.
	echo "phase cpus=1-3 guest=io work_ns=20000"
	echo "t dev_fast_calls"
	echo "t dev_fast_stress --seconds 10"
	echo "t dev_fast_stress --seconds 5 --events"
	echo "t dev_fast_delays"
	echo "endphase"
	# Without the extension the device is upstream's: the client falls back to SEED.
	echo "phase cpus=1-3 fast=0"
	echo "t dev_seed_calls"
	echo "t dev_abi_errors"
	echo "endphase"
	echo "phase nodes=0-1,2-3 cpus=3"
	echo "t dev_abi_info"
	echo "t dev_layout"
	echo "t dev_fast_calls"
	echo "endphase"
	echo "phase nodes=0-3 cpus=2-3 guest=io work_ns=20000"
	echo "t dev_layout"
	echo "t dev_seed_calls"
	echo "t dev_hotplug"
	echo "endphase"
	# After the suite: the --run programs, with the module loaded as by default.
	if [ ${#extra_prog[@]} -gt 0 ]; then
		echo "phase cpus=1-3"
		for i in "${!extra_prog[@]}"; do
			prog=extra/$i/$(basename "${extra_prog[$i]}")
			mkdir -p "$ROOTFS/extra/$i"
			copy_program "${extra_prog[$i]}" "$prog"
			echo "x /$prog${extra_args[$i]}"
		done
		echo "endphase"
	fi
} >"$plan"
# Debugging aid: SIDECAR_VM_PLAN=FILE runs FILE's steps instead (same functions).
[ -z "${SIDECAR_VM_PLAN:-}" ] || cp "$SIDECAR_VM_PLAN" "$plan"
for t in $(grep -oE '^t [a-z_-]+' "$plan" | cut -d' ' -f2 | sort -u); do
	[ -x "$ROOTFS/tests/$t" ] || { log "the plan runs $t, which was not built"; exit 1; }
done

INITRD="$WORK/initrd.gz"
(cd "$ROOTFS" && find . | cpio -o -H newc --owner=0:0 --quiet | gzip -1 >"$INITRD")

# ---- qemu ------------------------------------------------------------------------------------------
# Short lockup and stall thresholds (8 s, 6 s), below dev_long_spin's 12 s of spinning
# guests: a sidecar CPU that kept the scheduler or RCU out would be reported.
APPEND="console=ttyS0 quiet tsc=reliable oops=panic panic=-1 watchdog_thresh=4 rcupdate.rcu_cpu_stall_timeout=6"
QEMU=(qemu-system-x86_64 -m 1024M -smp 4 -kernel "$KERNEL" -nographic -no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -nic none)
ACCEL=(-accel tcg -cpu max)
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
	# KVM only when a stock kernel really boots under it (nested software virtualization
	# may show the flags and still fail): a smoke boot that powers off at once.
	smoke="$WORK/smoke"
	rm -rf "$smoke"
	mkdir -p "$smoke/bin"
	cp "$ROOTFS/bin/busybox" "$ROOTFS/bin/vm-exit" "$smoke/bin/"
	ln -s busybox "$smoke/bin/sh"
	printf '#!/bin/sh\necho smoke-ok\n/bin/vm-exit 0\n' >"$smoke/init"
	chmod +x "$smoke/init"
	(cd "$smoke" && find . | cpio -o -H newc --owner=0:0 --quiet | gzip -1 >"$WORK/smoke.gz")
	if timeout -s KILL 120 "${QEMU[@]}" -accel kvm -cpu host -initrd "$WORK/smoke.gz" -append "$APPEND" \
		</dev/null 2>&1 | grep -q smoke-ok; then
		ACCEL=(-accel kvm -cpu host)
	fi
fi
log "booting qemu (${ACCEL[*]}), at most ${BOOT_TIMEOUT}s"
set +e
timeout -s KILL "$BOOT_TIMEOUT" "${QEMU[@]}" "${ACCEL[@]}" -initrd "$INITRD" -append "$APPEND" </dev/null \
	2>&1 | tee "$WORK/console.log" | tr -d '\r' | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g'
qrc=${PIPESTATUS[0]}
set -e

# ---- the verdict -------------------------------------------------------------------------------------
summary=$(tr -d '\r' <"$WORK/console.log" | grep -E '^vm-test: [0-9]+ passed, [0-9]+ failed$' | tail -1 || true)
if [ -z "$summary" ]; then
	log "no result from the VM (qemu exit $qrc: a panic, a hang or a crash); console in $WORK/console.log"
	passed=0
	failed=1
else
	passed=$(echo "$summary" | sed -E 's/^vm-test: ([0-9]+) passed.*/\1/')
	failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')
fi
# A kernel message on the console the steps did not catch (one printed after the last step).
if tr -d '\r' <"$WORK/console.log" | grep -vE '^(kernel: |vm-test: |  )' |
	grep -qE '(WARNING:|BUG:|Oops|general protection|Kernel panic|soft lockup|rcu.*stall)'; then
	log "the kernel console shows a warning, a BUG or a panic"
	failed=$((failed + 1))
fi
log "wall time $(($(date +%s) - START)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
