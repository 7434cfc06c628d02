#pragma once
// A conversation of follow-up jobs as the timeline shows it (docs/gui.md,
// "Conversation timeline"), as value types and functions without widgets.
//
// Job k of a chain J_1 → … → J_k (each J_t's spec.parentJob is J_{t−1}) sees
// the prompt X_1 ⊕ Y_1 ⊕ … ⊕ X_{k−1} ⊕ Y_{k−1} ⊕ X_k (seed eq. 8), and its
// JobRecord::turns are the byte ranges of those segments. Turn t is the pair
// (X_t, Y_t): what was typed in job t and what the model replied.

#include "jobs/job_types.h"
#include "result/attribution_matrix.h"
#include "result/job_result.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace tokenlens::gui {

class JobBackend;

inline constexpr int kMaxConversationTurns = 256;

// The chain `id` belongs to: its ancestors (root first, following
// spec.parentJob while the backend knows the job), `id`, then its latest
// follow-up, that one's latest follow-up, and so on (the latest by
// submission order among JobBackend::followUps). A cycle or more than
// kMaxConversationTurns jobs ends the chain. Empty when the backend does not
// know `id`. Works alike on the local and the remote backend.
std::vector<std::string> conversationChain(const JobBackend& backend, const std::string& id);

// Which turn each prompt token belongs to.
struct TokenTurns {
    std::vector<int> turn;   // per token: 0-based turn (the job's position among the segments' jobs)
    std::vector<bool> reply; // the token lies in the model's reply Y_t (else in the typed X_t)
    int turns = 0;           // distinct jobs among the segments
};
// `tokens` are display strings located in `prompt` (analysis::locateTokens,
// with two more tries for word-level tokenizers that leave out the spaces:
// after the spaces, and an unknown token covering the word at the cursor);
// a token belongs to the segment holding its first byte (a token covering no
// text, such as BOS, to the segment at its position); `segments` are the
// job's JobRecord::turns. Without segments every token is in turn 0.
TokenTurns tokenTurns(const std::string& prompt, const std::vector<std::string>& tokens,
                      const std::vector<jobs::Turn>& segments);

// The same for a chat chain, from the messages instead of byte ranges:
// `segments` are the shown result's per-token chat segments
// (MethodResult::segments: role and message index) and messageCounts[t] is
// how many messages job t of the chain sent (its spec.messages). Job t+1
// sends job t's messages, job t's reply as an assistant message, then the new
// user message, so message i belongs to the first job t with i < counts[t],
// and is job t−1's reply when it is the message right after job t−1's own
// (i == counts[t−1]). Template tokens (message −1) take the turn of the next
// message token (the last turn when none follows), never the reply flag.
// Counts that do not grow put every token in turn 0.
TokenTurns tokenTurnsFromMessages(const std::vector<TokenSegment>& segments, const std::vector<int>& messageCounts,
                                  size_t promptTokens);

// Attribution mass the current generation draws from each turn: over the
// prompt rows r < n of `a` (context × output), mass = Σ |a[r, j]| over finite
// entries, for output column `column`, or every column when column < 0.
// share[t] = (input[t] + reply[t]) / total (NaN when total is 0), so the
// shares sum to 1.
struct TurnShares {
    std::vector<double> input, reply, share;
    double total = 0;
};
TurnShares turnShares(const AttributionMatrix& a, int64_t n, const TokenTurns& turns, int64_t column);

// The colour of turn t (a qualitative palette, repeating after 8 turns).
struct Rgb {
    int r = 0, g = 0, b = 0;
};
Rgb turnColour(int turn);

} // namespace tokenlens::gui
