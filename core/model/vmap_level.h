#pragma once
// One level of LibTorch's legacy vmap for the lifetime of the object (also
// when a cancel throws out of a backward): the shared gradient path's
// batches of cotangents (attribution/shared_gradients.cpp) and the
// benchmarks that time the same form. Includes ATen: .cpp files only.

#include <ATen/VmapMode.h>

#include <cstdint>

namespace tokenlens {

class VmapLevel {
public:
    VmapLevel() : m_level(at::impl::VmapMode::increment_nesting()) {}
    ~VmapLevel() { at::impl::VmapMode::decrement_nesting(); }
    VmapLevel(const VmapLevel&) = delete;
    VmapLevel& operator=(const VmapLevel&) = delete;
    int64_t level() const { return m_level; }

private:
    int64_t m_level;
};

} // namespace tokenlens
