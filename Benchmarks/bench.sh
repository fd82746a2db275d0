#!/usr/bin/env bash
# Kiln interpreter vs Kiln JIT on the benchmark workloads, measured side by side in one run
# (kiln bench interleaves the two backends step by step). Writes Docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
KILN=.build/release/kiln
OUT=Docs/BENCHMARKS.md
STEPS=${STEPS:-20}
tmp=$(mktemp)
run() {  # title, then kiln bench arguments
  local title=$1; shift
  echo "== $title" | tee -a "$tmp"
  "$KILN" bench "$@" --steps "$STEPS" 2>&1 | tee -a "$tmp"
  echo >> "$tmp"
}
run "MLP 784-256-128-10, batch 128, Adam training step" Graphs/mlp.kiln --train loss --optimizer adam:lr=0.001
run "MLP 784-256-128-10, batch 128, SGD training step" Graphs/mlp.kiln --train loss --optimizer sgd:lr=0.1
run "MLP 784-256-128-10, batch 128, inference" Graphs/mlp.kiln
run "LeNet-5, batch 64, Adam training step" Graphs/lenet5.kiln --train loss --optimizer adam:lr=0.001
run "LeNet-5, batch 64, inference" Graphs/lenet5.kiln
run "Elementwise chain tanh(x·a+b)·sigmoid(x)+relu(x), 16M floats" Benchmarks/elementwise_chain.kiln

{
  echo "# Benchmarks"
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores,"
  echo "$(swift --version 2>/dev/null | head -1), LLVM 14 (Debian), OpenBLAS $(dpkg -s libopenblas0-pthread 2>/dev/null | awk '/^Version/ {print $2}')."
  echo "Command: \`make bench\` (\`Benchmarks/bench.sh\`, which runs \`kiln bench\` per workload; STEPS=$STEPS timed steps"
  echo "per backend after 3 warm-up steps, the two backends interleaved step by step). Times are medians with min and max."
  echo "OpenBLAS is warmed up with one 1024³ sgemm at start-up (cold buffers cost up to 3× on this machine)."
  echo
  echo "Comparisons with JAX and NumPy (issue 8) are not measured yet."
  echo
  echo '```'
  cat "$tmp"
  echo '```'
} > "$OUT"
rm -f "$tmp"
echo "wrote $OUT"
