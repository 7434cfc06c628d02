#!/usr/bin/env bash
# Sets up, builds Release and starts the TokenLens desktop app.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/build/release/app/tokenlens" "$@"
