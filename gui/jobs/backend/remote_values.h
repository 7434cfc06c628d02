#pragma once
// Values read from the job API's JSON (statuses, progress events) by the
// remote backend's record cache and its event handling.

#include "api/wire.h"

#include <QDateTime>

#include <algorithm>
#include <string>
#include <type_traits>

namespace tokenlens::gui::remote {

template <class T>
inline T num(const nlohmann::json& j, const char* key, T fallback) {
    if constexpr (std::is_integral_v<T>) {
        return static_cast<T>(api::integerOf(j, key, fallback));
    } else {
        return static_cast<T>(api::numberOf(j, key, fallback));
    }
}

inline int permilleOf(const nlohmann::json& j) {
    auto it = j.find("progress");
    if (it == j.end() || !it->is_number()) return 0;
    return std::clamp(static_cast<int>(it->get<double>() * 1000.0 + 0.5), 0, 1000);
}

inline double etaOf(const nlohmann::json& j) {
    auto it = j.find("eta_seconds");
    return it != j.end() && it->is_number() ? it->get<double>() : -1.0;
}

inline std::string nowIso() {
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs).toStdString();
}

} // namespace tokenlens::gui::remote
