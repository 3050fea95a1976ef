#!/usr/bin/env bash
# Where a CNI call waits in the kernel: every time one of the plugin's threads goes to sleep for
# more than 50 us (not preempted: asleep), with the kernel stack it slept in and when, from its exec.
# How: a tracefs instance of its own with sched_switch (kernel stacks on) and sched_wakeup for
# the plugin's threads; removed on exit. The calls run one by one on fresh pods, 0.3 s apart, so
# no call waits behind the previous pod's netns teardown.
#   add:   the ADDs are traced (each pod then deleted untraced)
#   del:   the DELs are traced, right after their ADD
#   check: a CHECK with the ADD's result, as CRI-O sends it
# ipv4 (default) or dual: the pods' address families. Built-in IPAM, no agent, dist/cni-egress.
# Usage (root, after ./build.sh): scripts/sandbox.sh scripts/plugin-sleeps.sh add|del|check [ipv4|dual] [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${CNI_EGRESS_SANDBOX:-}" = inner ] || { echo "run it inside scripts/sandbox.sh" >&2; exit 2; }
verb=${1:?usage: $0 add|del|check [ipv4|dual] [CALLS]} family=${2:-ipv4} calls=${3:-6}
case $verb in add|del|check) ;; *) echo "verb must be add, del or check" >&2; exit 2 ;; esac
ranges='[[{"subnet":"10.77.0.0/16"}]]'
[ "$family" = dual ] && ranges='[[{"subnet":"10.77.0.0/16"}],[{"subnet":"fd00:77::/64"}]]'
config="{\"cniVersion\":\"1.0.0\",\"name\":\"sleeps\",\"type\":\"cni-egress\",\"policyAgent\":\"off\",\"stateDir\":\"/run/cni-egress-sleeps\",\"ipam\":{\"type\":\"cni-egress\",\"ranges\":$ranges}}"
plugin=$PWD/dist/cni-egress
export CNI_PATH=$PWD/dist CNI_IFNAME=eth0

trace=/sys/kernel/tracing/instances/cni-egress-sleeps
traces=$(mktemp -d)
mkdir "$trace"
cleanup() { echo 0 > "$trace/tracing_on"; echo 0 > "$trace/options/stacktrace"; rmdir "$trace"; rm -rf "$traces"; }
trap cleanup EXIT
echo 'prev_comm ~ "cni-egress*"' > "$trace/events/sched/sched_switch/filter"
echo 'comm ~ "cni-egress*"' > "$trace/events/sched/sched_wakeup/filter"
for event in sched/sched_switch sched/sched_wakeup sched/sched_process_exec; do echo 1 > "$trace/events/$event/enable"; done
echo 1 > "$trace/options/stacktrace"

call() { CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 "$plugin"; }
for ((i = 1; i <= calls; i++)); do
  pod=sleeps$i
  ip netns add "$pod"
  [ "$verb" = add ] && { echo > "$trace/trace"; echo 1 > "$trace/tracing_on"; }
  result=$(call ADD "$pod" <<<"$config")
  echo 0 > "$trace/tracing_on"
  if [ "$verb" = check ]; then
    echo > "$trace/trace"; echo 1 > "$trace/tracing_on"
    call CHECK "$pod" <<<"$(jq -c --argjson r "$result" '. + {prevResult: $r}' <<<"$config")"
    echo 0 > "$trace/tracing_on"
  fi
  [ "$verb" = del ] && { echo > "$trace/trace"; echo 1 > "$trace/tracing_on"; }
  call DEL "$pod" <<<"$config"
  echo 0 > "$trace/tracing_on"
  cp "$trace/trace" "$traces/$i"
  ip netns del "$pod"
  sleep 0.3
done

python3 - "$traces" "$calls" <<'EOF'
import re, sys
folder, calls = sys.argv[1], int(sys.argv[2])
event = re.compile(r'\s*(.+?)-(\d+)\s+\[\d+\].*?\s(\d+\.\d+): (\w+): (.*)')
for n in range(1, calls + 1):
    exec_at, asleep, current = None, {}, None
    print(f"call {n}:")
    for line in open(f"{folder}/{n}"):
        if line.strip().startswith("=>"):
            if current is not None: current.append(line.strip()[3:])
            continue
        m = event.match(line)
        if not m: continue  # e.g. the "<stack trace>" line that heads a stack
        current = None
        at, kind, rest = float(m.group(3)), m.group(4), m.group(5)
        if kind == "sched_process_exec" and "cni-egress" in rest: exec_at = at
        elif kind == "sched_switch":
            s = re.search(r"prev_pid=(\d+) .*prev_state=(\S+)", rest)
            if s and not s.group(2).startswith("R"):
                current = []
                asleep[s.group(1)] = (at, current)
        elif kind == "sched_wakeup":
            pid = re.search(r"pid=(\d+)", rest).group(1)
            if pid in asleep and exec_at is not None:
                since, stack = asleep.pop(pid)
                if at - since > 50e-6:
                    # The first three frames are the tracer's and schedule's own.
                    print(f"  thread {pid} asleep {(at - since) * 1000:.3f} ms from {(since - exec_at) * 1000:.2f} ms: {' < '.join(stack[3:10])}")
EOF
