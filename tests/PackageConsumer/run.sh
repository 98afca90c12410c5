#!/usr/bin/env bash
# Proves the packages: packs NetDsl and NetDsl.Gpu into artifacts/packages, drops any cached copy of them, then builds
# and runs App (an MLP and a CNN trained, predicted, checkpointed, and the GPU twin run on ILGPU's CPU accelerator)
# and builds AnalyzerCheck, whose output must carry warning ND0104. Everything restores from that folder and nuget.org
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
rm -rf App/bin App/obj AnalyzerCheck/bin AnalyzerCheck/obj
dotnet run --project App -c Release

log="$(mktemp)"
dotnet build AnalyzerCheck -c Release -p:TreatWarningsAsErrors=false | tee "$log"
if grep -q "warning ND0104" "$log"; then
  echo "AnalyzerCheck: ND0104 reported from the package's analyzer"
else
  echo "AnalyzerCheck: the build output has no ND0104 warning: the package's analyzer did not run" >&2
  exit 1
fi
