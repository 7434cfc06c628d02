#pragma once
// One-row matrix–vector products for single-token generation steps, on the
// calling thread only. Torch-free (raw pointers), so it compiles fast and the
// tests can call it on any instruction set this CPU runs.
//
// Why: a decode step's products are memory-bound (each weight is read once)
// and one core streams the weights at about the machine's bandwidth. At
// LibTorch's default thread count a one-row product through OpenBLAS's gemv
// hands work to OpenBLAS's own pthreads while ATen's OpenMP workers still
// spin after their last parallel region: on a 2-core machine the threads
// wait on each other and a step costs ~5× the CPU of the one-thread run
// (docs/benchmarks.md, "Generation"). These kernels hand nothing off, read
// the weights in their stored dtype (float32, bfloat16 or float16: a
// narrower matrix is widened in registers, never copied) and accumulate in
// float32. Chosen at run time: AVX-512, AVX2 + FMA + F16C, or portable C++.

#include <cstdint>
#include <vector>

namespace tokenlens::matvec {

enum class Element : uint8_t { Float32, BFloat16, Float16 };
enum class Isa : uint8_t { Portable, Avx2, Avx512 };

// The instruction sets this CPU runs, best first (Portable always last).
const std::vector<Isa>& availableIsas();
Isa bestIsa();
const char* isaName(Isa isa);

// rows × cols elements; element (r, c) at data[r · rowStride + c · colStride],
// one of the two strides 1 (a Linear weight [out, in] has colStride 1, the
// transpose of GPT-2's Conv1D [in, out] rowStride 1).
struct MatrixView {
    const void* data = nullptr;
    Element element = Element::Float32;
    int64_t rows = 0, cols = 0;
    int64_t rowStride = 0, colStride = 1;
};

// `rows` contiguous elements, or none (data null).
struct VectorView {
    const void* data = nullptr;
    Element element = Element::Float32;
};

// y[r] = Σ_c A(r, c) · x[c] + bias[r], for every row r, in float32 (the
// products are exact in float32 for bfloat16 and float16 weights times a
// float32 x rounded from one of those; the sum's order is the kernel's own,
// so the result differs from a BLAS's by float32 rounding only). The bias is
// added once, after the sum. Throws std::invalid_argument for a view
// without a unit stride or with a negative size, or an `isa` this CPU does
// not run. y must not overlap x.
void multiply(const MatrixView& a, const float* x, float* y, const VectorView& bias = {}, Isa isa = bestIsa());

// Scalar conversions the kernels use for their tails (exact widening).
float widen(Element element, const void* data, int64_t index);

} // namespace tokenlens::matvec
