#pragma once
// Rebuilds the site off the io thread. One rebuild runs at a time on a
// worker thread that owns its own database connection; a request made
// during a rebuild queues exactly one more. The outcome is handed to the io
// thread, which swaps the snapshot in.

#include "daemon/site_build.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

namespace casacal::daemon {

/// The rebuild worker. Construct, request() and destroy on the io thread;
/// `on_done` runs on the io thread. Destroy it before the io_context and
/// only after the io_context stopped running: the destructor joins the worker.
class rebuilder {
  public:
    using done_handler = std::function<void(build_outcome)>;
    /// Returns "now" for the build (Unix seconds); a seam for tests.
    using clock = std::function<std::int64_t()>;

    /// `database`: the one serve opened at start, used whatever the files
    /// now say.
    rebuilder(boost::asio::io_context& io, std::filesystem::path main_file, std::string database,
              done_handler on_done, clock now);
    ~rebuilder();
    rebuilder(const rebuilder&) = delete;
    rebuilder& operator=(const rebuilder&) = delete;

    /// Asks for a rebuild as generation `last_generation + 1` of the last
    /// successful one, given through set_generation().
    void request();
    void set_generation(std::uint64_t g) { generation_ = g; }
    /// The last good snapshot: the next build parses, builds and renders
    /// only what changed since (set again after each successful build).
    void set_previous(std::shared_ptr<const snapshot> s) { previous_ = std::move(s); }
    bool busy() const { return running_; }
    /// Drops `old` on the worker thread (when this was its last owner).
    void dispose(std::shared_ptr<const snapshot> old);
    /// Drops a queued request and refuses new ones (the daemon is stopping);
    /// a running build still completes and is handed over.
    void stop() {
        stopped_ = true;
        pending_ = false;
    }

  private:
    void start();
    void finish(build_outcome outcome);

    boost::asio::io_context& io_;
    boost::asio::thread_pool worker_{1};
    std::filesystem::path main_file_;
    std::string database_;
    done_handler on_done_;
    clock now_;
    std::uint64_t generation_ = 0;
    std::shared_ptr<const snapshot> previous_;
    bool running_ = false;
    bool pending_ = false;
    bool stopped_ = false;
    std::optional<store::database> worker_db_; ///< worker thread only
};

} // namespace casacal::daemon
