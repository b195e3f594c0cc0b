#include "daemon/personal_feeds.hpp"

#include "daemon/http_date.hpp"
#include "daemon/site_build.hpp"
#include "test_site.hpp"

#include <catch2/catch.hpp>

using namespace casacal;
using namespace casacal::daemon;

namespace {

// 2026-11-29T12:00:00Z
constexpr std::int64_t k_now = 1795953600;
const std::string k_key(64, 'k');

std::string header(const response& r, std::string_view name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return {};
}

request get(const std::string& target) {
    request req;
    req.method = "GET";
    req.target = target;
    return req;
}

std::string feed_path(std::string_view email) {
    return "/feeds/" + notify::feed_token(k_key, email) + ".ics";
}

notify::recipient follower(std::string email, std::vector<std::string> categories) {
    notify::recipient r;
    r.email = std::move(email);
    r.categories = std::move(categories);
    return r;
}

} // namespace

TEST_CASE("feed tokens: one per address, whatever its case, unguessable without the key",
          "[daemon]") {
    const std::string a = notify::feed_token(k_key, "camille@example.org");
    CHECK(a.size() == 32);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(notify::feed_token(k_key, "Camille@Example.ORG") == a);
    CHECK(notify::feed_token(k_key, "camille@example.net") != a);
    CHECK(notify::feed_token(std::string(64, 'j'), "camille@example.org") != a);
    // HMAC-SHA-256 (RFC 2104), as any implementation computes it.
    CHECK(calendar::hmac_sha256_hex("key", "The quick brown fox jumps over the lazy dog") ==
          "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    // RFC 4231, test case 2, after another key and back: each key's own.
    CHECK(calendar::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(calendar::hmac_sha256_hex("key", "The quick brown fox jumps over the lazy dog") ==
          "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    CHECK(calendar::hmac_sha256_hex("", "") ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("GET /feeds/{token}.ics serves the categories its recipient follows", "[daemon]") {
    testing::test_site site;
    site.write("events.d/atelier.toml", R"([[event]]
id       = "atelier-compta"
title    = "Atelier compta"
category = "atelier"
start    = 2026-12-08T09:00:00
end      = 2026-12-08T12:00:00
)");
    std::optional<store::database> db;
    build_outcome built = build_site(site.main_file(), db, k_now, 1);
    REQUIRE(built.ok());
    const std::shared_ptr<const snapshot> snap = built.built;

    personal_feeds feeds;
    feeds.set_recipients(k_key, {follower("one@example.org", {"apero"}),
                                 follower("both@example.org", {"atelier", "apero"}),
                                 follower("all@example.org", {"*"}),
                                 follower("gone@example.org", {"old-category"})});

    SECTION("one category: the bytes of its public feed, privately") {
        response r = *feeds.route(get(feed_path("one@example.org")), snap, k_now);
        CHECK(r.status == 200);
        CHECK(r.route == "personal_feed");
        CHECK(r.payload() == snap->feeds.at("/calendar/apero.ics").body.get());
        CHECK(header(r, "Content-Type") == "text/calendar; charset=utf-8");
        CHECK(header(r, "Cache-Control") == "private, max-age=300");
        CHECK(header(r, "Access-Control-Allow-Origin").empty());
    }
    SECTION("several categories: their events, under their names") {
        response r = *feeds.route(get(feed_path("both@example.org")), snap, k_now);
        REQUIRE(r.status == 200);
        const std::string body(r.payload());
        CHECK(body.find("X-WR-CALNAME:Casaco — Apéros\\, Ateliers\r\n") != std::string::npos);
        CHECK(body.find("UID:casapero@casaco.example") != std::string::npos);
        CHECK(body.find("UID:atelier-compta@casaco.example") != std::string::npos);
        CHECK(body.find("BEGIN:VTIMEZONE") != std::string::npos);

        request again = get(feed_path("both@example.org"));
        again.if_none_match = header(r, "ETag");
        CHECK(feeds.route(again, snap, k_now)->status == 304);
        request zipped = get(feed_path("both@example.org"));
        zipped.accept_encoding = "gzip";
        response z = *feeds.route(zipped, snap, k_now);
        CHECK(header(z, "Content-Encoding") == "gzip");
        CHECK(header(z, "ETag") != header(r, "ETag"));
    }
    SECTION("everything: the site feed") {
        response r = *feeds.route(get(feed_path("ALL@example.org")), snap, k_now);
        CHECK(r.payload() == snap->feeds.at("/calendar.ics").body.get());
    }
    SECTION("categories that no longer exist: an empty calendar") {
        response r = *feeds.route(get(feed_path("gone@example.org")), snap, k_now);
        REQUIRE(r.status == 200);
        CHECK(std::string(r.payload()).find("BEGIN:VEVENT") == std::string::npos);
    }
    SECTION("Last-Modified moves when the categories followed change") {
        const auto last_modified = [&](std::int64_t at) {
            return header(*feeds.route(get(feed_path("one@example.org")), snap, at),
                          "Last-Modified");
        };
        const std::string before = last_modified(k_now);
        CHECK(last_modified(k_now + 60) == before); // nothing changed
        feeds.set_recipients(k_key, {follower("one@example.org", {"apero", "atelier"})});
        CHECK(last_modified(k_now + 120) == format_http_date(k_now + 120));
        request since = get(feed_path("one@example.org"));
        since.if_modified_since = before;
        CHECK(feeds.route(since, snap, k_now + 180)->status == 200);
        // and back to fewer: later still, never back to the older date
        feeds.set_recipients(k_key, {follower("one@example.org", {"apero"})});
        CHECK(last_modified(k_now + 240) == format_http_date(k_now + 240));
    }
    SECTION("a feed left with no category is dated by the site's feed, not 1970") {
        response r = *feeds.route(get(feed_path("gone@example.org")), snap, k_now);
        CHECK(header(r, "Last-Modified") ==
              format_http_date(std::min(snap->feeds.at("/calendar.ics").last_modified, k_now)));
    }
    SECTION("unknown tokens, other methods, other paths") {
        CHECK(feeds.route(get(feed_path("stranger@example.org")), snap, k_now)->status == 404);
        CHECK(feeds.route(get("/feeds/../calendar.ics"), snap, k_now)->status == 404);
        CHECK(feeds.route(get("/feeds/"), snap, k_now)->status == 404);
        request post = get(feed_path("one@example.org"));
        post.method = "POST";
        response r = *feeds.route(post, snap, k_now);
        CHECK(r.status == 405);
        CHECK(header(r, "Allow") == "GET, HEAD, OPTIONS");
        post.method = "OPTIONS"; // answered, without CORS: the feed is private
        r = *feeds.route(post, snap, k_now);
        CHECK(r.status == 204);
        CHECK(header(r, "Allow") == "GET, HEAD, OPTIONS");
        CHECK(header(r, "Access-Control-Allow-Origin").empty());
        CHECK_FALSE(feeds.route(get("/calendar.ics"), snap, k_now));
    }
    SECTION("without a key nobody has a feed") {
        feeds.set_recipients("", {follower("one@example.org", {"apero"})});
        CHECK(feeds.route(get(feed_path("one@example.org")), snap, k_now)->status == 404);
    }
}
