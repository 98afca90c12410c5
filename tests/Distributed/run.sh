#!/usr/bin/env bash
# The data-parallel equivalence check: two ranks under Open MPI's mpirun (shared-memory transport on this machine)
# against one process, on the sample networks. Installs Open MPI from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v mpirun >/dev/null || ! ldconfig -p | grep -q 'libmpi.so.40 '; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openmpi-bin libopenmpi-dev >/dev/null
fi
dotnet build -c Release tests/Distributed -v q -nologo | grep -E " error " || true
TERM=dumb mpirun --allow-run-as-root --oversubscribe -np 2 dotnet tests/Distributed/bin/Release/net10.0/Distributed.dll samples/FashionMnist/data
