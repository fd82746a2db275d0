#!/bin/sh
# Builds and runs Examples/FashionClassifier as a user would: against Kiln as a *versioned*
# dependency (a tagged git copy of this tree, `from: "0.0.1"`), which SwiftPM only accepts
# from a package without unsafeFlags. Then runs it (one short epoch: KILN_EXAMPLE_QUICK=1).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${KILN_CONSUMER_DIR:-$root/.build/consumer}
rm -rf "$work/kiln" "$work/app"
mkdir -p "$work/kiln" "$work/app/Sources/FashionClassifier"
# The tree as committed plus local changes, without build products.
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work/kiln" 2>/dev/null || true)
(cd "$work/kiln" && git init -q && git add -A && git -c user.email=ci@kiln -c user.name=ci commit -qm snapshot && git tag 0.0.1)
cp "$root/Examples/FashionClassifier/Sources/FashionClassifier/main.swift" "$work/app/Sources/FashionClassifier/"
sed -e "s|.package(name: \"Kiln\", path: \"../..\")|.package(url: \"file://$work/kiln\", from: \"0.0.1\")|" \
    "$root/Examples/FashionClassifier/Package.swift" > "$work/app/Package.swift"
grep -q 'from: "0.0.1"' "$work/app/Package.swift" || { echo "consumer: could not point Package.swift at the tagged copy"; exit 1; }
cd "$work/app"
swift build --scratch-path "$work/app/.build" 2>&1 | grep -E "error|warning: |Compiling FashionClassifier|Build complete" || true
test -x "$work/app/.build/debug/FashionClassifier" || { echo "consumer: the example package did not build"; exit 1; }
KILN_EXAMPLE_QUICK=1 "$work/app/.build/debug/FashionClassifier"
