#pragma once
// While alive, the calling thread's ATen operations run on that thread alone:
// its OpenMP thread count (an OpenMP setting of each thread, not of the
// process) is set to 1 and put back on destruction. Other threads, and the
// process-wide at::set_num_threads value that new threads start from, are
// untouched, so jobs running beside it keep their parallelism.
//
// For single-token generation steps: each of their operations is too small
// to split, and handing a piece to another thread costs more than the piece
// (on a 2-core machine the OpenMP workers spin between regions while other
// threads wait for a core; docs/benchmarks.md, "Generation"). A no-op when
// LibTorch was built without OpenMP. Scopes nest.

namespace tokenlens {

class SerialScope {
public:
    SerialScope();
    ~SerialScope();
    SerialScope(const SerialScope&) = delete;
    SerialScope& operator=(const SerialScope&) = delete;

private:
    int m_previous = 0; // the thread's OpenMP thread count before; 0: nothing to put back
};

// Whether float32 work on the calling thread should run in a SerialScope:
// true when LibTorch's float32 matrix products go to an OpenBLAS built with
// threads of its own (pthreads, not OpenMP; LibTorch without MKL) and that
// OpenBLAS uses more than one, while this thread's ATen operations use
// OpenMP workers too. Then the OpenMP workers, spinning after each
// element-wise region (libgomp's default wait policy), take a core from the
// product's own threads on every product: measured on GPT-2 small (float32,
// prompt 128, a loaded machine) the gradient methods ran 3.5-5x faster
// without them (docs/benchmarks.md, "Float32 gradient passes and OpenBLAS's
// threads"). The products keep OpenBLAS's threads; only element-wise
// operations lose their second thread.
// TOKENLENS_FLOAT32_OPENMP=1 in the environment turns this off (the
// behaviour before, for side-by-side measurements).
bool float32WantsSerialScope();

} // namespace tokenlens
