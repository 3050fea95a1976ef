#!/usr/bin/env bash
# Runs inside scripts/sandbox.sh (private netns + tmpfs /run). See demo.sh.
# A node in a box: egress-agent in --manifests mode starts first; pods are wired by
# dist/cni-egress exactly as a runtime execs it (each ADD waits until the agent has the pod's
# policy in the kernel); external hosts stand on TEST-NET; then the seed documents' policies are
# applied one step at a time, each followed by the reachability matrix and one `explain`, and a
# last step isolates a pod for ingress.
set -euo pipefail
[ "${CNI_EGRESS_SANDBOX:-}" = inner ] || { echo "run through demo.sh" >&2; exit 1; }
keep=false
[ "${1:-}" = --keep ] && keep=true
repo=$(cd "$(dirname "$0")/../.." && pwd)
plugin="$repo/dist/cni-egress"
agent="$repo/dist/egress-agent"
state=/run/cni-egress
manifests=/run/cni-egress-demo/manifests
agent_log=/run/cni-egress-demo/agent.log
pods=(frontend backend my-app)
externals=(backend:80/udp 203.0.113.10:3306 203.0.113.11:3306 198.51.100.10:443 198.51.100.10:53/udp)
pids=()
agent_pid=""
agent2_pid=""
declare -A ids addr results
add_ms=()
enforce_ms=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for pod in "${pods[@]}"; do
    [ -n "${ids[$pod]:-}" ] && cni DEL "$pod" >/dev/null 2>&1 || true
    ip netns del "$pod" 2>/dev/null || true
  done
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  [ -n "$agent2_pid" ] && kill "$agent2_pid" 2>/dev/null && wait "$agent2_pid" 2>/dev/null || true
  [ -n "${ids[remote]:-}" ] && cni_node2 DEL remote >/dev/null 2>&1 || true
  ip netns del remote 2>/dev/null || true
  ip netns del node2 2>/dev/null || true
  "$agent" cleanup >/dev/null 2>&1 || true
  ip netns del external 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # so that an interrupted demo still runs cleanup

conf='{"cniVersion":"1.1.0","name":"demo","type":"cni-egress","ipMasq":true,"policyAgent":"required",
  "clusterCIDRs":["10.244.0.0/16","fd00:10:244::/56"],
  "ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.244.1.0/24"}],[{"subnet":"fd00:10:244:1::/64"}]]}}'

cni() { # cni VERB POD [CONFIG]
  CNI_COMMAND=$1 CNI_CONTAINERID=${ids[$2]} CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 \
  CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$2" CNI_PATH="$repo/dist" "$plugin" <<<"${3:-$conf}"
}

# The second node (step 8): its own namespace, CNI state, pod subnets and agent, on the same folder.
conf2='{"cniVersion":"1.1.0","name":"demo","type":"cni-egress","ipMasq":true,"policyAgent":"required",
  "stateDir":"/run/cni-egress-node2","clusterCIDRs":["10.244.0.0/16","fd00:10:244::/56"],
  "ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.244.2.0/24"}],[{"subnet":"fd00:10:244:2::/64"}]]}}'
cni_node2() { # cni_node2 VERB POD
  ip netns exec node2 env CNI_COMMAND="$1" CNI_CONTAINERID="${ids[$2]}" CNI_NETNS="/run/netns/$2" CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$2" CNI_PATH="$repo/dist" "$plugin" <<<"$conf2"
}

bold() { if [ -t 1 ]; then printf '\n\033[1m%s\033[0m\n' "$*"; else printf '\n%s\n' "$*"; fi; }
cell() { # cell ok|no TEXT
  if [ -t 1 ]; then [ "$1" = ok ] && printf '\033[32m%-18s\033[0m' "$2" || printf '\033[31m%-18s\033[0m' "$2"
  else printf '%-18s' "$2"; fi
}
# Timestamps from bash itself: forking `date` (~3 ms here) inside a timed interval would
# count the fork.
now_us() { printf -v "$1" '%s' "${EPOCHREALTIME/./}"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1e3 }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Writes a manifest as configuration tools do (aside, then renamed over) and waits, bounded,
# until the agent has applied it (its log says so after the kernel holds it).
apply() { # apply FILE CONTENT
  local before; before=$(grep -c 'applied' "$agent_log" || true)
  local start; now_us start
  printf '%s\n' "$2" > "$manifests/.$1.tmp" && mv "$manifests/.$1.tmp" "$manifests/$1"
  wait_applied "$before" "$start"
}
remove() { # remove FILE...
  local before; before=$(grep -c 'applied' "$agent_log" || true)
  local start; now_us start
  for f in "$@"; do rm -f "$manifests/$f"; done
  wait_applied "$before" "$start" "removed"
}
wait_applied() { # wait_applied LOG_LINES_BEFORE START_US [WHAT]
  for _ in $(seq 1 200); do
    if [ "$(grep -c 'applied' "$agent_log" || true)" -gt "$1" ]; then
      local end; now_us end
      local took; took=$(ms $(( end - $2 ))); enforce_ms+=("$took")
      echo "  (in the kernel $took ms after the file was ${3:-written})"
      return
    fi
    sleep 0.02
  done
  echo "  the agent did not apply the change within 4 s:" >&2; tail -5 "$agent_log" >&2; exit 1
}

