#pragma once
// What happens to a file the user opens or drops on the window, decided
// without widgets (and safe to run on a worker thread):
//   *.json            a result of the contract (tokenlens.job/1) → opens it;
//                     a messages list ([{"role", "content"}, ...] or an object
//                     with a "messages" list and no "schema") → the New job
//                     page's Chat mode
//   *.txt, *.md       prompt text for the job creation page
//   *.jsonl           a batch of prompts for the job creation page
//   anything else     sniffed: a JSON object with a "schema" key is a result
// Each file is checked before it is parsed, and every failure is a message
// for a person naming the file: a folder, an unreadable file, a file too large
// (prompt files and unknown files over 10 MB; result files over 512 MB, since
// a 4096 × 1024 result is ~40 MB of JSON), a binary file (NUL bytes), text
// that is not valid UTF-8, a malformed result.

#include "result/job_result.h"
#include "util/result.h"

#include <nlohmann/json.hpp>

#include <QString>

#include <cstdint>

namespace tokenlens::gui {

inline constexpr int64_t kMaxTextFileBytes = 10LL * 1024 * 1024;
inline constexpr int64_t kMaxResultFileBytes = 512LL * 1024 * 1024;

enum class FileKind { Result, PromptText, Batch, Messages, Unknown };

// By the name alone.
FileKind fileKindOf(const QString& path);

struct LoadedFile {
    enum class Status { Ok, Error };
    Status status = Status::Error;
    FileKind kind = FileKind::Unknown;
    JobResult result; // kind == Result
    QString text;     // kind == PromptText or Batch
    nlohmann::ordered_json messages; // kind == Messages: the list, keys in the file's order
    QString message;  // Error: what is wrong and what to do
    int64_t bytes = 0;
    int64_t sidecarBytes = 0; // kind == Result: the matrices' sidecar read with it (0: none)
    double seconds = 0; // reading and parsing
    bool ok() const { return status == Status::Ok; }
};

LoadedFile loadFile(const QString& path);

// A messages file's text: a list of {"role", "content"} objects, or an object
// with such a list under "messages". Errors start with the file's `name` and
// say what is wrong ("“chat.json”: messages[1].role must be …").
Result<nlohmann::ordered_json> readMessagesText(const std::string& text, const QString& name);

// "3.4 MB"
QString humanBytes(int64_t bytes);

} // namespace tokenlens::gui
