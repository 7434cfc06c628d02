// libFuzzer target: parseSafetensorsHeader on arbitrary bytes.
//
// Each input is parsed twice: as a whole file, and as the JSON header of a
// synthetic file (8-byte length + the input + 256 bytes of tensor data), so that
// mutations of the JSON are not all lost to a broken length prefix. Whatever the
// parser accepts must satisfy the invariants the rest of TokenLens relies on.

#include "io/safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

using namespace tokenlens;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void checkAccepted(const SafetensorsHeader& h, std::span<const std::byte> file) {
    check(h.headerLength <= kMaxSafetensorsHeader);
    check(8 + h.headerLength <= file.size());
    const uint64_t dataSize = file.size() - 8 - h.headerLength;
    const std::byte* data = file.data() + 8 + h.headerLength;
    uint64_t reach = 0;
    std::vector<float> out;
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const TensorInfo& t = h.tensors[i];
        check(t.dataBegin <= t.dataEnd && t.dataEnd <= dataSize);
        if (i > 0) check(h.tensors[i - 1].dataBegin <= t.dataBegin); // sorted
        if (t.dataEnd > t.dataBegin) {
            check(t.dataBegin >= reach); // no overlap
            reach = t.dataEnd;
        }
        for (int64_t d : t.shape) check(d >= 0);
        const int64_t n = t.numel();
        check(n >= 0);
        check(t.dataEnd - t.dataBegin == static_cast<uint64_t>(n) * dtypeSize(t.dtype));
        // Exercise the converters on the bytes the header points at.
        const size_t count = static_cast<size_t>(n < 4096 ? n : 4096);
        out.resize(count);
        std::span<const std::byte> bytes(data + t.dataBegin, static_cast<size_t>(t.dataEnd - t.dataBegin));
        const bool floating = t.dtype == DType::F32 || t.dtype == DType::F16 || t.dtype == DType::BF16 ||
                              t.dtype == DType::F64;
        check(convertToFloat32(t.dtype, bytes, out.data(), count) == floating);
    }
}

void parseAndCheck(std::span<const std::byte> file) {
    auto h = parseSafetensorsHeader(file, file.size(), "fuzz.safetensors");
    if (h.ok()) checkAccepted(*h, file);
    else check(!h.error().message.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const std::byte> raw(reinterpret_cast<const std::byte*>(data), size);
    parseAndCheck(raw);

    std::vector<std::byte> file(8 + size + 256);
    for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<std::byte>((uint64_t{size} >> (8 * i)) & 0xff);
    for (size_t i = 0; i < size; ++i) file[8 + i] = raw[i];
    for (size_t i = 0; i < 256; ++i) file[8 + size + i] = static_cast<std::byte>(i * 37 + 11);
    parseAndCheck(file);
    return 0;
}
