#!/usr/bin/env bash
# The main job: a node in a box. Builds dist/, then inside a private network namespace wires
# pods with the real plugin binary as a runtime would, adds an "external" host on TEST-NET,
# and shows who reaches whom (and with which source address). Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
[ "$(id -u)" -eq 0 ] || { echo "demo.sh needs root (it creates network namespaces)" >&2; exit 1; }
./build.sh >/dev/null
exec scripts/sandbox.sh scripts/demo/node-demo.sh "$@"
