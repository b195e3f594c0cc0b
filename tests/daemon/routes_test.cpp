#include "daemon/routes.hpp"

#include "daemon/http_date.hpp"
#include "daemon/site_build.hpp"
#include "test_site.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zlib.h>

using namespace casacal::daemon;

namespace {

// 2026-11-29T12:00:00Z
constexpr std::int64_t k_now = 1795953600;

std::string inflate_gzip(std::string_view in) {
    z_stream zs{};
    REQUIRE(inflateInit2(&zs, 31) == Z_OK);
    std::string out(1 << 20, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    REQUIRE(rc == Z_STREAM_END);
    return out;
}

std::shared_ptr<const snapshot> fake_snapshot() {
    auto s = std::make_shared<snapshot>();
    s->generation = 7;
    s->loaded = k_now - 60;
    s->categories = {"apero"};
    static constexpr std::string_view text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n";
    feed_entity f;
    f.body = feed_bytes(std::string(text));
    f.etag = etag_of(text);
    f.gzip_etag = etag_of(text, "-gz");
    s->feeds.add("/calendar.ics", std::move(f));
    // The category and single-event feeds as serving builds keep them:
    // rendered on first request.
    const std::string sha = casacal::calendar::sha256_hex(text);
    s->feeds.add_later({{"/events/casapero.ics", text.size(), sha},
                        {"/calendar/apero.ics", text.size(), sha}},
                       true);
    s->feeds.set_renderer([](const std::string&) { return std::string(text); });
    for (const char* path : {"/calendar.ics", "/calendar/apero.ics", "/events/casapero.ics"})
        s->feeds.set_last_modified(path, k_now - 3600);
    return s;
}

struct fixture {
    std::shared_ptr<const snapshot> snap = fake_snapshot();
    health_state health;
    metrics counters;

    response get(const std::string& target, const std::string& method = "GET") const {
        request req;
        req.method = method;
        req.target = target;
        return run(req);
    }
    response run(const request& req, const route_hook* hook = nullptr) const {
        route_context ctx;
        ctx.current = snap;
        ctx.health = &health;
        ctx.counters = &counters;
        ctx.now = k_now;
        ctx.extra = hook;
        return handle(req, ctx);
    }
    /// `method` `target` with `hook` answering what the routes do not know.
    response hooked(const route_hook& hook, const std::string& method,
                    const std::string& target) const {
        request req;
        req.method = method;
        req.target = target;
        return run(req, &hook);
    }
    const feed_entity& feed() const { return snap->feeds.at("/calendar.ics"); }
};

std::string header_or_empty(const response& r, std::string_view name) {
    const std::string* v = r.header(name);
    return v ? *v : std::string();
}

} // namespace

TEST_CASE("a feed is served from the snapshot with cache headers", "[daemon]") {
    fixture f;
    response r = f.get("/calendar.ics");
    CHECK(r.status == 200);
    CHECK(r.payload() == f.feed().body.get());
    CHECK(header_or_empty(r, "Content-Type") == "text/calendar; charset=utf-8");
    CHECK(header_or_empty(r, "ETag") == f.feed().etag);
    CHECK(header_or_empty(r, "ETag").front() == '"');
    CHECK(header_or_empty(r, "Last-Modified") == format_http_date(k_now - 3600));
    CHECK(header_or_empty(r, "Cache-Control") == "public, max-age=300");
    CHECK(header_or_empty(r, "Access-Control-Allow-Origin") == "*");
    CHECK(header_or_empty(r, "Vary") == "Accept-Encoding");
    CHECK(header_or_empty(r, "Server") == "casacal/" CASACAL_VERSION);
    CHECK(header_or_empty(r, "Date") == format_http_date(k_now));
    CHECK(r.header("Content-Encoding") == nullptr);
    CHECK(r.route == "feed");
    CHECK_FALSE(r.head);

    CHECK(f.get("/calendar/apero.ics").status == 200);
    CHECK(f.get("/events/casapero.ics").status == 200);
    CHECK(f.get("/calendar.ics?cachebuster=1").status == 200);
}

TEST_CASE("a feed rendered on first request is served, gzipped on demand, and kept", "[daemon]") {
    fixture f;
    const feed_entity& lazy = f.snap->feeds.at("/events/casapero.ics");
    REQUIRE_FALSE(lazy.body.ready());
    response r = f.get("/events/casapero.ics");
    CHECK(r.status == 200);
    CHECK(r.payload() == f.feed().body.get());
    CHECK(header_or_empty(r, "ETag") == lazy.etag);
    CHECK(lazy.body.ready());
    CHECK_FALSE(lazy.gzip_body.ready());
    request req;
    req.method = "GET";
    req.target = "/events/casapero.ics";
    req.accept_encoding = "gzip";
    response z = f.run(req);
    CHECK(header_or_empty(z, "Content-Encoding") == "gzip");
    CHECK(header_or_empty(z, "ETag") == lazy.gzip_etag);
    CHECK(inflate_gzip(z.payload()) == f.feed().body.get());
    CHECK(lazy.gzip_body.ready());
}

TEST_CASE("HEAD gives the GET headers and marks the body as omitted", "[daemon]") {
    fixture f;
    response r = f.get("/calendar.ics", "HEAD");
    CHECK(r.status == 200);
    CHECK(r.head);
    CHECK(r.payload().size() == f.feed().body.size());
    CHECK(header_or_empty(r, "ETag") == f.feed().etag);
}

TEST_CASE("If-None-Match answers 304", "[daemon]") {
    fixture f;
    request req;
    req.method = "GET";
    req.target = "/calendar.ics";

    SECTION("exact tag") {
        req.if_none_match = f.feed().etag;
        CHECK(f.run(req).status == 304);
    }
    SECTION("weak comparison and lists") {
        req.if_none_match = "\"other\", W/" + f.feed().etag;
        response r = f.run(req);
        CHECK(r.status == 304);
        CHECK(r.payload().empty());
        CHECK(header_or_empty(r, "ETag") == f.feed().etag);
    }
    SECTION("star") {
        req.if_none_match = "*";
        CHECK(f.run(req).status == 304);
    }
    SECTION("another tag") {
        req.if_none_match = "\"0123\"";
        CHECK(f.run(req).status == 200);
    }
    SECTION("If-Modified-Since is ignored when If-None-Match is present") {
        req.if_none_match = "\"0123\"";
        req.if_modified_since = format_http_date(k_now);
        CHECK(f.run(req).status == 200);
    }
    SECTION("the gzip tag does not match the identity representation") {
        req.if_none_match = f.feed().gzip_etag;
        CHECK(f.run(req).status == 200);
    }
}

TEST_CASE("If-Modified-Since answers 304 from Last-Modified on", "[daemon]") {
    fixture f;
    request req;
    req.method = "GET";
    req.target = "/calendar.ics";
    req.if_modified_since = format_http_date(k_now - 3600);
    CHECK(f.run(req).status == 304);
    req.if_modified_since = format_http_date(k_now - 3601);
    CHECK(f.run(req).status == 200);
    req.if_modified_since = "not a date";
    CHECK(f.run(req).status == 200);
}

TEST_CASE("If-Match and If-Unmodified-Since answer 412 when they do not hold", "[daemon]") {
    fixture f;
    request req;
    req.method = "GET";
    req.target = "/calendar.ics";
    SECTION("If-Match compares strongly") {
        req.if_match = "\"other\", " + f.feed().etag;
        CHECK(f.run(req).status == 200);
        req.if_match = "*";
        CHECK(f.run(req).status == 200);
        req.if_match = "W/" + f.feed().etag;
        response r = f.run(req);
        CHECK(r.status == 412);
        CHECK(header_or_empty(r, "ETag") == f.feed().etag);
        CHECK(r.route == "feed"); // counted under its route in /metrics
        req.if_match = "\"other\"";
        CHECK(f.run(req).status == 412);
    }
    SECTION("If-Unmodified-Since, unless If-Match is there") {
        req.if_unmodified_since = format_http_date(k_now - 3600);
        CHECK(f.run(req).status == 200);
        req.if_unmodified_since = format_http_date(k_now - 3601);
        CHECK(f.run(req).status == 412);
        req.if_match = f.feed().etag;
        CHECK(f.run(req).status == 200);
        req.if_match.reset();
        req.if_unmodified_since = "not a date";
        CHECK(f.run(req).status == 200);
    }
    SECTION("before If-None-Match") {
        req.if_match = "\"other\"";
        req.if_none_match = f.feed().etag;
        CHECK(f.run(req).status == 412);
    }
}

TEST_CASE("gzip only when Accept-Encoding asks for it", "[daemon]") {
    fixture f;
    request req;
    req.method = "GET";
    req.target = "/calendar.ics";

    SECTION("asked") {
        req.accept_encoding = "br, gzip;q=0.8";
        response r = f.run(req);
        CHECK(header_or_empty(r, "Content-Encoding") == "gzip");
        CHECK(header_or_empty(r, "ETag") == f.feed().gzip_etag);
        CHECK(header_or_empty(r, "ETag") != f.feed().etag);
        CHECK(inflate_gzip(r.payload()) == f.feed().body.get());
        req.if_none_match = f.feed().gzip_etag;
        CHECK(f.run(req).status == 304);
    }
    SECTION("refused with q=0") {
        req.accept_encoding = "gzip;q=0, identity";
        CHECK(f.run(req).header("Content-Encoding") == nullptr);
    }
    SECTION("not mentioned") {
        req.accept_encoding = "";
        CHECK(f.run(req).payload() == f.feed().body.get());
        req.accept_encoding = "deflate, br";
        CHECK(f.run(req).payload() == f.feed().body.get());
    }
}

TEST_CASE("accepts_gzip reads codings and q-values", "[daemon]") {
    CHECK(accepts_gzip("gzip"));
    CHECK(accepts_gzip("GZIP"));
    CHECK(accepts_gzip("x-gzip"));
    CHECK(accepts_gzip("deflate, gzip ; q=0.5"));
    CHECK_FALSE(accepts_gzip("gzip;q=0"));
    CHECK_FALSE(accepts_gzip("gzip;q=0.000"));
    CHECK_FALSE(accepts_gzip("*"));
    CHECK_FALSE(accepts_gzip("gzipped"));
}

TEST_CASE("other methods on known routes get 405 with Allow", "[daemon]") {
    fixture f;
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "TRACE"}) {
        response r = f.get("/calendar.ics", method);
        CHECK(r.status == 405);
        CHECK(header_or_empty(r, "Allow") == "GET, HEAD, OPTIONS");
    }
    CHECK(f.get("/api/events", "POST").status == 405);
}

