#pragma once
// The daemon's state as /healthz reports it. Io thread only.

#include <cstdint>
#include <string>
#include <vector>

namespace casacal::daemon {

/// What the last reload and the daemon's peers look like. The errors of a
/// failed reload stay until a reload succeeds (the previous snapshot keeps
/// being served meanwhile).
struct health_state {
    std::int64_t last_reload = 0; ///< Unix seconds of the last attempt
    bool last_reload_ok = true;
    std::vector<std::string> errors; ///< of the last failed reload, formatted
    std::string database = "ok";     ///< "ok" or the sticky error
    std::string smtp = "unknown";    ///< set by the reminders feature
    /// Start-only settings the configuration now changes (start_settings.hpp).
    std::vector<std::string> restart_needed;

    /// A refused reload, a database failure, or mail the server did not take
    /// at the last attempt (the reminders feature's "retrying: …").
    bool degraded() const {
        return !last_reload_ok || database != "ok" || smtp.rfind("retrying", 0) == 0;
    }
};

} // namespace casacal::daemon
