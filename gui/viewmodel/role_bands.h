#pragma once
// The role bands of a chat result for the token view: one band per message
// (system, user, assistant, ...) over consecutive context tokens, from the
// result's segments (docs/attribution-contract.md: every context token's role
// and message; the template's own tokens have the role "template").
//
// The template's tokens between two messages are shared out: those that
// close the previous message (<|im_end|>, <|eot_id|>, the newline after it)
// stay with it, and the header of the next one (<|im_start|>user,
// <|start_header_id|>user<|end_header_id|>, <start_of_turn>user, <|user|>)
// opens the next band: the header starts at the last template token naming
// the next role (with the special token just before it, when the role is a
// word of its own). Template tokens before the first message (BOS) open the
// first band; those after the prompt's last message are the header of the
// reply's assistant turn. The prompt and the output are banded separately (a
// band never crosses the prompt's end).

#include "result/job_result.h"

#include <QColor>

#include <cstdint>
#include <string>
#include <vector>

namespace tokenlens::gui {

struct RoleBand {
    int64_t first = 0, end = 0; // context tokens [first, end)
    std::string role;           // "system", "user", "assistant", ... ("template": no message at all)
    int message = -1;           // index into the result's messages (messages.size(): the reply)
    bool operator==(const RoleBand&) const = default;
};

// `segments` and `tokens` (display strings) have one entry per context token,
// the first `n` the prompt's; empty when they do not match.
std::vector<RoleBand> roleBands(const std::vector<TokenSegment>& segments, const std::vector<std::string>& tokens,
                                int64_t n);

// The band and label colour of a role: system grey, user bluish green,
// assistant orange (Okabe–Ito, apart from the method hues), others purple.
QColor roleColour(const std::string& role);

} // namespace tokenlens::gui
