#include "daemon/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <ctime>

namespace casacal::daemon {

systemd_notifier::systemd_notifier(boost::asio::io_context& io) : watchdog_(io) {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
}

void systemd_notifier::send(const std::string& message) {
    sd_notify(0, message.c_str());
}

void systemd_notifier::ready(const std::string& status) {
    send("READY=1\nSTATUS=" + status);
    if (watchdog_usec_ > 0 && !pinging_) {
        pinging_ = true;
        ping();
    }
}

void systemd_notifier::reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
                      static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void systemd_notifier::status(const std::string& status) {
    send("STATUS=" + status);
}

void systemd_notifier::stopping() {
    send("STOPPING=1\nSTATUS=stopping");
}

void systemd_notifier::cancel() {
    pinging_ = false;
    watchdog_.cancel();
}

void systemd_notifier::ping() {
    if (!pinging_) return;
    send("WATCHDOG=1");
    // Pinging at half the interval: the io thread is the one that must be
    // alive, so a stuck loop stops the pings.
    watchdog_.expires_after(std::chrono::microseconds(watchdog_usec_ / 2));
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) ping();
    });
}

} // namespace casacal::daemon
