#pragma once
// Prometheus counters of the daemon. Io thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

namespace casacal::daemon {

struct snapshot;

/// Counters kept by the io thread and rendered as Prometheus text.
class metrics {
  public:
    void count_request(const std::string& route, unsigned status) { ++requests_[{route, status}]; }
    void count_reload(bool ok) {
        ++reloads_;
        if (!ok) ++reload_failures_;
    }

    /// Appends further families (reminders by state, SMTP latency, queue
    /// depth) to the exposition; set by the reminders feature.
    std::function<void(std::string& out)> extra;

    /// The text exposition (format 0.0.4).
    std::string render(const snapshot* current) const;

  private:
    std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
    std::uint64_t reloads_ = 0;
    std::uint64_t reload_failures_ = 0;
};

/// Escapes a label value (backslash, quote, newline).
std::string prometheus_label(std::string_view value);

} // namespace casacal::daemon
