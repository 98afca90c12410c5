#!/bin/sh
# Packs what the GPU machine needs, which has no .NET: a framework-dependent publish of the benchmark project and the
# .NET runtime it runs on (dotnet, host/, shared/Microsoft.NETCore.App/<version>/), as one xz archive in .gpu-bench/
# (ignored by git; carry it). Run from anywhere in the repository; run-on-gpu.sh unpacks and runs it there.
set -eu
root=$(git rev-parse --show-toplevel)
out="$root/.gpu-bench"
rm -rf "$out"
mkdir -p "$out/stage"
dotnet publish "$root/tests/NetDsl.Benchmarks" -c Release --self-contained false -o "$out/stage/app" >/dev/null
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
runtime=$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" { version = $2 } END { print version }')
mkdir -p "$out/stage/dotnet/shared/Microsoft.NETCore.App"
cp "$dotnet_root/dotnet" "$out/stage/dotnet/"
cp -r "$dotnet_root/host" "$out/stage/dotnet/"
cp -r "$dotnet_root/shared/Microsoft.NETCore.App/$runtime" "$out/stage/dotnet/shared/Microsoft.NETCore.App/"
tar -C "$out/stage" -cf - app dotnet | xz -T0 -6 > "$out/bench.tar.xz"
rm -rf "$out/stage"
echo "$out/bench.tar.xz: $(du -h "$out/bench.tar.xz" | cut -f1) (.NET $runtime)"
