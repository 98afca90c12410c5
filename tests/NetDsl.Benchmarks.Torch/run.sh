#!/bin/sh
# NetDsl's `quick` figures and libtorch's for the same workloads in one run, then each NetDsl figure's ratio.
#
# libtorch 2.10's TorchSharp binding (libLibTorchSharp.so) needs GLIBCXX_3.4.32 (gcc 13's C++ runtime); Debian 12 has
# gcc 12's, and Debian 13's C++ runtime needs its own C library. So this script runs libtorch under a private copy of
# the dotnet host whose ELF interpreter and library path point at Debian 13's libc6, libstdc++6 and libgcc-s1, unpacked
# (never installed) under $NETDSL_TORCH_RUNTIME (default /tmp/netdsl-torch-runtime). NetDsl itself runs as usual.
# Needs apt access to Debian's archive and patchelf (installed from Debian's packages when missing).
set -eu
root=$(git rev-parse --show-toplevel)
runtime=${NETDSL_TORCH_RUNTIME:-/tmp/netdsl-torch-runtime}
if [ ! -x "$runtime/dotnet/dotnet" ]; then
    command -v patchelf >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q patchelf >/dev/null; }
    mkdir -p "$runtime/sources" "$runtime/lists/partial" "$runtime/debs" "$runtime/root" "$runtime/dotnet"
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        > "$runtime/sources/trixie.sources"
    apt="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$runtime/sources -o Dir::State::Lists=$runtime/lists"
    apt-get $apt update -q >/dev/null
    (cd "$runtime/debs" && apt-get $apt download libc6 libstdc++6 libgcc-s1 >/dev/null 2>&1)
    for deb in "$runtime"/debs/*.deb; do dpkg -x "$deb" "$runtime/root"; done
    dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    cp "$dotnet_root/dotnet" "$runtime/dotnet/"
    ln -sfn "$dotnet_root/host" "$runtime/dotnet/host"
    ln -sfn "$dotnet_root/shared" "$runtime/dotnet/shared"
    patchelf --set-interpreter "$runtime/root/usr/lib64/ld-linux-x86-64.so.2" \
        --set-rpath "$runtime/root/usr/lib/x86_64-linux-gnu" "$runtime/dotnet/dotnet"
fi
dotnet build -c Release "$root/tests/NetDsl.Benchmarks" >/dev/null
dotnet build -c Release "$root/tests/NetDsl.Benchmarks.Torch" >/dev/null
# The build servers keep working for a while after a build and take the second core from whichever side runs first.
dotnet build-server shutdown >/dev/null 2>&1 || true
sleep 5
figures=$(mktemp)
cd "$root"
# A shared machine's speed drifts by tens of percent within minutes: both sides run in turn, $NETDSL_COMPARE_ROUNDS
# times (default 3), and each figure counts by its median.
rounds=${NETDSL_COMPARE_ROUNDS:-3}
for round in $(seq "$rounds"); do
    dotnet run -c Release --no-build --project tests/NetDsl.Benchmarks -- quick | tee -a "$figures"
    DOTNET_ROOT="$runtime/dotnet" "$runtime/dotnet/dotnet" \
        "$root/tests/NetDsl.Benchmarks.Torch/bin/Release/net10.0/linux-x64/NetDsl.Benchmarks.Torch.dll" | tee -a "$figures"
done
python3 "$root/tests/NetDsl.Benchmarks/compare.py" < "$figures"
rm -f "$figures"
# Then both sides in one process, in alternating quarter-second bursts ($NETDSL_COMPARE_PAIRS pairs, default 20): each
# pair's ratio is taken within half a second, so the VM's spells move both of its sides alike.
DOTNET_ROOT="$runtime/dotnet" "$runtime/dotnet/dotnet" \
    "$root/tests/NetDsl.Benchmarks.Torch/bin/Release/net10.0/linux-x64/NetDsl.Benchmarks.Torch.dll" interleaved "${NETDSL_COMPARE_PAIRS:-20}"
