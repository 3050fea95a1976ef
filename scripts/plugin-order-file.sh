#!/usr/bin/env bash
# Regenerates cni-plugin/hot-methods.txt: the managed methods the plugin runs in its common calls,
# in the order a call first reaches them. The native-AOT compiler lays them out first
# (IlcOrderFile in the csproj), so a CNI call runs code from a few contiguous pages instead of
# pages spread over 1.2 MB; on this VM every page a process touches costs it microseconds.
# How: one uprobe (tracefs) per managed method of the built plugin, the calls below inside a
# sandbox, then each probe's first hit in time order. The probes are removed on exit.
# A stale list is harmless: names the compiler no longer emits are ignored, new methods go after.
# Usage (root, after ./build.sh, about a minute): scripts/plugin-order-file.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ "${1:-}" = --calls ]; then
  # Inside the sandbox: the calls whose code should be hot. $2 is the probed binary.
  plugin=$2
  "$repo/scripts/node-uplink.sh" # the calls take the paths of a node with default routes
  export CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin
  ipv4='{"cniVersion":"1.0.0","name":"order4","type":"cni-egress","stateDir":"/run/cni-egress-order","policyAgent":"off","ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.206.0.0/16"}]]}}'
  dual='{"cniVersion":"1.1.0","name":"order6","type":"cni-egress","stateDir":"/run/cni-egress-order","policyAgent":"off","ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.207.0.0/16"}],[{"subnet":"fd00:207::/64"}]]}}'
  agent_state=/run/cni-egress-order-agent
  with_agent='{"cniVersion":"1.0.0","name":"ordera","type":"cni-egress","stateDir":"'$agent_state'","policyAgent":"required","ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.208.0.0/16"}]]}}'
  legacy='{"cniVersion":"0.4.0","name":"order0","type":"cni-egress","stateDir":"/run/cni-egress-order","policyAgent":"off","ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.209.0.0/16"}]]}}'
  call() { local config=$1 command=$2 pod=$3; echo "$config" | CNI_COMMAND=$command CNI_CONTAINERID=$pod CNI_NETNS=/run/netns/$pod "$plugin"; }
  mkdir -p $agent_state/manifests
  "$repo/dist/egress-agent" run --manifests $agent_state/manifests --node-name order --state-dir $agent_state --status-address "" 2>/dev/null &
  agent=$!
  trap 'kill $agent; wait $agent 2>/dev/null || true' EXIT
  for ((i = 0; i < 100; i++)); do [ -S $agent_state/agent.sock ] && break; sleep 0.05; done
  for pod in o1 o2 o3 o4 d1 d2 a1 a2 l1; do ip netns add $pod; done
  echo 1 > /sys/kernel/tracing/tracing_on
  for pod in o1 o2 o3 o4; do call "$ipv4" ADD $pod > /dev/null; done
  prev=$(call "$ipv4" ADD o1)
  echo "$ipv4" | jq -c --argjson r "$prev" '. + {prevResult: $r}' | CNI_COMMAND=CHECK CNI_CONTAINERID=o1 CNI_NETNS=/run/netns/o1 "$plugin"
  for pod in o1 o2 o3 o4; do call "$ipv4" DEL $pod; done
  echo "$ipv4" | CNI_COMMAND=VERSION "$plugin" > /dev/null
  echo "$dual" | CNI_COMMAND=STATUS "$plugin"
  for pod in d1 d2; do call "$dual" ADD $pod > /dev/null; done
  call "$dual" DEL d1
  for pod in a1 a2; do call "$with_agent" ADD $pod > /dev/null; done
  for pod in a1 a2; do call "$with_agent" DEL $pod; done
  call "$legacy" ADD l1 > /dev/null
  call "$legacy" DEL l1
  echo "$dual" | jq -c '. + {"cni.dev/valid-attachments": [{"containerID": "d2", "ifname": "eth0"}]}' | env -u CNI_IFNAME CNI_COMMAND=GC "$plugin"
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "needs root (tracefs uprobes, network namespaces)" >&2; exit 2; }
built=cni-plugin/bin/Release/net10.0/linux-x64/native/cni-egress # unstripped, from ./build.sh
[ -x "$built" ] && [ -x dist/egress-agent ] || { echo "run ./build.sh first" >&2; exit 2; }
tracefs=/sys/kernel/tracing
[ -d $tracefs ] || mount -t tracefs nodev $tracefs
work=$(mktemp -d)
cp "$built" "$work/cni-egress"
group=cniegress_order
python3 - "$work/cni-egress" "$work" $group <<'EOF'
import os, re, subprocess, sys
binary, work, group = sys.argv[1:]
sections = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
start, size = next((int(m.group(1), 16), int(m.group(2), 16)) for m in
                   re.finditer(r"__managedcode\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", sections))
