#pragma once
// Helpers shared by the GUI tests: the sample result, synthetic results,
// waiting for the event loop.

#include "result/job_result.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QString>

#include <functional>
#include <string>

namespace tokenlens::gui::test {

inline QString dataPath(const char* relative) {
    return QStringLiteral(TOKENLENS_TEST_DATA_DIR "/") + QString::fromLatin1(relative);
}

// tests/data/results/two-models.json: tiny-gpt2 and tiny-llama, attention,
// saliency and integrated gradients (3 steps: not converged), 5 output tokens.
inline QString sampleResultPath() { return dataPath("results/two-models.json"); }

// Processes events until `done` or the timeout; returns done().
inline bool waitFor(const std::function<bool()>& done, int timeoutMs = 10000) {
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    return done();
}

// A result of one model with the given methods: prompt n, output t, a
// deterministic pseudo-random matrix per method (NaN where i > p_j).
JobResult syntheticJob(int64_t n, int64_t t, const std::vector<std::string>& methods, uint32_t seed = 1);

} // namespace tokenlens::gui::test
