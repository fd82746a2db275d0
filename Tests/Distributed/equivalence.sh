#!/usr/bin/env bash
# Data-parallel equivalence: `mpirun -np 2 kiln train --distributed --batch B` must end with the
# same params and optimiser state as one process with --batch 2B, after several steps, for the
# MLP and LeNet-5, SGD and Adam, on the interpreter and the JIT.
#
# Tolerance: |a − b| ≤ 1e-5·|b| + ATOL elementwise, ATOL 1e-6 for SGD and 5e-5 for Adam. The
# gradients are the same sums in another order (each rank sums its 64 rows, then the two
# halves are added), so they differ by float32 rounding (~1e-7 relative); Adam divides by
# √v̂, which turns tiny gradients' rounding into larger relative changes of the step (a param
# moves at most lr = 1e-3 per Adam step, so 5e-5 after 4-8 steps is under 1% of its travel).
set -euo pipefail
source "$(dirname "$0")/common.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$PYTHON" "$HERE/checkpoints.py" make-data "$work/toy.npz" 512 1
failures=0
run_case() {
    local graph=$1 batch=$2 optimizer=$3 backend=$4 atol=$5
    local tag; tag="$(basename "$graph" .kiln)-${optimizer%%:*}-$backend"
    local common=(--data "$work/toy.npz" --validation 0 --optimizer "$optimizer" --backend "$backend" --seed 3)
    "${MPIRUN[@]}" -np 2 "$KILN" train "$graph" --distributed --batch "$batch" "${common[@]}" \
        --checkpoint "$work/$tag.dp.safetensors" > "$work/$tag.dp.log" 2>&1 || { cat "$work/$tag.dp.log"; failures=$((failures + 1)); return; }
    "$KILN" train "$graph" --batch $((2 * batch)) "${common[@]}" \
        --checkpoint "$work/$tag.one.safetensors" > "$work/$tag.one.log" 2>&1 || { cat "$work/$tag.one.log"; failures=$((failures + 1)); return; }
    printf '%-28s ' "$tag"
    "$PYTHON" "$HERE/checkpoints.py" compare "$work/$tag.dp.safetensors" "$work/$tag.one.safetensors" 1e-5 "$atol" || failures=$((failures + 1))
}
for backend in interp jit; do
    run_case Graphs/mlp.kiln 32 sgd:lr=0.1 "$backend" 1e-6
    run_case Graphs/mlp.kiln 32 adam:lr=0.001 "$backend" 5e-5
    run_case Graphs/lenet5.kiln 64 sgd:lr=0.05 "$backend" 1e-6
    run_case Graphs/lenet5.kiln 64 adam:lr=0.001 "$backend" 5e-5
done
# Batch norm: each rank normalises with its shard's statistics, so params are not expected to
# match, but the running mean (averaged across ranks after every step) is linear in the batch
# and must equal the single process's.
"$PYTHON" "$HERE/checkpoints.py" make-features "$work/features.npz" 64 0
bn=(--data "$work/features.npz" --validation 0 --optimizer sgd:lr=0.1 --seed 3)
"${MPIRUN[@]}" -np 2 "$KILN" train "$HERE/batchnorm.kiln" --distributed --batch 4 "${bn[@]}" --checkpoint "$work/bn.dp.safetensors" > "$work/bn.dp.log" 2>&1 \
    || { cat "$work/bn.dp.log"; failures=$((failures + 1)); }
"$KILN" train "$HERE/batchnorm.kiln" --batch 8 "${bn[@]}" --checkpoint "$work/bn.one.safetensors" > "$work/bn.one.log" 2>&1 \
    || { cat "$work/bn.one.log"; failures=$((failures + 1)); }
printf '%-28s ' "batchnorm running_mean"
"$PYTHON" "$HERE/checkpoints.py" compare "$work/bn.dp.safetensors" "$work/bn.one.safetensors" 1e-5 1e-6 running_mean || failures=$((failures + 1))
[ "$failures" -eq 0 ] && echo "equivalence: all cases within tolerance" || { echo "equivalence: $failures case(s) failed"; exit 1; }
