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

} // namespace tokenlens