matrix() {
  local dir; dir=$(mktemp -d)
  local probes=()
  for src in "${pods[@]}"; do
    for dst in "${pods[@]}" "${externals[@]}"; do
      local remote
      if [[ $dst == backend:80/udp ]]; then remote="UDP:${addr[backend]}:80"
      elif [[ $dst == */udp ]]; then remote="UDP:${dst%/udp}"
      elif [[ $dst == *:* ]]; then remote="TCP:$dst,connect-timeout=1"
      else remote="TCP:${addr[$dst]}:80,connect-timeout=1"; fi
      # The servers answer with the source address they saw: masquerade shows off-cluster.
      ( out=$(echo ping | ip netns exec "$src" socat -T1 - "$remote" 2>/dev/null) && [ -n "$out" ] \
          && echo "ok ${out##* }" > "$dir/$src-${dst//\//_}" || echo no > "$dir/$src-${dst//\//_}" ) &
      probes+=($!)
    done
  done
  wait "${probes[@]}"
  printf '  %-10s' "from \\ to"; for dst in "${pods[@]}"; do printf '%-18s' "$dst:80"; done
  for dst in "${externals[@]}"; do printf '%-18s' "$dst"; done; echo
  for src in "${pods[@]}"; do
    printf '  %-10s' "$src"
    for dst in "${pods[@]}" "${externals[@]}"; do
      local result; result=$(cat "$dir/$src-${dst//\//_}")
      if [ "$result" = no ]; then cell no denied; else cell ok "$result"; fi
    done
    echo
  done
  rm -rf "$dir"
  echo "  (ok ADDRESS: connected, and the server saw ADDRESS as the source: the pod's own inside the"
  echo "   cluster, the node's off-cluster, where ipMasq masquerades)"
}

explain() { # explain FROM TO
  echo "  \$ egress-agent explain --from default/$1 --to $2"
  "$agent" explain --from "default/$1" --to "$2" 2>&1 | sed 's/^/    /' || true
}

show() { sed 's/^/    /' <<<"$1"; }

bold "== External hosts on TEST-NET, routed from the node"
ip netns add external
ip link add uplink0 type veth peer name eth0 netns external
ip addr add 203.0.113.1/24 dev uplink0 && ip addr add 198.51.100.1/24 dev uplink0 && ip link set uplink0 up
for a in 203.0.113.10/24 203.0.113.11/24 198.51.100.10/24; do ip -n external addr add "$a" dev eth0; done
ip -n external link set eth0 up && ip -n external link set lo up
ip -n external route add default via 203.0.113.1
ip netns exec external socat TCP-LISTEN:3306,reuseaddr,fork 'SYSTEM:echo "db sees $SOCAT_PEERADDR"' & pids+=($!)
ip netns exec external socat TCP-LISTEN:443,reuseaddr,fork 'SYSTEM:echo "api sees $SOCAT_PEERADDR"' & pids+=($!)
ip netns exec external socat UDP-RECVFROM:53,fork 'SYSTEM:echo "dns sees $SOCAT_PEERADDR"' & pids+=($!)
echo "  databases 203.0.113.10 and 203.0.113.11 (TCP 3306), an API at 198.51.100.10 (TCP 443, UDP 53)"

bold "== egress-agent run --manifests (started first; pods are announced to it by each ADD)"
mkdir -p "$manifests" "$state"
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n'
  for pod in "${pods[@]}"; do
    printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\n  labels:\n    app: %s\nspec:\n  containers:\n  - name: main\n    image: busybox\n    ports:\n    - name: http\n      containerPort: 80\n' "$pod" "$pod"
  done
} > "$manifests/pods.yaml"
"$agent" run --manifests "$manifests" --node-name node-1 --state-dir "$state" --status-address "" 2> "$agent_log" &
agent_pid=$!
for _ in $(seq 1 300); do grep -q 'serving CNI ADDs' "$agent_log" && break; sleep 0.02; done
grep -q 'serving CNI ADDs' "$agent_log" || { echo "the agent did not start:" >&2; cat "$agent_log" >&2; exit 1; }
echo "  $(head -1 "$agent_log" | cut -d' ' -f2-)"

