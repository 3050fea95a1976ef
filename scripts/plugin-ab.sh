#!/usr/bin/env bash
# Compares builds of the plugin by alternating them call by call, so this VM's drift (10-20% within
# minutes) hits every build alike; differences of ~1 ms are visible this way and not across runs.
#   version: per round, the mean time of 50 VERSION calls (exec to exit)
#   add:     per round, one ADD (built-in IPAM, IPv4, no agent) into a fresh pod netns, then its DEL
#   check:   per round, the mean time of 30 CHECK calls (config with prevResult, as CRI-O sends it)
#            against one pod wired once by the first CMD
#   cpu:     per round, one ADD as in "add", its CPU time and page faults from perf stat (less
#            exposed to this VM's scheduling noise than the wall time; the medians are of CPU time)
#   del:     per round, one ADD as in "add" per CMD, 3 s for the pods to settle (the kernel's IPv6
#            duplicate address detection is over), then each DEL, 0.3 s apart; IPv6 forwarding is
#            on, as on a dual-stack node
# Each CMD is a command line: "dist/cni-egress", or "env DOTNET_GCgen0size=0x200000 dist/cni-egress"
# (compare that with "env dist/cni-egress": the exec of env is part of each call).
# Prints the median and p10 over the rounds for each CMD.
# The sandbox gets a node's uplink and default routes first (scripts/node-uplink.sh); UPLINK=0
# leaves them out, for a node without a default route. PODS=N wires N pods with the first CMD
# before the rounds (a busy node: N host routes, N veths). IPAM=host-local delegates the addresses to
# Debian's host-local (/usr/lib/cni) instead of the built-in IPAM: one child process per ADD and DEL.
# Usage: [PODS=N] [UPLINK=0] [IPAM=host-local] scripts/sandbox.sh scripts/plugin-ab.sh version|add|check|cpu|del ROUNDS CMD...
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 version|add|check|cpu|del ROUNDS CMD..." >&2; exit 2; }
mode=$1 rounds=$2
shift 2
case $mode in version|add|check|cpu|del) ;; *) echo "mode must be version, add, check, cpu or del" >&2; exit 2 ;; esac
[ "${UPLINK:-1}" = 0 ] || "$(dirname "$0")/node-uplink.sh" # the default routes and address every node has
config=$(mktemp)
results=$(mktemp -d)
trap 'rm -rf "$config" "$results"' EXIT
ipam='"type":"cni-egress"' plugins=/opt/cni/bin
case ${IPAM:-} in
  "") ;;
  host-local) ipam='"type":"host-local","dataDir":"/run/cni-egress-ab/host-local"' plugins=/usr/lib/cni ;;
  *) echo "IPAM must be host-local or unset" >&2; exit 2 ;;
esac
echo '{"cniVersion":"1.0.0","name":"ab","type":"cni-egress","stateDir":"/run/cni-egress-ab","policyAgent":"off","ipam":{'"$ipam"',"ranges":[[{"subnet":"10.201.0.0/16"}]]}}' > "$config"
export CNI_IFNAME=eth0 CNI_PATH=$plugins

read -r -a first <<<"$1"
if [ "$mode" = check ]; then
  ip netns add ab-check
  trap 'CNI_COMMAND=DEL CNI_CONTAINERID=ab-check CNI_NETNS=/run/netns/ab-check "${first[@]}" < "$config" > /dev/null || true; ip netns del ab-check; rm -rf "$config" "$results"' EXIT
  result=$(CNI_COMMAND=ADD CNI_CONTAINERID=ab-check CNI_NETNS=/run/netns/ab-check "${first[@]}" < "$config")
  jq -c --argjson r "$result" '. + {prevResult: $r}' "$config" > "$config.check"
  mv "$config.check" "$config"
fi

[ "$mode" = del ] && sysctl -qw net.ipv6.conf.all.forwarding=1

