#!/usr/bin/env bash
# Sets up, builds Release and runs the whole test suite with ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --with-test-tools
cd "$ROOT/build/release"
ctest --output-on-failure --parallel "$(nproc)" "$@"

# The libFuzzer targets need clang; each runs ~10 s from its seed corpus.
if command -v clang++ >/dev/null 2>&1; then
    cd "$ROOT"
    if [[ ! -f build/fuzz/build.ninja ]]; then cmake --preset fuzz >/dev/null; fi
    cmake --build build/fuzz --parallel "$(nproc)" --target fuzz_safetensors_header fuzz_model_config fuzz_chat_template \
        fuzz_tokenizer_json fuzz_result_json fuzz_inseq_file fuzz_job_file
    ctest --test-dir build/fuzz --output-on-failure
fi
