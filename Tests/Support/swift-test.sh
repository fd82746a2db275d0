#!/usr/bin/env bash
# `swift test` with its output kept (.build/swift-test.log), its exit status passed on, and
# every test Swift Testing reports as skipped (`.enabled(if:)` false) written to
# $KILN_SKIP_LOG, so make test counts it. Arguments go to `swift test`.
set -o pipefail
SWIFT=${SWIFT:-swift}
log=${KILN_SWIFT_TEST_LOG:-.build/swift-test.log}
mkdir -p .build
"$SWIFT" test "$@" 2>&1 | tee "$log"
status=$?
if [ -n "${KILN_SKIP_LOG:-}" ]; then
    # Only Swift Testing's skip lines (`Test "name" skipped.` / `skipped: "reason"`), not tests
    # whose names contain the word (`… extra tensors are skipped" passed`).
    grep -E '^.{0,6}(Test|Suite) (".*"|[^ ]+) skipped([.:]|$)' "$log" | sed -E 's/^[^TS]*/swift test: /' >> "$KILN_SKIP_LOG" || true
fi
if [ "$status" -ne 0 ]; then
    # CI keeps only the output's tail: repeat every failed test and recorded issue there.
    echo "swift test failed (exit $status); its failures, from $log:"
    grep -E '✘|recorded an issue|Expectation failed|error:|Fatal error|Crash' "$log" | head -60
fi
exit $status
