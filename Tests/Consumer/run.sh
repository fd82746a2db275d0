#!/bin/sh
# Builds and runs Examples/FashionClassifier as a user would: against Kiln as a *versioned*
# dependency (a tagged git copy of this tree, `from: "0.0.1"`), which SwiftPM only accepts
# from a package without unsafeFlags. Then runs it (one short epoch: KILN_EXAMPLE_QUICK=1).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${KILN_CONSUMER_DIR:-$root/.build/consumer}
rm -rf "$work/kiln" "$work/app"
mkdir -p "$work/kiln" "$work/app/Sources/FashionClassifier" "$work/app/Sources/FashionPredict"
# The tree as committed plus local changes, without build products.
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work/kiln" 2>/dev/null || true)
(cd "$work/kiln" && git init -q && git add -A && git -c user.email=ci@kiln -c user.name=ci commit -qm snapshot && git tag 0.0.1)
cp "$root/Examples/FashionClassifier/Sources/FashionClassifier/main.swift" "$work/app/Sources/FashionClassifier/"
cp "$root/Examples/FashionClassifier/Sources/FashionPredict/main.swift" "$work/app/Sources/FashionPredict/"
sed -e "s|.package(name: \"Kiln\", path: \"../..\")|.package(url: \"file://$work/kiln\", from: \"0.0.1\")|" \
    "$root/Examples/FashionClassifier/Package.swift" > "$work/app/Package.swift"
grep -q 'from: "0.0.1"' "$work/app/Package.swift" || { echo "consumer: could not point Package.swift at the tagged copy"; exit 1; }
cd "$work/app"
swift build --scratch-path "$work/app/.build" 2>&1 | grep -E "error|warning: |Compiling FashionClassifier|Build complete" || true
for program in FashionClassifier FashionPredict; do
    test -x "$work/app/.build/debug/$program" || { echo "consumer: the example package did not build $program"; exit 1; }
done
# The first program trains and saves the model; the second, a new process, loads it, predicts
# the test set, exports ONNX and fine-tunes. Its accuracy must equal the first's evaluation,
# and the fine-tuning's accuracy before any step must equal the saved model's.
for program in FashionClassifier FashionPredict; do
    status=0
    KILN_EXAMPLE_QUICK=1 "$work/app/.build/debug/$program" > "$work/$program.log" 2>&1 || status=$?
    cat "$work/$program.log"
    [ $status -eq 0 ] || { echo "consumer: $program exited with status $status"; exit 1; }
done
first=$(sed -n 's/^evaluation: \([0-9]* of [0-9]*\) test images correct$/\1/p' "$work/FashionClassifier.log")
second=$(sed -n 's/^loaded model: \([0-9]* of [0-9]*\) test images correct$/\1/p' "$work/FashionPredict.log")
[ -n "$first" ] && [ "$first" = "$second" ] || { echo "consumer: the loaded model scored '$second', the trained one '$first'"; exit 1; }
before=$(sed -n 's/^accuracy before fine-tuning \([0-9.]*\) (the saved model: \([0-9.]*\))$/\1 \2/p' "$work/FashionPredict.log")
set -- $before
[ $# -eq 2 ] && [ "$1" = "$2" ] || { echo "consumer: accuracy before fine-tuning '$before' is not the saved model's"; exit 1; }
"${ONNX_VENV:-$root/.build/onnx-venv}/bin/python" "$root/Tests/Consumer/onnx_check.py" "$work/app"
echo "consumer: trained, saved, loaded ($second correct in both), ONNX equal to onnxruntime, fine-tuning starts at the saved accuracy"
