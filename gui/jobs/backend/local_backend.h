#pragma once
// The jobs run in this process: a thin layer over JobQueue (and its store),
// forwarding its signals.

#include "jobs/backend/job_backend.h"

namespace tokenlens::gui {

class LocalBackend : public JobBackend {
    Q_OBJECT
public:
    // `queue` is not owned and must outlive the backend.
    explicit LocalBackend(jobs::JobQueue* queue, QObject* parent = nullptr);

    jobs::JobQueue* queue() const { return m_queue; }

    bool isRemote() const override { return false; }
    QString description() const override;
    bool supports(Feature) const override { return true; }
    QString unsupportedReason(Feature) const override { return {}; }

    void submit(const Job& spec, Submitted done) override;
    void followUp(const std::string& parentId, const std::string& text, int followModel, Submitted done) override;
    void submitBatch(const std::string& jsonl, const Job& defaults, const std::string& source,
                     BatchSubmitted done) override;
    bool cancelJob(const std::string& id) override;
    Result<bool> rerun(const std::string& id) override;
    Result<bool> remove(const std::string& id) override;
    Result<nlohmann::json> exportJob(const std::string& id) override;
    void importJob(const nlohmann::json& j, const std::string& source, Submitted done) override;

    std::optional<jobs::JobRecord> job(const std::string& id) const override;
    std::vector<jobs::JobRecord> listJobs() const override;
    std::vector<std::string> followUps(const std::string& id) const override;
    int progress(const std::string& id) const override;
    double etaSeconds(const std::string& id) const override;

private:
    jobs::JobQueue* m_queue;
};

} // namespace tokenlens::gui
