#include "daemon/systemd_notifier.hpp"

#include "daemon/logging.hpp"

#include <systemd/sd-daemon.h>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>

namespace casacal::daemon {

// libsystemd, and the six libraries it brings (libgcrypt, libgpg-error,
// liblzma, libzstd, liblz4, libcap), cost every command a millisecond at
// start and serve 0.9 MiB; only a serve that systemd supervises talks to it,
// so it is opened then, and never closed.
systemd_notifier::systemd_notifier(boost::asio::io_context& io) : watchdog_(io) {
    if (!std::getenv("NOTIFY_SOCKET") && !std::getenv("WATCHDOG_USEC")) return;
    const auto refuse = [](const std::string& why) {
        log_error("cannot notify systemd: libsystemd could not be loaded: " + why);
    };
    void* handle = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = ::dlerror();
        refuse(why ? why : "libsystemd.so.0");
        return;
    }
    auto notify = reinterpret_cast<decltype(&::sd_notify)>(::dlsym(handle, "sd_notify"));
    auto watchdog_enabled =
        reinterpret_cast<decltype(&::sd_watchdog_enabled)>(::dlsym(handle, "sd_watchdog_enabled"));
    if (!notify || !watchdog_enabled) {
        refuse("libsystemd.so.0 has no sd_notify or sd_watchdog_enabled");
        return;
    }
    notify_ = notify;
    std::uint64_t usec = 0;
    if (watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
}

void systemd_notifier::send(const std::string& message) {
    if (notify_) notify_(0, message.c_str());
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
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
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
    // Every 10 ms at most: a WATCHDOG_USEC of a few microseconds would
    // make it a busy loop.
    watchdog_.expires_after(
        std::chrono::microseconds(std::max<std::uint64_t>(watchdog_usec_ / 2, 10000)));
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) ping();
    });
}

} // namespace casacal::daemon
