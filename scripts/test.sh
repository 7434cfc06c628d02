#!/usr/bin/env bash
# Sets up, builds Release and runs the whole test suite with ctest; then the
# fuzz stage and the sanitizer stage (docs/reliability.md: what they run, how
# long they take). TOKENLENS_SANITIZERS=0 skips the sanitizer stage.
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
        fuzz_tokenizer_json fuzz_result_json fuzz_inseq_file fuzz_job_file fuzz_http_request
    ctest --test-dir build/fuzz --output-on-failure
fi

# Sanitizer stage (docs/reliability.md: what it runs and its measured time).
# ASan + UBSan: the suites that use neither LibTorch nor Qt. A report fails
# the test: UBSan aborts, ASan and LSan exit non-zero.
# TSan: the job queue and the server (tokenlens_jobs_tests,
# tokenlens_server_tests, whose children are tokenlens-cli under TSan too).
# Its tree rebuilds the whole LibTorch layer instrumented, too long to build
# and run on every CI run within CI's budget. TOKENLENS_TSAN=changed runs a
# suite when the sources it covers changed since its last clean TSan run on
# this machine (a stamp in build/ci-tsan; no stamp: it runs),
# TOKENLENS_TSAN=changed is the default (so CI runs the TSan suites whose
# sources changed; a fresh machine runs both), TOKENLENS_TSAN=1 runs both
# suites, TOKENLENS_TSAN=0 none. tests/core/jobs/tsan.supp names the uninstrumented libraries; the
# first report stops the process (halt_on_error), so the test fails. Waits
# in the tests are scaled by TOKENLENS_TEST_TIME_SCALE (default 10 here).
# TOKENLENS_SANITIZERS=0 skips the stage.
if [[ "${TOKENLENS_SANITIZERS:-1}" != 0 ]]; then
    cd "$ROOT"
    stage_start=$SECONDS
    asan_suites=(tokenlens_tokenizer_tests tokenlens_io_tests tokenlens_analysis_tests tokenlens_result_tests
                 tokenlens_chat_tests tokenlens_job_tests tokenlens_routes_tests)
    if [[ ! -f build/ci-asan/build.ninja ]]; then cmake --preset ci-asan >/dev/null; fi
    cmake --build build/ci-asan --parallel "$(nproc)" --target "${asan_suites[@]}"
    ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build/ci-asan --output-on-failure --parallel "$(nproc)" \
              -L "^($(IFS='|'; echo "${asan_suites[*]}"))\$"
    echo "sanitizer stage: ASan + UBSan done after $((SECONDS - stage_start)) s"

    # The sources each TSan suite covers: the threaded layers and the tests.
    tsan_common=(core/jobs core/run core/util app/cli api CMakeLists.txt CMakePresets.json cmake
                 tests/CMakeLists.txt tests/core/jobs/jobs_test_util.h tests/core/jobs/tsan.supp scripts/test.sh)
    declare -A tsan_sources=(
        [tokenlens_jobs_tests]="${tsan_common[*]} tests/core/jobs"
        [tokenlens_server_tests]="${tsan_common[*]} server tests/server"
    )
    # A fingerprint of a suite's sources: their blobs in the index plus any
    # uncommitted change (git), or empty without git (then the suite runs).
    tsan_fingerprint() {
        # shellcheck disable=SC2086
        { git -C "$ROOT" ls-files -s -- $1 && git -C "$ROOT" diff HEAD -- $1 || true; } 2>/dev/null | sha1sum | cut -d' ' -f1
    }
    tsan_mode="${TOKENLENS_TSAN:-changed}"
    tsan_suites=()
    for suite in tokenlens_jobs_tests tokenlens_server_tests; do
        stamp="build/ci-tsan/tsan-clean-$suite"
        if [[ "$tsan_mode" == 1 ]]; then
            tsan_suites+=("$suite")
        elif [[ "$tsan_mode" == changed ]]; then
            if ! git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || [[ ! -f "$stamp" ]] ||
               [[ "$(cat "$stamp")" != "$(tsan_fingerprint "${tsan_sources[$suite]}")" ]]; then
                tsan_suites+=("$suite")
            else
                echo "sanitizer stage: TSan of $suite skipped (its sources have not changed since its last clean run)"
            fi
        elif [[ "$tsan_mode" != 0 ]]; then
            echo "TOKENLENS_TSAN must be 1, 0 or changed (got '$tsan_mode')" >&2
            exit 2
        fi
    done
    if ((${#tsan_suites[@]})); then
        if [[ ! -f build/ci-tsan/build.ninja ]]; then cmake --preset ci-tsan >/dev/null; fi
        cmake --build build/ci-tsan --parallel "$(nproc)" --target tokenlens-cli "${tsan_suites[@]}"
        echo "sanitizer stage: TSan tree built after $((SECONDS - stage_start)) s"
        # TSAN_OPTIONS (suppressions, halt_on_error) is set per test by tests/CMakeLists.txt.
        TOKENLENS_TEST_TIME_SCALE="${TOKENLENS_TEST_TIME_SCALE:-10}" \
            ctest --test-dir build/ci-tsan --output-on-failure --parallel "$(nproc)" \
                  -L "^($(IFS='|'; echo "${tsan_suites[*]}"))\$"
        for suite in "${tsan_suites[@]}"; do
            tsan_fingerprint "${tsan_sources[$suite]}" > "build/ci-tsan/tsan-clean-$suite"
        done
        echo "sanitizer stage: TSan (${tsan_suites[*]}) done after $((SECONDS - stage_start)) s"
    fi
fi
