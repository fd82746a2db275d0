#!/usr/bin/env bash
# A rank that dies or hangs must not leave the others waiting forever, and the last checkpoint
# must stay intact (rank 0 writes it atomically: a temporary file, then rename).
#  1. kill -9 rank 1 mid-training: Open MPI's launcher sees the death and ends the job; mpirun
#     exits non-zero, naming the rank and the signal.
#  2. SIGSTOP rank 1 (a hung peer the launcher cannot see die): rank 0's watchdog ends it after
#     KILN_MPI_TIMEOUT seconds with a message naming the blocked MPI call.
# Both: the checkpoint then parses, holds finite params, and `kiln train --resume` continues from it.
#  3. An error on one rank after MPI has started (rank 1's --data holds 3 features, not the
#     784 pixels the graph takes) while rank 0 waits in a collective: rank 1 calls MPI_Abort,
#     which must end the whole job within seconds (the watchdog is set to 120 s, so it cannot
#     be what ends it).
set -euo pipefail
source "$(dirname "$0")/common.sh"
work=$(mktemp -d)
pids=()
# A failed check leaves mpirun and its ranks running under the timeout wrapper: end each
# started process with everything it started.
kill_tree() { local c; for c in $(pgrep -P "$1" || true); do kill_tree "$c"; done; kill -9 "$1" 2>/dev/null || true; }
cleanup() { for p in "${pids[@]}"; do kill_tree "$p"; done; rm -rf "$work"; }
trap cleanup EXIT
"$PYTHON" "$HERE/checkpoints.py" make-data "$work/toy.npz" 512 1

# The PID of the kiln process that is MPI rank $2 under mpirun PID $1.
rank_pid() {
    local deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        for p in $(pgrep -f "$KILN train" || true); do
            if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "$p"; return 0; fi
        done
        sleep 0.2
    done
    return 1
}

scenario() {
    local name=$1 signal=$2 expect=$3
    local ckpt="$work/$name.safetensors" log="$work/$name.log"
    KILN_MPI_TIMEOUT=8 "${MPIRUN[@]}" -x KILN_MPI_TIMEOUT -np 2 "$KILN" train Graphs/mlp.kiln --distributed --data "$work/toy.npz" \
        --batch 32 --validation 0 --optimizer sgd:lr=0.05 --epochs 100000 --checkpoint "$ckpt" > "$log" 2>&1 &
    local launcher=$!
    pids+=("$launcher")
    # Wait for the first checkpoint, then strike rank 1 mid-epoch.
    local deadline=$((SECONDS + 120))
    until [ -f "$ckpt" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
    [ -f "$ckpt" ] || { echo "FAIL [$name]: no checkpoint after 120 s"; cat "$log"; exit 1; }
    local victim; victim=$(rank_pid "$launcher" 1) || { echo "FAIL [$name]: rank 1 not found"; exit 1; }
    pids+=("$victim")
    sleep 0.5
    kill "-$signal" "$victim"
    local start=$SECONDS status=0
    # The job must end on its own well within 60 s (watchdog 8 s + launcher teardown).
    local waited=0
    while kill -0 "$launcher" 2>/dev/null && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); done
    if kill -0 "$launcher" 2>/dev/null; then echo "FAIL [$name]: job still running 60 s after SIG$signal to rank 1"; cat "$log"; exit 1; fi
    wait "$launcher" || status=$?
    [ "$status" -ne 0 ] || { echo "FAIL [$name]: mpirun exited 0 after SIG$signal to rank 1"; cat "$log"; exit 1; }
    grep -qE "$expect" "$log" || { echo "FAIL [$name]: no clear error (expected /$expect/)"; cat "$log"; exit 1; }
    echo "ok [$name]: job ended $((SECONDS - start)) s after SIG$signal to rank 1, exit $status; message: $(grep -m1 -oE "$expect.{0,100}" "$log")"
    "$PYTHON" "$HERE/checkpoints.py" check "$ckpt"
    "$KILN" train Graphs/mlp.kiln --data "$work/toy.npz" --batch 64 --validation 0 --optimizer sgd:lr=0.05 --epochs 1 \
        --checkpoint "$ckpt" --resume > "$work/$name.resume.log" 2>&1 || { echo "FAIL [$name]: resume failed"; cat "$work/$name.resume.log"; exit 1; }
    echo "ok [$name]: resumed from the checkpoint: $(grep -m1 '^epoch' "$work/$name.resume.log")"
}

error_on_one_rank() {
    "$PYTHON" "$HERE/checkpoints.py" make-features "$work/features.npz" 64 0
    local log="$work/abort.log" start=$SECONDS status=0
    KILN_MPI_TIMEOUT=120 "${MPIRUN[@]}" -x KILN_MPI_TIMEOUT -np 2 sh -c \
        'data=$1; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && data=$2; exec "$3" train Graphs/mlp.kiln --distributed --data "$data" --batch 32 --validation 0 --optimizer sgd:lr=0.05 --epochs 3' \
        sh "$work/toy.npz" "$work/features.npz" "$KILN" > "$log" 2>&1 &
    local launcher=$!
    pids+=("$launcher")
    local waited=0
    while kill -0 "$launcher" 2>/dev/null && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); done
    if kill -0 "$launcher" 2>/dev/null; then echo "FAIL [abort]: job still running 60 s after rank 1's error"; cat "$log"; exit 1; fi
    wait "$launcher" || status=$?
    [ "$status" -ne 0 ] || { echo "FAIL [abort]: mpirun exited 0 after an error on rank 1"; cat "$log"; exit 1; }
    grep -q "error: MPI rank 1 of 2: " "$log" || { echo "FAIL [abort]: rank 1 did not name itself in its error"; cat "$log"; exit 1; }
    # Without MPI_Abort rank 1 would wait in MPI_Finalize and rank 0 in its collective until the
    # 120 s watchdog; Open MPI 4.1 does not always print its MPI_ABORT notice (show_help can fail
    # to unpack it), so the time is the evidence.
    [ $((SECONDS - start)) -lt 30 ] || { echo "FAIL [abort]: the job took $((SECONDS - start)) s to end (watchdog, not MPI_Abort?)"; cat "$log"; exit 1; }
    echo "ok [abort]: an error on rank 1 ended the job through MPI_Abort in $((SECONDS - start)) s, exit $status: $(grep -m1 -o 'error: MPI rank 1 of 2: .\{0,80\}' "$log")"
}

error_on_one_rank
scenario killed KILL "exited on signal 9|rank 1"
scenario hung STOP "has not completed after"
echo "rank death: ok"
