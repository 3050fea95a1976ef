#!/usr/bin/env bash
# The test command: installs what is missing, builds dist/, then runs every test. Unit tests
# need nothing; kernel and runtime tests run inside scripts/sandbox.sh (a private network
# namespace), which needs root.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
./build.sh
dotnet build CniEgress.sln -c Debug -nologo -v quiet
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
if [ "$(id -u)" -eq 0 ]; then
  scripts/sandbox.sh dotnet test tests/CniEgress.Tests --no-build -nologo "$@" 2>&1 | tee "$log" || status=$?
else
  echo "not root: kernel tests will be skipped (they run under CI=true as root)" >&2
  dotnet test tests/CniEgress.Tests --no-build -nologo "$@" 2>&1 | tee "$log" || status=$?
fi
# One plain closing line for CI: "N passed, N failed, N skipped".
summary=$(grep -E '(Passed|Failed)!.*Total:' "$log" | tail -1 || true)
num() { sed -nE "s/.*$1: +([0-9]+).*/\1/p" <<<"$summary"; }
echo "tests: $(num Passed) passed, $(num Failed) failed, $(num Skipped) skipped"
exit $status
