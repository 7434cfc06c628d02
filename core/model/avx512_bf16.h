#pragma once
// Sixteen floats at a time from and to bfloat16 memory with AVX-512 and its
// BF16 extension (conversion and dot-product instructions), for the
// element-wise passes over bfloat16 attention maps (attention_core.cpp,
// attend_blocked.cpp). Callers check hasAvx512Bf16() first; the functions
// are compiled for those extensions whatever the build's target. Where a
// machine lacks them the AVX2 passes (avx2_float.h) serve.
//
// store16 converts with the hardware's round-to-nearest-even, as
// c10::BFloat16 does, except that values below bfloat16's smallest normal
// (about 1.2e-38) become 0.

#include "model/avx2_float.h"

#if defined(TOKENLENS_AVX2_FLOAT) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define TOKENLENS_AVX512_BF16 1

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace tokenlens::avx512 {

// Process-wide switch (default on; TOKENLENS_AVX512=0 in the environment
// turns it off): tests and A/B runs take the AVX2 passes with it off.
inline std::atomic<bool>& avx512Switch() {
    static std::atomic<bool> on{[] {
        const char* env = std::getenv("TOKENLENS_AVX512");
        return !(env && std::strcmp(env, "0") == 0);
    }()};
    return on;
}
inline void setAvx512Enabled(bool on) { avx512Switch().store(on, std::memory_order_relaxed); }

// The CPU has the instructions and the switch is on.
inline bool hasAvx512Bf16() {
    static const bool cpu = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    }();
    return cpu && avx512Switch().load(std::memory_order_relaxed);
}

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() values, which
// its -Wmaybe-uninitialized reports at each inlined call: silenced here.
#define TOKENLENS_AVX512_BEGIN                                                                                \
    _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma\")") \
        _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")                 \
            _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define TOKENLENS_AVX512_END _Pragma("GCC diagnostic pop") _Pragma("GCC pop_options")

TOKENLENS_AVX512_BEGIN

// The first `count` of 16 lanes (count ≥ 16: all).
inline __mmask16 lanes(int64_t count) {
    return count >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << count) - 1);
}
inline __m512 load16(const c10::BFloat16* x, __mmask16 m = 0xFFFF) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, x);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline void store16(c10::BFloat16* x, __m512 v, __mmask16 m = 0xFFFF) {
    _mm256_mask_storeu_epi16(x, m, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
}
// Σ x·y over `count` bfloat16 pairs, in float.
inline float dot(const c10::BFloat16* x, const c10::BFloat16* y, int64_t count) {
    __m512 acc = _mm512_setzero_ps(), tail = _mm512_setzero_ps();
    int64_t t = 0;
    for (; t + 32 <= count; t += 32) {
        acc = _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(_mm512_loadu_si512(x + t)),
                               reinterpret_cast<__m512bh>(_mm512_loadu_si512(y + t)));
    }
    for (; t < count; t += 16) {
        const __mmask16 m = lanes(count - t);
        tail = _mm512_fmadd_ps(load16(x + t, m), load16(y + t, m), tail);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc, tail));
}

TOKENLENS_AVX512_END

} // namespace tokenlens::avx512
#endif