TEST_CASE("unknown paths and traversal attempts get 404 without touching files", "[daemon]") {
    fixture f;
    for (const char* target : {"/nope", "/calendar.ics/", "/events/../../etc/passwd.ics",
                               "/events/%2e%2e/%2e%2e/etc/passwd.ics", "/events/%2e%2e.ics",
                               "/calendar/..%2f..%2fetc%2fpasswd.ics", "/events/Casapero.ics",
                               "/events/unknown.ics", "/calendar/unknown.ics", "//calendar.ics",
                               "/events/.ics", "/events/casapero.ics%00", "/etc/passwd"}) {
        INFO(target);
        response r = f.get(target);
        CHECK(r.status == 404);
        CHECK(r.payload() == "not found\n");
    }
    CHECK(f.get("*").status == 400);
    CHECK(f.get("/calendar.ics#x").status == 400); // a fragment is never sent
}

TEST_CASE("an absolute-form target is served by its path", "[daemon]") {
    fixture f;
    const response r = f.get("http://agenda.casaco.example/calendar.ics");
    CHECK(r.status == 200);
    CHECK(r.route == f.get("/calendar.ics").route); // counted under its route
}

TEST_CASE("OPTIONS is a CORS preflight", "[daemon]") {
    fixture f;
    response r = f.get("/calendar.ics", "OPTIONS");
    CHECK(r.status == 204);
    CHECK(header_or_empty(r, "Access-Control-Allow-Origin") == "*");
    CHECK(header_or_empty(r, "Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS");
    // every conditional header the feeds answer to
    CHECK(header_or_empty(r, "Access-Control-Allow-Headers") ==
          "If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since");
    CHECK(r.payload().empty());
    CHECK(header_or_empty(f.get("/api/events", "OPTIONS"), "Access-Control-Allow-Origin") == "*");
    CHECK(f.get("/nope", "OPTIONS").status == 404);
    // Routes whose answers carry no CORS header promise none.
    for (const char* path : {"/healthz", "/metrics", "/"}) {
        response other = f.get(path, "OPTIONS");
        CHECK(other.status == 204);
        CHECK(header_or_empty(other, "Access-Control-Allow-Origin").empty());
        CHECK(header_or_empty(other, "Allow") == "GET, HEAD, OPTIONS");
    }
}

TEST_CASE("/healthz reports status, generation and reload errors", "[daemon]") {
    fixture f;
    auto doc = nlohmann::json::parse(f.get("/healthz").payload());
    CHECK(doc["status"] == "ok");
    CHECK(doc["generation"] == 7);
    CHECK(doc["last_reload"] == format_rfc3339_utc(k_now - 60));
    CHECK(doc["errors"].empty());
    CHECK(doc["database"] == "ok");

    f.health.last_reload_ok = false;
    f.health.errors = {"/site/events.d/a.toml:3:1: error: unknown key \"titel\""};
    f.health.last_reload = k_now;
    response r = f.get("/healthz");
    CHECK(r.status == 200);
    doc = nlohmann::json::parse(r.payload());
    CHECK(doc["status"] == "degraded");
    CHECK(doc["errors"][0] == "/site/events.d/a.toml:3:1: error: unknown key \"titel\"");
    CHECK(doc["last_reload"] == "2026-11-29T12:00:00Z");

    // Thousands of errors: the first hundred, and a count of the others.
    f.health.errors.clear();
    for (int i = 1; i <= 2000; ++i)
        f.health.errors.push_back("/site/events.d/a.toml:" + std::to_string(i) + ":1: error: x");
    doc = nlohmann::json::parse(f.get("/healthz").payload());
    REQUIRE(doc["errors"].size() == k_healthz_max_problems + 1);
    CHECK(doc["errors"][99] == "/site/events.d/a.toml:100:1: error: x");
    CHECK(doc["errors"][100] == "... and 1900 more (casacal check lists every one)");
}

TEST_CASE("/metrics is Prometheus text", "[daemon]") {
    fixture f;
    f.counters.count_request("feed", 200);
    f.counters.count_request("feed", 200);
    f.counters.count_reload(false);
    response r = f.get("/metrics");
    CHECK(header_or_empty(r, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    const std::string text(r.payload());
    CHECK(text.find("casacal_http_requests_total{route=\"feed\",status=\"200\"} 2\n") !=
          std::string::npos);
    CHECK(text.find("casacal_feed_bytes{path=\"/calendar.ics\"} " +
                    std::to_string(f.feed().body.size()) + "\n") != std::string::npos);
    CHECK(text.find("casacal_config_reloads_total 1\n") != std::string::npos);
    CHECK(text.find("casacal_config_reload_failures_total 1\n") != std::string::npos);
    CHECK(text.find("casacal_config_generation 7\n") != std::string::npos);
}

TEST_CASE("the route hook answers paths the routes do not know", "[daemon]") {
    fixture f;
    route_hook hook = [](const request& req) -> std::optional<response> {
        if (req.target != "/hooked") return std::nullopt;
        response r;
        r.body = "agenda";
        return r;
    };
    CHECK(f.hooked(hook, "GET", "/hooked").payload() == "agenda");
    CHECK(f.hooked(hook, "GET", "/x").status == 404);
}

TEST_CASE("a hook that fails answers 500, says why to the log alone, and counts under its route",
          "[daemon]") {
    fixture f;
    route_hook hook = [](const request&) -> std::optional<response> {
        throw std::runtime_error("casacal.db: database or disk is full");
    };
    const response r = f.hooked(hook, "POST", "/subscribe");
    CHECK(r.status == 500);
    CHECK(r.payload() == "internal error\n");
    CHECK(r.problem == "casacal.db: database or disk is full");
    CHECK(r.route == "subscribe");
    CHECK(f.hooked(hook, "POST", "/unsubscribe/1-abc").route == "unsubscribe");
}

TEST_CASE("/api/events expands the snapshot's calendar", "[daemon]") {
    testing::test_site site;
    std::optional<casacal::store::database> db;
    build_outcome built = build_site(site.main_file(), db, k_now, 1);
    for (const auto& d : built.problems.items())
        INFO(d.format());
    REQUIRE(built.failure.empty());
    REQUIRE(built.ok());
    fixture f;
    f.snap = built.built;

    SECTION("a valid range") {
        response r = f.get("/api/events?from=2026-12-01&to=2027-02-01");
        REQUIRE(r.status == 200);
        CHECK(header_or_empty(r, "Content-Type") == "application/json");
        CHECK(header_or_empty(r, "Access-Control-Allow-Origin") == "*");
        auto doc = nlohmann::json::parse(r.payload());
        REQUIRE(doc["occurrences"].size() == 2);
        CHECK(doc["occurrences"][0]["start"] == "2026-12-03T18:30:00+01:00");
        CHECK(doc["occurrences"][1]["start"] == "2027-01-07T18:30:00+01:00");

        request again;
        again.method = "GET";
        again.target = "/api/events?from=2026-12-01&to=2027-02-01";
        again.if_none_match = header_or_empty(r, "ETag");
        CHECK(f.run(again).status == 304);
        again.if_match = "\"other\"";
        CHECK(f.run(again).status == 412);
        again.target = "/";
        CHECK(f.run(again).status == 412);
        again.if_match = "*";
        again.if_none_match.reset();
        CHECK(f.run(again).status == 200);
    }
    SECTION("defaults: today and the next 30 days") {
        auto doc = nlohmann::json::parse(f.get("/api/events").payload());
        REQUIRE(doc["occurrences"].size() == 1);
        CHECK(doc["occurrences"][0]["start"] == "2026-12-03T18:30:00+01:00");
    }
    SECTION("one category") {
        CHECK(nlohmann::json::parse(
                  f.get("/api/events?from=2026-12-01&to=2027-02-01&category=atelier")
                      .payload())["occurrences"]
                  .empty());
        response r = f.get("/api/events?category=nope");
        CHECK(r.status == 404);
        CHECK(nlohmann::json::parse(r.payload())["error"] == "unknown category: nope");
        // bytes that are not UTF-8 are named all the same, not a 500
        r = f.get("/api/events?category=%ff%c0%af");
        CHECK(r.status == 404);
        CHECK(nlohmann::json::parse(r.payload())["error"] == "unknown category: \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    }
    SECTION("a range ends at most ten years ahead") {
        CHECK(f.get("/api/events?from=2036-06-01&to=2036-11-29").status == 200);
        for (const char* target : {"/api/events?from=2036-06-01&to=2036-11-30",
                                   "/api/events?from=9997-12-01&to=9999-12-01"}) {
            INFO(target);
            response r = f.get(target);
            CHECK(r.status == 400);
            CHECK(nlohmann::json::parse(r.payload())["error"] ==
                  "to: at most 10 years ahead, 2036-11-29");
        }
        // Without `to`, the default 30 days stop there; a `from` there is the one to blame.
        response r = f.get("/api/events?from=2036-11-20");
        CHECK(r.status == 200);
        r = f.get("/api/events?from=2036-11-29");
        CHECK(r.status == 400);
        CHECK(nlohmann::json::parse(r.payload())["error"] ==
              "from: at most 10 years ahead, before 2036-11-29");
    }
    SECTION("bad ranges are 400 with a JSON error") {
        for (const char* target :
             {"/api/events?from=2026-13-01", "/api/events?from=2026-02-30",
              "/api/events?from=yesterday", "/api/events?to=2026-1-1",
              "/api/events?from=2026-12-10&to=2026-12-10",
              "/api/events?from=2026-12-10&to=2026-12-01",
              "/api/events?from=2026-01-01&to=2030-01-01", "/api/events?from=%zz"}) {
            INFO(target);
            response r = f.get(target);
            CHECK(r.status == 400);
            CHECK(header_or_empty(r, "Content-Type") == "application/json");
            CHECK(nlohmann::json::parse(r.payload()).contains("error"));
        }
    }
}
