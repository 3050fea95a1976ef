#!/usr/bin/env bash
# Gives the sandbox's node what every Kubernetes node has and an empty namespace lacks: an uplink
# (like this VM's eth0: MTU 1400, an address, IPv4 and IPv6 default routes through it) to a
# namespace that stands for the upstream router. Without it, latency benchmarks measure paths no
# node takes: the plugin finds no default route for the pod MTU, and the kernel, choosing a source
# address for each new host route, finds no address on any link and walks every pod's veth.
# Run inside scripts/sandbox.sh, once; everything dies with the sandbox.
set -euo pipefail
[ "${CNI_EGRESS_SANDBOX:-}" = inner ] || { echo "run it inside scripts/sandbox.sh" >&2; exit 2; }
ip netns add upstream
ip link add uplink0 mtu 1400 type veth peer name eth0 mtu 1400 netns upstream
ip addr add 192.0.2.2/24 dev uplink0
ip addr add 2001:db8:1::2/64 dev uplink0 nodad
ip link set uplink0 up
ip -n upstream addr add 192.0.2.1/24 dev eth0
ip -n upstream addr add 2001:db8:1::1/64 dev eth0 nodad
ip -n upstream link set eth0 up
ip route add default via 192.0.2.1 dev uplink0
ip -6 route add default via 2001:db8:1::1 dev uplink0
