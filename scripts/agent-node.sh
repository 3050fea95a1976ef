# Sourced by the agent benchmarks (agent-busy-node.sh, handshake-timeline.sh): a node whose
# egress-agent (manifests mode) isolates every pod of namespace "default" with one egress policy,
# and ADDs through the plugin that wait for it.
# agent_node_start BUILD NAME SUBNET: the folder and state under /run/NAME-*, the agent's pid in
# $agent (the caller ends it), its log in /run/NAME-agent.log.
# agent_node_add POD [required|off]: one ADD of pod POD (its netns created first).
agent_node_start() {
  agent_node_build=$1
  local name=$2 subnet=$3
  local state=/run/$name-state manifests=/run/$name-manifests
  mkdir -p "$state" "$manifests"
  cat > "$manifests/policy.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {team: a}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 192.0.2.0/24}}]
    ports: [{port: 443}]
YAML
  agent_node_config='{"cniVersion":"1.0.0","name":"'$name'","type":"cni-egress","stateDir":"'$state'","policyAgent":"required","ipam":{"type":"cni-egress","ranges":[[{"subnet":"'$subnet'"}]]}}'
  "$agent_node_build/dist/egress-agent" run --manifests "$manifests" --node-name "$name" --state-dir "$state" --status-address "" 2> "/run/$name-agent.log" &
  agent=$!
  for _ in $(seq 1 100); do [ -S "$state/agent.sock" ] && break; sleep 0.1; done
  [ -S "$state/agent.sock" ] || { echo "the agent did not start: $(cat "/run/$name-agent.log")" >&2; return 1; }
}

agent_node_add() {
  ip netns add "$1"
  CNI_COMMAND=ADD CNI_CONTAINERID="$1" CNI_NETNS="/run/netns/$1" CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$1;K8S_POD_UID=u-$1" CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
    "$agent_node_build/dist/cni-egress" <<< "${agent_node_config/\"required\"/\"${2:-required}\"}" > /dev/null
}
