#!/bin/sh
# Deep belief network: greedy layer-wise pretraining of two RBMs (PCD-1), then fine-tuning the
# stack as a 784-256-128-10 classifier, against the same classifier from random init.
# Run from the repo root after `swift build -c release`. Outputs under out/course/dbn/.
set -eu
KILN=${KILN:-.build/release/kiln}
OUT=${OUT:-out/course/dbn}
RBM_EPOCHS=${RBM_EPOCHS:-5}
EPOCHS=${EPOCHS:-3}
SMALL=${SMALL:-2000}
SMALL_EPOCHS=${SMALL_EPOCHS:-20}
mkdir -p "$OUT"

# 1. first RBM 784 <-> 256 on the binarised images
"$KILN" train Graphs/dbn_rbm1.kiln --backend jit --epochs "$RBM_EPOCHS" \
  --checkpoint "$OUT/rbm1.safetensors" --overwrite
# 2. second RBM 256 <-> 128 on samples of the first one's hidden units (w1, bh1 loaded and frozen)
"$KILN" train Graphs/dbn_rbm2.kiln --backend jit --epochs "$RBM_EPOCHS" \
  --init-from "$OUT/rbm1.safetensors" --freeze w1,bh1 \
  --checkpoint "$OUT/rbm2.safetensors" --overwrite
# 3. fine-tune the pretrained stack as a classifier vs. the same net from random init
#    (all 54,000 training images for $EPOCHS epochs; the first $SMALL for $SMALL_EPOCHS epochs)
for limit in full "$SMALL"; do
  if [ "$limit" = full ]; then opts="--epochs $EPOCHS"; else opts="--epochs $SMALL_EPOCHS --limit $limit"; fi
  "$KILN" train Graphs/dbn_classifier.kiln --backend jit $opts \
    --init-from "$OUT/rbm2.safetensors" | tee "$OUT/pretrained_$limit.log"
  "$KILN" train Graphs/dbn_classifier.kiln --backend jit $opts | tee "$OUT/scratch_$limit.log"
done
for f in "$OUT"/pretrained_*.log "$OUT"/scratch_*.log; do echo "$f: $(tail -n 1 "$f")"; done
