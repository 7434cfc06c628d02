#include "model/matvec.h"

#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#define TOKENLENS_MATVEC_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace tokenlens::matvec {
namespace {

float fromBits(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

float bfloat16ToFloat(uint16_t h) { return fromBits(static_cast<uint32_t>(h) << 16); }

// IEEE binary16 to binary32, exactly (subnormals, infinities and NaNs kept).
float halfToFloat(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return fromBits(sign | 0x7f800000u | (mantissa << 13));
    if (exponent != 0) return fromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
    if (mantissa == 0) return fromBits(sign);
    int shift = 0; // subnormal: normalise
    while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        ++shift;
    }
    return fromBits(sign | (static_cast<uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13));
}

// Element tags: the stored type and its exact widening to float32.
struct F32 {
    using T = float;
};
struct BF16 {
    using T = uint16_t;
};
struct F16 {
    using T = uint16_t;
};
inline float widenOne(F32, float v) { return v; }
inline float widenOne(BF16, uint16_t v) { return bfloat16ToFloat(v); }
inline float widenOne(F16, uint16_t v) { return halfToFloat(v); }

// Portable C++: eight lanes in plain loops (compilers vectorise them with
// whatever the baseline target has).
namespace portable {
struct Ops {
    static constexpr int64_t kWidth = 8;
    struct V {
        float v[kWidth];
    };
    static V zero() { return broadcast(0.0f); }
    static V broadcast(float s) {
        V r;
        for (float& e : r.v) e = s;
        return r;
    }
    static V add(V a, const V& b) {
        for (int64_t i = 0; i < kWidth; ++i) a.v[i] += b.v[i];
        return a;
    }
    static V fma(const V& a, const V& b, V c) {
        for (int64_t i = 0; i < kWidth; ++i) c.v[i] += a.v[i] * b.v[i];
        return c;
    }
    static V load(F32, const float* p) {
        V r;
        std::memcpy(r.v, p, sizeof r.v);
        return r;
    }
    template <class E>
    static V load(E tag, const typename E::T* p) {
        V r;
        for (int64_t i = 0; i < kWidth; ++i) r.v[i] = widenOne(tag, p[i]);
        return r;
    }
    static void store(float* p, const V& a) { std::memcpy(p, a.v, sizeof a.v); }
    static float sum(const V& a) {
        float s = 0.0f;
        for (float e : a.v) s += e;
        return s;
    }
};
#include "model/matvec_kernels.inc"
} // namespace portable

#ifdef TOKENLENS_MATVEC_X86

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif
namespace avx2 {
struct Ops {
    static constexpr int64_t kWidth = 8;
    using V = __m256;
    static V zero() { return _mm256_setzero_ps(); }
    static V broadcast(float s) { return _mm256_set1_ps(s); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V load(F32, const float* p) { return _mm256_loadu_ps(p); }
    static V load(BF16, const uint16_t* p) {
        const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    }
    static V load(F16, const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static void store(float* p, V a) { _mm256_storeu_ps(p, a); }
    static float sum(V a) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
};
#include "model/matvec_kernels.inc"
} // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,f16c")
// GCC 12's AVX-512 headers start many intrinsics from a self-initialised
// "undefined" vector, which -Wmaybe-uninitialized reports where they inline.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace avx512 {
struct Ops {
    static constexpr int64_t kWidth = 16;
    using V = __m512;
    static V zero() { return _mm512_setzero_ps(); }
    static V broadcast(float s) { return _mm512_set1_ps(s); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V load(F32, const float* p) { return _mm512_loadu_ps(p); }
    static V load(BF16, const uint16_t* p) {
        const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
    }
    static V load(F16, const uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static void store(float* p, V a) { _mm512_storeu_ps(p, a); }
    static float sum(V a) { return _mm512_reduce_add_ps(a); }
};
#include "model/matvec_kernels.inc"
} // namespace avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

#endif // TOKENLENS_MATVEC_X86

std::vector<Isa> detectIsas() {
    std::vector<Isa> isas;
#ifdef TOKENLENS_MATVEC_X86
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    // F16C has no name in every compiler's __builtin_cpu_supports: CPUID leaf 1, ECX bit 29
    // (every AVX2 CPU so far has it; checked all the same).
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && ((ecx >> 29) & 1u);
    if (avx2 && f16c && __builtin_cpu_supports("avx512f")) isas.push_back(Isa::Avx512);
    if (avx2 && f16c) isas.push_back(Isa::Avx2);
#endif
    isas.push_back(Isa::Portable);
    return isas;
}

} // namespace

const std::vector<Isa>& availableIsas() {
    static const std::vector<Isa> isas = detectIsas();
    return isas;
}

Isa bestIsa() { return availableIsas().front(); }

const char* isaName(Isa isa) {
    switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    case Isa::Portable: return "portable";
    }
    return "?";
}

float widen(Element element, const void* data, int64_t index) {
    switch (element) {
    case Element::Float32: return static_cast<const float*>(data)[index];
    case Element::BFloat16: return bfloat16ToFloat(static_cast<const uint16_t*>(data)[index]);
    case Element::Float16: return halfToFloat(static_cast<const uint16_t*>(data)[index]);
    }
    return 0.0f;
}

void multiply(const MatrixView& a, const float* x, float* y, const VectorView& bias, Isa isa) {
    if (a.rows < 0 || a.cols < 0) throw std::invalid_argument("matvec: negative matrix size");
    const bool rowsContiguous = a.colStride == 1, colsContiguous = a.rowStride == 1 || a.rows <= 1;
    if (!rowsContiguous && !colsContiguous) {
        throw std::invalid_argument("matvec: the matrix has no unit stride (strides " + std::to_string(a.rowStride) +
                                    ", " + std::to_string(a.colStride) + ")");
    }
    bool runs = false;
    for (Isa i : availableIsas()) runs = runs || i == isa;
    if (!runs) throw std::invalid_argument(std::string("matvec: this CPU does not run ") + isaName(isa));
    if (a.cols == 0) { // an empty sum: a matrix without elements may have no data at all
        for (int64_t r = 0; r < a.rows; ++r) y[r] = 0.0f;
    } else {
        switch (isa) {
#ifdef TOKENLENS_MATVEC_X86
        case Isa::Avx512: avx512::multiplyWith(a, x, y); break;
        case Isa::Avx2: avx2::multiplyWith(a, x, y); break;
#endif
        default: portable::multiplyWith(a, x, y); break;
        }
    }
    if (bias.data) {
        for (int64_t r = 0; r < a.rows; ++r) y[r] += widen(bias.element, bias.data, r);
    }
}

} // namespace tokenlens::matvec
