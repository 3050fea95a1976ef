#!/usr/bin/env bash
# Runs inside scripts/sandbox.sh (private netns + tmpfs /run). See demo.sh.
set -euo pipefail
[ "${CNI_EGRESS_SANDBOX:-}" = inner ] || { echo "run through demo.sh" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
plugin="$repo/dist/cni-egress"
pids=()
pods=(frontend backend db-client)
declare -A ids addr results

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for pod in "${pods[@]}"; do
    [ -n "${ids[$pod]:-}" ] && cni DEL "$pod" >/dev/null 2>&1 || true
    ip netns del "$pod" 2>/dev/null || true
  done
  ip netns del external 2>/dev/null || true
}
trap cleanup EXIT

conf='{"cniVersion":"1.1.0","name":"demo","type":"cni-egress","ipMasq":true,"policyAgent":"off",
  "clusterCIDRs":["10.244.0.0/16","fd00:10:244::/56"],
  "ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.244.1.0/24"}],[{"subnet":"fd00:10:244:1::/64"}]]}}'

cni() { # cni VERB POD [CONFIG]
  CNI_COMMAND=$1 CNI_CONTAINERID=${ids[$2]} CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 \
  CNI_ARGS="K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$2" CNI_PATH="$repo/dist" "$plugin" <<<"${3:-$conf}"
}

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else echo "$*"; fi; }
verdict() { if [ "$1" = ok ]; then [ -t 1 ] && printf '\033[32m%-22s\033[0m' "$2" || printf '%-22s' "$2"; else [ -t 1 ] && printf '\033[31m%-22s\033[0m' "$2" || printf '%-22s' "$2"; fi; }

bold "== An external host on TEST-NET (203.0.113.10), routed from the node"
ip netns add external
ip link add uplink0 type veth peer name eth0 netns external
ip addr add 203.0.113.1/24 dev uplink0 && ip link set uplink0 up
ip -n external addr add 203.0.113.10/24 dev eth0 && ip -n external link set eth0 up && ip -n external link set lo up
ip netns exec external socat TCP-LISTEN:3306,reuseaddr,fork 'SYSTEM:echo "db sees $SOCAT_PEERADDR"' & pids+=($!)

bold "== Wiring pods with dist/cni-egress (ADD, as containerd would exec it)"
for pod in "${pods[@]}"; do
  ip netns add "$pod"; ip -n "$pod" link set lo up
  ids[$pod]="demo-$pod-$RANDOM$RANDOM"
  start=$(date +%s%N)
  result=$(cni ADD "$pod")
  end=$(date +%s%N)
  results[$pod]=$result
  addr[$pod]=$(jq -r '.ips[0].address' <<<"$result" | cut -d/ -f1)
  addr6=$(jq -r '.ips[1].address' <<<"$result" | cut -d/ -f1)
  printf '  %-10s %-14s %-22s host veth %s   ADD took %s ms\n' "$pod" "${addr[$pod]}" "$addr6" \
    "$(jq -r '.interfaces[0].name' <<<"$result")" "$(awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e6 }')"
  ip netns exec "$pod" socat TCP-LISTEN:80,reuseaddr,fork "SYSTEM:echo \"$pod sees \$SOCAT_PEERADDR\"" & pids+=($!)
done
sleep 0.3

bold "== Reachability (TCP connect, 2 s bound); the answer shows the source address the server saw"
printf '%-12s' "from \\ to"; for dst in "${pods[@]}" external:3306; do printf '%-22s' "$dst"; done; echo
for src in "${pods[@]}"; do
  printf '%-12s' "$src"
  for dst in "${pods[@]}" external; do
    if [ "$dst" = external ]; then target=203.0.113.10:3306; else target=${addr[$dst]}:80; fi
    if out=$(ip netns exec "$src" socat -T2 - "TCP:$target,connect-timeout=2" 2>/dev/null </dev/null) && [ -n "$out" ]; then
      verdict ok "ok (${out##* })"
    else
      verdict no "no"
    fi
  done
  echo
done
echo
echo "Pod-to-pod traffic keeps the pod's own address; traffic leaving clusterCIDRs is masqueraded"
echo "to the node's address (203.0.113.1) by table inet cni-egress-nat:"
nft list table inet cni-egress-nat | sed 's/^/    /'

bold "== CHECK (as CRI-O runs it after ADD): the wiring still matches each ADD result"
for pod in "${pods[@]}"; do
  with_prev=$(jq -c --argjson prev "${results[$pod]}" '. + {prevResult: $prev}' <<<"$conf")
  if out=$(cni CHECK "$pod" "$with_prev"); then echo "  $pod: ok"; else echo "  $pod: $(jq -r .msg <<<"$out")"; fi
done
victim=${pods[1]}
ip -n "$victim" route del default
with_prev=$(jq -c --argjson prev "${results[$victim]}" '. + {prevResult: $prev}' <<<"$conf")
out=$(cni CHECK "$victim" "$with_prev") || true
echo "  after deleting $victim's default route, CHECK says: $(jq -c '{code, msg}' <<<"$out")"

bold "== DEL: nothing is left behind"
for pod in "${pods[@]}"; do cni DEL "$pod" >/dev/null; ids[$pod]=""; done
echo "  host veths left: $(ip -o link show type veth | grep -c ' ceg' || true)"
echo "  attachment records left: $(ls /run/cni-egress/attachments 2>/dev/null | wc -l)"
echo "  addresses still allocated: $(ls /run/cni-egress/ipam/demo 2>/dev/null | grep -cE '^[0-9]+\.|^[0-9a-f]+_' || true)"
for set in masq-sources-v4 masq-sources-v6; do
  echo "  $set elements left: $(nft -j list set inet cni-egress-nat $set | jq '[.nftables[].set.elem // empty | .[]] | length')"
done
