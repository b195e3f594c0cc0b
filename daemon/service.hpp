#pragma once
// `casacal serve`: the daemon's parts put together on one io_context —
// the server, the rebuild worker, the reload triggers, sd_notify — and the
// snapshot they share. run() returns when SIGTERM or SIGINT stopped it.

#include "daemon/health.hpp"
#include "daemon/metrics.hpp"
#include "daemon/routes.hpp"
#include "daemon/snapshot.hpp"

#include <filesystem>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}
namespace casacal::store {
class database;
}

namespace casacal::daemon {

/// Where other features (reminders, pages) plug into the daemon. Every
/// callback runs on the io thread.
struct service_extensions {
    /// Once, after the first snapshot is built and before serving: the io
    /// context and the io thread's database connection live until run()
    /// returns.
    std::function<void(boost::asio::io_context&, store::database&, std::shared_ptr<const snapshot>)>
        started;
    /// After each successful reload, with the new snapshot.
    std::function<void(std::shared_ptr<const snapshot>)> reloaded;
    /// On SIGTERM/SIGINT: finish in-flight work within a bound, then let
    /// run() return by leaving no pending operation.
    std::function<void()> stopping;
    /// Routes the daemon's own routes do not know.
    route_hook routes;
    /// Before each request: brings the feature's lines of the health record
    /// (SMTP state) up to date.
    std::function<void(health_state&)> health;
};

class service {
  public:
    explicit service(std::filesystem::path main_file);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// Builds the site, listens, serves until stopped; returns the exit code.
    /// Throws startup_error for a site with errors (1), a database or a
    /// listen failure (3).
    int run();

    /// Set before run().
    void extend(service_extensions extensions);
    /// The counters, for the reminders' metrics hook; io thread.
    daemon::metrics& counters();
    /// The health record, for the reminders' SMTP state; io thread.
    health_state& health();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace casacal::daemon
