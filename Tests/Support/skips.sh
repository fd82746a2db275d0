#!/bin/sh
# Prints how many checks make test skipped, from the log the tests append to (one line per
# skip: Tests/Support/skip.sh for shell tests, Tests/Support/swift-test.sh for Swift Testing),
# and lists them. 0 on a machine make test has prepared.
log=${1:?usage: skips.sh LOG}
count=0
[ -f "$log" ] && count=$(grep -c . "$log")
echo "skipped checks: $count"
if [ "$count" -gt 0 ]; then sed 's/^/  skipped: /' "$log"; fi
