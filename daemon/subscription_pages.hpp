#pragma once
// The routes of people managing their own reminders: one-click unsubscribe
// (RFC 8058) and its confirmation page, web subscription with double
// opt-in. Tokens travel in URLs; only their SHA-256 is stored. io thread only.

#include "config/site.hpp"
#include "daemon/routes.hpp"
#include "notify/send_rate.hpp"
#include "notify/transport.hpp"
#include "store/outbox.hpp"
#include "store/subscribers.hpp"

#include <functional>
#include <optional>

namespace casacal::daemon {

struct subscription_context {
    store::subscribers& subscribers;
    store::outbox& outbox;
    notify::transport& transport; ///< for confirmation emails
    const config::site& site;
    std::int64_t now = 0;
    std::function<void()> replan; ///< after a change of recipients
    std::string feed_key;         ///< for the personal feed link; none when empty
    /// max_per_minute, shared with the reminders, and the confirmations'
    /// own part of it; a confirmation needs room in both (none: no limit).
    notify::send_rate* rate = nullptr;
    notify::send_rate* confirmation_rate = nullptr;
    /// Told how each confirmation email went, for /healthz.
    std::function<void(const notify::send_result&)> mailed;
};

/// GET/POST /unsubscribe/{token}, POST /subscribe, GET /confirm/{token};
/// nullopt for any other path.
std::optional<response> subscription_route(const request& req, subscription_context& ctx);

} // namespace casacal::daemon
