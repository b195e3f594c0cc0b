#pragma once
// sd_notify(3) messages for Type=notify: READY, RELOADING, STATUS,
// STOPPING, and watchdog pings when WATCHDOG_USEC asks for them. Does
// nothing when NOTIFY_SOCKET and WATCHDOG_USEC are unset, and loads
// libsystemd only when one is set. Io thread only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <string>

namespace casacal::daemon {

class systemd_notifier {
  public:
    explicit systemd_notifier(boost::asio::io_context& io);
    systemd_notifier(const systemd_notifier&) = delete;
    systemd_notifier& operator=(const systemd_notifier&) = delete;

    /// READY=1 with a status line; starts the watchdog pings the first time.
    void ready(const std::string& status);
    /// RELOADING=1 with MONOTONIC_USEC, as systemd 253 expects.
    void reloading();
    void status(const std::string& status);
    void stopping();
    /// Stops the watchdog timer so that run() can return.
    void cancel();

  private:
    void send(const std::string& message);
    void ping();

    int (*notify_)(int, const char*) = nullptr; ///< libsystemd's sd_notify, once loaded
    boost::asio::steady_timer watchdog_;
    std::uint64_t watchdog_usec_ = 0;
    bool pinging_ = false;
};

} // namespace casacal::daemon
