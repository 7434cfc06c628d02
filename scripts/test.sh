#!/usr/bin/env bash
# Sets up, builds Release and runs the whole test suite with ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --with-test-tools
cd "$ROOT/build/release"
ctest --output-on-failure --parallel "$(nproc)" "$@"
