#include "model/serial_scope.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

namespace tokenlens {
namespace {

// The OpenMP runtime LibTorch itself uses, looked up in the process (linking
// one here could bring a second runtime, e.g. clang's libomp beside libgomp).
struct OpenMp {
    using Set = void (*)(int);
    using Get = int (*)();
    Set set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    Get get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    bool present() const { return set && get; }
};

const OpenMp& openMp() {
    static const OpenMp omp;
    return omp;
}

} // namespace

SerialScope::SerialScope() {
    const auto& omp = openMp();
    if (!omp.present()) return;
    // ATen sets each thread's count from the process-wide one the first time
    // the thread asks: ask first, so that it cannot undo the 1 below.
    (void)at::get_num_threads();
    m_previous = omp.get();
    if (m_previous != 1) omp.set(1);
}

SerialScope::~SerialScope() {
    if (m_previous > 1) openMp().set(m_previous);
}

bool float32WantsSerialScope() {
    static const bool blasOwnThreads = [] {
        const char* env = std::getenv("TOKENLENS_FLOAT32_OPENMP");
        if (env && std::strcmp(env, "1") == 0) return false;
        if (at::hasMKL() || !openMp().present()) return false;
        using Get = int (*)();
        // openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP.
        const auto parallel = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
        return parallel && parallel() == 1;
    }();
    if (!blasOwnThreads) return false;
    using Get = int (*)();
    static const auto blasThreads = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return blasThreads && blasThreads() > 1 && at::get_num_threads() > 1;
}

} // namespace tokenlens
