#!/bin/sh
# make bundle-example: LeNet-5 as ahead-of-time bundles driven from C.
#  1. kiln train briefly (1 epoch on 3,200 examples) writes a checkpoint and prints its test accuracy;
#  2. kiln compile turns the checkpoint into an inference bundle; classify.c (built with cc) classifies
#     the 10,000 test images and must print the same accuracy;
#  3. kiln compile --train makes a training bundle from the same checkpoint; train.c runs 100 Adam
#     steps from C. (Tests/KilnCLITests/CompileCommandTests checks such steps against the JIT's,
#     state for state.)
set -eu
KILN=${KILN:-.build/debug/kiln}
CC=${CC:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${BUNDLE_OUT:-.build/bundle-example}
rm -rf "$OUT" && mkdir -p "$OUT"

echo "== kiln train: 1 epoch of LeNet-5 on 3,200 Fashion-MNIST examples"
"$KILN" train Graphs/lenet5.kiln --epochs 1 --limit 3200 --checkpoint "$OUT/lenet5.safetensors" | tee "$OUT/train.log"
expected=$(sed -n 's/.*test accuracy \([0-9.]*\).*/\1/p' "$OUT/train.log" | tail -1)
[ -n "$expected" ] || { echo "kiln train printed no test accuracy"; exit 1; }

echo "== kiln compile: the inference bundle"
"$KILN" compile Graphs/lenet5.kiln --params "$OUT/lenet5.safetensors" -o "$OUT/infer"
$CC -O2 -std=c11 -Wall -Wextra -Werror -I "$OUT/infer" -I "$HERE" -o "$OUT/classify" "$HERE/classify.c" \
  "$OUT/infer/lenet5_runtime.c" -L "$OUT/infer" -llenet5 -lopenblas -lz -lm -lpthread
echo "== classify (C): the 10,000 test images"
"$OUT/classify" | tee "$OUT/classify.log"
got=$(sed -n 's/^test accuracy \([0-9.]*\).*/\1/p' "$OUT/classify.log")
if [ "$got" != "$expected" ]; then
  echo "FAIL: the bundle's test accuracy $got differs from kiln train's $expected"
  exit 1
fi
echo "ok: the bundle's test accuracy equals kiln train's ($expected)"

echo "== kiln compile --train: the training bundle, 100 steps from C"
"$KILN" compile Graphs/lenet5.kiln --train loss --optimizer adam:lr=0.001 --params "$OUT/lenet5.safetensors" \
  --name lenet5_train -o "$OUT/train"
$CC -O2 -std=c11 -Wall -Wextra -Werror -I "$OUT/train" -I "$HERE" -o "$OUT/train_c" "$HERE/train.c" \
  "$OUT/train/lenet5_train_runtime.c" -L "$OUT/train" -llenet5_train -lopenblas -lz -lm -lpthread
"$OUT/train_c" /usr/share/datasets/fashion-mnist "$OUT/trained.safetensors" 100
echo "== the fine-tuned params in a new inference bundle"
"$KILN" compile Graphs/lenet5.kiln --params "$OUT/trained.safetensors" -o "$OUT/infer2" >/dev/null
$CC -O2 -std=c11 -I "$OUT/infer2" -I "$HERE" -o "$OUT/classify2" "$HERE/classify.c" \
  "$OUT/infer2/lenet5_runtime.c" -L "$OUT/infer2" -llenet5 -lopenblas -lz -lm -lpthread
"$OUT/classify2"
