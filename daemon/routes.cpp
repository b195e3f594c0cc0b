#include "daemon/routes.hpp"

#include "config/text.hpp"
#include "daemon/agenda_range.hpp"
#include "daemon/html_page.hpp"
#include "daemon/http_date.hpp"
#include "daemon/pages.hpp"
#include "store/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>

namespace casacal::daemon {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

namespace {

constexpr std::string_view k_allow = "GET, HEAD, OPTIONS";

bool all_of_set(std::string_view s, bool upper_and_underscore) {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') return true;
        return upper_and_underscore && ((c >= 'A' && c <= 'Z') || c == '_');
    });
}

/// The segment between `prefix` and `suffix`, or nullopt.
std::optional<std::string_view> segment(std::string_view path, std::string_view prefix,
                                        std::string_view suffix) {
    if (path.size() <= prefix.size() + suffix.size() || path.substr(0, prefix.size()) != prefix ||
        path.substr(path.size() - suffix.size()) != suffix)
        return std::nullopt;
    return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
}

enum class route_kind { none, feed, api_events, healthz, metrics, agenda, event_page };

/// Which route a path has the shape of. Feed segments are checked against
/// the id alphabet here, so "..", "%2e" or "/" never reach a lookup.
route_kind classify(std::string_view path) {
    if (path == "/calendar.ics") return route_kind::feed;
    if (auto s = segment(path, "/calendar/", ".ics"); s && all_of_set(*s, true))
        return route_kind::feed;
    if (auto s = segment(path, "/events/", ".ics"); s && all_of_set(*s, false))
        return route_kind::feed;
    // A name that only looks like an id ("Casapero", "atelier_1") gets the
    // page saying there is no such event, in the site's language.
    if (auto s = segment(path, "/events/", ""); s && std::all_of(s->begin(), s->end(), [](char c) {
                                                    return (c >= 'a' && c <= 'z') ||
                                                           (c >= 'A' && c <= 'Z') ||
                                                           (c >= '0' && c <= '9') || c == '-' ||
                                                           c == '_';
                                                }))
        return route_kind::event_page;
    if (path == "/") return route_kind::agenda;
    if (path == "/api/events") return route_kind::api_events;
    if (path == "/healthz") return route_kind::healthz;
    if (path == "/metrics") return route_kind::metrics;
    return route_kind::none;
}

const char* route_label(route_kind k) {
    switch (k) {
    case route_kind::feed:
        return "feed";
    case route_kind::api_events:
        return "api_events";
    case route_kind::healthz:
        return "healthz";
    case route_kind::metrics:
        return "metrics";
    case route_kind::agenda:
        return "agenda";
    case route_kind::event_page:
        return "event_page";
    case route_kind::none:
        break;
    }
    return "other";
}

/// The metric label of a path: its route's, including the routes other
/// features add (which label their own answers), or "other".
std::string label_of(std::string_view path) {
    if (const route_kind k = classify(path); k != route_kind::none) return route_label(k);
    if (path.starts_with("/unsubscribe/")) return "unsubscribe";
    if (path == "/subscribe") return "subscribe";
    if (path.starts_with("/confirm/")) return "confirm";
    if (path.starts_with("/feeds/")) return "personal_feed";
    return "other";
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

response base(unsigned status, std::int64_t now) {
    response r;
    r.status = status;
    r.set("Server", "casacal/" CASACAL_VERSION);
    r.set("Date", format_http_date(now));
    return r;
}

response text(unsigned status, std::string_view message, std::int64_t now) {
    response r = base(status, now);
    r.set("Content-Type", "text/plain; charset=utf-8");
    r.set("Cache-Control", "no-store");
    r.body = std::string(message) + "\n";
    return r;
}

response json_error(unsigned status, std::string_view message, std::int64_t now) {
    response r = base(status, now);
    r.set("Content-Type", "application/json");
    r.set("Cache-Control", "no-store");
    r.set("Access-Control-Allow-Origin", "*");
    // The message may quote the request (an unknown category), whose bytes
    // need not be UTF-8.
    r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                     nlohmann::json::error_handler_t::replace) +
             "\n";
    return r;
}

std::string strong_etag(std::string_view bytes) {
    return "\"" + calendar::sha256_hex(bytes).substr(0, 32) + "\"";
}

