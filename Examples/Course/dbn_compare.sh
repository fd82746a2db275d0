#!/bin/sh
# DBN comparison (Docs/MODELS.md): greedy layer-wise pretraining (two RBMs, PCD-1) then
# fine-tuning, against the same 784-256-128-10 classifier from random init, over SEEDS seeds,
# with all the training data and with LABELS labelled images (the RBMs always see all images:
# pretraining needs no labels). Prints a Markdown table of test accuracy mean ± std (sample
# standard deviation over the seeds) and writes it to $OUT/table.md; logs under $OUT.
# Run from the repo root after `swift build -c release`.
set -eu
KILN=${KILN:-.build/release/kiln}
OUT=${OUT:-out/course/dbn_compare}
SEEDS=${SEEDS:-0 1 2}
RBM_EPOCHS=${RBM_EPOCHS:-5}
EPOCHS=${EPOCHS:-5}
LABELS=${LABELS:-1000}
LABEL_EPOCHS=${LABEL_EPOCHS:-50}
mkdir -p "$OUT"
: > "$OUT/results.txt"
for seed in $SEEDS; do
  "$KILN" train Graphs/dbn_rbm1.kiln --backend jit --epochs "$RBM_EPOCHS" --seed "$seed" \
    --checkpoint "$OUT/rbm1_seed$seed.safetensors" --overwrite > "$OUT/rbm1_seed$seed.log"
  "$KILN" train Graphs/dbn_rbm2.kiln --backend jit --epochs "$RBM_EPOCHS" --seed "$seed" \
    --init-from "$OUT/rbm1_seed$seed.safetensors" --freeze w1,bh1 \
    --checkpoint "$OUT/rbm2_seed$seed.safetensors" --overwrite > "$OUT/rbm2_seed$seed.log"
  for data in full labels; do
    if [ "$data" = full ]; then opts="--epochs $EPOCHS"; else opts="--epochs $LABEL_EPOCHS --limit $LABELS --validation 0"; fi
    for init in pretrained random; do
      if [ "$init" = pretrained ]; then from="--init-from $OUT/rbm2_seed$seed.safetensors"; else from=""; fi
      log="$OUT/${init}_${data}_seed$seed.log"
      # shellcheck disable=SC2086
      "$KILN" train Graphs/dbn_classifier.kiln --backend jit $opts --seed "$seed" $from > "$log"
      acc=$(grep '^epoch ' "$log" | tail -n 1 | sed -n 's/.*test accuracy \([0-9.]*\).*/\1/p')
      [ -n "$acc" ] || { echo "no test accuracy in $log" >&2; exit 1; }
      echo "$data $init $seed $acc" | tee -a "$OUT/results.txt"
    done
  done
done
python3 - "$OUT/results.txt" "$LABELS" > "$OUT/table.md" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
print("| data | initialisation | test accuracy per seed | mean ± std |")
print("|---|---|---|---|")
for data in ("full", "labels"):
    for init in ("pretrained", "random"):
        values = [(int(s), float(a)) for d, i, s, a in rows if d == data and i == init]
        accs = [a for _, a in values]
        spread = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        name = "all 54,000" if data == "full" else f"first {sys.argv[2]}"
        print(f"| {name} | {init} | " + ", ".join(f"{a:.4f} (seed {s})" for s, a in values)
              + f" | {statistics.mean(accs):.4f} ± {spread:.4f} |")
PY
cat "$OUT/table.md"