bold "== Wiring pods with dist/cni-egress (ADD as containerd execs it; policyAgent: required)"
for pod in "${pods[@]}"; do
  ip netns add "$pod"; ip -n "$pod" link set lo up
  ids[$pod]="demo-$pod-$RANDOM$RANDOM"
  # Timed as a runtime sees it: the exec of the plugin to its exit, no subshell around it.
  now_us start
  cni ADD "$pod" > "/run/cni-egress-demo/add-$pod.json"
  now_us end
  took=$(ms $(( end - start ))); add_ms+=("$took")
  result=$(< "/run/cni-egress-demo/add-$pod.json")
  results[$pod]=$result
  addr[$pod]=$(jq -r '.ips[0].address' <<<"$result" | cut -d/ -f1)
  printf '  %-9s app=%-9s %-12s %-22s host veth %s   ADD (with the agent handshake) %s ms\n' "$pod" "$pod" "${addr[$pod]}" \
    "$(jq -r '.ips[1].address' <<<"$result" | cut -d/ -f1)" "$(jq -r '.interfaces[0].name' <<<"$result")" "$took"
done
# The servers start once every pod is wired: started between ADDs, they would compete with the
# next ADD for this machine's two cores, and its figure would measure that.
for pod in "${pods[@]}"; do
  ip netns exec "$pod" socat TCP-LISTEN:80,reuseaddr,fork "SYSTEM:echo \"$pod sees \$SOCAT_PEERADDR\"" & pids+=($!)
  ip netns exec "$pod" socat UDP-RECVFROM:80,fork "SYSTEM:echo \"$pod sees \$SOCAT_PEERADDR\"" & pids+=($!)
done
sleep 0.2

bold "== Step 1: no NetworkPolicy. Kubernetes allows everything"
matrix

bold "== Step 2: a default allow-all egress policy (every pod isolated, every destination allowed)"
allow_all='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-all-egress
  namespace: default
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - {}'
show "$allow_all"; apply allow-all.yaml "$allow_all"
matrix
explain frontend 203.0.113.10:3306

bold "== Step 3: the seed's ipBlock policy replaces it: 203.0.113.0/24 except 203.0.113.10/32, TCP 3306"
seed_ipblock='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: egress-network-policy
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock:
        cidr: 203.0.113.0/24
        except:
        - 203.0.113.10/32
    ports:
    - protocol: TCP
      port: 3306'
show "$seed_ipblock"; remove allow-all.yaml; apply egress-network-policy.yaml "$seed_ipblock"
matrix
echo "  Pods now reach only 203.0.113.11:3306: 203.0.113.10 is excepted, pods and the API are not in the block."
echo "  No policyTypes: the API server defaults them to Ingress (always) and Egress (there are egress rules),"
echo "  so this policy also isolates every pod for ingress with no ingress rule: nothing connects in any more."
explain backend 203.0.113.10:3306

bold "== Step 4: the seed's podSelector-scoped policy adds 203.0.113.0/24 on every port for app=backend"
seed_backend='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: restrict-egress
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: backend
  policyTypes:
  - Egress
  egress:
  - to:
    - ipBlock:
        cidr: 203.0.113.0/24'
show "$seed_backend"; apply restrict-egress.yaml "$seed_backend"
matrix
echo "  Policies add up: backend may reach all of 203.0.113.0/24 (the except of the other policy removes addresses from that peer only)."
explain backend 203.0.113.10:3306

bold "== Step 5: the seed's allow-egress-example selects app=my-app: 192.168.1.0/24 only (no host answers there)"
seed_myapp='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-egress-example
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: my-app
  egress:
    - to:
        - ipBlock:
            cidr: 192.168.1.0/24
  policyTypes:
    - Egress'
show "$seed_myapp"; apply allow-egress-example.yaml "$seed_myapp"
matrix
explain my-app 198.51.100.10:443

bold "== Step 6: deny-all egress replaces every policy"
deny_all='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all-egress
  namespace: default
spec:
  podSelector: {}
  policyTypes: [Egress]'
