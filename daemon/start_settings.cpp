#include "daemon/start_settings.hpp"

#include "notify/planner.hpp"

namespace casacal::daemon {

std::vector<std::pair<std::string, std::string>> start_settings(const config::site& s) {
    return {
        {"[http] listen", s.http.listen},
        {"[storage] database", s.storage.database.string()},
        {"[smtp] url", s.smtp.url},
        {"[smtp] starttls", s.smtp.starttls},
        {"[smtp] username", s.smtp.username},
        {"[smtp] password_file", s.smtp.password_file.string()},
        {"[smtp] from", s.smtp.from},
        {"[smtp] max_per_minute", std::to_string(s.smtp.max_per_minute)},
        {"[smtp] pickup_dir", s.smtp.pickup_dir.string()},
        {"[reminders] grace", notify::canonical_duration(s.reminders.grace)},
        // Reminder emails are built with these; feeds and pages take the new ones.
        {"[site] base_url", s.site.base_url},
        {"[site] domain", s.site.domain},
    };
}

std::vector<std::string> settings_awaiting_restart(
    const std::vector<std::pair<std::string, std::string>>& in_use,
    const std::vector<std::pair<std::string, std::string>>& now) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < in_use.size() && i < now.size(); ++i) {
        const auto& [name, used] = in_use[i];
        if (now[i].second == used) continue;
        out.push_back(name + " changed from \"" + used + "\" to \"" + now[i].second +
                      "\"; serve keeps \"" + used + "\" until it is restarted");
    }
    return out;
}

} // namespace casacal::daemon
