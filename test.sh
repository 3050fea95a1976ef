#!/usr/bin/env bash
# The test command: builds dist/, then runs every test. Unit tests need nothing; kernel and
# runtime tests run inside scripts/sandbox.sh (a private network namespace), which needs root.
set -euo pipefail
cd "$(dirname "$0")"
./build.sh
dotnet build CniEgress.sln -c Debug -nologo -v quiet
if [ "$(id -u)" -eq 0 ]; then
  scripts/sandbox.sh dotnet test tests/CniEgress.Tests --no-build -nologo "$@"
else
  echo "not root: kernel tests will be skipped (they run under CI=true as root)" >&2
  dotnet test tests/CniEgress.Tests --no-build -nologo "$@"
fi
