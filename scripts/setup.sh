#!/usr/bin/env bash
# Installs what TokenLens needs on Debian 12 (only what is missing), then
# configures and builds the Release tree. Sourced by run.sh and test.sh.
# Usage: setup.sh [--with-test-tools]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build/release"

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    qt6-base-dev libqt6sql6-sqlite
    libtorch-dev libopenblas0-pthread
    libeigen3-dev libboost-dev nlohmann-json3-dev libpcre2-dev libicu-dev zlib1g-dev qt6-svg-dev
    libgtest-dev libbenchmark-dev
)
if [[ "${1:-}" == "--with-test-tools" ]]; then
    # clang + its runtime build the libFuzzer target; xvfb/xauth/imagemagick
    # run and photograph the real window; chromium runs the exported HTML
    # page's self-test (tests/cli/export_html.cmake).
    PACKAGES+=(clang libclang-rt-14-dev xvfb xauth imagemagick chromium)
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

JOBS="$(nproc)"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    cmake --preset release -S "$ROOT" >/dev/null
fi
cmake --build "$BUILD_DIR" --parallel "$JOBS"
