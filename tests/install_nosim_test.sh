#!/usr/bin/env bash
# Builds and installs libsidecar without the simulator (-DSIDECAR_SIM=OFF) into a scratch
# prefix: the library installs alone (no libsidecar-sim), exports only the public API, and a
# program that asks for a `sim` target gets -ENOTSUP with a sentence saying why.
#   install_nosim_test.sh <scratch dir> <source dir> <C compiler>
set -euo pipefail
work=$1 src=$2 cc=$3
rm -rf "$work"
cmake -S "$src" -B "$work/build" -DSIDECAR_SIM=OFF -DSIDECAR_BUILD_BENCH=OFF -DBUILD_TESTING=OFF \
	-DCMAKE_C_COMPILER="$cc" -DSIDECAR_WERROR=ON >/dev/null
cmake --build "$work/build" -j2 >/dev/null
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null
libdir=$(ls -d "$work"/prefix/lib*/ | head -n 1)
test -f "$libdir/libsidecar.a" && test -f "$libdir/libsidecar.so"
if ls "$libdir" | grep -q sidecar-sim; then
	echo "libsidecar-sim installed by a SIDECAR_SIM=OFF build"; exit 1
fi
sh "$src/tests/symbols.sh" "$src/runtime/libsidecar.syms" "$libdir/libsidecar.a" "$libdir/libsidecar.so"
if nm "$libdir/libsidecar.a" | grep -q -w dlopen; then
	echo "a SIDECAR_SIM=OFF libsidecar.a still loads modules"; exit 1
fi
cat >"$work/nosim.c" <<'C'
#include <sidecar/client.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	struct sidecar_client *c;
	char err[256];
	int rc = sidecar_client_open_err("sim", &c, err, sizeof(err));
	printf("open sim: %s: %s\n", sidecar_strerror(rc), err);
	return rc == -ENOTSUP && strstr(err, "without the simulator") ? 0 : 1;
}
C
"$cc" "$work/nosim.c" -I"$work/prefix/include" "$libdir/libsidecar.a" -pthread -o "$work/nosim"
"$work/nosim"
echo "install without the simulator: ok"
