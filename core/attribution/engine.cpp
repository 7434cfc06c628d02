#include "attribution/engine.h"
#include "run/chat_prompt.h"
#include "run/guarded.h"
#include "util/cancellation.h"

#include "attribution/faithfulness.h"

#include <torch/torch.h>

#include <chrono>
#include <new>
#include <set>

namespace tokenlens {
namespace {

// Whether method `id` perturbs the job's segments (AttributionInput::promptGroups)
// as its features: the perturbation methods always (perturbsSegments);
// context_cite unless the job's options choose its features themselves (a
// string option "segments", at the top or in options.methods.context_cite).
bool perturbsJobSegments(const std::string& id, const nlohmann::json& jobOptions) {
    if (id != "context_cite") return perturbsSegments(id);
    auto chooses = [](const nlohmann::json& o) { return o.is_object() && o.contains("segments") && o["segments"].is_string(); };
    const bool own = jobOptions.is_object() && jobOptions.contains("methods") && jobOptions["methods"].is_object() &&
                     jobOptions["methods"].contains(id) && chooses(jobOptions["methods"][id]);
    return !chooses(jobOptions) && !own;
}

const std::set<std::string>& engineKeys() {
    static const std::set<std::string> keys = {"max_new_tokens", "sample", "temperature", "top_k", "top_p",
                                               "seed", "stop_at_eos", "truncate", "methods",
                                               "faithfulness", "chat", "compute_dtype", "granularity"};
    return keys;
}

// A job's messages as this model reads them (run/chat_prompt.h): through the
// folder's chat template, or, with chat.raw or without a template, the
// contents one per line as plain text.
struct ChatInput {
    std::string text;
    std::vector<int64_t> promptIds;
    std::vector<TokenSegment> promptSegments;
    std::optional<std::string> replyText;
    std::vector<int64_t> replyIds;
    std::vector<int64_t> stopIds;
    std::optional<ChatTemplateRef> templateRef;
    std::vector<std::string> warnings;
};

chat::DateTime chatDate(const ChatOptions& o) {
    // validateJob checked the date; without one, now.
    if (o.date) return chat::parseDate(*o.date).value_or(chat::DateTime{});
    return chat::localNow();
}

Result<ChatInput> chatInput(const LoadedModel& model, const Job& job, const ChatOptions& o) {
    const Tokenizer& tok = *model.tokenizer;
    ChatInput out;
    if (!o.raw) {
        auto formatter = chat::ChatFormatter::fromModelFolder(model.dir, o.templateName);
        if (formatter) {
            auto built = buildChatPrompt(*formatter, tok, job.messages, job.targetText, o.vars, chatDate(o));
            if (!built) return makeError(built.error().code, model.name + ": " + built.error().message);
            out.text = std::move(built->text);
            out.promptIds = std::move(built->promptIds);
            out.promptSegments = std::move(built->promptSegments);
            out.replyText = std::move(built->replyText);
            out.replyIds = std::move(built->replyIds);
            out.stopIds = std::move(built->stopIds);
            out.warnings = std::move(built->warnings);
            out.templateRef = ChatTemplateRef{formatter->info().name, formatter->info().sha256};
            return out;
        }
        if (formatter.error().code != ErrorCode::NotFound || !o.templateName.empty()) {
            return makeError(formatter.error().code, model.name + ": " + formatter.error().message);
        }
        out.warnings.push_back(model.name + " has no chat template: the messages were joined as plain text, one per line");
    }
    if (auto st = checkMessages(job.messages); !st) return st.error();
    out.text = plainChatText(job.messages);
    auto enc = tok.encode(out.text);
    if (!enc) return makeError(enc.error().code, "messages: " + enc.error().message);
    out.promptIds.assign(enc->ids.begin(), enc->ids.end());
    out.promptSegments = segmentTokens(out.text, enc.value(), job.messages);
    return out;
}

Status numberKey(const nlohmann::json& o, const char* key, double min, double max, bool integer, double& out) {
    if (!o.contains(key) || o[key].is_null()) return {};
    const auto& v = o[key];
    if (!v.is_number()) return makeError(ErrorCode::InvalidArgument, std::string("option '") + key + "' must be a number");
    const double d = v.get<double>();
    if (integer && d != std::floor(d)) {
        return makeError(ErrorCode::InvalidArgument, std::string("option '") + key + "' must be a whole number");
    }
    if (d < min || d > max) {
        return makeError(ErrorCode::InvalidArgument, std::string("option '") + key + "' is " + v.dump() +
                                                         "; it must be between " + nlohmann::json(min).dump() +
                                                         " and " + nlohmann::json(max).dump());
    }
    out = d;
    return {};
}

std::vector<std::string> display(const Tokenizer& tok, const std::vector<int64_t>& ids) {
    std::vector<std::string> out;
    for (int64_t id : ids) out.push_back(tok.displayToken(static_cast<int32_t>(id)));
    return out;
}

} // namespace

Result<EngineOptions> validateJob(const Job& job, const ModelConfig* config) {
    const auto& o = job.options;
    if (!o.is_object()) return makeError(ErrorCode::InvalidArgument, "options must be a JSON object");
    if (job.methods.empty()) return makeError(ErrorCode::InvalidArgument, "no attribution method was asked for");
    for (const auto& [key, value] : o.items()) {
        if (!engineKeys().count(key) && !isKnownOption(key)) {
            return makeError(ErrorCode::InvalidArgument, "unknown option '" + key + "'");
        }
    }
    EngineOptions e;
    double d = static_cast<double>(e.maxNewTokens);
    if (auto st = numberKey(o, "max_new_tokens", 1, 4096, true, d); !st) return st.error();
    e.maxNewTokens = static_cast<int64_t>(d);
    auto& g = e.generation;
    g.maxNewTokens = e.maxNewTokens;
    if (o.contains("sample")) {
        if (!o["sample"].is_boolean()) return makeError(ErrorCode::InvalidArgument, "option 'sample' must be true or false");
        g.sample = o["sample"].get<bool>();
    }
    if (o.contains("stop_at_eos")) {
        if (!o["stop_at_eos"].is_boolean()) {
            return makeError(ErrorCode::InvalidArgument, "option 'stop_at_eos' must be true or false");
        }
        g.stopAtEos = o["stop_at_eos"].get<bool>();
    }
    if (auto st = numberKey(o, "temperature", 1e-6, 100, false, g.temperature); !st) return st.error();
    d = 0;
    if (auto st = numberKey(o, "top_k", 0, 1e9, true, d); !st) return st.error();
    g.topK = static_cast<int64_t>(d);
    if (auto st = numberKey(o, "top_p", 1e-9, 1, false, g.topP); !st) return st.error();
    d = 0;
    if (auto st = numberKey(o, "seed", 0, 9007199254740992.0, true, d); !st) return st.error();
    g.seed = static_cast<uint64_t>(d);
    if (o.contains("truncate")) {
        if (!o["truncate"].is_string() || (o["truncate"] != "none" && o["truncate"] != "left")) {
            return makeError(ErrorCode::InvalidArgument, "option 'truncate' must be 'none' or 'left'");
        }
        e.truncateLeft = o["truncate"] == "left";
    }
    if (o.contains("compute_dtype") &&
        (!o["compute_dtype"].is_string() || (o["compute_dtype"] != "float32" && o["compute_dtype"] != "bfloat16"))) {
        return makeError(ErrorCode::InvalidArgument, "option 'compute_dtype' must be 'float32' or 'bfloat16'");
    }
    if (auto f = jobFaithfulnessOptions(o); !f) return f.error();
    if (auto spec = analysis::granularityFromOptions(o); !spec) {
        return spec.error();
    } else {
        e.granularity = std::move(*spec);
    }
    if (o.contains("segments") && !o["segments"].is_string() && !o["segments"].is_array()) {
        return makeError(ErrorCode::InvalidArgument,
                         "option 'segments' must be a list of spans [{\"start\", \"end\", \"label\"}] (with "
                         "granularity 'spans'), or context_cite's choice of features");
    }
    if (o.contains("chat")) {
        const auto& c = o["chat"];
        auto bad = [](const std::string& m) { return makeError(ErrorCode::InvalidArgument, "option 'chat." + m); };
        if (!c.is_object()) return makeError(ErrorCode::InvalidArgument, "option 'chat' must be an object (raw, template, vars, date)");
        for (const auto& [k, v] : c.items()) {
            if (k == "raw") {
                if (!v.is_boolean()) return bad("raw' must be true or false");
                e.chat.raw = v.get<bool>();
            } else if (k == "template") {
                if (!v.is_string()) return bad("template' must be a template name");
                e.chat.templateName = v.get<std::string>();
            } else if (k == "vars") {
                if (!v.is_object()) return bad("vars' must be an object of template variables");
                e.chat.vars = v;
            } else if (k == "date") {
                const std::string day = v.is_string() ? v.get<std::string>() : std::string();
                if (!chat::parseDate(day)) return bad("date' must be YYYY-MM-DD");
                e.chat.date = day;
            } else {
                return bad(k + "' is unknown (raw, template, vars, date)");
            }
        }
    }
    if (o.contains("methods")) {
        if (!o["methods"].is_object()) {
            return makeError(ErrorCode::InvalidArgument, "option 'methods' must map method ids to their options");
        }
        for (const auto& [id, value] : o["methods"].items()) {
            if (!findMethod(id)) return makeError(ErrorCode::InvalidArgument, "options.methods: unknown method '" + id + "'");
        }
    }
    // Problems of one method (unknown id, bad option value) fail that method
    // alone when it runs; the others still complete.
    return e;
}

Result<nlohmann::json> methodOptions(const Job& job, const std::string& id, const ModelConfig* config) {
    const AttributionMethod* method = findMethod(id);
    if (!method) return makeError(ErrorCode::InvalidArgument, "unknown method '" + id + "'");
    nlohmann::json merged = nlohmann::json::object();
    for (const auto& spec : method->options()) {
        // A list of "segments" is the job's granularity spans, not context_cite's choice.
        if (spec.name == "segments" && job.options.contains("segments") && job.options["segments"].is_array()) continue;
        if (job.options.contains(spec.name)) merged[spec.name] = job.options[spec.name];
    }
    if (job.options.contains("methods") && job.options["methods"].contains(id)) {
        const auto& own = job.options["methods"][id];
        // Reject typos in the method's own block.
        if (auto strict = method->resolveOptions(own, config, /*strict=*/true); !strict) return strict.error();
        for (const auto& [k, v] : own.items()) merged[k] = v;
    }
    return method->resolveOptions(merged, config);
}

std::optional<int64_t> unkBaselineToken(const LoadedModel& model) {
    if (model.tokenizer) {
        const auto& s = model.tokenizer->specialTokens();
        if (s.unk) return *s.unk;
        if (s.pad) return *s.pad;
        if (s.eos) return *s.eos;
    }
    if (model.config.padTokenId) return *model.config.padTokenId;
    if (!model.config.eosTokenIds.empty()) return model.config.eosTokenIds.front();
    return std::nullopt;
}

Result<std::vector<int64_t>> contrastTextIds(const LoadedModel& model, const nlohmann::json& resolved) {
    const std::string text = resolved.value("contrast_text", std::string());
    if (text.empty()) return std::vector<int64_t>{};
    if (!model.tokenizer) {
        return makeError(ErrorCode::InvalidArgument, "option 'contrast_text' needs the model's tokenizer, and " +
                                                         model.name + " was loaded without one: give 'contrast_token'");
    }
    // Tokenized on its own, as a forced target text is (contract: no special tokens).
    auto enc = model.tokenizer->encode(text, /*addSpecialTokens=*/false);
    if (!enc) return makeError(enc.error().code, "option 'contrast_text': " + enc.error().message);
    if (enc->ids.empty()) {
        return makeError(ErrorCode::InvalidArgument, "option 'contrast_text' ('" + text + "') tokenizes to no tokens");
    }
    return std::vector<int64_t>(enc->ids.begin(), enc->ids.end());
}

Result<PreparedSequence> prepareSequence(const LoadedModel& model, const Job& job,
                                         const RunControl& control) {
    auto engine = validateJob(job, &model.config);
    if (!engine) return engine.error();
    if (!model.tokenizer) return makeError(ErrorCode::Internal, model.name + ": the model was loaded without its tokenizer");
    const Tokenizer& tok = *model.tokenizer;
    PreparedSequence p;
    std::vector<int64_t> promptIds;
    std::vector<int64_t> forced;
    std::string promptText = job.input;
    // The prompt tokens' byte offsets in promptText and special flags (granularity).
    std::vector<std::pair<size_t, size_t>> offsets;
    std::vector<bool> special;
    std::string segmentText; // the text the offsets point into (promptText, unless a chat falls back)
    if (!job.messages.is_null()) {
        auto chat = chatInput(model, job, engine->chat);
        if (!chat) return chat.error();
        promptIds = std::move(chat->promptIds);
        promptText = std::move(chat->text);
        p.messages = job.messages;
        p.chatTemplate = chat->templateRef;
        p.segments = std::move(chat->promptSegments);
        p.warnings.insert(p.warnings.end(), chat->warnings.begin(), chat->warnings.end());
        auto& stops = engine->generation.stopIds;
        stops.insert(stops.end(), chat->stopIds.begin(), chat->stopIds.end());
        if (chat->replyText) {
            forced = std::move(chat->replyIds);
            p.forced = true;
        }
    } else {
        auto enc = tok.encode(job.input);
        if (!enc) return makeError(enc.error().code, "prompt: " + enc.error().message);
        promptIds.assign(enc->ids.begin(), enc->ids.end());
        offsets = enc->offsets;
        special = enc->special;
    }
    if (!engine->granularity.isToken() && offsets.empty()) {
        // A chat: the rendered text encoded again gives the offsets when it
        // gives the same tokens; otherwise the tokens' display texts stand in.
        auto enc = tok.encode(promptText, /*addSpecialTokens=*/false);
        std::vector<int64_t> ids;
        if (enc) ids.assign(enc->ids.begin(), enc->ids.end());
        if (enc && ids == promptIds) {
            offsets = enc->offsets;
            special = enc->special;
        } else if (engine->granularity.kind == analysis::Granularity::Spans) {
            return makeError(ErrorCode::InvalidArgument,
                             "option 'segments' (spans) needs the prompt's character offsets, and the rendered chat "
                             "does not tokenize back to its tokens; use granularity word, sentence, line or paragraph");
        } else {
            auto joined = analysis::joinTokens(display(tok, promptIds));
            segmentText = std::move(joined.first);
            offsets = std::move(joined.second);
            special.clear();
            for (int64_t id : promptIds) special.push_back(tok.specialTokenList().end() !=
                                                           std::find_if(tok.specialTokenList().begin(),
                                                                        tok.specialTokenList().end(),
                                                                        [id](const auto& s) { return s.first == id; }));
            p.warnings.push_back("granularity: the chat's segments were found in its tokens' display text");
        }
    }
    if (job.targetText && !p.forced) {
        if (job.targetText->empty()) return makeError(ErrorCode::InvalidArgument, "the target text is empty");
        auto t = tok.encode(*job.targetText, /*addSpecialTokens=*/false);
        if (!t) return makeError(t.error().code, "target text: " + t.error().message);
        if (t->ids.empty()) {
            return makeError(ErrorCode::InvalidArgument, "the target text tokenizes to no tokens");
        }
        forced.assign(t->ids.begin(), t->ids.end());
        p.forced = true;
    }
    const int64_t newTokens = p.forced ? static_cast<int64_t>(forced.size()) : engine->maxNewTokens;
    if (engine->truncateLeft && model.config.maxPositions > 0) {
        const int64_t room = model.config.maxPositions - newTokens;
        if (room > 0 && static_cast<int64_t>(promptIds.size()) > room) {
            const auto dropped = static_cast<int64_t>(promptIds.size()) - room;
            promptIds.erase(promptIds.begin(), promptIds.begin() + dropped);
            if (!p.segments.empty()) p.segments.erase(p.segments.begin(), p.segments.begin() + dropped);
            if (static_cast<int64_t>(offsets.size()) >= dropped) offsets.erase(offsets.begin(), offsets.begin() + dropped);
            if (static_cast<int64_t>(special.size()) >= dropped) special.erase(special.begin(), special.begin() + dropped);
            p.truncated = true;
            p.warnings.push_back("the prompt was truncated: its first " + std::to_string(dropped) +
                                 " tokens were dropped to fit the model's " +
                                 std::to_string(model.config.maxPositions) + " positions");
        }
    }
    if (!engine->granularity.isToken()) {
        if (offsets.size() != promptIds.size()) {
            return makeError(ErrorCode::Internal, model.name + ": the prompt's token offsets are missing (granularity)");
        }
        auto segs = analysis::segmentPrompt(segmentText.empty() ? promptText : segmentText, offsets, special,
                                            engine->granularity);
        if (!segs) return segs.error(); // the runner names the model
        p.granularity = analysis::granularityName(engine->granularity.kind);
        p.promptSegments = std::move(*segs);
    }
    Result<Generation> gen = makeError(ErrorCode::Internal, "not run");
    if (p.forced) {
        // One forward over prompt and target: cancellable between its blocks.
        if (!runCancellable(control.isCancelled, [&] { gen = scoreContinuation(*model.model, promptIds, forced); })) {
            return makeError(ErrorCode::Cancelled, "cancelled while scoring the target");
        }
    } else {
        GenerationOptions g = engine->generation;
        g.isCancelled = control.isCancelled;
        gen = generate(*model.model, promptIds, g);
    }
    if (!gen) return gen.error();
    if (gen->cancelled) return makeError(ErrorCode::Cancelled, "cancelled during generation");
    if (gen->ids.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         "the model produced no output tokens (it ended the sequence at once); force a target text");
    }
    p.input.text = promptText;
    p.input.ids = promptIds;
    p.input.tokens = display(tok, promptIds);
    p.output.ids = gen->ids;
    p.output.tokens = display(tok, gen->ids);
    std::vector<int32_t> out32(gen->ids.begin(), gen->ids.end());
    p.output.text = p.forced ? *job.targetText : tok.decode(out32);
    {
        // What the output adds to the prompt's decoded text; differs from the
        // output text where the tokenizer drops a leading space (and from a
        // forced target typed without one).
        std::vector<int32_t> all(promptIds.begin(), promptIds.end());
        const std::string before = tok.decode(all);
        all.insert(all.end(), out32.begin(), out32.end());
        const std::string after = tok.decode(all);
        if (after.size() > before.size() && after.compare(0, before.size(), before) == 0) {
            std::string cont = after.substr(before.size());
            if (cont != p.output.text) p.outputContinuation = std::move(cont);
        }
    }
    p.scores = gen->scores;
    return p;
}

