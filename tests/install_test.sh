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
"$cc" "$src/tests/downstream/downstream.c" $(pkg-config --cflags sidecar) "$libdir/libsidecar.a" $(pkg-config --libs-only-other --static sidecar) -o "$build/downstream-static"
"$build/downstream-static"

# Only the public API is exported from the shared library.
if nm -D --defined-only "$libdir/libsidecar.so" | awk '{print $3}' | grep -v -E '^(sidecar_client_|sidecar_vp_|sidecar_message_|sidecar_translate_|sidecar_strerror|sidecar_wait_mode_name|SIDECAR_)' | grep -q .; then
	echo "unexpected exported symbols:"; nm -D --defined-only "$libdir/libsidecar.so" | awk '{print $3}' | grep -v -E '^(sidecar_client_|sidecar_vp_|sidecar_message_|sidecar_translate_|sidecar_strerror|sidecar_wait_mode_name|SIDECAR_)'
	exit 1
fi

cmake -S "$src/tests/downstream" -B "$build/downstream-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$build/downstream-build" >/dev/null
LD_LIBRARY_PATH=$libdir "$build/downstream-build/downstream_shared"
"$build/downstream-build/downstream_static"
echo "install_test: ok"