show "$deny_all"; remove egress-network-policy.yaml restrict-egress.yaml allow-egress-example.yaml; apply deny-all.yaml "$deny_all"
matrix
explain frontend default/backend:80

bold "== Step 7: ingress. backend accepts only frontend, on its named port http; egress is open again"
backend_ingress='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: backend-ingress
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: backend
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:
    - port: http'
show "$backend_ingress"; remove deny-all.yaml; apply backend-ingress.yaml "$backend_ingress"
matrix
echo "  Into backend: frontend on TCP 80 (http) only; my-app and UDP 80 are refused at backend's veth."
echo "  A pod reaching its own address never leaves its namespace; the node itself (kubelet probes) is always let in."
explain my-app default/backend:80

bold "== Step 8: a second node. Pods reach each other across nodes with their own addresses"
ip netns add node2
ip netns exec node2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n node2 link set lo up
ip link add node2link type veth peer name eth0 netns node2
sysctl -qw net.ipv6.conf.node2link.accept_dad=0  # its link-local is usable at once for neighbour discovery
ip addr add 192.0.2.11/24 dev node2link && ip addr add 2001:db8:2::11/64 dev node2link nodad && ip link set node2link up
ip -n node2 addr add 192.0.2.12/24 dev eth0 && ip -n node2 addr add 2001:db8:2::12/64 dev eth0 nodad && ip -n node2 link set eth0 up
node_doc() { # node_doc NAME V4 V6 CIDR4 CIDR6
  printf -- '---\napiVersion: v1\nkind: Node\nmetadata:\n  name: %s\nspec:\n  podCIDRs: ["%s", "%s"]\nstatus:\n  addresses:\n  - {type: InternalIP, address: "%s"}\n  - {type: InternalIP, address: "%s"}\n' "$1" "$4" "$5" "$2" "$3"
}
show "$(node_doc node-1 192.0.2.11 2001:db8:2::11 10.244.1.0/24 fd00:10:244:1::/64; node_doc node-2 192.0.2.12 2001:db8:2::12 10.244.2.0/24 fd00:10:244:2::/64)"
routes_before=$(grep -c 'routes:' "$agent_log" || true)
printf '%s\n' "$(node_doc node-1 192.0.2.11 2001:db8:2::11 10.244.1.0/24 fd00:10:244:1::/64; node_doc node-2 192.0.2.12 2001:db8:2::12 10.244.2.0/24 fd00:10:244:2::/64)" > "$manifests/.nodes.yaml.tmp"
mv "$manifests/.nodes.yaml.tmp" "$manifests/nodes.yaml"
for _ in $(seq 1 200); do [ "$(grep -c 'routes:' "$agent_log" || true)" -gt "$routes_before" ] && break; sleep 0.02; done
echo "  node-1's agent: $(grep 'routes:' "$agent_log" | tail -1 | cut -d' ' -f2-)"
ip netns exec node2 "$agent" run --manifests "$manifests" --node-name node-2 --state-dir /run/cni-egress-node2 --status-address "" 2> /run/cni-egress-demo/agent2.log &
agent2_pid=$!
for _ in $(seq 1 300); do grep -q 'serving CNI ADDs' /run/cni-egress-demo/agent2.log && break; sleep 0.02; done
grep -q 'serving CNI ADDs' /run/cni-egress-demo/agent2.log || { echo "the second agent did not start:" >&2; cat /run/cni-egress-demo/agent2.log >&2; exit 1; }
ip netns add remote; ip -n remote link set lo up
ids[remote]="demo-remote-$RANDOM$RANDOM"
remote_result=$(cni_node2 ADD remote)
addr[remote]=$(jq -r '.ips[0].address' <<<"$remote_result" | cut -d/ -f1)
remote_v6=$(jq -r '.ips[1].address' <<<"$remote_result" | cut -d/ -f1)
ip netns exec remote socat TCP-LISTEN:80,reuseaddr,fork "SYSTEM:echo \"remote sees \$SOCAT_PEERADDR\"" & pids+=($!)
ip netns exec remote socat TCP6-LISTEN:80,ipv6only=1,reuseaddr,fork "SYSTEM:echo \"remote sees \$SOCAT_PEERADDR\"" & pids+=($!)
echo "  remote (app=remote) on node-2: ${addr[remote]}, $remote_v6"
# The API server would report every pod's addresses: write them, so both agents see all pods.
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n'
  for pod in "${pods[@]}" remote; do
    v6=$([ "$pod" = remote ] && echo "$remote_v6" || jq -r '.ips[1].address' <<<"${results[$pod]}" | cut -d/ -f1)
    printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\n  labels:\n    app: %s\nspec:\n  containers:\n  - name: main\n    image: busybox\n    ports:\n    - name: http\n      containerPort: 80\nstatus:\n  podIPs: [{ip: "%s"}, {ip: "%s"}]\n' "$pod" "$pod" "${addr[$pod]}" "$v6"
  done
} > "$manifests/.pods.yaml.tmp" && mv "$manifests/.pods.yaml.tmp" "$manifests/pods.yaml"
sleep 0.5
echo "  routes on node-1 (proto 206 = egress-agent):"
ip route show proto 206 | sed 's/^/    /'; ip -6 route show proto 206 | sed 's/^/    /'
for probe in "frontend ${addr[remote]}" "frontend [$remote_v6]" "my-app ${addr[remote]}"; do
  set -- $probe
  out=$(echo ping | ip netns exec "$1" socat -T1 - "TCP:$2:80,connect-timeout=1" 2>/dev/null || true)
  printf '  %-9s -> remote %-24s %s\n' "$1" "$2:80" "${out:-denied}"
