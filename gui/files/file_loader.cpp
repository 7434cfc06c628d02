#include "files/file_loader.h"

#include "result/inseq_file.h"
#include "result/result_json.h"
#include "result/result_sidecar.h"
#include "run/chat_prompt.h"
#include "util/utf8.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>

#include <cstring>
#include <filesystem>
#include <string_view>

namespace tokenlens::gui {

QString humanBytes(int64_t bytes) {
    if (bytes < 1024) return QStringLiteral("%1 bytes").arg(bytes);
    if (bytes < 1024 * 1024) return QStringLiteral("%1 KB").arg(static_cast<double>(bytes) / 1024.0, 0, 'f', 1);
    if (bytes < 1024LL * 1024 * 1024) {
        return QStringLiteral("%1 MB").arg(static_cast<double>(bytes) / (1024.0 * 1024.0), 0, 'f', 1);
    }
    return QStringLiteral("%1 GB").arg(static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0), 0, 'f', 1);
}

FileKind fileKindOf(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == u"json" || suffix == u"gz") return FileKind::Result; // .gz: a compressed Inseq file
    if (suffix == u"txt" || suffix == u"md") return FileKind::PromptText;
    if (suffix == u"jsonl") return FileKind::Batch;
    return FileKind::Unknown;
}

namespace {

LoadedFile failure(FileKind kind, QString message) {
    LoadedFile f;
    f.kind = kind;
    f.message = std::move(message);
    return f;
}

const char* kindNoun(FileKind kind) {
    switch (kind) {
    case FileKind::Result: return "result files";
    case FileKind::PromptText: return "prompt files";
    case FileKind::Batch: return "batch files";
    case FileKind::Messages: return "messages files";
    case FileKind::Unknown: break;
    }
    return "files of an unknown type";
}

bool looksLikeResult(std::string_view text) {
    const size_t p = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    return p != std::string_view::npos && text[p] == '{' &&
           text.substr(0, 4096).find("\"schema\"") != std::string_view::npos;
}

// A .json that is a messages list rather than a result: an array, or an
// object with "messages" and no "schema".
bool looksLikeMessages(std::string_view text) {
    const size_t p = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (p == std::string_view::npos) return false;
    if (text[p] == '[') return true;
    if (text[p] != '{' || looksLikeResult(text)) return false;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    return j.is_object() && j.contains("messages") && !j.contains("schema");
}

} // namespace

Result<nlohmann::ordered_json> readMessagesText(const std::string& text, const QString& name) {
    const std::string file = "“" + name.toStdString() + "”";
    nlohmann::ordered_json j;
    try {
        j = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        return makeError(ErrorCode::Corrupt, file + " is not valid JSON: " + e.what());
    }
    if (j.is_object()) {
        if (!j.contains("messages")) {
            return makeError(ErrorCode::InvalidArgument, file + " holds no messages: expected a list of {\"role\", "
                                                                "\"content\"} or an object with a \"messages\" list");
        }
        j = nlohmann::ordered_json(j["messages"]);
    }
    if (auto st = checkMessages(j); !st) return makeError(ErrorCode::InvalidArgument, file + ": " + st.error().message);
    return j;
}

