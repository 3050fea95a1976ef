#!/usr/bin/env bash
# Installs the Debian packages the build, tests and demo need; a no-op when all are present.
set -euo pipefail
packages=(clang lld zlib1g-dev libc6-dev binutils nftables iproute2 iputils-ping containernetworking-plugins
          podman runc iptables busybox-static libpcap0.8 tcpdump conntrack socat jq time apache2-utils iperf3 curl strace)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || { echo "missing packages (install as root): ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
