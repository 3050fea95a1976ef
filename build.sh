#!/usr/bin/env bash
# Publishes the native binaries into dist/: cni-egress (native AOT) and egress-agent.
set -euo pipefail
cd "$(dirname "$0")"
rid=linux-x64
dotnet publish cni-plugin/CniEgress.CniPlugin.csproj -c Release -r "$rid" -o dist/.cni-egress -nologo -v quiet
strip -o dist/cni-egress dist/.cni-egress/cni-egress
# The hot-method list goes stale as code changes (harmless, but the layout gain shrinks):
# say how much of it this build still has. scripts/plugin-order-file.sh regenerates it.
found=$(nm dist/.cni-egress/cni-egress | awk '{ print $NF }' | sort -u | comm -12 - <(sort -u cni-plugin/hot-methods.txt) | wc -l)
echo "cni-plugin/hot-methods.txt: $found of $(sort -u cni-plugin/hot-methods.txt | wc -l) methods found in this build"
chmod 0755 dist/cni-egress
rm -rf dist/.cni-egress
# The agent: native AOT too (KubernetesClient.Aot; manifests reach its models as JSON).
dotnet publish policy-agent/CniEgress.PolicyAgent.csproj -c Release -r "$rid" -o dist/.egress-agent -nologo -v quiet
strip -o dist/egress-agent dist/.egress-agent/egress-agent
chmod 0755 dist/egress-agent
rm -rf dist/.egress-agent
echo "built: $(ls dist | tr '\n' ' ')"
