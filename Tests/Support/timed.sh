#!/bin/sh
# Runs a command of `make test` and appends how long it took to $KILN_TIME_LOG (printed at the
# end of make test, so a CI log shows where its 30 minutes go). Passes the exit status on.
start=$(date +%s)
"$@"
status=$?
if [ -n "${KILN_TIME_LOG:-}" ]; then
    printf '%6d s  %s\n' $(($(date +%s) - start)) "$*" | cut -c1-160 >> "$KILN_TIME_LOG"
fi
exit $status
