#!/bin/sh
# Init container: installs the plugin and this node's conflist, each by writing a temp file and
# renaming it, so the runtime never reads half a file. The node's podCIDRs come from its Node
# object (the service account may get nodes).
set -eu
api="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}"
sa=/var/run/secrets/kubernetes.io/serviceaccount
cidrs=$(curl -sf --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$api/api/v1/nodes/$NODE_NAME" \
  | jq -c '[(.spec.podCIDRs // [.spec.podCIDR])[] | select(. != null) | [{subnet: .}]]')
[ "$cidrs" != "[]" ] || { echo "node $NODE_NAME has no podCIDRs" >&2; exit 1; }
cp /usr/local/bin/cni-egress /host/opt/cni/bin/.cni-egress.tmp
mv -f /host/opt/cni/bin/.cni-egress.tmp /host/opt/cni/bin/cni-egress
sed "s|__POD_CIDR_RANGES__|$cidrs|" /etc/cni-egress/conflist.template > /host/etc/cni/net.d/.10-cni-egress.conflist.tmp
mv -f /host/etc/cni/net.d/.10-cni-egress.conflist.tmp /host/etc/cni/net.d/10-cni-egress.conflist
echo "installed cni-egress with ranges $cidrs"
