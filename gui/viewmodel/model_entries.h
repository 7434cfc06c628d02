#pragma once
// The models the job creation page offers, as Qt values: the entries of the
// model catalogue (catalog/model_catalog.h: the bundled demo models, folders
// the user added and the Hugging Face cache), each with what a user picks by
// (architecture, size, dtype). discoverModels() reads config.json and the
// safetensors headers of every folder, so call it off the GUI thread.

#include "jobs/job_types.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

namespace tokenlens::gui {

struct ModelEntry {
    QString name;         // "demo-llama", "Qwen/Qwen2-0.5B"
    QString path;         // the folder holding config.json
    QString source;       // "demo" | "folder" | "hf-cache"
    QString architecture; // "LlamaForCausalLM"
    QString dtype;        // stored dtype: "F32", "BF16", ...
    qint64 parameters = 0;
    qint64 bytes = 0;        // weight files on disk
    qint64 maxPositions = 0; // positions the model was made for
    QString error;           // non-empty: the folder cannot be used, and why
    // The folder's chat templates by name ("default", "tool_use", ...): a
    // model with one opens the New job page in Chat mode. Empty: none.
    QStringList chatTemplates;

    bool usable() const { return error.isEmpty(); }
    bool hasChatTemplate() const { return !chatTemplates.isEmpty(); }
    // "LlamaForCausalLM · 0.64 M parameters · F32 · 2.4 MiB"
    QString summary() const;
};

// The bundled demo models: $TOKENLENS_DEMO_MODELS, else the installed
// share/tokenlens/models next to the executable, else the source tree's
// resources/models. Empty when none exists.
QString demoModelsDir();

// One folder, inspected (never fails: a bad folder comes back with `error`).
ModelEntry describeModel(const QString& path, const QString& source, const QString& name);

// Demo models first, then the added folders, then the Hugging Face cache;
// a folder found twice is listed once.
std::vector<ModelEntry> discoverModels(const QStringList& addedFolders, bool includeHfCache = true);

// The sample prompt a first start shows: a key–value recall the demo models
// answer ("blue"), whose evidence is "tom" and "blue" in the second clause.
QString samplePrompt();
// The job a first start runs on the demo models.
Job demoJobSpec(const std::vector<ModelEntry>& models);

// "0.64 M", "124 M", "7.2 B"
QString humanCount(qint64 n);

} // namespace tokenlens::gui
