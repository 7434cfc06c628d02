#include "run/job.h"

#include <filesystem>
#include <set>
#include <utility>

namespace tokenlens {

// Ordered: a message's keys keep the order they were written in.
using json = nlohmann::ordered_json;

namespace {

constexpr int64_t kIntLimit = 1000000;

// The first structural problem of a job: the field and the message.
using Problem = std::pair<std::string, std::string>;
std::optional<Problem> shapeProblem(const Job& job) {
    if (job.models.empty()) return Problem{"models", "a job needs at least one model folder"};
    if (job.methods.empty()) return Problem{"methods", "a job needs at least one method"};
    if (job.input.empty() && job.messages.is_null()) return Problem{"input", "the job's input text is empty"};
    for (size_t i = 0; i < job.methods.size(); ++i) {
        for (size_t k = 0; k < i; ++k) {
            if (job.methods[k] == job.methods[i]) {
                return Problem{"methods[" + std::to_string(i) + "]", "method '" + job.methods[i] + "' is listed twice"};
            }
        }
    }
    if (job.followModel < 0 || job.followModel >= static_cast<int>(job.models.size())) {
        return Problem{"follow_model", "follow_model must index the job's models"};
    }
    return std::nullopt;
}

// Reads one job object; every failure names its field.
class JobReader {
public:
    JobReader(const json& j, const JobReading& how) : m_j(j), m_how(how) {}

    Result<Job> read() {
        if (!m_j.is_object()) return fail("", "a job must be a JSON object");
        static const std::set<std::string> known = {"models",      "methods",    "input",    "messages", "options",
                                                    "target_text", "parent_job", "priority", "follow_model"};
        for (const auto& [key, value] : m_j.items()) {
            if (!known.count(key)) {
                return fail(key, "unknown key '" + key +
                                     "' (a job has models, methods, input or messages, options, target_text, "
                                     "parent_job, priority, follow_model)");
            }
        }
        Job job = m_how.defaults ? *m_how.defaults : Job{};
        if (!readList("models", job.models)) return *m_error;
        if (!readList("methods", job.methods)) return *m_error;
        if (!resolveModels(job.models)) return *m_error;
        if (!readMessages(job)) return *m_error;
        if (!readInput(job.input)) return *m_error;
        if (!readOptions(job.options)) return *m_error;
        if (!readOptionalString("target_text", job.targetText)) return *m_error;
        if (!readOptionalString("parent_job", job.parentJob)) return *m_error;
        if (!readInt("priority", job.priority) || !readInt("follow_model", job.followModel)) return *m_error;
        if (m_how.complete) {
            if (auto problem = shapeProblem(job)) return fail(problem->first, problem->second);
        }
        return job;
    }

    std::string field;

private:
    Error fail(const std::string& key, const std::string& what) {
        field = key;
        m_error = makeError(ErrorCode::InvalidArgument, (m_how.source.empty() ? "" : m_how.source + ": ") + what);
        return *m_error;
    }
    Error failKey(const std::string& key, const std::string& what) { return fail(key, "key '" + key + "' " + what); }

    // models / methods: an array of strings; outside the API also a single
    // folder, or "a,b" for methods.
    bool readList(const std::string& key, std::vector<std::string>& out) {
        if (!m_j.contains(key)) {
            if (m_how.complete) return (failKey(key, "is required"), false);
            return true;
        }
        const json& v = m_j[key];
        out.clear();
        if (v.is_string() && !m_how.complete) {
            const std::string s = v.get<std::string>();
            if (key != "methods") {
                out.push_back(s);
                return true;
            }
            size_t start = 0;
            while (start <= s.size()) {
                const size_t comma = std::min(s.find(',', start), s.size());
                if (comma > start) out.push_back(s.substr(start, comma - start));
                start = comma + 1;
            }
            return true;
        }
        if (!v.is_array()) return (failKey(key, "must be an array of strings"), false);
        if (m_how.complete && v.empty()) return (failKey(key, "must not be empty"), false);
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string()) return (failKey(key + "[" + std::to_string(i) + "]", "must be a string"), false);
            out.push_back(v[i].get<std::string>());
        }
        return true;
    }

    bool resolveModels(std::vector<std::string>& models) {
        if (!m_how.resolveModel || !m_j.contains("models")) return true;
        for (size_t i = 0; i < models.size(); ++i) {
            auto folder = m_how.resolveModel(models[i]);
            if (!folder) return (fail("models[" + std::to_string(i) + "]", folder.error().message), false);
            models[i] = folder.value();
        }
        return true;
    }