done
out=$(echo ping | ip netns exec remote socat -T1 - "TCP:${addr[backend]}:80,connect-timeout=1" 2>/dev/null || true)
printf '  %-9s -> backend %-23s %s\n' remote "${addr[backend]}:80" "${out:-denied (backend-ingress on node-1 accepts only frontend)}"
echo "  No NAT between pods: remote sees each client's own address (ipMasq only rewrites what leaves the cluster CIDRs)."
explain_from() { echo "  \$ egress-agent explain --from $1 --to $2"; "$agent" explain --from "$1" --to "$2" 2>&1 | sed 's/^/    /' || true; }
explain_from default/remote default/backend:80

bold "== The agent's audit log of denied flows (rate limited in the kernel; last 6 lines)"
grep -E 'denied (egress|ingress)' "$agent_log" | tail -6 | cut -d' ' -f2- | sed 's/^/  /'

bold "== egress-agent status"
"$agent" status | sed 's/^/  /'

bold "== Figures (this run)"
echo "  CNI ADD including the agent handshake: median $(median "${add_ms[@]}") ms over ${#add_ms[@]} pods (${add_ms[*]} ms)"
echo "  policy file written -> in the kernel: median $(median "${enforce_ms[@]}") ms over ${#enforce_ms[@]} changes (${enforce_ms[*]} ms; the agent waits for 100 ms of quiet in the folder)"

if $keep; then
  bold "== --keep: the world stays up for an hour (Ctrl-C ends it and cleans up)"
  echo "  From another terminal, enter the node:  nsenter -t $$ -n -m"
  echo "  then for example:"
  echo "    $agent status"
  echo "    $agent explain --from default/backend --to 203.0.113.10:3306"
  echo "    $agent flows --verdict any          # and in a third: ip netns exec frontend socat - TCP:203.0.113.10:3306"
  echo "    $agent capture --pod default/frontend -c 10"
  echo "    $agent ruleset --diff"
  echo "    policies: $manifests (edit, the agent follows)"
  sleep 3600 &
  wait $! || true
fi

bold "== CHECK (as CRI-O runs it after ADD): the wiring still matches each ADD result"
for pod in "${pods[@]}"; do
  with_prev=$(jq -c --argjson prev "${results[$pod]}" '. + {prevResult: $prev}' <<<"$conf")
  if out=$(cni CHECK "$pod" "$with_prev"); then echo "  $pod: ok"; else echo "  $pod: $(jq -r .msg <<<"$out")"; fi
done

bold "== DEL: nothing is left behind"
for pod in "${pods[@]}"; do cni DEL "$pod" >/dev/null; ids[$pod]=""; done
echo "  host veths left: $(ip -o link show type veth | grep -c ' ceg' || true)"
echo "  attachment records left: $(ls "$state/attachments" 2>/dev/null | wc -l)"
echo "  addresses still allocated: $(ls "$state/ipam/demo" 2>/dev/null | grep -cE '^[0-9]+\.|^[0-9a-f]+_' || true)"
for set in masq-sources-v4 masq-sources-v6; do
  echo "  $set elements left: $(nft -j list set inet cni-egress-nat $set | jq '[.nftables[].set.elem // empty | .[]] | length')"
done
kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
agent_pid=""
"$agent" cleanup 2>&1 | cut -d' ' -f2- | sed 's/^/  /'
