#!/usr/bin/env bash
# Proves the packages: packs NetDsl and NetDsl.Gpu into artifacts/packages, drops any cached copy of them, then builds
# and runs App (an MLP and a CNN trained, predicted, checkpointed, and the GPU twin run on ILGPU's CPU accelerator) and
# QuickStart (the README's quick start, copied from it), and builds AnalyzerCheck, whose output must carry warning ND0104. Everything restores from that folder and nuget.org
# only (nuget.config beside this file), as in a new app.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
packages="$root/artifacts/packages"

rm -rf "$packages"
dotnet pack "$root/NetDsl.sln" -c Release -o "$packages" -warnaserror
ls -l "$packages"

# A stale NetDsl in the global package folder would satisfy the restore without the fresh package.
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
rm -rf "$cache/netdsl" "$cache/netdsl.gpu"

cd "$here"
rm -rf App/bin App/obj QuickStart/bin QuickStart/obj AnalyzerCheck/bin AnalyzerCheck/obj
dotnet run --project App -c Release

# The README's quick start, as written there, must print what the README says it prints.
awk '/^Quick start:/ { found = 1 } found && /^```csharp/ { inside = 1; next } inside && /^```/ { exit } inside' \
  "$root/README.md" > QuickStart/Program.cs
output="$(dotnet run --project QuickStart -c Release)"
echo "$output"
grep -q "^XOR predicted: 0 1 1 0$" <<< "$output" || { echo "QuickStart: the README's quick start did not print 'XOR predicted: 0 1 1 0'" >&2; exit 1; }

log="$(mktemp)"
dotnet build AnalyzerCheck -c Release -p:TreatWarningsAsErrors=false | tee "$log"
if grep -q "warning ND0104" "$log"; then
  echo "AnalyzerCheck: ND0104 reported from the package's analyzer"
else
  echo "AnalyzerCheck: the build output has no ND0104 warning: the package's analyzer did not run" >&2
  exit 1
fi
