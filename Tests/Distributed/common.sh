# Shared by the multi-process tests: the kiln binary, mpirun as root, scratch space.
KILN=${KILN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.build/debug/kiln}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
# Open MPI refuses to run as root unless told twice; CI containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One thread per rank (OpenBLAS and the JIT's kernel workers, kilnThreadCount): ranks share the cores.
export KILN_THREADS=1 OPENBLAS_NUM_THREADS=1
# A broken launch (a daemon that cannot call back) would otherwise wait forever in CI.
MPIRUN=(timeout --kill-after=10 300 mpirun --oversubscribe --bind-to none)
source "$HERE/../Support/skip.sh"
command -v mpirun >/dev/null || kiln_missing "mpirun not found (make deps installs openmpi-bin)"
[ -x "$KILN" ] || { echo "FAIL: $KILN not built"; exit 1; }
