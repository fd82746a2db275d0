# Shared by the shell tests: how a missing prerequisite is reported.
#
# kiln_missing REASON  a prerequisite make test installs (mpirun, ip, numpy…) is absent. Under
#                      make test (KILN_TEST_REQUIRE_ALL=1) that is a failure, since make test
#                      should have installed it; elsewhere it is a counted skip.
# kiln_skip REASON     a check this machine cannot run (not root for network namespaces): a
#                      SKIP line, and one line in $KILN_SKIP_LOG when set, which make test
#                      counts at the end (Tests/Support/skips.sh), so a skip never reads as a pass.
kiln_skip() {
    echo "SKIP: $*"
    if [ -n "${KILN_SKIP_LOG:-}" ]; then echo "$(basename "$0"): $*" >> "$KILN_SKIP_LOG"; fi
    exit 0
}
kiln_missing() {
    if [ "${KILN_TEST_REQUIRE_ALL:-0}" = 1 ]; then
        echo "FAIL: $* (make test requires it: a failure here, not a skip)"
        exit 1
    fi
    kiln_skip "$@"
}
