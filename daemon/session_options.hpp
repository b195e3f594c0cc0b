#pragma once
// What a session needs from the server: limits and the request handler.
// Kept apart from session.hpp so that server.hpp stays free of Beast.

#include "daemon/routes.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace casacal::daemon {

struct session_limits {
    /// A whole request header must arrive within this time of the
    /// connection's start, or of the first byte of a later request.
    std::chrono::milliseconds header_timeout{std::chrono::seconds(20)};
    /// How long a keep-alive connection may wait for its next request.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
    /// How long writing one response may take.
    std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
    std::uint32_t header_limit = 8 * 1024;
    /// The largest body a POST may carry (the subscribe and unsubscribe
    /// forms); any other request with a body is refused with 413.
    std::uint64_t post_body_limit = 4 * 1024;
};

/// Callbacks of the server into the application. Io thread only.
struct session_hooks {
    /// Answers a parsed request.
    std::function<response(const request&)> handle;
    /// A request refused before routing (400, 413, 431), for metrics and logs.
    std::function<void(unsigned status, const std::string& reason)> rejected;
    /// Unix seconds, for the Date header of refusals.
    std::function<std::int64_t()> now;
};

} // namespace casacal::daemon
