#pragma once
// HTML escaping as Jinja's `escape` filter (markupsafe) does it: & < > " '
// become entities. Used by the chat templates and the exported HTML page.

#include <string>
#include <string_view>

namespace tokenlens {

inline std::string htmlEscape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

} // namespace tokenlens
