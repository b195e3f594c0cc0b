#include "daemon/metrics.hpp"

#include "daemon/snapshot.hpp"

namespace casacal::daemon {

std::string prometheus_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string metrics::render(const snapshot* current) const {
    std::string out;
    out += "# HELP casacal_http_requests_total HTTP requests by route and status.\n"
           "# TYPE casacal_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
        out += "casacal_http_requests_total{route=\"" + prometheus_label(key.first) +
               "\",status=\"" + std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
    }
    out += "# HELP casacal_feed_bytes Size of each feed in bytes, uncompressed.\n"
           "# TYPE casacal_feed_bytes gauge\n";
    if (current) {
        current->feeds.each([&](const std::string& path, std::size_t size) {
            out += "casacal_feed_bytes{path=\"" + prometheus_label(path) + "\"} " +
                   std::to_string(size) + "\n";
        });
    }
    out +=
        "# HELP casacal_config_reloads_total Configuration reloads attempted.\n"
        "# TYPE casacal_config_reloads_total counter\n"
        "casacal_config_reloads_total " +
        std::to_string(reloads_) +
        "\n"
        "# HELP casacal_config_reload_failures_total Configuration reloads rejected for errors.\n"
        "# TYPE casacal_config_reload_failures_total counter\n"
        "casacal_config_reload_failures_total " +
        std::to_string(reload_failures_) +
        "\n"
        "# HELP casacal_config_generation Generation of the configuration being served.\n"
        "# TYPE casacal_config_generation gauge\n"
        "casacal_config_generation " +
        std::to_string(current ? current->generation : 0) + "\n";
    if (extra) extra(out);
    return out;
}

} // namespace casacal::daemon
