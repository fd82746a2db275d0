#!/usr/bin/env bash
# Multi-host data parallelism on one machine: two network namespaces joined by a veth pair
# stand for two hosts (10.77.0.1 and 10.77.0.2, each with its own hostname), and mpirun
# starts one rank on each through a launch agent that does `ip netns exec` where a cluster
# would use ssh. MPI runs over TCP only (btl tcp,self), so every all-reduce crosses the veth
# link. Checks: the job succeeds, the params equal one process's on the doubled batch, and
# the veth counters show the traffic. Needs root and iproute2. Not root: a counted skip
# (nothing can install that). ip, unshare missing, or `ip netns add` failing as root: a
# failure under make test (KILN_TEST_REQUIRE_ALL=1), a counted skip otherwise.
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [ "$(id -u)" -ne 0 ]; then kiln_skip "netns test needs root (ip netns)"; fi
command -v ip >/dev/null || kiln_missing "netns test needs iproute2 (ip)"
command -v unshare >/dev/null || kiln_missing "netns test needs unshare (util-linux)"
A=kiln-hostA B=kiln-hostB
work=$(mktemp -d)
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cleanup
mkdir -p "$work"
# As root this works on Debian 12 and in this project's containers; a kernel or container
# that forbids it fails make test rather than passing silently.
if ! ip netns add "$A" 2>"$work/err"; then kiln_missing "cannot create network namespaces here: $(cat "$work/err")"; fi
ip netns add "$B"
ip link add veth-kA type veth peer name veth-kB
ip link set veth-kA netns "$A"
ip link set veth-kB netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev veth-kA
ip -n "$B" addr add 10.77.0.2/24 dev veth-kB
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set veth-kA up
ip -n "$B" link set veth-kB up

"$PYTHON" "$HERE/checkpoints.py" make-data "$work/toy.npz" 512 1
bytes() { ip -n "$B" -s -j link show veth-kB | "$PYTHON" -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["bytes"] + s["tx"]["bytes"])'; }
before=$(bytes)
common=(--data "$work/toy.npz" --validation 0 --optimizer adam:lr=0.001 --seed 3)
# mpirun itself runs on "host A"; the daemon for host B is started through the agent. Both
# Open MPI's own wiring (oob) and MPI traffic (btl) are confined to the veth subnet.
two_hosts() {
    timeout --kill-after=10 300 ip netns exec "$A" unshare --uts sh -c 'hostname kiln-hostA; exec "$@"' sh \
        mpirun --host 10.77.0.1:1,10.77.0.2:1 -np 2 --bind-to none \
        --mca plm_rsh_agent "$HERE/netns-agent.sh" \
        --mca oob_tcp_if_include 10.77.0.0/24 --mca btl_tcp_if_include 10.77.0.0/24 --mca btl tcp,self \
        -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -x OPENBLAS_NUM_THREADS -x KILN_THREADS -x PATH \
        "$@"
}
two_hosts "$KILN" train Graphs/mlp.kiln --distributed --batch 32 "${common[@]}" --checkpoint "$work/netns.safetensors" \
    > "$work/netns.log" 2>&1 || { echo "FAIL: the two-host run failed"; cat "$work/netns.log"; exit 1; }
crossed=$(( $(bytes) - before ))
grep -E "^(rank 0|epoch|distributed)" "$work/netns.log" | sed 's/^/  /'
"$KILN" train Graphs/mlp.kiln --batch 64 "${common[@]}" --checkpoint "$work/one.safetensors" > "$work/one.log" 2>&1 \
    || { cat "$work/one.log"; exit 1; }
"$PYTHON" "$HERE/checkpoints.py" compare "$work/netns.safetensors" "$work/one.safetensors" 1e-5 5e-5
# 8 steps × 2 × 0.94 MB of gradients (ring, 2 ranks: each sends its half twice) at the least.
[ "$crossed" -gt 4000000 ] || { echo "FAIL: only $crossed bytes crossed the veth link"; exit 1; }
echo "netns: ok, two hosts over TCP, $crossed bytes crossed the veth link"
# NETNS_ALLREDUCE_BENCH=1: MPI_Allreduce latency and bandwidth over the veth link (TCP).
if [ "${NETNS_ALLREDUCE_BENCH:-0}" = 1 ]; then two_hosts "$KILN" allreduce-bench --repeats 50; fi