bool is_get_or_head(const request& req) {
    return req.method == "GET" || req.method == "HEAD";
}

response serve_feed(const request& req, std::string_view path, const route_context& ctx) {
    const feed_entity* found = ctx.current->feeds.find(path);
    if (!found) return text(404, "not found", ctx.now);
    return feed_response(req, *found, ctx.current, ctx.now, feed_audience::everyone);
}

response serve_api(const request& req, std::string_view query, const route_context& ctx) {
    query_params q = parse_query(query);
    if (q.malformed) return json_error(400, "malformed query string", ctx.now);
    const snapshot& snap = *ctx.current;
    std::string category = q.category.value_or("");
    if (!category.empty() &&
        !std::binary_search(snap.categories.begin(), snap.categories.end(), category))
        return json_error(404, "unknown category: " + category, ctx.now);

    std::string body;
    {
        agenda_range range = resolve_agenda_range(*snap.calendar, q.from, q.to, ctx.now);
        if (!range.error.empty()) return json_error(400, range.error, ctx.now);
        body = calendar::agenda_json(
            calendar::expand(*snap.calendar, range.from, range.to, category, 1,
                             calendar::keep_past_cutoff(*snap.calendar, ctx.now)));
    }
    std::string etag = strong_etag(body);
    if (auto failed = failed_precondition(req, etag, std::nullopt, ctx.now)) return *failed;
    const bool not_modified = req.if_none_match && if_none_match_matches(*req.if_none_match, etag);
    response r = base(not_modified ? 304 : 200, ctx.now);
    if (!not_modified) r.set("Content-Type", "application/json");
    r.set("ETag", etag);
    r.set("Cache-Control", "public, max-age=" + std::to_string(k_feed_max_age));
    r.set("Access-Control-Allow-Origin", "*");
    r.set("Access-Control-Expose-Headers", "ETag");
    if (!not_modified) r.body = std::move(body);
    return r;
}

/// The first k_healthz_max_problems of `all`, then one line counting the
/// others: thousands of errors would make a monitor's poll a large document.
nlohmann::json capped(const std::vector<std::string>& all) {
    if (all.size() <= k_healthz_max_problems) return all;
    nlohmann::json out(std::vector<std::string>(all.begin(), all.begin() + k_healthz_max_problems));
    out.push_back("... and " + std::to_string(all.size() - k_healthz_max_problems) +
                  " more (casacal check lists every one)");
    return out;
}

response serve_healthz(const route_context& ctx) {
    const health_state empty;
    const health_state& h = ctx.health ? *ctx.health : empty;
    const snapshot* snap = ctx.current.get();
    nlohmann::json doc;
    doc["status"] = h.degraded() ? "degraded" : "ok";
    doc["generation"] = snap ? snap->generation : 0;
    std::int64_t last = h.last_reload ? h.last_reload : (snap ? snap->loaded : 0);
    doc["last_reload"] = last ? nlohmann::json(format_rfc3339_utc(last)) : nlohmann::json(nullptr);
    doc["errors"] = capped(h.errors);
    doc["warnings"] = snap ? capped(snap->warnings) : nlohmann::json::array();
    doc["restart_needed"] = h.restart_needed;
    doc["database"] = h.database;
    doc["smtp"] = h.smtp;
    response r = base(200, ctx.now);
    r.set("Content-Type", "application/json");
    r.set("Cache-Control", "no-store");
    r.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return r;
}

response serve_metrics(const route_context& ctx) {
    response r = base(200, ctx.now);
    r.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.set("Cache-Control", "no-store");
    r.body = ctx.counters ? ctx.counters->render(ctx.current.get()) : std::string{};
    return r;
}

response preflight(std::int64_t now) {
    response r = base(204, now);
    r.set("Allow", std::string(k_allow));
    r.set("Access-Control-Allow-Origin", "*");
    r.set("Access-Control-Allow-Methods", std::string(k_allow));
    r.set("Access-Control-Allow-Headers",
          "If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since");
    r.set("Access-Control-Max-Age", "86400");
    return r;
}

} // namespace