    bool readMessages(Job& job) {
        if (!m_j.contains("messages") || m_j["messages"].is_null()) return true;
        const json& v = m_j["messages"];
        if (!v.is_array() || v.empty()) return (failKey("messages", "must be a non-empty array of {\"role\", \"content\"}"), false);
        for (size_t i = 0; i < v.size(); ++i) {
            const std::string at = "messages[" + std::to_string(i) + "]";
            const json& m = v[i];
            if (!m.is_object()) return (failKey(at, "must be an object with role and content"), false);
            for (const auto& [k, value] : m.items()) {
                if (k == "role" && (!value.is_string() || value.get<std::string>().empty())) {
                    return (failKey(at + ".role", "must be a non-empty string"), false);
                }
                if (k == "content" && !value.is_string() && !value.is_array()) {
                    return (failKey(at + ".content", "must be a string or a list of parts"), false);
                }
            }
            if (!m.contains("role")) return (failKey(at + ".role", "is required"), false);
            if (!m.contains("content")) return (failKey(at + ".content", "is required"), false);
        }
        job.messages = v;
        if (!m_j.contains("input")) job.input = lastUserText(v);
        return true;
    }

    bool readInput(std::string& input) {
        if (!m_j.contains("input")) {
            if (m_how.complete && !m_j.contains("messages")) return (failKey("input", "is required"), false);
            return true;
        }
        if (!m_j["input"].is_string()) return (failKey("input", "must be a string"), false);
        input = m_j["input"].get<std::string>();
        return true;
    }

    bool readOptions(nlohmann::json& options) {
        if (!m_j.contains("options")) return true;
        if (!m_j["options"].is_object()) return (failKey("options", "must be an object"), false);
        // Job options go over the defaults key by key.
        for (const auto& [k, v] : m_j["options"].items()) options[k] = v;
        return true;
    }

    bool readOptionalString(const std::string& key, std::optional<std::string>& out) {
        if (!m_j.contains(key)) return true;
        const json& v = m_j[key];
        const char* what = key == "parent_job" ? "must be a job id or null" : "must be a string or null";
        if (v.is_null()) {
            out.reset();
            return true;
        }
        if (!v.is_string()) return (failKey(key, what), false);
        const std::string s = v.get<std::string>();
        if (key == "parent_job" && m_how.validJobId && !m_how.validJobId(s)) return (failKey(key, what), false);
        if (key == "target_text" && m_how.complete && s.empty()) return (failKey(key, "must not be empty"), false);
        out = s;
        return true;
    }

    bool readInt(const std::string& key, int& out) {
        if (!m_j.contains(key)) return true;
        const json& v = m_j[key];
        if (!v.is_number_integer() || v.get<int64_t>() < -kIntLimit || v.get<int64_t>() > kIntLimit) {
            return (failKey(key, "must be an integer from -1000000 to 1000000"), false);
        }
        out = v.get<int>();
        return true;
    }

    const json& m_j;
    const JobReading& m_how;
    std::optional<Error> m_error;
};

} // namespace

Result<Job> readJob(const json& j, const JobReading& how, std::string* field) {
    JobReader reader(j, how);
    auto job = reader.read();
    if (field) *field = job ? std::string() : reader.field;
    return job;
}

Result<Job> readJob(const nlohmann::json& j, const JobReading& how, std::string* field) {
    return readJob(json(j), how, field);
}

json toJson(const Job& s) {
    json j;
    j["models"] = s.models;
    j["methods"] = s.methods;
    j["input"] = s.input;
    if (!s.messages.is_null()) j["messages"] = s.messages;
    j["options"] = s.options;
    j["target_text"] = s.targetText ? json(*s.targetText) : json(nullptr);
    j["parent_job"] = s.parentJob ? json(*s.parentJob) : json(nullptr);
    j["priority"] = s.priority;
    if (s.followModel != 0) j["follow_model"] = s.followModel;
    return j;
}

Status checkJobShape(const Job& job) {
    if (auto problem = shapeProblem(job)) return makeError(ErrorCode::InvalidArgument, problem->second);
    return {};
}

std::string lastUserText(const json& messages) {
    if (!messages.is_array()) return {};
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        if (!it->is_object() || it->value("role", "") != "user" || !it->contains("content")) continue;
        const json& c = (*it)["content"];
        if (c.is_string()) return c.get<std::string>();
        std::string text;
        if (c.is_array()) {
            for (const auto& part : c) {
                if (part.is_object() && part.contains("text") && part["text"].is_string()) text += part["text"].get<std::string>();
            }
        }
        return text;
    }
    return {};
}

std::string modelName(const Job& job, int index) {
    if (index < 0 || index >= static_cast<int>(job.models.size())) return {};
    std::filesystem::path p = std::filesystem::path(job.models[static_cast<size_t>(index)]).lexically_normal();
    std::string name = p.filename().string();
    if (name.empty()) name = p.parent_path().filename().string();
    return name.empty() ? job.models[static_cast<size_t>(index)] : name;
}

} // namespace tokenlens
