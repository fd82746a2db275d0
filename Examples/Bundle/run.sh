#!/bin/sh
# make bundle-example: LeNet-5 as ahead-of-time bundles driven from C.
#  1. kiln train briefly (1 epoch on 3,200 examples) writes a checkpoint and prints its test accuracy;
#  2. kiln compile turns the checkpoint into an inference bundle; classify.c (built with cc) classifies
#     the 10,000 test images and must print the same accuracy;
#     the same through a shared library built from the bundle, and the bundle cross-compiled for
#     AArch64 (aarch64-linux-gnu-gcc, run under qemu-aarch64) on the first 1,000 images;
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

echo "== the same bundle as a shared library (the objects are position-independent)"
mkdir -p "$OUT/shared"
$CC -shared -fPIC -O2 -o "$OUT/shared/liblenet5.so" -Wl,--whole-archive "$OUT/infer/liblenet5.a" -Wl,--no-whole-archive \
  "$OUT/infer/lenet5_runtime.c" -I "$OUT/infer" -lopenblas -lm -lpthread
$CC -O2 -std=c11 -Wall -Wextra -Werror -I "$OUT/infer" -I "$HERE" -o "$OUT/classify_shared" "$HERE/classify.c" \
  -L "$OUT/shared" -llenet5 -Wl,-rpath,"$(cd "$OUT/shared" && pwd)" -lz
got=$("$OUT/classify_shared" | sed -n 's/^test accuracy \([0-9.]*\).*/\1/p')
[ "$got" = "$expected" ] || { echo "FAIL: through liblenet5.so the test accuracy is $got, not $expected"; exit 1; }
echo "ok: through liblenet5.so too ($got)"

echo "== kiln compile --target aarch64-linux-gnu: the same bundle for AArch64, run under qemu-aarch64"
"$KILN" compile Graphs/lenet5.kiln --params "$OUT/lenet5.safetensors" --target aarch64-linux-gnu -o "$OUT/arm"
mkdir -p "$OUT/raw"
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do gzip -dc "/usr/share/datasets/fashion-mnist/$f.gz" > "$OUT/raw/$f"; done
aarch64-linux-gnu-gcc -O2 -std=c11 -Wall -Wextra -Werror -static -DFASHION_RAW -I "$OUT/arm" -I "$HERE" -o "$OUT/classify_arm" \
  "$HERE/classify.c" "$OUT/arm/lenet5_runtime.c" -L "$OUT/arm" -llenet5 -lm -lpthread
# The first 1,000 images (the emulator is slow): the same predictions as on this machine.
x86=$("$OUT/classify" /usr/share/datasets/fashion-mnist 1000)
arm=$(qemu-aarch64 "$OUT/classify_arm" "$OUT/raw" 1000)
echo "x86-64: $x86"; echo "AArch64: $arm"
[ "$x86" = "$arm" ] || { echo "FAIL: the AArch64 bundle classifies differently"; exit 1; }
echo "ok: the AArch64 bundle agrees"

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
