#!/usr/bin/env bash
# Builds what scripts/many-core.sh runs and bundles it for a machine that has neither the
# build's packages nor a network (a lent many-core machine): DIR/bench/ (sidecar-latency,
# sidecar-bench), DIR/lib/ (the simulator module libsidecar-sim.so.0), DIR/deplibs/ (the
# shared libraries those need beyond glibc and the C++ runtime, copied from this machine) and
# DIR/bin/gnuplot, a stand-in used only where no gnuplot is installed: it saves each plot's
# gnuplot script beside the PNG it would have drawn (FILE.gp), to be drawn here later
# (`gnuplot FILE.gp` after fixing its `set output` line).
#   scripts/many-core-bundle.sh [DIR]          (default: bundle-many-core)
#   then, there: scripts/many-core.sh --prebuilt DIR [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-bundle-many-core}
case "$dir" in /*) ;; *) dir=$root/$dir ;; esac
build=$root/build-bundle

"$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DSIDECAR_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target sidecar-latency sidecar-bench sidecar_sim >/dev/null
rm -rf "$dir"
mkdir -p "$dir/bench" "$dir/lib" "$dir/deplibs" "$dir/bin"
cp "$build/bench/sidecar-latency" "$build/bench/sidecar-bench" "$dir/bench/"
cp -L "$build/lib/libsidecar-sim.so.0" "$dir/lib/"
# Everything the three need, but glibc's own libraries and the C++ runtime, which any Linux
# machine has in a version at least as new (the bundle must not shadow them there).
for f in "$dir/bench/sidecar-latency" "$dir/bench/sidecar-bench" "$dir/lib/libsidecar-sim.so.0"; do
	ldd "$f" | awk '$3 ~ /^\// {print $3}'
done | sort -u | while read -r lib; do
	case "$(basename "$lib")" in
	libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | libstdc++.so* | libgcc_s.so*) ;;
	*) cp -L "$lib" "$dir/deplibs/" ;;
	esac
done
cat >"$dir/bin/gnuplot" <<'SH'
#!/bin/sh
# A stand-in for gnuplot (scripts/many-core-bundle.sh): saves the script it is given beside
# the PNG its `set output` names, as FILE.gp, and draws nothing.
tmp=$(mktemp) || exit 1
cat >"$tmp"
png=$(sed -n 's/^set output "\(.*\)"$/\1/p' "$tmp" | head -n 1)
[ -n "$png" ] && cp "$tmp" "${png%.png}.gp"
rm -f "$tmp"
exit 0
SH
chmod +x "$dir/bin/gnuplot"
echo "bundle: $dir ($(du -sh "$dir" | cut -f1)): $(ls "$dir/deplibs" | tr '\n' ' ')"
