#pragma once
// The stage interfaces of the pipeline. Each stage is built from its
// tokenizer.json object by factory.cpp; all of them are immutable after
// construction, so one tokenizer may encode from several threads at once.

#include "tokenizer/normalized_string.h"
#include "tokenizer/tokenizer.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace tokenlens::tok {

// Thrown while building the pipeline from JSON; becomes an Error naming the
// file. `code` tells a malformed file from an unsupported feature.
class ConfigError : public std::runtime_error {
public:
    ConfigError(ErrorCode c, const std::string& message, std::string inFile = {})
        : std::runtime_error(message), code(c), file(std::move(inFile)) {}
    ErrorCode code;
    std::string file; // set when the problem is in another file than tokenizer.json
};

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void normalize(NormalizedString& s) const = 0;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Rewrites the list of pieces of one text segment (pieces stay in order).
    virtual void preTokenize(std::vector<NormalizedString>& pieces) const;

protected:
    // Most pre-tokenizers work on each piece on its own.
    virtual void splitPiece(NormalizedString&& piece, std::vector<NormalizedString>& out) const = 0;
};

// A token produced by the model, spanning bytes [begin, end) of its word.
struct ModelToken {
    int32_t id = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
};

class Model {
public:
    virtual ~Model() = default;
    virtual std::string type() const = 0;
    // Appends the tokens of `word` (one pre-token, never empty).
    virtual Status tokenize(std::string_view word, std::vector<ModelToken>& out) const = 0;
    virtual std::optional<int32_t> tokenToId(std::string_view token) const = 0;
    // nullptr when the id is not in the model's vocabulary.
    virtual const std::string* idToToken(int32_t id) const = 0;
    virtual size_t vocabSize() const = 0;
    // Highest id of the vocabulary plus one.
    virtual size_t idLimit() const = 0;
};

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    virtual void process(Encoding& encoding, bool addSpecialTokens) const = 0;
    // Prepends a special token (BOS, CLS) to a single sequence.
    virtual bool prependsSpecial() const { return false; }
};

class Decoder {
public:
    virtual ~Decoder() = default;
    // HF decode_chain: token strings in, strings out (joined by the caller).
    virtual void decodeChain(std::vector<std::string>& tokens) const = 0;
    // One vocabulary piece made readable (no stripping, no fusing).
    virtual std::string displayPiece(std::string piece) const { return piece; }
};

} // namespace tokenlens::tok
