#pragma once
// The settings `serve` reads once, at start: the listening socket, the
// database, the mail transport and what reminders are built with. A reload
// that changes one keeps the value in use and says so.

#include "config/site.hpp"

#include <string>
#include <utility>
#include <vector>

namespace casacal::daemon {

/// Each start-only setting of `s` as (name, value): "[http] listen" → "127.0.0.1:8080".
std::vector<std::pair<std::string, std::string>> start_settings(const config::site& s);

/// One line per setting that differs between `in_use` and `now` (both from
/// start_settings): "[http] listen changed from "A" to "B"; serve keeps "A"
/// until it is restarted".
std::vector<std::string> settings_awaiting_restart(
    const std::vector<std::pair<std::string, std::string>>& in_use,
    const std::vector<std::pair<std::string, std::string>>& now);

} // namespace casacal::daemon