int64_t estimateMethodWork(const PreparedSequence& seq, const Job& job, const std::string& methodId) {
    const AttributionMethod* m = findMethod(methodId);
    auto opts = methodOptions(job, methodId);
    if (!m || !opts) return 0;
    const auto n = static_cast<int64_t>(seq.input.ids.size()), t = static_cast<int64_t>(seq.output.ids.size());
    if (!seq.promptSegments.empty() && perturbsJobSegments(methodId, job.options)) {
        return groupedWork(*m, n, static_cast<int64_t>(seq.promptSegments.size()), t, *opts);
    }
    return m->estimateWork(n, t, *opts);
}

MethodResult runMethod(const LoadedModel& model, const PreparedSequence& seq, const Job& job,
                       const std::string& methodId, const RunControl& control) {
    const auto start = std::chrono::steady_clock::now();
    MethodResult r;
    r.model = model.name;
    r.method = methodId;
    r.input = seq.input;
    r.output = seq.output;
    r.outputContinuation = seq.outputContinuation;
    r.contextTokens = seq.input.tokens;
    r.contextTokens.insert(r.contextTokens.end(), seq.output.tokens.begin(), seq.output.tokens.end());
    r.stepProbability = seq.scores.probability;
    r.stepEntropy = seq.scores.entropy;
    r.warnings = seq.warnings;
    r.messages = seq.messages;
    r.chatTemplate = seq.chatTemplate;
    if (!seq.segments.empty()) {
        // The output tokens are the assistant's reply: the message after the conversation.
        const int reply = seq.messages.is_array() ? static_cast<int>(seq.messages.size()) : -1;
        r.segments = seq.segments;
        r.segments.insert(r.segments.end(), seq.output.ids.size(), TokenSegment{"assistant", reply});
    }
    auto fail = [&](RunStatus status, const std::string& message) {
        r.status = status;
        r.error = message;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return r;
    };
    const AttributionMethod* method = findMethod(methodId);
    if (!method) {
        std::string known;
        for (const auto* k : allMethods()) known += (known.empty() ? "" : ", ") + k->id();
        return fail(RunStatus::Failed, "unknown method '" + methodId + "' (known: " + known + ")");
    }
    auto opts = methodOptions(job, methodId, &model.config);
    if (!opts) return fail(RunStatus::Failed, opts.error().message);
    r.options = *opts;
    if (model.computeDtype != "float32") {
        r.options["compute_dtype"] = model.computeDtype;
        // Measured on the golden fixtures (tests/core/attribution/test_compute_dtype.cpp,
        // docs/methods.md): large enough to say so with every result.
        r.warnings.push_back("computed in bfloat16: on the golden fixtures this moves logits by up to 2 % and "
                             "saliency matrices by up to 6 % of their largest value against float32 "
                             "(docs/methods.md); use compute_dtype float32 for exact figures");
    }
    r.granularity = seq.granularity;
    r.promptSegments = seq.promptSegments;
    AttributionInput in;
    if (!seq.promptSegments.empty() && perturbsJobSegments(methodId, job.options)) {
        in.promptGroups = analysis::tokenRanges(seq.promptSegments);
        r.options["granularity"] = seq.granularity;
        // context_cite's features are then the job's segments, not its own choice.
        if (methodId == "context_cite") {
            r.options.erase("segments");
            r.options.erase("spans");
        }
    }
    in.model = model.model.get();
    in.promptIds = seq.input.ids;
    in.outputIds = seq.output.ids;
    in.unkBaselineId = unkBaselineToken(model);
    in.promptTokens = seq.input.tokens;
    if (auto contrast = contrastTextIds(model, *opts); !contrast) {
        return fail(RunStatus::Failed, methodId + ": " + contrast.error().message);
    } else {
        in.contrastIds = std::move(*contrast);
    }
    std::optional<RunStatus> ended;
    // Passes check the flag between blocks, forward and backward; a cancel
    // there comes back from guarded as ErrorCode::Cancelled.
    CancelScope cancelScope(control.isCancelled);
    auto st = guarded(methodId, "out of memory; lower memory_budget_mb or shorten the prompt", [&]() -> Status {
        auto out = method->run(in, *opts, control);
        if (!out) return out.error();
        if (out->cancelled) {
            ended = RunStatus::Cancelled;
            return {};
        }
        r.raw = std::move(out->matrix);
        r.targetFn = out->targetFn;
        r.reduction = out->reduction;
        r.convergenceDelta = out->convergenceDelta;
        r.fInput = out->fInput;
        r.fBaseline = out->fBaseline;
        r.featureSegments = out->featureSegments;
        r.warnings.insert(r.warnings.end(), out->warnings.begin(), out->warnings.end());
        return {};
    });
    if (!st && st.error().code == ErrorCode::Cancelled) ended = RunStatus::Cancelled;
    else if (!st) return fail(RunStatus::Failed, st.error().message);
    if (ended) return fail(RunStatus::Cancelled, "cancelled");
    r.status = RunStatus::Completed;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

} // namespace tokenlens