names = {}
for line in subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "Tt" and start <= int(parts[0], 16) < start + size:
        names.setdefault(int(parts[0], 16), []).append(parts[2])
addresses = sorted(names)
text_offset = next(int(m.group(1), 16) - int(m.group(2), 16) for m in
                   re.finditer(r"LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+R E",
                               subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout))
with open(os.path.join(work, "probes"), "w") as f:
    for i, address in enumerate(addresses):
        f.write(f"{i} {' '.join(names[address])}\n")
fd = os.open("/sys/kernel/tracing/uprobe_events", os.O_WRONLY | os.O_APPEND)
for i, address in enumerate(addresses):
    os.write(fd, f"p:{group}/m{i} {binary}:0x{address + text_offset:x}\n".encode())
os.close(fd)
print(f"{len(addresses)} managed methods probed", file=sys.stderr)
EOF
remove_probes() {
  echo 0 > $tracefs/events/$group/enable 2>/dev/null || true
  python3 - $group <<'EOF'
import os, sys
group = sys.argv[1]
ours = [line.split()[0][2:] for line in open("/sys/kernel/tracing/uprobe_events") if line.startswith(f"p:{group}/")]
fd = os.open("/sys/kernel/tracing/uprobe_events", os.O_WRONLY | os.O_APPEND)
for name in ours:
    os.write(fd, f"-:{name}\n".encode())
os.close(fd)
EOF
  echo "$saved_buffer" > $tracefs/buffer_size_kb
  echo "$saved_overwrite" > $tracefs/options/overwrite
  echo 1 > $tracefs/tracing_on
  rm -rf "$work"
}
saved_buffer=$(cat $tracefs/buffer_size_kb) saved_overwrite=$(cat $tracefs/options/overwrite)
trap remove_probes EXIT
echo 0 > $tracefs/tracing_on
echo > $tracefs/trace
echo 65536 > $tracefs/buffer_size_kb
echo 0 > $tracefs/options/overwrite # a full buffer keeps the earliest hits, the ones that count
echo 1 > $tracefs/events/$group/enable
scripts/sandbox.sh "$repo/scripts/plugin-order-file.sh" --calls "$work/cni-egress" > /dev/null
echo 0 > $tracefs/tracing_on
echo 0 > $tracefs/events/$group/enable
python3 - "$work/probes" $tracefs/trace cni-plugin/hot-methods.txt <<'EOF'
import re, sys
probes, trace, out = sys.argv[1:]
names = {int(line.split()[0]): line.split()[1:] for line in open(probes)}
order, seen = [], set()
for line in open(trace):
    m = re.search(r" m(\d+): \(", line)
    if m and int(m.group(1)) not in seen:
        seen.add(int(m.group(1)))
        order.append(int(m.group(1)))
with open(out, "w") as f:
    for i in order:
        f.write("".join(name + "\n" for name in names[i]))
print(f"{len(order)} methods reached, written to {out}", file=sys.stderr)
EOF
