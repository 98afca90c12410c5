#!/bin/sh
# On the GPU machine, from the repository root with .gpu-bench/ carried (see package.sh): unpacks the benchmark and the
# .NET runtime, prints NetDsl's `gpu` figures, then PyTorch's for the same networks, then each NetDsl figure's ratio.
set -eu
work=$(mktemp -d)
xz -dc .gpu-bench/bench.tar.xz | tar -C "$work" -xf -
export DOTNET_ROOT="$work/dotnet" DOTNET_CLI_TELEMETRY_OPTOUT=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
{
    "$work/dotnet/dotnet" "$work/app/NetDsl.Benchmarks.dll" gpu
    PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/torch_figures.py"
} | tee "$work/figures.txt"
python3 "$(dirname "$0")/../compare.py" < "$work/figures.txt"
