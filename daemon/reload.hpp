#pragma once
// What makes the daemon reload: SIGHUP, a change in the site's files
// (inotify on the events folder, the members file and the main file,
// debounced), and local midnight (keep_past counts whole days). Io thread
// only; the handler runs on the io thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>

namespace casacal::daemon {

class reload_triggers {
  public:
    /// Called with a short reason ("SIGHUP", "events.d/a.toml changed", "midnight").
    using handler = std::function<void(const std::string& reason)>;

    reload_triggers(boost::asio::io_context& io, handler on_reload,
                    std::chrono::milliseconds debounce = std::chrono::milliseconds(200));
    ~reload_triggers();
    reload_triggers(const reload_triggers&) = delete;
    reload_triggers& operator=(const reload_triggers&) = delete;

    /// Replaces the watched files. The main file and the members file are
    /// watched through their folders, so that editors that save by renaming
    /// are seen; in the events folder, any `*.toml`. A failure to watch is
    /// logged, not fatal (SIGHUP still works). Called after every reload,
    /// good or refused: when the events folder is another than before
    /// (replaced), it fires the handler once more to read it under watch.
    void watch(const std::filesystem::path& main_file, const std::filesystem::path& events_dir,
               const std::filesystem::path& members_file);

    /// Fires the handler once at `when` (replacing an earlier schedule).
    void schedule(std::chrono::system_clock::time_point when);

    /// Stops every trigger so that run() can return.
    void cancel();

  private:
    struct rule {
        bool any_toml = false;
        std::set<std::string> names;
        std::filesystem::path dir;
    };

    void do_wait_signal();
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void changed(std::string what);
    /// Watches `dir` into `into`; its descriptor, or -1 (logged).
    int add_watch(std::map<int, rule>& into, const std::filesystem::path& dir,
                  const std::string* name);

    boost::asio::signal_set hup_;
    boost::asio::posix::stream_descriptor inotify_;
    boost::asio::steady_timer debounce_timer_;
    boost::asio::system_timer schedule_timer_;
    handler on_reload_;
    std::chrono::milliseconds debounce_;
    std::map<int, rule> watches_;
    int events_wd_ = -1; ///< the events folder's last watch, -1 before the first
    std::string pending_reason_;
    bool stopped_ = false;
    alignas(8) std::array<char, 16384> buffer_{};
};

} // namespace casacal::daemon
