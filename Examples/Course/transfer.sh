#!/bin/sh
# Transfer learning, three recipes: pretrain transfer_source.kiln on Fashion-MNIST classes 0-4,
# then train on 500 images of classes 5-9 (relabelled 0-4) with (a) the feature extractor frozen,
# (b) everything fine-tuned, (c) from scratch (Graphs/transfer_target.kiln); same epochs and optimiser for all three.
# Run from the repo root after `swift build -c release`. Outputs under out/course/transfer/.
set -eu
KILN=${KILN:-.build/release/kiln}
OUT=${OUT:-out/course/transfer}
SRC_EPOCHS=${SRC_EPOCHS:-3}
EPOCHS=${EPOCHS:-10}
mkdir -p "$OUT"
python3 Examples/Course/split_classes.py "$OUT" 500

"$KILN" train Graphs/transfer_source.kiln --backend jit --epochs "$SRC_EPOCHS" \
  --data "$OUT/first5.npz" --checkpoint "$OUT/src.safetensors" --overwrite | tee "$OUT/source.log"
common="--backend jit --epochs $EPOCHS --data $OUT/last5_small.npz --validation 0"
# transfer_target.kiln is the same net with the head renamed: --init-from loads f1, fb1, f2, fb2
# only and the new head starts from its initialiser.
"$KILN" train Graphs/transfer_target.kiln $common \
  --init-from "$OUT/src.safetensors" --freeze 'f*' | tee "$OUT/a_frozen.log"
"$KILN" train Graphs/transfer_target.kiln $common \
  --init-from "$OUT/src.safetensors" | tee "$OUT/b_finetune.log"
"$KILN" train Graphs/transfer_target.kiln $common | tee "$OUT/c_scratch.log"
for f in "$OUT"/source.log "$OUT"/a_frozen.log "$OUT"/b_finetune.log "$OUT"/c_scratch.log; do
  echo "$f: $(tail -n 1 "$f")"
done
