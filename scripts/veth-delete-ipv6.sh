#!/usr/bin/env bash
# How long the kernel takes to delete a pod's veth, by the IPv6 addresses its host end has, with
# `ip` alone (no plugin): the table under "One RCU grace period per DEL" in docs/benchmarks.md.
# Each row wires DELETIONS veths the plugin's way (peer in its own netns with a /128, neighbour
# entries, a /128 route to the pod, the pod's default route via fe80::1), gives the host end
# fe80::1 with the row's prefix, waits, and times `ip link del` of each. With IPv6 forwarding on,
# an address with a prefix shorter than /127 joins its subnet-router anycast address, whose
# teardown costs the deletion a second RCU grace period; the kernel's own link-local address (a
# /64, final ~2 s after the link is up) does too unless "addrgenmode none".
# Usage (root): scripts/sandbox.sh scripts/veth-delete-ipv6.sh [DELETIONS]
set -euo pipefail
[ "${CNI_EGRESS_SANDBOX:-}" = inner ] || { echo "run it inside scripts/sandbox.sh" >&2; exit 2; }
deletions=${1:-8}

# row: FORWARDING PREFIX ADDRGENMODE WAIT
row() {
  local forwarding=$1 prefix=$2 addrgenmode=$3 wait=$4 times=() i
  sysctl -qw net.ipv6.conf.all.forwarding="$forwarding"
  for ((i = 1; i <= deletions; i++)); do
    ip netns add "vd$i"
    ip link add "vdh$i" type veth peer name eth0 netns "vd$i"
    ip link set "vdh$i" addrgenmode "$addrgenmode"
    ip -n "vd$i" link set eth0 up
    ip link set "vdh$i" up
    ip addr add "fe80::1/$prefix" dev "vdh$i" nodad
    ip -6 neigh replace "fd00:77::$i" lladdr "$(ip -n "vd$i" -br link show eth0 | awk '{ print $3 }')" dev "vdh$i" nud permanent
    ip -6 route replace "fd00:77::$i/128" dev "vdh$i"
    ip -n "vd$i" addr add "fd00:77::$i/128" dev eth0 nodad
    ip -n "vd$i" -6 neigh replace fe80::1 lladdr "$(ip -br link show "vdh$i" | awk '{ print $3 }')" dev eth0 nud permanent
    ip -n "vd$i" -6 route replace default via fe80::1 dev eth0 onlink
  done
  sleep "$wait"
  for ((i = 1; i <= deletions; i++)); do
    local t0=$EPOCHREALTIME
    ip link del "vdh$i"
    times+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }')")
    ip netns del "vd$i"
    sleep 0.3 # the netns teardown's own RCU barriers would delay the next deletion
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v what="forwarding $forwarding, fe80::1/$prefix, addrgenmode $addrgenmode, deleted after ${wait} s" \
    '{ v[NR] = $1 } END { printf "%-70s median %5.1f ms (p10 %.1f, p90 %.1f)\n", what, v[int(NR / 2) + 1], v[int(NR * 0.1) + 1], v[int(NR * 0.9)] }'
}

row 1 64 eui64 0
row 1 128 eui64 0
row 1 128 eui64 3
row 1 128 none 3
row 1 64 none 3
row 0 64 eui64 0
