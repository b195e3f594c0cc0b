#include "daemon/site_build.hpp"

#include "test_site.hpp"

#include <catch2/catch.hpp>

using namespace casacal::daemon;

namespace {
constexpr std::int64_t k_now = 1795953600; // 2026-11-29T12:00:00Z
}

TEST_CASE("a build publishes every feed with ETags and Last-Modified", "[daemon]") {
    testing::test_site site;
    std::optional<casacal::store::database> db;
    build_outcome a = build_site(site.main_file(), db, k_now, 1);
    REQUIRE(a.ok());
    CHECK(a.built->generation == 1);
    CHECK(a.built->event_count == 1);
    CHECK(a.built->categories == std::vector<std::string>{"apero", "atelier"});
    REQUIRE(a.built->feeds.count("/calendar.ics") == 1);
    REQUIRE(a.built->feeds.count("/calendar/apero.ics") == 1);
    REQUIRE(a.built->feeds.count("/events/casapero.ics") == 1);
    const feed_entity& feed = a.built->feeds.at("/calendar.ics");
    CHECK(feed.etag == etag_of(feed.body));
    CHECK(feed.gzip_etag == etag_of(feed.body, "-gz"));
    CHECK(feed.last_modified == k_now);

    SECTION("the same files give the same bytes and dates later, even through another connection") {
        std::optional<casacal::store::database> other;
        build_outcome b = build_site(site.main_file(), other, k_now + 500, 2);
        REQUIRE(b.ok());
        const feed_entity& again = b.built->feeds.at("/calendar.ics");
        CHECK(again.body == feed.body);
        CHECK(again.gzip_body == feed.gzip_body);
        CHECK(again.etag == feed.etag);
        CHECK(again.last_modified == k_now);
    }
    SECTION("an edit moves the ETag and Last-Modified") {
        site.write("events.d/casapero.toml", R"([[event]]
id       = "casapero"
title    = "Casapéro de décembre"
category = "apero"
start    = 2026-12-03T18:30:00
end      = 2026-12-03T21:00:00
)");
        build_outcome b = build_site(site.main_file(), db, k_now + 500, 2);
        REQUIRE(b.ok());
        CHECK(b.built->feeds.at("/calendar.ics").etag != feed.etag);
        CHECK(b.built->feeds.at("/calendar.ics").last_modified == k_now + 500);
    }
    SECTION("a deleted event's feed disappears and the calendar's Last-Modified moves") {
        site.remove("events.d/casapero.toml");
        build_outcome b = build_site(site.main_file(), db, k_now + 900, 2);
        REQUIRE(b.ok());
        CHECK(b.built->feeds.count("/events/casapero.ics") == 0);
        CHECK(b.built->feeds.at("/calendar.ics").last_modified == k_now + 900);
    }
}

TEST_CASE("a site with errors builds no snapshot and reports positions", "[daemon]") {
    testing::test_site site;
    site.write("events.d/bad.toml", "[[event]]\nid = \"x\"\ntitel = \"typo\"\n");
    std::optional<casacal::store::database> db;
    build_outcome b = build_site(site.main_file(), db, k_now, 1);
    CHECK_FALSE(b.ok());
    REQUIRE(b.problems.has_errors());
    bool names_file = false;
    for (const auto& d : b.problems.items())
        names_file = names_file || d.format().find("bad.toml:") != std::string::npos;
    CHECK(names_file);
}

TEST_CASE("gzip_compress is deterministic", "[daemon]") {
    CHECK(gzip_compress("hello") == gzip_compress("hello"));
    const std::string z = gzip_compress("hello");
    REQUIRE(z.size() > 10);
    CHECK(static_cast<unsigned char>(z[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(z[1]) == 0x8b);
}
