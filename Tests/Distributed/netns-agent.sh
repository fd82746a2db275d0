#!/usr/bin/env bash
# Open MPI's launch agent for the netns test, in place of ssh: called as `AGENT HOST COMMAND…`,
# it runs COMMAND (Open MPI's orted daemon) inside the network namespace standing for HOST,
# with its own hostname (a UTS namespace) so Open MPI sees two machines.
set -euo pipefail
host=$1; shift
# Skip ssh-style options Open MPI may pass before the command.
while [ $# -gt 0 ] && [[ $1 == -* ]]; do shift; done
case "$host" in
    10.77.0.1) ns=kiln-hostA; name=kiln-hostA ;;
    10.77.0.2) ns=kiln-hostB; name=kiln-hostB ;;
    *) echo "netns-agent: unknown host $host" >&2; exit 1 ;;
esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $name; $*"
