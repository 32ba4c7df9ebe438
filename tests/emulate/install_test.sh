#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then builds and runs a program against
# libsidecar-emulate three ways: pkg-config (shared), static archives, and find_package.
# Also: the shared library exports sidecar_emulate_* only, and libsidecar itself needs no Zydis.
#   install_test.sh <build dir> <source dir> <C compiler>
set -euo pipefail
build=$1 src=$2 cc=$3
prefix=$build/install-test-emulate
rm -rf "$prefix" "$build/emulate-downstream-build"
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig
libdir=$(pkg-config --variable=libdir sidecar-emulate)
test -f "$prefix/include/sidecar/emulate.h"
prog=$src/tests/emulate/downstream/emulate_downstream.c

"$cc" "$prog" $(pkg-config --cflags --libs sidecar-emulate) -o "$build/emulate-downstream-pc"
LD_LIBRARY_PATH=$libdir "$build/emulate-downstream-pc"
"$cc" "$prog" $(pkg-config --cflags sidecar-emulate) "$libdir/libsidecar-emulate.a" "$libdir/libsidecar.a" \
	$(pkg-config --libs-only-other --static sidecar-emulate) $(pkg-config --static --libs-only-l sidecar-emulate |
	tr ' ' '\n' | grep -v -E '^-lsidecar' | tr '\n' ' ') -o "$build/emulate-downstream-static"
SIDECAR_SIM_MODULE=$libdir/libsidecar-sim.so.0 "$build/emulate-downstream-static"

# Only the API is exported; the production library does not depend on Zydis.
if nm -D --defined-only "$libdir/libsidecar-emulate.so" | awk '{print $3}' | grep -v -E '^(sidecar_emulate_|SIDECAR_)' | grep -q .; then
	echo "unexpected exported symbols:"; nm -D --defined-only "$libdir/libsidecar-emulate.so" | awk '{print $3}'
	exit 1
fi
if readelf -d "$libdir/libsidecar.so" | grep -qi zydis; then
	echo "libsidecar.so depends on Zydis"; exit 1
fi

cmake -S "$src/tests/emulate/downstream" -B "$build/emulate-downstream-build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$build/emulate-downstream-build" >/dev/null
LD_LIBRARY_PATH=$libdir "$build/emulate-downstream-build/emulate_downstream_shared"
LD_LIBRARY_PATH=$libdir "$build/emulate-downstream-build/emulate_downstream_static"
echo "install_test (emulate): ok"
