#pragma once
// Inseq's saved attributions (FeatureAttributionOutput.save() / .load()),
// both ways, without LibTorch or Qt. docs/export.md has the mapping.
//
// The file is JSON as Inseq's json-tricks encoder writes it (sort_keys,
// indent 4): every object is {"__instance_type__": [module, class],
// "attributes": {...}}; the whole file may be gzip-compressed
// (save(compress=True)). Tensors come in two encodings (docs/export.md):
// Inseq up to 0.5 stores numpy arrays as {"__ndarray__": "b64:<base64 of
// the raw little-endian C-order data>", "dtype", "shape", "Corder"} (the
// form checked against Inseq's source here); Inseq 0.6+ stores safetensors
// byte strings (one tensor named "attribution") as {"__bytes_b64__": base64}.
// The reader takes both; the writer writes either. For a decoder-only model Inseq keeps
// no source_attributions: `source` is the prompt, `target` the prompt and the
// generated tokens, and target_attributions is (len(target), generated) —
// exactly our (n+t) × t matrix, with attr_pos_start = n.

#include "result/job_result.h"
#include "util/result.h"

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tokenlens {

// How tensors are written: safetensors bytes (Inseq 0.6 and later) or numpy
// arrays in json-tricks' compact form (Inseq 0.5 and earlier).
enum class InseqTensors { Safetensors, Ndarray };

struct InseqWriteOptions {
    bool compress = false; // gzip the whole file, as save(compress=True)
    InseqTensors tensors = InseqTensors::Safetensors;
};

// Result `pair` of `job` as an Inseq file (the bytes to write). Fails for a
// pair that did not complete.
Result<std::string> writeInseq(const JobResult& job, size_t pair, const InseqWriteOptions& options = {});

// Reads an Inseq file (plain or gzip-compressed JSON) as a one-result job:
// sequence `sequence` of its sequence_attributions. `source` names the file
// in messages. The result passes the result JSON reader's checks.
Result<JobResult> readInseq(std::string_view bytes, const std::string& source, size_t sequence = 0);
Result<JobResult> readInseqFile(const std::filesystem::path& file, size_t sequence = 0);

// Gzip magic, or JSON whose top object names Inseq's FeatureAttributionOutput.
bool looksLikeInseq(std::string_view bytes);

// The pieces, public for the tests and the fuzz target.
std::string base64Encode(std::span<const std::byte> bytes);
Result<std::vector<std::byte>> base64Decode(std::string_view text, const std::string& what);
Result<std::string> gzipCompress(std::string_view bytes);
// Refuses output beyond `limit` bytes (a decompression bomb).
Result<std::string> gzipDecompress(std::string_view bytes, const std::string& source, size_t limit);

} // namespace tokenlens
