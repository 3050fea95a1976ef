#!/usr/bin/env bash
# Publishes the native binaries into dist/: cni-egress (native AOT) and egress-agent.
set -euo pipefail
cd "$(dirname "$0")"
rid=linux-x64
dotnet publish cni-plugin/CniEgress.CniPlugin.csproj -c Release -r "$rid" -o dist/.cni-egress -nologo -v quiet
strip -o dist/cni-egress dist/.cni-egress/cni-egress
chmod 0755 dist/cni-egress
rm -rf dist/.cni-egress
# The agent: native AOT too (KubernetesClient.Aot; manifests reach its models as JSON).
dotnet publish policy-agent/CniEgress.PolicyAgent.csproj -c Release -r "$rid" -o dist/.egress-agent -nologo -v quiet
strip -o dist/egress-agent dist/.egress-agent/egress-agent
chmod 0755 dist/egress-agent
rm -rf dist/.egress-agent
echo "built: $(ls dist | tr '\n' ' ')"
