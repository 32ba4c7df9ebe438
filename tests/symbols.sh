#!/bin/sh
# The production library exports the public API and nothing else: every defined global
# symbol of libsidecar.a and libsidecar.so matches a pattern of runtime/libsidecar.syms, and
# libsidecar-sim.so (when given) exports only its provider symbol.
#   symbols.sh <libsidecar.syms> <libsidecar.a> <libsidecar.so> [libsidecar-sim.so]
set -eu
syms=$1 a=$2 so=$3 sim=${4:-}
pattern=$(sed -e 's/\*/.*/g' -e 's/^/^/' -e 's/$/$/' "$syms" | paste -sd'|' -)
fail=0
check() { # <what> <symbol list>
	bad=$(printf '%s\n' "$2" | grep -v -E "$pattern" | grep -v '^$' || true)
	if [ -n "$bad" ]; then
		echo "$1 defines non-public global symbols:"; printf '  %s\n' $bad; fail=1
	fi
	n=$(printf '%s\n' "$2" | grep -c -E "$pattern" || true)
	echo "$1: $n public symbols, nothing else"
}
check "$a" "$(nm -g --defined-only "$a" | awk 'NF == 3 {print $3}' | sort -u)"
check "$so" "$(nm -D --defined-only "$so" | awk 'NF == 3 && $3 != "SIDECAR_0.1" {sub(/@.*/, "", $3); print $3}' | sort -u)"
# The static library carries no simulator: no KVM, no signal handler, no threads of its own.
for s in sidecar_sim_create sidecar_backend_kvm_ops sigaction; do
	if nm "$a" | awk '{print $NF}' | grep -q -x "$s"; then
		echo "$a contains $s (simulator code)"; fail=1
	fi
done
if [ -n "$sim" ]; then
	extra=$(nm -D --defined-only "$sim" | awk 'NF == 3 {sub(/@.*/, "", $3); print $3}' | grep -v -x -E 'sidecar_sim_provider|SIDECAR_SIM_1' || true)
	if [ -n "$extra" ]; then
		echo "$sim exports more than its provider:"; printf '  %s\n' $extra; fail=1
	fi
	echo "$sim: exports sidecar_sim_provider only"
fi
exit $fail
