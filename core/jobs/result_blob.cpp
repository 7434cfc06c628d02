// A stored result's blob (compressResult / uncompressResult, job_store.h):
// compressed contract JSON, with a large matrix as float32 bytes after it.

#include "jobs/job_store.h"
#include "result/result_json.h"

#include <cstring>

namespace tokenlens::jobs {

using nlohmann::json;

namespace {

// A result blob with its matrix outside the JSON: the magic, the length of
// the compressed JSON (uint64 little-endian), qCompress(JSON with a raw_ref
// to "raw"), then the matrix as float32 little-endian, row-major.
constexpr char kMatrixBlobMagic[4] = {'T', 'L', 'R', 'B'};
constexpr qsizetype kMatrixBlobHeader = 4 + 8;

} // namespace

QByteArray compressResult(const MethodResult& r) {
    const bool outside = r.raw.rows * r.raw.cols > kStoreInlineMaxCells;
    const std::string text = toJson(r, outside ? std::string("raw") : std::string())
                                 .dump(-1, ' ', false, json::error_handler_t::replace);
    QByteArray compressed = qCompress(QByteArray(text.data(), static_cast<qsizetype>(text.size())), 6);
    if (!outside) return compressed;
    QByteArray blob;
    const auto matrixBytes = static_cast<qsizetype>(r.raw.data.size() * sizeof(float));
    blob.reserve(kMatrixBlobHeader + compressed.size() + matrixBytes);
    blob.append(kMatrixBlobMagic, 4);
    const auto n = static_cast<uint64_t>(compressed.size());
    for (int b = 0; b < 8; ++b) blob.append(static_cast<char>((n >> (8 * b)) & 0xff));
    blob.append(compressed);
    blob.append(reinterpret_cast<const char*>(r.raw.data.data()), matrixBytes);
    return blob;
}

Result<MethodResult> uncompressResult(const QByteArray& blob, const std::string& source) {
    QByteArray compressed = blob;
    const char* matrix = nullptr;
    qsizetype matrixBytes = 0;
    if (blob.size() >= kMatrixBlobHeader && std::memcmp(blob.constData(), kMatrixBlobMagic, 4) == 0) {
        uint64_t n = 0;
        for (int b = 0; b < 8; ++b) n |= uint64_t{static_cast<unsigned char>(blob[4 + b])} << (8 * b);
        if (n > static_cast<uint64_t>(blob.size() - kMatrixBlobHeader)) {
            return makeError(ErrorCode::Corrupt, source + ": the stored result is cut short");
        }
        compressed = blob.mid(kMatrixBlobHeader, static_cast<qsizetype>(n));
        matrix = blob.constData() + kMatrixBlobHeader + static_cast<qsizetype>(n);
        matrixBytes = blob.size() - kMatrixBlobHeader - static_cast<qsizetype>(n);
    }
    const QByteArray raw = qUncompress(compressed);
    if (raw.isEmpty()) return makeError(ErrorCode::Corrupt, source + ": the stored result does not uncompress");
    json r = json::parse(raw.constData(), raw.constData() + raw.size(), nullptr, false);
    if (r.is_discarded()) return makeError(ErrorCode::Corrupt, source + ": the stored result is not valid JSON");
    // Read it through the contract reader (one result of a minimal job).
    json wrapper = {{"schema", "tokenlens.job/3"}, {"job_id", ""}, {"created_at", ""}, {"completed_at", ""},
                    {"input", {{"text", ""}, {"tokens", json::array()}, {"ids", json::array()}}},
                    {"options", json::object()}, {"results", json::array({r})}};
    const MatrixSource matrices = [&](const std::string& tensor, int64_t rows,
                                      int64_t cols) -> Result<AttributionMatrix> {
        if (!matrix || tensor != "raw") {
            return makeError(ErrorCode::Corrupt, source + ": the stored result refers to a matrix it does not hold");
        }
        if (static_cast<uint64_t>(matrixBytes) != static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * 4) {
            return makeError(ErrorCode::Corrupt, source + ": the stored matrix has " + std::to_string(matrixBytes) +
                                                     " bytes, not the " + std::to_string(rows) + " x " +
                                                     std::to_string(cols) + " float32 its JSON gives");
        }
        AttributionMatrix m;
        m.rows = rows;
        m.cols = cols;
        m.data.resize(static_cast<size_t>(rows * cols));
        std::memcpy(m.data.data(), matrix, static_cast<size_t>(matrixBytes));
        return m;
    };
    auto job = jobFromJson(wrapper, source, &matrices);
    if (!job) return job.error();
    return std::move(job.value().results.front());
}

} // namespace tokenlens::jobs