for ((i = 0; i < ${PODS:-0}; i++)); do
  ip netns add "ab-busy$i"
  CNI_COMMAND=ADD CNI_CONTAINERID=ab-busy$i CNI_NETNS=/run/netns/ab-busy$i "${first[@]}" < "$config" > /dev/null
done

elapsed_ms() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.3f\n", (b - a) * 1000 / n }'; }

for ((round = 0; round < rounds; round++)); do
  if [ "$mode" = del ]; then
    for ((c = 1; c <= $#; c++)); do
      read -r -a cmd <<<"${!c}"
      ip netns add "ab$c-$round"
      CNI_COMMAND=ADD CNI_CONTAINERID=ab$c-$round CNI_NETNS=/run/netns/ab$c-$round "${cmd[@]}" < "$config" > /dev/null
    done
    sleep 3
    for ((c = 1; c <= $#; c++)); do
      read -r -a cmd <<<"${!c}"
      t0=$EPOCHREALTIME
      CNI_COMMAND=DEL CNI_CONTAINERID=ab$c-$round CNI_NETNS=/run/netns/ab$c-$round "${cmd[@]}" < "$config" > /dev/null
      elapsed_ms "$t0" "$EPOCHREALTIME" 1 >> "$results/$c"
      ip netns del "ab$c-$round"
      # The kernel dismantles a deleted netns in the background, RCU barriers included, and a
      # DEL meanwhile waits behind them: let it finish, or the second CMD of a round pays for the first.
      sleep 0.3
    done
    continue
  fi
  for ((c = 1; c <= $#; c++)); do
    read -r -a cmd <<<"${!c}"
    if [ "$mode" = check ]; then
      t0=$EPOCHREALTIME
      for ((i = 0; i < 30; i++)); do CNI_COMMAND=CHECK CNI_CONTAINERID=ab-check CNI_NETNS=/run/netns/ab-check "${cmd[@]}" < "$config" > /dev/null; done
      elapsed_ms "$t0" "$EPOCHREALTIME" 30 >> "$results/$c"
    elif [ "$mode" = version ]; then
      t0=$EPOCHREALTIME
      for ((i = 0; i < 50; i++)); do CNI_COMMAND=VERSION "${cmd[@]}" < "$config" > /dev/null; done
      elapsed_ms "$t0" "$EPOCHREALTIME" 50 >> "$results/$c"
    else
      pod=ab$c-$round
      ip netns add "$pod"
      if [ "$mode" = cpu ]; then
        CNI_COMMAND=ADD CNI_CONTAINERID=$pod CNI_NETNS=/run/netns/$pod perf stat -x, -e task-clock,page-faults -o "$results/stat" "${cmd[@]}" < "$config" > /dev/null
        awk -F, '/task-clock/ { t = $1 } /page-faults/ { f = $1 } END { print t, f }' "$results/stat" >> "$results/$c"
      else
        t0=$EPOCHREALTIME
        CNI_COMMAND=ADD CNI_CONTAINERID=$pod CNI_NETNS=/run/netns/$pod "${cmd[@]}" < "$config" > /dev/null
        elapsed_ms "$t0" "$EPOCHREALTIME" 1 >> "$results/$c"
      fi
      CNI_COMMAND=DEL CNI_CONTAINERID=$pod CNI_NETNS=/run/netns/$pod "${cmd[@]}" < "$config" > /dev/null
      ip netns del "$pod"
    fi
  done
done

for ((c = 1; c <= $#; c++)); do
  sort -n "$results/$c" | awk -v what="${!c}" -v mode="$mode" '{ v[NR] = $1; faults += $2 } END {
    printf "%s: median %.2f ms, p10 %.2f ms%s (%d rounds)\n", what, v[int(NR / 2) + 1], v[int(NR * 0.1) + 1],
      mode == "cpu" ? sprintf(" of CPU, %.1f page faults on average", faults / NR) : "", NR }'
done