LoadedFile loadFile(const QString& path) {
    QElapsedTimer timer;
    timer.start();
    const QFileInfo info(path);
    const QString name = info.fileName().isEmpty() ? path : info.fileName();
    FileKind kind = fileKindOf(path);
    if (!info.exists()) return failure(kind, QStringLiteral("“%1” does not exist.").arg(name));
    if (info.isDir()) {
        return failure(kind, QStringLiteral("“%1” is a folder. Open a result file (.json); model folders are added "
                                            "on the New job page.")
                                 .arg(name));
    }
    const int64_t size = info.size();
    const int64_t limit = kind == FileKind::Result ? kMaxResultFileBytes : kMaxTextFileBytes;
    if (size > limit) {
        return failure(kind, QStringLiteral("“%1” is %2; TokenLens opens %3 up to %4. Nothing was changed.")
                                 .arg(name, humanBytes(size), QString::fromUtf8(kindNoun(kind)), humanBytes(limit)));
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return failure(kind, QStringLiteral("“%1” cannot be read: %2.").arg(name, file.errorString()));
    }
    const QByteArray bytes = file.readAll();
    if (bytes.size() > limit) { // grew while we looked, or a special file
        return failure(kind, QStringLiteral("“%1” is larger than %2. Nothing was changed.").arg(name, humanBytes(limit)));
    }
    const std::string_view view(bytes.constData(), static_cast<size_t>(bytes.size()));
    // Inseq's saved attributions (plain or gzip-compressed) open like results.
    if ((kind == FileKind::Result || kind == FileKind::Unknown) && looksLikeInseq(view)) {
        auto job = readInseq(view, name.toStdString());
        if (!job) {
            return failure(FileKind::Result, QStringLiteral("“%1” is not an Inseq file TokenLens can read: %2")
                                                 .arg(name, QString::fromStdString(job.error().message)));
        }
        LoadedFile out;
        out.kind = FileKind::Result;
        out.bytes = bytes.size();
        out.result = std::move(job.value());
        out.status = LoadedFile::Status::Ok;
        out.seconds = static_cast<double>(timer.nsecsElapsed()) / 1e9;
        return out;
    }
    if (view.find('\0') != std::string_view::npos) {
        return failure(kind, QStringLiteral("“%1” is a binary file, not a result (.json), prompt (.txt, .md) or batch "
                                            "(.jsonl). Nothing was changed.")
                                 .arg(name));
    }
    if (const auto bad = utf8::firstInvalid(view)) {
        return failure(kind, QStringLiteral("“%1” is not valid UTF-8 text (byte %2 is not part of a UTF-8 character). "
                                            "Save it as UTF-8 and try again.")
                                 .arg(name)
                                 .arg(static_cast<qulonglong>(*bad)));
    }
    if (kind == FileKind::Unknown && looksLikeResult(view)) kind = FileKind::Result;
    if (kind == FileKind::Result && looksLikeMessages(view)) kind = FileKind::Messages;
    LoadedFile out;
    out.kind = kind;
    out.bytes = bytes.size();
    switch (kind) {
    case FileKind::Result: {
        // A sidecar of large matrices is looked for beside the file.
        auto job = readResultJson(std::string(view), name.toStdString(),
                                  std::filesystem::path(QFileInfo(path).absolutePath().toStdString()));
        if (!job) {
            return failure(kind, QStringLiteral("“%1” is not a TokenLens result: %2")
                                     .arg(name, QString::fromStdString(job.error().message)));
        }
        out.result = std::move(job.value());
        if (view.find("\"raw_ref\"") != std::string_view::npos) { // its matrices came from the sidecar
            std::error_code ec;
            const auto side = std::filesystem::file_size(sidecarPathFor(path.toStdString()), ec);
            if (!ec) out.sidecarBytes = static_cast<int64_t>(side);
        }
        break;
    }
    case FileKind::PromptText:
    case FileKind::Batch:
        out.text = QString::fromUtf8(bytes);
        break;
    case FileKind::Messages: {
        auto messages = readMessagesText(std::string(view), name);
        if (!messages) return failure(kind, QString::fromStdString(messages.error().message));
        out.messages = std::move(messages.value());
        break;
    }
    case FileKind::Unknown:
        return failure(kind, QStringLiteral("TokenLens opens results (.json), prompts (.txt, .md) and batches "
                                            "(.jsonl); “%1” is none of these.")
                                 .arg(name));
    }
    out.status = LoadedFile::Status::Ok;
    out.seconds = static_cast<double>(timer.nsecsElapsed()) / 1e9;
    return out;
}

} // namespace tokenlens::gui
