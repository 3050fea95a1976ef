#!/usr/bin/env bash
# Where an ADD's time goes when the agent is serving: egress-agent (manifests mode, an egress
# policy for every pod of the namespace) serves PODS ADDs, then ROUNDS ADDs with
# `policyAgent: required` alternate with ROUNDS with `off`, while perf records syscall tracepoints
# system-wide (no process is stopped, unlike strace). For each plugin process: exec -> exit,
# exec -> the attachment record's rename (IPAM and the record), and with `required`: the record
# -> the announcement's connect, the wiring after it (connect -> the read of the agent's answer),
# the time that read waited, and the answer -> exit. Medians and p10/p90 in ms.
# Usage (root, after ./build.sh): scripts/sandbox.sh scripts/handshake-timeline.sh PODS ROUNDS
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${CNI_EGRESS_SANDBOX:-}" = inner ] || { echo "run it inside scripts/sandbox.sh" >&2; exit 2; }
pods=${1:?usage: $0 PODS ROUNDS} rounds=${2:?usage: $0 PODS ROUNDS}
scripts/node-uplink.sh
trace=$(mktemp) perf_pid=
# shellcheck source=scripts/agent-node.sh
. scripts/agent-node.sh
trap 'kill "${agent:-}" 2>/dev/null || true; rm -f "$trace"' EXIT
agent_node_start "$PWD" timeline 10.202.0.0/16
add() { agent_node_add "$1" "$2"; }
for i in $(seq 1 "$pods"); do add "wired-$i" required; done
sleep 1

perf record -q -a -o "$trace.perf" -e syscalls:sys_enter_execve -e syscalls:sys_enter_exit_group -e syscalls:sys_enter_rename \
  -e syscalls:sys_enter_connect -e syscalls:sys_enter_recvfrom -e syscalls:sys_exit_recvfrom &
perf_pid=$!
sleep 1
for i in $(seq 1 "$rounds"); do add "req-$i" required; add "off-$i" off; done
kill -INT "$perf_pid"
wait "$perf_pid" || true
perf script -i "$trace.perf" -F comm,pid,time,event,trace 2> /dev/null > "$trace"
rm -f "$trace.perf"

# One line per plugin process: mode and its intervals (ms); then medians per mode and interval.
awk '
  { pid = $2; t = $3; sub(":", "", t); t *= 1000; event = $4 }
  event ~ /enter_execve/ { exec[pid] = t }
  $1 != "cni-egress" { next }
  event ~ /enter_rename/ { rename[pid] = t }
  event ~ /enter_connect/ { connected[pid] = t; socket[pid] = $6 } # the agent socket: the one fd this plugin connects
  event ~ /enter_recvfrom/ && (pid in connected) && $6 == socket[pid] && !(pid in answered) { waiting[pid] = t }
  event ~ /exit_recvfrom/ && (pid in waiting) && !(pid in answered) { answered[pid] = t }
  event ~ /enter_exit_group/ && (pid in exec) && (pid in rename) {
    if (pid in answered)
      printf "required %.3f %.3f %.3f %.3f %.3f %.3f\n", t - exec[pid], rename[pid] - exec[pid], connected[pid] - rename[pid], waiting[pid] - connected[pid], answered[pid] - waiting[pid], t - answered[pid]
    else
      printf "off %.3f %.3f\n", t - exec[pid], rename[pid] - exec[pid]
  }' "$trace" > "$trace.rows"
names=("exec -> exit" "exec -> attachment record" "record -> announcement" "wiring after the announcement" "wait for the agent's answer" "answer -> exit")
for mode in required off; do
  columns=2; [ "$mode" = required ] && columns=6
  echo "policyAgent $mode ($(grep -c "^$mode " "$trace.rows") ADDs, $pods pods wired before):"
  for ((c = 1; c <= columns; c++)); do
    awk -v m="$mode" -v c=$((c + 1)) '$1 == m { print $c }' "$trace.rows" | sort -n |
      awk -v name="${names[c - 1]}" '{ v[NR] = $1 } END { printf "  %-30s median %.3f ms, p10 %.3f, p90 %.3f\n", name, v[int(NR / 2) + 1], v[int(NR / 10) + 1], v[int(NR * 9 / 10)] }'
  done
done
rm -f "$trace.rows"
