#!/usr/bin/env bash
# What the agent pays per CNI ADD on a busy node: egress-agent (manifests mode, one namespace with
# an egress policy for every pod; the pods themselves are unknown to the manifests, so each is
# failed closed into the unknown-pod class) serves PODS ADDs first, then ROUNDS more are timed.
# Prints the agent's CPU time per timed ADD (utime + stime from /proc/PID/stat, 10 ms ticks: use
# >= 100 rounds) and the ADD's median and p10 (the exec of `ip netns add` included). "perf"
# records the agent's profile meanwhile into /tmp/agent-busy-node.perf (resolve its frames with
# the unstripped binary, policy-agent/bin/Release/net10.0/linux-x64/native/egress-agent.dbg).
# "handshake" times each round twice instead, with `policyAgent: required` and `off` in turn
# against the same agent (which reads the record either way), under `perf stat`: the ADD's wall
# time (without `ip netns add`) and its CPU time, medians of each, so the wait for the agent's
# answer shows as wall time that is not CPU.
# BUILD: a directory with dist/cni-egress and dist/egress-agent (default: this repo). To compare
# builds, run the script once per build, alternating: each run is a fresh sandbox.
# Usage (root, after ./build.sh): scripts/sandbox.sh scripts/agent-busy-node.sh PODS ROUNDS [perf|handshake] [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${CNI_EGRESS_SANDBOX:-}" = inner ] || { echo "run it inside scripts/sandbox.sh" >&2; exit 2; }
scripts/node-uplink.sh # the default routes and address every node has
usage="usage: $0 PODS ROUNDS [perf|handshake] [BUILD]"
pods=${1:?$usage} rounds=${2:?$usage}
shift 2
profile= handshake=
case ${1:-} in
  perf) profile=1; shift ;;
  handshake) handshake=1; shift ;;
esac
build=${1:-$PWD}
export CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin
perf_pid=
times=$(mktemp)
# shellcheck source=scripts/agent-node.sh
. scripts/agent-node.sh
trap 'kill "${agent:-}" 2>/dev/null || true; rm -f "$times"' EXIT
agent_node_start "$build" busy 10.200.0.0/16
add() { agent_node_add "$1"; }

for i in $(seq 1 "$pods"); do add "wired-$i"; done
sleep 1

if [ -n "$handshake" ]; then
  # One ADD in pod $1 with policyAgent $2: its wall time (without `ip netns add`) appended to
  # $times.$2.wall; with $3 = cpu, under perf stat instead (whose own start would swamp the wall
  # time), its CPU time to $times.$2.cpu.
  timed_add() {
    ip netns add "$1"
    local t0=$EPOCHREALTIME
    CNI_COMMAND=ADD CNI_CONTAINERID="$1" CNI_NETNS="/run/netns/$1" CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$1;K8S_POD_UID=u-$1" \
      ${3:+perf stat -x, -e task-clock -o "$times.stat"} "$build/dist/cni-egress" <<< "${agent_node_config/\"required\"/\"$2\"}" > /dev/null
    if [ -n "${3:-}" ]; then awk -F, '/task-clock/ { print $1 }' "$times.stat" >> "$times.$2.cpu"
    else awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >> "$times.$2.wall"; fi
  }
  for i in $(seq 1 "$rounds"); do
    for cpu in "" cpu; do
      if (( i % 2 )); then timed_add "req$cpu-$i" required $cpu; timed_add "off$cpu-$i" off $cpu
      else timed_add "off$cpu-$i" off $cpu; timed_add "req$cpu-$i" required $cpu; fi
    done
  done
  median() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.2f ms (p10 %.2f)", v[int(NR / 2) + 1], v[int(NR / 10) + 1] }'; }
  for mode in required off; do
    echo "$build, $pods pods wired before, policyAgent $mode: ADD wall median $(median "$times.$mode.wall"), CPU median $(median "$times.$mode.cpu"), $rounds rounds"
  done
  rm -f "$times".*
  exit 0
fi
cpu0=$(awk '{ print $14 + $15 }' "/proc/$agent/stat")
if [ -n "$profile" ]; then
  perf record -q -g -o /tmp/agent-busy-node.perf -p "$agent" &
  perf_pid=$!
  sleep 0.5
fi
for i in $(seq 1 "$rounds"); do
  t0=$EPOCHREALTIME
  add "timed-$i"
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >> "$times"
done
cpu1=$(awk '{ print $14 + $15 }' "/proc/$agent/stat")
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
awk -v a="$cpu0" -v b="$cpu1" -v n="$rounds" -v t="$(getconf CLK_TCK)" -v build="$build" -v pods="$pods" \
  'BEGIN { printf "%s, %d pods wired before: agent CPU per ADD %.2f ms; ", build, pods, (b - a) * 1000 / t / n }'
sort -n "$times" | awk '{ a[NR] = $1 } END { printf "ADD median %.2f ms, p10 %.2f ms\n", a[int(NR / 2) + 1], a[int(NR / 10) + 1] }'