response feed_response(const request& req, const feed_entity& feed,
                       std::shared_ptr<const void> owner, std::int64_t now, feed_audience audience,
                       std::int64_t changed_at) {
    const bool gzip = accepts_gzip(req.accept_encoding) && !feed.gzip_etag.empty();
    const std::string& etag = gzip ? feed.gzip_etag : feed.etag;
    const std::int64_t last_modified = std::max(feed.last_modified, changed_at);

    if (auto failed = failed_precondition(req, etag, last_modified, now)) return *failed;
    bool not_modified = false;
    if (req.if_none_match) {
        not_modified = if_none_match_matches(*req.if_none_match, etag);
    } else if (req.if_modified_since) {
        auto since = parse_http_date(*req.if_modified_since);
        not_modified = since && last_modified <= *since;
    }

    response r = base(not_modified ? 304 : 200, now);
    if (!not_modified) r.set("Content-Type", "text/calendar; charset=utf-8");
    if (gzip && !not_modified) r.set("Content-Encoding", "gzip");
    r.set("ETag", etag);
    // A change within the second of the one before is dated a second later
    // (store::feed_states); until that second comes, the header says now
    // (RFC 9110 §8.8.2.1), and If-Modified-Since still compares the later.
    r.set("Last-Modified", format_http_date(std::min(last_modified, now)));
    r.set("Vary", "Accept-Encoding");
    if (audience == feed_audience::everyone) {
        r.set("Cache-Control", "public, max-age=" + std::to_string(k_feed_max_age));
        r.set("Access-Control-Allow-Origin", "*");
        r.set("Access-Control-Expose-Headers", "ETag, Last-Modified");
    } else {
        // Its URL is the member's secret: no shared cache keeps it, and no
        // other site's script reads it.
        r.set("Cache-Control", "private, max-age=" + std::to_string(k_feed_max_age));
    }
    // The first request that needs the bytes produces them (see feed_entity):
    // this is the io thread.
    if (!not_modified)
        r.shared_body = std::shared_ptr<const feed_bytes>(std::move(owner),
                                                          gzip ? &feed.gzip_body : &feed.body);
    return r;
}

namespace {

/// The path and query of a request target: of the absolute-form (RFC 9112
/// §3.2.2), what follows the authority.
std::string_view origin_form(std::string_view target) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() > scheme.size() && config::ascii_iequal(target.substr(0, scheme.size()), scheme)) {
            auto slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
        }
    }
    return target;
}

/// The request a proxy that passes base_url's path on means: "/agenda/events/x"
/// is "/events/x" when base_url ends in "/agenda". Nothing when `path` is
/// not under that path (or base_url has none).
std::optional<request> under_site_path(const request& req, std::string_view path,
                                       const route_context& ctx) {
    if (!ctx.current || !ctx.current->calendar) return std::nullopt;
    const std::string prefix = site_path(calendar::site_of(*ctx.current->calendar));
    if (prefix.empty() || !path.starts_with(prefix) ||
        (path.size() > prefix.size() && path[prefix.size()] != '/'))
        return std::nullopt;
    request inner = req;
    inner.target = std::string(origin_form(req.target).substr(prefix.size()));
    if (inner.target.empty() || inner.target.front() == '?') inner.target.insert(0, "/");
    return inner;
}

/// `stripped`: base_url's path was taken off already, once only (else
/// "/agenda/agenda/agenda/x" would be one more name of "/agenda/x").
response dispatch(const request& req, const route_context& ctx, bool stripped = false) {
    const std::string_view target = origin_form(req.target);
    if (req.method == "OPTIONS" && target == "*") return preflight(ctx.now);
    // A fragment is the client's own and never sent (RFC 9112 §3.2).
    if (target.empty() || target.front() != '/' || target.find('#') != std::string_view::npos)
        return text(400, "bad request target", ctx.now);

    auto qmark = target.find('?');
    std::string_view path = target.substr(0, qmark);
    std::string_view query =
        qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);

    route_kind kind = classify(path);
    if (kind == route_kind::none) {
        if (!stripped)
            if (auto inner = under_site_path(req, path, ctx)) return dispatch(*inner, ctx, true);
        if (ctx.extra && *ctx.extra) {
            if (auto r = (*ctx.extra)(req)) return std::move(*r);
        }
        return text(404, "not found", ctx.now);
    }
    const bool page = kind == route_kind::agenda || kind == route_kind::event_page;
    if (req.method == "OPTIONS") {
        // CORS on the public feeds and the API only: a preflight elsewhere
        // would promise what the response then withholds.
        if (kind == route_kind::feed || kind == route_kind::api_events) return preflight(ctx.now);
        response r = base(204, ctx.now); // pages, health, metrics: no CORS
        r.set("Allow", std::string(k_allow));
        return r;
    }
    if (!is_get_or_head(req)) {
        response r = text(405, "method not allowed", ctx.now);
        r.set("Allow", std::string(k_allow));
        return r;
    }
    if ((!ctx.current || (page && !ctx.current->calendar)) && kind != route_kind::healthz &&
        kind != route_kind::metrics) {
        response r = text(503, "starting", ctx.now);
        r.set("Retry-After", "5");
        return r;
    }
    switch (kind) {
    case route_kind::feed:
        return serve_feed(req, path, ctx);
    case route_kind::api_events:
        return serve_api(req, query, ctx);
    case route_kind::healthz:
        return serve_healthz(ctx);
    case route_kind::metrics:
        return serve_metrics(ctx);
    case route_kind::agenda:
        return agenda_page(req, parse_query(query), ctx);
    case route_kind::event_page:
        return event_page(req, path.substr(std::string_view("/events/").size()), ctx);
    case route_kind::none:
        break;
    }
    return text(404, "not found", ctx.now);
}

} // namespace

