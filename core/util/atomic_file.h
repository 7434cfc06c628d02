#pragma once
// Writing a file all or nothing: the text goes to a temporary file beside
// it, is flushed to disk, and is renamed over the target. A process killed
// in the middle (kill -9, power loss) leaves the old file or none, never
// half of the new one; what it leaves behind is only a "<name>.tmp-<pid>"
// file. What the CLI's exports write through.

#include "util/result.h"

#include <string>
#include <string_view>

namespace tokenlens {

Status writeFileAtomically(const std::string& path, std::string_view text);

// Whether writeFileAtomically(path) can succeed as far as can be told before
// writing: the folder exists and is writable, `path` is not a folder.
Status checkWritable(const std::string& path);

} // namespace tokenlens
