#include "attribution/method.h"

#include <cmath>

namespace tokenlens {

namespace {

std::string choicesText(const std::vector<std::string>& choices) {
    std::string s;
    for (size_t i = 0; i < choices.size(); ++i) s += (i ? ", " : "") + choices[i];
    return s;
}

// Contrastive targets (target_fn contrast_*) need exactly one alternative:
// contrast_token (an id of the model's vocabulary) or contrast_text.
Status checkContrast(const nlohmann::json& r, const ModelConfig* config, const std::string& id) {
    if (!r.contains("target_fn") || !r.contains("contrast_token") || !r.contains("contrast_text")) return {};
    const std::string fn = r["target_fn"];
    const int64_t token = r["contrast_token"];
    const bool hasText = !r["contrast_text"].get<std::string>().empty();
    if (token >= 0 && hasText) {
        return makeError(ErrorCode::InvalidArgument,
                         id + ": options 'contrast_token' and 'contrast_text' both given; give only one");
    }
    if (config && token >= config->vocabSize) {
        return makeError(ErrorCode::InvalidArgument, id + ": option 'contrast_token' is " + std::to_string(token) +
                                                         " but the model's vocabulary has ids 0.." +
                                                         std::to_string(config->vocabSize - 1));
    }
    if (fn.starts_with("contrast_") && token < 0 && !hasText) {
        return makeError(ErrorCode::InvalidArgument,
                         id + ": target_fn '" + fn +
                             "' needs the alternative token: option 'contrast_token' (a token id) or 'contrast_text'");
    }
    return {};
}

} // namespace

Result<nlohmann::json> AttributionMethod::resolveOptions(const nlohmann::json& given, const ModelConfig* config,
                                                         bool strict) const {
    if (!given.is_null() && !given.is_object()) {
        return makeError(ErrorCode::InvalidArgument, id() + ": options must be a JSON object");
    }
    const auto specs = options();
    nlohmann::json out = nlohmann::json::object();
    if (strict && given.is_object()) {
        for (const auto& [key, value] : given.items()) {
            bool known = false;
            for (const auto& s : specs) known = known || s.name == key;
            if (!known) return makeError(ErrorCode::InvalidArgument, id() + ": unknown option '" + key + "'");
        }
    }
    for (const auto& s : specs) {
        nlohmann::json v = s.defaultValue;
        if (given.is_object() && given.contains(s.name) && !given[s.name].is_null()) v = given[s.name];
        const std::string where = id() + ": option '" + s.name + "'";
        if (s.type == "choice") {
            if (!v.is_string()) return makeError(ErrorCode::InvalidArgument, where + " must be one of " + choicesText(s.choices));
            const auto str = v.get<std::string>();
            if (std::find(s.choices.begin(), s.choices.end(), str) == s.choices.end()) {
                return makeError(ErrorCode::InvalidArgument,
                                 where + " is '" + str + "'; expected one of " + choicesText(s.choices));
            }
        } else if (s.type == "text") {
            // The command line turns "42" into a number; a text option keeps it as text.
            if (v.is_number()) v = v.is_number_integer() ? std::to_string(v.get<int64_t>()) : v.dump();
            if (!v.is_string()) return makeError(ErrorCode::InvalidArgument, where + " must be a text");
        } else if (s.type == "layer" && v.is_string()) {
            if (v.get<std::string>() != "all") {
                // Accept "3" from the command line.
                const auto str = v.get<std::string>();
                char* end = nullptr;
                const long n = std::strtol(str.c_str(), &end, 10);
                if (str.empty() || *end != '\0') {
                    return makeError(ErrorCode::InvalidArgument, where + " must be an index or 'all', got '" + str + "'");
                }
                v = n;
            }
        } else if (s.type == "int" || s.type == "number" || s.type == "layer") {
            if (v.is_string()) {
                const auto str = v.get<std::string>();
                char* end = nullptr;
                const double d = std::strtod(str.c_str(), &end);
                if (str.empty() || *end != '\0') {
                    return makeError(ErrorCode::InvalidArgument, where + " must be a number, got '" + str + "'");
                }
                v = d;
            }
            if (!v.is_number()) return makeError(ErrorCode::InvalidArgument, where + " must be a number");
            const double d = v.get<double>();
            if (!std::isfinite(d)) return makeError(ErrorCode::InvalidArgument, where + " must be finite");
            if ((s.type == "int" || s.type == "layer") && d != std::floor(d)) {
                return makeError(ErrorCode::InvalidArgument, where + " must be a whole number");
            }
            if (s.min && d < *s.min) {
                return makeError(ErrorCode::InvalidArgument,
                                 where + " is " + v.dump() + "; it must be at least " + nlohmann::json(*s.min).dump());
            }
            if (s.max && d > *s.max) {
                return makeError(ErrorCode::InvalidArgument,
                                 where + " is " + v.dump() + "; it must be at most " + nlohmann::json(*s.max).dump());
            }
            if (s.type != "number") v = static_cast<int64_t>(d);
        }
        out[s.name] = v;
    }
    if (auto st = checkContrast(out, config, id()); !st) return st.error();
    if (auto st = checkResolved(out, config); !st) return st.error();
    return out;
}

bool perturbsSegments(const std::string& id) {
    return id == "occlusion" || id == "lime" || id == "kernel_shap" || id == "shapley_sampling";
}

int64_t groupedWork(const AttributionMethod& m, int64_t n, int64_t groups, int64_t t, const nlohmann::json& r) {
    const int64_t work = m.estimateWork(groups, t, r);
    const int64_t features = std::max<int64_t>(groups + t - 1, 1);
    return static_cast<int64_t>(static_cast<double>(work) * static_cast<double>(std::max<int64_t>(n + t - 1, 1)) /
                                static_cast<double>(features));
}

} // namespace tokenlens