const std::string* response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (config::ascii_iequal(k, name)) return &v;
    return nullptr;
}

namespace {

/// Whether the entity-tag list `list` names `etag` (or is "*"); under the
/// strong comparison, weak tags match nothing.
bool etag_list_matches(std::string_view list, std::string_view etag, bool strong) {
    auto opaque = [](std::string_view tag) {
        if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
        return tag;
    };
    if (strong && etag.starts_with("W/")) return false;
    const std::string_view want = opaque(etag);
    std::size_t i = 0;
    while (i < list.size()) {
        while (i < list.size() && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
            ++i;
        if (i >= list.size()) break;
        if (list[i] == '*') return true;
        std::size_t start = i;
        const bool weak = list.substr(i, 2) == "W/";
        if (weak) i += 2;
        if (i >= list.size() || list[i] != '"') return false; // malformed: treat as no match
        auto close = list.find('"', i + 1);
        if (close == std::string_view::npos) return false;
        if (!(strong && weak) && opaque(list.substr(start, close + 1 - start)) == want) return true;
        i = close + 1;
    }
    return false;
}

} // namespace

bool if_none_match_matches(std::string_view list, std::string_view etag) {
    return etag_list_matches(list, etag, false);
}

bool if_match_matches(std::string_view list, std::string_view etag) {
    return etag_list_matches(list, etag, true);
}

std::optional<response> failed_precondition(const request& req, std::string_view etag,
                                            std::optional<std::int64_t> last_modified,
                                            std::int64_t now) {
    bool holds = true;
    if (req.if_match) {
        holds = if_match_matches(*req.if_match, etag);
    } else if (req.if_unmodified_since && last_modified) {
        // An unreadable date is ignored, as for If-Modified-Since.
        const auto since = parse_http_date(*req.if_unmodified_since);
        holds = !since || *last_modified <= *since;
    }
    if (holds) return std::nullopt;
    response r = error_response(412, "precondition failed", now);
    r.set("ETag", std::string(etag));
    return r;
}

bool accepts_gzip(std::string_view accept_encoding) {
    std::string_view rest = accept_encoding;
    while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        auto semi = item.find(';');
        std::string_view coding = trim(item.substr(0, semi));
        if (!config::ascii_iequal(coding, "gzip") && !config::ascii_iequal(coding, "x-gzip")) continue;
        double q = 1.0;
        std::string_view params =
            semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
        while (!params.empty()) {
            auto s = params.find(';');
            std::string_view p = trim(params.substr(0, s));
            params = s == std::string_view::npos ? std::string_view{} : params.substr(s + 1);
            if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                try {
                    q = std::stod(std::string(p.substr(2)));
                } catch (const std::exception&) {
                    q = 0;
                }
            }
        }
        return q > 0;
    }
    return false;
}

query_params parse_query(std::string_view q) {
    query_params p;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto key = form_decode(pair.substr(0, eq));
        auto value =
            form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!key || !value) {
            p.malformed = true;
            return p;
        }
        std::optional<std::string>* slot = nullptr;
        if (*key == "from")
            slot = &p.from;
        else if (*key == "to")
            slot = &p.to;
        else if (*key == "category")
            slot = &p.category;
        if (slot && !*slot) *slot = std::move(*value);
    }
    return p;
}

