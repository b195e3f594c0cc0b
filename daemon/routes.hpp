#pragma once
// The request handler: a pure function of (request, snapshot, health, now)
// to a response, so it can be tested without sockets. It serves only the
// routes listed here, from memory; it never opens a file.
//
// Routes: GET/HEAD/OPTIONS /calendar.ics, /calendar/{category}.ics,
// /events/{id}.ics, /api/events, /healthz, /metrics, and the HTML pages /
// and /events/{id} (see pages.hpp). /healthz answers 200 also when degraded
// (the daemon still serves its last good snapshot); the `status` field
// tells ok from degraded. Feeds and the API may be cached for
// k_feed_max_age seconds, pages for k_page_max_age; clients revalidate
// with ETag (and Last-Modified for feeds).

#include "daemon/health.hpp"
#include "daemon/metrics.hpp"
#include "daemon/snapshot.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casacal::daemon {

/// The parts of an HTTP request the routes look at.
struct request {
    std::string method; ///< as sent, e.g. "GET"
    std::string target; ///< origin-form, e.g. "/api/events?from=2026-12-01"
    std::optional<std::string> if_none_match;
    std::optional<std::string> if_modified_since;
    std::optional<std::string> if_match;
    std::optional<std::string> if_unmodified_since;
    std::string accept_encoding;
    std::string content_type; ///< POST only
    std::string body;         ///< POST only, at most session_limits::post_body_limit
};

/// A response before serialization. The body is either owned (`body`) or
/// shared with the snapshot (`shared_body`, which keeps it alive).
struct response {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::shared_ptr<const feed_bytes> shared_body;
    bool head = false; ///< HEAD: send the headers of `payload()` without it
    std::string route; ///< metric label: "feed", "api_events", "healthz"...
    std::string problem; ///< why a 5xx was answered, for the log (never sent)

    std::string_view payload() const { return shared_body ? shared_body->get() : body; }
    /// A file holding payload() to send with sendfile(2), or -1.
    int payload_file() const { return shared_body ? shared_body->file() : -1; }
    /// The value of header `name` (case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const;
    void set(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
    }
};

/// Routes added by other features (pages, personal feeds, subscriptions).
/// Returns nullopt for a request it does not handle.
using route_hook = std::function<std::optional<response>(const request&)>;

/// What a handler may read besides the request. Io thread only.
struct route_context {
    std::shared_ptr<const snapshot> current; ///< null before the first build
    const health_state* health = nullptr;
    const metrics* counters = nullptr;
    std::int64_t now = 0; ///< Unix seconds
    const route_hook* extra = nullptr;
};

/// `Cache-Control` max-age of feeds and the API, in seconds.
inline constexpr int k_feed_max_age = 300;
/// `Cache-Control` max-age of the agenda and event pages, in seconds.
inline constexpr int k_page_max_age = 60;
/// The most errors, and warnings, /healthz lists; a last line counts the others.
inline constexpr std::size_t k_healthz_max_problems = 100;

/// The parameters of a query string the routes read (the first of each
/// wins; others are ignored).
struct query_params {
    std::optional<std::string> from, to, category;
    bool malformed = false; ///< a %-escape was malformed
};
query_params parse_query(std::string_view query);

/// Handles one request. Never throws for any request; Server and Date are set.
response handle(const request& req, const route_context& ctx);

/// Who may read a feed: anyone (the site, category and event feeds), or
/// only whoever holds its secret URL (a member's personal feed).
enum class feed_audience { everyone, token_holder };

/// The response to a GET or HEAD of `feed`: ETag and Last-Modified, 304 on
/// a match, gzip when asked for and offered. The body aliases `owner`,
/// which must keep `feed` alive. `changed_at`: a change of the bytes that
/// `feed.last_modified` does not know of (a personal feed's categories);
/// Last-Modified is the later of the two.
response feed_response(const request& req, const feed_entity& feed,
                       std::shared_ptr<const void> owner, std::int64_t now, feed_audience audience,
                       std::int64_t changed_at = 0);

/// An HTML page: a strict Content-Security-Policy (no third-party requests,
/// forms post back here only), nosniff, `cache_control`; Server and Date set.
response html_response(unsigned status, std::string html, std::int64_t now,
                       std::string_view cache_control = "no-store");

/// A public HTML page: html_response cached for k_page_max_age seconds with
/// a strong ETag over `html`; 304 without a body when `req`'s If-None-Match
/// matches it, 412 when its If-Match does not. A `status` other than 2xx
/// (a 404 page) has no ETag and answers whatever the preconditions.
response cached_html_response(const request& req, unsigned status, std::string html,
                              std::int64_t now);

/// Decodes one application/x-www-form-urlencoded (or query) component:
/// '+' is a space, %XX a byte. nullopt when a %-escape is malformed.
std::optional<std::string> form_decode(std::string_view s);

/// The response for a request that could not be parsed (400, 413, 431...).
response error_response(unsigned status, std::string_view message, std::int64_t now);

/// `s` without the spaces and tabs around it (HTTP's optional whitespace).
std::string_view trim(std::string_view s);

/// For a route that takes the methods `allowed` ("GET, HEAD, POST"): the
/// answer to OPTIONS (204, Allow with OPTIONS, no CORS) or to a method it
/// does not take (405 with Allow); nothing when `req` may go on.
std::optional<response> method_answer(const request& req, std::string_view allowed,
                                      std::int64_t now);

/// True when the If-None-Match field value `list` matches `etag` under the
/// weak comparison of RFC 9110 §13.1.2 (or is "*").
bool if_none_match_matches(std::string_view list, std::string_view etag);

/// True when the If-Match field value `list` matches `etag` under the
/// strong comparison of RFC 9110 §13.1.2 (or is "*").
bool if_match_matches(std::string_view list, std::string_view etag);

/// A 412 when `req`'s If-Match, or failing one its If-Unmodified-Since, does
/// not hold for the representation tagged `etag`, changed at
/// `last_modified` when it has a date (RFC 9110 §13.2.2, steps 1 and 2).
std::optional<response> failed_precondition(const request& req, std::string_view etag,
                                            std::optional<std::int64_t> last_modified,
                                            std::int64_t now);

/// True when Accept-Encoding lists gzip (or x-gzip) with a non-zero q.
bool accepts_gzip(std::string_view accept_encoding);

} // namespace casacal::daemon
