#!/usr/bin/env bash
# Runs a command inside a private network + mount namespace that stands for a node.
# Everything kernel-facing (links, routes, nftables, sysctls, pod netns under /run/netns)
# is created in there, and all of it dies with the namespace when the command exits,
# also on failure or kill: the machine's own network is never touched.
set -euo pipefail
if [ "${CNI_EGRESS_SANDBOX:-}" != "inner" ]; then
  # Remember the namespace we leave, so tests can prove they are not in it.
  exec env CNI_EGRESS_SANDBOX=inner CNI_EGRESS_OUTER_NETNS="$(readlink /proc/self/ns/net)" unshare --net --mount --propagation private -- "$0" "$@"
fi
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/netns /var/lib/cni /etc/cni
mount -t tmpfs tmpfs /var/lib/cni
mount -t tmpfs tmpfs /etc/cni
ip link set lo up
exec "$@"