std::optional<std::string> form_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

response html_response(unsigned status, std::string html, std::int64_t now,
                       std::string_view cache_control) {
    response r = base(status, now);
    r.set("Content-Type", "text/html; charset=utf-8");
    r.set("Cache-Control", std::string(cache_control));
    r.set("Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
          "frame-ancestors 'none'");
    r.set("X-Content-Type-Options", "nosniff");
    r.body = std::move(html);
    return r;
}

response cached_html_response(const request& req, unsigned status, std::string html,
                              std::int64_t now) {
    const std::string cache = "public, max-age=" + std::to_string(k_page_max_age);
    // RFC 9110 §13.2.1: a request that fails (404, 400) ignores its
    // preconditions; such a page gets no ETag to send back.
    if (status < 200 || status > 299) return html_response(status, std::move(html), now, cache);
    std::string etag = strong_etag(html);
    if (auto failed = failed_precondition(req, etag, std::nullopt, now)) return *failed;
    if (req.if_none_match && if_none_match_matches(*req.if_none_match, etag)) {
        response r = base(304, now);
        r.set("ETag", std::move(etag));
        r.set("Cache-Control", cache);
        return r;
    }
    response r = html_response(status, std::move(html), now, cache);
    r.set("ETag", std::move(etag));
    return r;
}

response error_response(unsigned status, std::string_view message, std::int64_t now) {
    response r = text(status, message, now);
    r.route = "other";
    return r;
}

std::optional<response> method_answer(const request& req, std::string_view allowed,
                                      std::int64_t now) {
    const std::string allow = std::string(allowed) + ", OPTIONS";
    if (req.method == "OPTIONS") {
        response r = base(204, now);
        r.set("Allow", allow);
        return r;
    }
    for (std::string_view rest = allowed; !rest.empty();) {
        const auto comma = rest.find(',');
        if (trim(rest.substr(0, comma)) == req.method) return std::nullopt;
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    response r = error_response(405, "method not allowed", now);
    r.set("Allow", allow);
    return r;
}

namespace {

/// A 503 while another process holds the database's write lock: a page in
/// the site's language for a person (the form, a link from a mail), text
/// for a program.
response busy_answer(const request& req, const route_context& ctx) {
    const std::string_view target = origin_form(req.target);
    const std::string_view path = target.substr(0, target.find('?'));
    const route_kind kind = classify(path);
    const bool for_a_person = path == "/subscribe" || path.starts_with("/confirm/") ||
                              path.starts_with("/unsubscribe/") || kind == route_kind::agenda ||
                              kind == route_kind::event_page;
    if (!for_a_person || !ctx.current || !ctx.current->calendar)
        return text(503, "the database is busy: try again in a few seconds", ctx.now);
    const config::site& site = calendar::site_of(*ctx.current->calendar);
    const bool en = english(site);
    return html_response(
        503,
        html_page(site, en ? "Try again in a moment" : "Réessayez dans un instant",
                  std::string("<p>") +
                      (en ? "The agenda is busy for a few seconds: try again in a moment."
                          : "L&#39;agenda est occupé pour quelques secondes : réessayez dans un "
                            "instant.") +
                      "</p>\n"),
        ctx.now);
}

} // namespace

response handle(const request& req, const route_context& ctx) {
    response r;
    try {
        r = dispatch(req, ctx);
    } catch (const store::error& e) {
        // Another process holds the database's write lock: the request may
        // be made again, as RFC 9110 §15.6.4 has it.
        r = e.busy() ? busy_answer(req, ctx) : text(500, "internal error", ctx.now);
        if (e.busy()) r.set("Retry-After", "5");
        r.problem = e.what();
    } catch (const std::exception& e) {
        r = text(500, "internal error", ctx.now);
        r.problem = e.what();
    }
    // An error answered on the way (a 412, a 400 on a query, a 503 of a
    // route added by another feature) counts under the route it was asked of.
    if (r.route.empty() || r.route == "other") {
        const std::string_view target = origin_form(req.target);
        r.route = label_of(target.substr(0, target.find('?')));
    }
    r.head = req.method == "HEAD";
    return r;
}

} // namespace casacal::daemon
