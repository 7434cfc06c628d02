#include "commands.h"
#include "common.h"

#include "chat/chat_template.h"
#include "run/chat_prompt.h"

#include "model/generation.h"

#include <iostream>

namespace tokenlens::cli {

int runGenerate(const Args& args) {
    const std::string cmd = "generate";
    ArgParser p(cmd, "--model DIR [options] [--] PROMPT | --prompt-file FILE");
    p.add(R"(
        --model DIR  model folder (config.json, *.safetensors, tokenizer.json)
        --prompt-file FILE  read the prompt from a UTF-8 file
        --max-new-tokens N  tokens to generate (default 16)
        --sample  sample instead of greedy decoding
        --temperature T  sampling temperature (default 1.0)
        --top-k K  keep the K most likely tokens when sampling (default 0 = off)
        --top-p P  nucleus sampling mass (default 1.0 = off)
        --seed S  random seed for sampling (default 0)
        --target-text TEXT  score this continuation instead of generating (forced decoding)
        --no-stop  do not stop at the end-of-sequence token
        --no-cache  recompute the whole sequence every step (slow; for checking)
        --truncate  drop the oldest prompt tokens when the prompt is too long
        --device DEV  cpu (default) or cuda
    )");
    addChatOptions(p);
    if (auto code = handleParse(p, args)) return *code;
    if (!p.has("model")) {
        std::cerr << "tokenlens-cli generate: --model DIR is required\n";
        return kExitUsage;
    }
    std::optional<std::string> prompt;
    if (!readPromptOrChat(p, cmd, prompt)) return kExitFailure;
    Job chatJob;
    if (!applyChatOptions(p, cmd, prompt, chatJob)) return kExitFailure;
    auto maxNew = numberOption(p, "max-new-tokens", 16, cmd);
    auto temperature = numberOption(p, "temperature", 1.0, cmd);
    auto topK = numberOption(p, "top-k", 0, cmd);
    auto topP = numberOption(p, "top-p", 1.0, cmd);
    auto seed = numberOption(p, "seed", 0, cmd);
    if (!maxNew || !temperature || !topK || !topP || !seed) return kExitUsage;

    LoadOptions lo;
    lo.device = p.value("device").value_or("cpu");
    auto model = loadModelOrReport(*p.value("model"), cmd, lo);
    if (!model) return kExitFailure;
    const Tokenizer& tok = *model->tokenizer;

    std::vector<int64_t> promptIds;
    std::vector<int64_t> forced;
    std::vector<int64_t> stopIds;
    std::optional<chat::ChatFormatter> formatter;
    if (!chatJob.messages.is_null() && !p.has("raw")) {
        auto f = chat::ChatFormatter::fromModelFolder(model->dir, p.value("template").value_or(""));
        if (!f) {
            std::cerr << "tokenlens-cli generate: " << f.error().message << " (--raw uses the text without a template)\n";
            return kExitFailure;
        }
        formatter = std::move(f.value());
    }
    if (formatter) {
        chat::DateTime date = chat::localNow();
        if (auto d = p.value("date")) {
            auto parsed = chat::parseDate(*d);
            if (!parsed) {
                std::cerr << "tokenlens-cli generate: --date must be YYYY-MM-DD, got '" << *d << "'\n";
                return kExitUsage;
            }
            date = *parsed;
        }
        auto built = buildChatPrompt(*formatter, tok, chatJob.messages, p.value("target-text"), nlohmann::json::object(), date);
        if (!built) {
            std::cerr << "tokenlens-cli generate: " << built.error().message << "\n";
            return kExitFailure;
        }
        promptIds = built->promptIds;
        forced = built->replyIds;
        stopIds = built->stopIds;
    } else {
        const std::string text = chatJob.messages.is_null() ? prompt.value_or("") : plainChatText(chatJob.messages);
        auto enc = tok.encode(text);
        if (!enc) {
            std::cerr << "tokenlens-cli generate: " << enc.error().message << "\n";
            return kExitFailure;
        }
        promptIds.assign(enc->ids.begin(), enc->ids.end());
    }

    if (auto target = p.value("target-text"); target && !formatter) {
        auto t = tok.encode(*target, /*addSpecialTokens=*/false);
        if (!t) {
            std::cerr << "tokenlens-cli generate: --target-text: " << t.error().message << "\n";
            return kExitFailure;
        }
        if (t->ids.empty()) {
            std::cerr << "tokenlens-cli generate: --target-text tokenizes to no tokens\n";
            return kExitFailure;
        }
        forced.assign(t->ids.begin(), t->ids.end());
    }
    const auto newTokens = forced.empty() ? static_cast<int64_t>(*maxNew) : static_cast<int64_t>(forced.size());
    bool truncated = false;
    if (p.has("truncate") && model->config.maxPositions > 0) {
        const int64_t room = model->config.maxPositions - newTokens;
        if (room > 0 && static_cast<int64_t>(promptIds.size()) > room) {
            promptIds.erase(promptIds.begin(), promptIds.end() - room);
            truncated = true;
        }
    }

    Result<Generation> gen = makeError(ErrorCode::Internal, "not run");
    if (!forced.empty()) {
        gen = scoreContinuation(*model->model, promptIds, forced);
    } else {
        GenerationOptions o;
        o.maxNewTokens = newTokens;
        o.sample = p.has("sample");
        o.temperature = *temperature;
        o.topK = static_cast<int64_t>(*topK);
        o.topP = *topP;
        o.seed = static_cast<uint64_t>(*seed);
        o.stopAtEos = !p.has("no-stop");
        o.useCache = !p.has("no-cache");
        o.stopIds = stopIds; // the chat template's end-of-turn token
        gen = generate(*model->model, promptIds, o);
    }
    if (!gen) {
        std::cerr << "tokenlens-cli generate: " << gen.error().message << "\n";
        return kExitFailure;
    }
    std::vector<int32_t> outIds(gen->ids.begin(), gen->ids.end());
    nlohmann::json j;
    j["model"] = model->name;
    if (formatter) j["chat_template"] = {{"name", formatter->info().name}, {"sha256", formatter->info().sha256}};
    j["input"] = {{"ids", promptIds}, {"tokens", displayTokens(tok, promptIds)}, {"truncated", truncated}};
    j["output"] = {{"ids", gen->ids},
                   {"tokens", displayTokens(tok, gen->ids)},
                   {"text", tok.decode(outIds)},
                   {"forced", !forced.empty()},
                   {"stopped_at_eos", gen->stoppedAtEos}};
    j["step_scores"] = {{"probability", gen->scores.probability}, {"entropy", gen->scores.entropy}};
    printJson(j);
    return kExitOk;
}

} // namespace tokenlens::cli
