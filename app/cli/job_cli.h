#pragma once
// What `tokenlens-cli run` and `tokenlens-cli jobs` share: a headless
// QCoreApplication named like the GUI (so both find the same default job
// store in QStandardPaths::AppDataLocation) and opening the store.

#include "jobs/job_store.h"

#include <tokenlens/version.h>

#include <QCoreApplication>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace tokenlens::cli {

class HeadlessApp {
public:
    HeadlessApp() {
        if (!QCoreApplication::instance()) m_app = std::make_unique<QCoreApplication>(m_argc, m_argv);
        QCoreApplication::setApplicationName(QStringLiteral(TOKENLENS_NAME));
        QCoreApplication::setOrganizationName(QStringLiteral("TokenLens"));
    }
    HeadlessApp(const HeadlessApp&) = delete;
    HeadlessApp& operator=(const HeadlessApp&) = delete;

private:
    int m_argc = 1;
    char m_name[16] = "tokenlens-cli";
    char* m_argv[2] = {m_name, nullptr};
    std::unique_ptr<QCoreApplication> m_app;
};

// --store PATH, else the default store; prints the error and returns null on
// failure. `setAside` (the commands that write: run, serve): a damaged store
// is moved aside and a new one created, as the app does, saying so.
inline std::unique_ptr<jobs::JobStore> openStoreOrReport(const std::optional<std::string>& path,
                                                         const std::string& command, bool setAside = false) {
    const std::string where = path ? *path : jobs::JobStore::defaultPath();
    std::string notice;
    auto store = setAside ? jobs::JobStore::openOrSetAside(where, &notice) : jobs::JobStore::open(where);
    if (!store) {
        std::cerr << "tokenlens-cli " << command << ": " << store.error().message << "\n";
        return nullptr;
    }
    if (!notice.empty()) std::cerr << "tokenlens-cli " << command << ": " << notice << "\n";
    for (const auto& id : store.value()->interruptedOnOpen()) {
        std::cerr << "tokenlens-cli " << command << ": job " << id
                  << " was interrupted (its process ended); re-run it with: tokenlens-cli run --rerun " << id << "\n";
    }
    return std::move(store.value());
}

} // namespace tokenlens::cli
