#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then builds and runs a downstream program
# against it three ways: pkg-config (shared), pkg-config --static, and find_package.
#   install_test.sh <build dir> <source dir> <C compiler>
set -euo pipefail
build=$1 src=$2 cc=$3
prefix=$build/install-test
rm -rf "$prefix" "$build/downstream-build"
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig
libdir=$(pkg-config --variable=libdir sidecar)
test -f "$prefix/include/sidecar/client.h" && test -f "$prefix/include/sidecar/defs.h" && test -f "$prefix/include/sidecar/uapi.h"
test -x "$prefix/bin/sidecar-latency" || echo "note: sidecar-latency not installed (benchmarks off)"

"$cc" "$src/tests/downstream/downstream.c" $(pkg-config --cflags --libs sidecar) -o "$build/downstream-pc"
LD_LIBRARY_PATH=$libdir "$build/downstream-pc"
"$cc" "$src/tests/downstream/downstream.c" $(pkg-config --cflags sidecar) "$libdir/libsidecar.a" $(pkg-config --libs-only-other --libs-only-l --static sidecar | sed 's/-lsidecar//') -o "$build/downstream-static"
# A static program finds the simulator module through the loader's search path or
# $SIDECAR_SIM_MODULE (the scratch prefix is in neither by default).
SIDECAR_SIM_MODULE=$libdir/libsidecar-sim.so.0 "$build/downstream-static"
LD_LIBRARY_PATH=$libdir "$build/downstream-static"
# The shared library finds the module beside itself, with no help.
"$cc" "$src/tests/downstream/downstream.c" $(pkg-config --cflags sidecar) -L"$libdir" -Wl,-rpath,"$libdir" -lsidecar -o "$build/downstream-rpath"
"$build/downstream-rpath"

# Only the public API is exported, from the shared and the static library alike.
sh "$src/tests/symbols.sh" "$src/runtime/libsidecar.syms" "$libdir/libsidecar.a" "$libdir/libsidecar.so" "$libdir/libsidecar-sim.so.0"

cmake -S "$src/tests/downstream" -B "$build/downstream-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$build/downstream-build" >/dev/null
LD_LIBRARY_PATH=$libdir "$build/downstream-build/downstream_shared"
LD_LIBRARY_PATH=$libdir "$build/downstream-build/downstream_static"
echo "install_test: ok"
