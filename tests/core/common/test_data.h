#pragma once
// The test data folder (tests/data), shared by the golden helpers
// (golden.h) and the io tests' helpers (../io/io_test_util.h), so a test may
// include both.

#include <filesystem>

namespace tokenlens::testing {

inline std::filesystem::path dataDir() { return TOKENLENS_TEST_DATA_DIR; }

} // namespace tokenlens::testing
