#include "tokenizer/json_loader.h"

#include <vector>

namespace tokenlens::tok {

namespace {

using Json = nlohmann::json;

class Handler {
public:
    explicit Handler(LoadedTokenizerJson& out) : m_out(out) {}

    bool null() { return plain(nullptr); }
    bool boolean(bool v) { return plain(v); }
    bool number_integer(Json::number_integer_t v) { return integer(v); }
    bool number_unsigned(Json::number_unsigned_t v) {
        return integer(v > static_cast<Json::number_unsigned_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
    }
    bool number_float(Json::number_float_t v, const std::string&) { return plain(v); }
    bool binary(Json::binary_t& v) { return plain(std::move(v)); }

    bool string(std::string& s) {
        if (m_mode == Mode::Merges) {
            if (m_mergeDepth == 0) {
                const size_t space = s.find(' ');
                if (space == std::string::npos) return fail("merge '" + s + "' is not two tokens");
                m_out.tables.merges->emplace_back(s.substr(0, space), s.substr(space + 1));
                return true;
            }
            if (m_pair.size() >= 2) return fail("a merge must be [\"a\", \"b\"]");
            m_pair.push_back(std::move(s));
            return true;
        }
        if (m_mode == Mode::Vocab) return fail("bad id for token '" + m_vocabKey + "'");
        return plain(std::move(s));
    }

    bool start_object(std::size_t) {
        if (m_mode == Mode::Vocab) return fail("bad id for token '" + m_vocabKey + "'");
        if (m_mode == Mode::Merges) return fail("a merge must be \"a b\" or [\"a\", \"b\"]");
        if (atModelKey("vocab")) {
            m_mode = Mode::Vocab;
            m_out.tables.vocab.emplace();
            return true;
        }
        Json* obj = insert(Json::object());
        m_stack.push_back(Frame{obj, {}});
        return true;
    }

    bool key(std::string& k) {
        if (m_mode == Mode::Vocab) {
            m_vocabKey = std::move(k);
            return true;
        }
        m_stack.back().key = std::move(k);
        return true;
    }

    bool end_object() {
        if (m_mode == Mode::Vocab) {
            m_mode = Mode::None;
            return true;
        }
        m_stack.pop_back();
        return true;
    }

    bool start_array(std::size_t) {
        if (m_mode == Mode::Vocab) return fail("bad id for token '" + m_vocabKey + "'");
        if (m_mode == Mode::Merges) {
            if (m_mergeDepth != 0) return fail("a merge must be [\"a\", \"b\"]");
            m_mergeDepth = 1;
            m_pair.clear();
            return true;
        }
        if (atModelKey("merges")) {
            m_mode = Mode::Merges;
            m_mergeDepth = 0;
            m_out.tables.merges.emplace();
            return true;
        }
        Json* arr = insert(Json::array());
        m_stack.push_back(Frame{arr, {}});
        return true;
    }

    bool end_array() {
        if (m_mode == Mode::Merges) {
            if (m_mergeDepth == 0) {
                m_mode = Mode::None;
                return true;
            }
            if (m_pair.size() != 2) return fail("a merge must be [\"a\", \"b\"]");
            m_out.tables.merges->emplace_back(std::move(m_pair[0]), std::move(m_pair[1]));
            m_mergeDepth = 0;
            return true;
        }
        m_stack.pop_back();
        return true;
    }

    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
        m_error = std::string("invalid JSON: ") + e.what();
        return false;
    }

    const std::string& error() const { return m_error; }

private:
    enum class Mode { None, Vocab, Merges };
    struct Frame {
        Json* container;
        std::string key; // last key seen, for objects
    };

    bool fail(const std::string& message) {
        m_error = "model: " + message;
        return false;
    }

    // True when the value about to start is root["model"][key].
    bool atModelKey(const char* key) const {
        return m_stack.size() == 2 && m_stack[0].key == "model" && m_stack[1].key == key &&
               m_stack[1].container->is_object();
    }

    bool integer(int64_t v) {
        if (m_mode == Mode::Vocab) {
            if (!m_out.tables.vocab->add(m_vocabKey, v)) return fail("bad id for token '" + m_vocabKey + "'");
            return true;
        }
        if (m_mode == Mode::Merges) return fail("a merge must be \"a b\" or [\"a\", \"b\"]");
        return plain(v);
    }

    template <class V>
    bool plain(V&& v) {
        if (m_mode == Mode::Vocab) return fail("bad id for token '" + m_vocabKey + "'");
        if (m_mode == Mode::Merges) return fail("a merge must be \"a b\" or [\"a\", \"b\"]");
        insert(Json(std::forward<V>(v)));
        return true;
    }

    Json* insert(Json v) {
        if (m_stack.empty()) {
            m_out.root = std::move(v);
            return &m_out.root;
        }
        Frame& f = m_stack.back();
        if (f.container->is_array()) {
            f.container->push_back(std::move(v));
            return &f.container->back();
        }
        Json& slot = (*f.container)[f.key];
        slot = std::move(v);
        return &slot;
    }

    LoadedTokenizerJson& m_out;
    std::vector<Frame> m_stack;
    Mode m_mode = Mode::None;
    std::string m_vocabKey;
    int m_mergeDepth = 0;
    std::vector<std::string> m_pair;
    std::string m_error;
};

} // namespace

LoadedTokenizerJson loadTokenizerJson(std::string_view text) {
    LoadedTokenizerJson out;
    Handler handler(out);
    const bool ok = Json::sax_parse(text.begin(), text.end(), &handler);
    if (!ok) {
        throw ConfigError(ErrorCode::Corrupt, handler.error().empty() ? "invalid JSON" : handler.error());
    }
    return out;
}

} // namespace tokenlens::tok
