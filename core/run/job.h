#pragma once
// The one job type of TokenLens and its one JSON codec. A job J = (M', F', i, o)
// of the seed paper: models[] x methods[], one input and options, expanded into
// every (model, method) pair. Job files, `.jsonl` batch lines, the results
// store, exports and the HTTP API all read a job with readJob; the engine
// runs a Job whose `input` is the text the models see.
//
//   {"models": ["dir", ...], "methods": ["attention", ...], "input": "text",
//    "options": {...}, "target_text": "...", "parent_job": "id", "priority": 0,
//    "follow_model": 0}
// or, for a chat model, "messages": [{"role": "system", "content": "..."},
// {"role": "user", "content": "..."}] instead of "input" (rendered through
// each model's chat template; "target_text" is then the assistant's reply).
//
// Plain C++ (no Qt, no LibTorch), so the parser can be fuzzed on its own.

#include "util/result.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokenlens {

struct Job {
    std::vector<std::string> models;  // model folders
    std::vector<std::string> methods; // method ids
    // The user's text. For a follow-up (parentJob set) the new turn only; the
    // queue then runs the job with the whole conversation as its input.
    std::string input;
    // A conversation instead of `input`: [{"role", "content"}, ...], null when
    // the job is plain text. `input` then holds the last user message (what a
    // list shows); the models see the conversation rendered through their
    // chat template (run/chat_prompt.h).
    // Ordered: templates may iterate message.items(), so a message's keys
    // keep the order the user wrote them in.
    nlohmann::ordered_json messages = nullptr;
    nlohmann::json options = nlohmann::json::object();
    std::optional<std::string> targetText; // forced continuation
    std::optional<std::string> parentJob;
    int priority = 0; // higher runs first; equal priorities run in submission order
    // Follow-ups: which model's output continues the conversation (default 0).
    int followModel = 0;
    bool operator==(const Job&) const = default;
};

// How a job object is read.
struct JobReading {
    // Names the file (and line) in messages: "jobs.jsonl:3: key 'input' ...".
    // Empty for the API, whose messages start with the key.
    std::string source;
    // Fills what the object leaves out (batch files give models and methods
    // once); options merge key by key over the defaults' options.
    const Job* defaults = nullptr;
    // The API's rules: models, methods and input are required and non-empty,
    // lists must be arrays (no "a,b" shorthand), methods known and distinct,
    // target_text non-empty, follow_model an index of the models.
    bool complete = false;
    // Maps each entry of "models" to a folder (the API's catalogue ids);
    // its error message is used as is. Unset: entries are folders.
    std::function<Result<std::string>(const std::string& model)> resolveModel;
    // Checks a parent job id's syntax (the API refuses path tricks).
    std::function<bool(const std::string& id)> validJobId;

    // A job file, batch line, store row or export: `source` names it.
    static JobReading file(std::string source, const Job* defaults = nullptr) {
        JobReading how;
        how.source = std::move(source);
        how.defaults = defaults;
        return how;
    }
};

// `field` (optional) receives the key a failure is about ("models[1]",
// "options", "input", ...), for the API's 400 answers.
// Parse job text with nlohmann::ordered_json so that the messages keep their
// keys' order; a nlohmann::json object (keys sorted) is read too.
Result<Job> readJob(const nlohmann::ordered_json& j, const JobReading& how, std::string* field = nullptr);
Result<Job> readJob(const nlohmann::json& j, const JobReading& how, std::string* field = nullptr);
// Ordered, so that written jobs (store, exports, API bodies) keep the
// messages' key order; converts to nlohmann::json where order does not matter.
nlohmann::ordered_json toJson(const Job& job);

// Structural checks of a job about to run: non-empty models, methods and
// input, no method twice, follow_model in range. Engine options are checked
// by checkJob (core/run/job_runner.h).
Status checkJobShape(const Job& job);

// The text of the last user message of a messages list ("" when none).
std::string lastUserText(const nlohmann::ordered_json& messages);

// The display name of model `index` ("tiny-gpt2" for ".../tiny-gpt2/").
std::string modelName(const Job& job, int index);

} // namespace tokenlens
