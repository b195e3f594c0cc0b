#include "daemon/site_build.hpp"

#include "test_site.hpp"

#include <catch2/catch.hpp>

using namespace casacal::daemon;

namespace {
constexpr std::int64_t k_now = 1795953600; // 2026-11-29T12:00:00Z

/// The test site's Casapéro, edited.
constexpr const char* december_casapero = R"([[event]]
id       = "casapero"
title    = "Casapéro de décembre"
category = "apero"
start    = 2026-12-03T18:30:00
end      = 2026-12-03T21:00:00
)";
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
    CHECK(feed.etag == etag_of(feed.body.get()));
    CHECK(feed.gzip_etag == etag_of(feed.body.get(), "-gz"));
    CHECK(feed.last_modified == k_now);

    SECTION("the same files give the same bytes and dates later, even through another connection") {
        std::optional<casacal::store::database> other;
        build_outcome b = build_site(site.main_file(), other, k_now + 500, 2);
        REQUIRE(b.ok());
        const feed_entity& again = b.built->feeds.at("/calendar.ics");
        CHECK(again.body.get() == feed.body.get());
        CHECK(again.gzip_body.get() == feed.gzip_body.get());
        CHECK(again.etag == feed.etag);
        CHECK(again.last_modified == k_now);
    }
    SECTION("an edit moves the ETag and Last-Modified") {
        site.write("events.d/casapero.toml", december_casapero);
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

TEST_CASE("category feeds are rendered on first use, from /calendar.ics, with the bytes their "
          "ETag is over",
          "[daemon]") {
    testing::test_site site;
    std::optional<casacal::store::database> db;
    build_outcome a = build_site(site.main_file(), db, k_now, 1);
    REQUIRE(a.ok());
    for (const char* path : {"/calendar/apero.ics", "/calendar/atelier.ics"}) {
        INFO(path);
        const feed_entity& feed = a.built->feeds.at(path);
        CHECK_FALSE(feed.body.ready());
        const std::string_view body = feed.body.get();
        CHECK(body.size() == feed.body.size());
        CHECK(feed.etag == etag_of(body));
        CHECK(feed.last_modified == k_now);
        build_outcome alone = build_site(site.main_file(), db, k_now, 2, build_for::export_only, path);
        REQUIRE(alone.ok());
        CHECK(alone.built->feeds.at(path).body.get() == body);
    }
}

TEST_CASE("single-event feeds are rendered on first use with the bytes their ETag is over",
          "[daemon]") {
    testing::test_site site;
    std::optional<casacal::store::database> db;
    build_outcome a = build_site(site.main_file(), db, k_now, 1);
    REQUIRE(a.ok());
    const feed_entity& feed = a.built->feeds.at("/events/casapero.ics");
    CHECK_FALSE(feed.body.ready());
    CHECK_FALSE(feed.gzip_body.ready());
    const std::size_t size = feed.body.size();
    const std::string_view body = feed.body.get();
    CHECK(body.size() == size);
    CHECK(feed.etag == etag_of(body));
    CHECK(body.find("UID:casapero@") != std::string::npos);
    CHECK(feed.last_modified == k_now);
    CHECK(feed.body.get().data() == body.data());
    CHECK(feed.gzip_body.get() == gzip_compress(body));
    CHECK(feed.gzip_etag == etag_of(body, "-gz"));
    CHECK(a.built->feeds.at("/calendar.ics").body.ready());
}

TEST_CASE("an export build renders the one feed asked for, with the served bytes", "[daemon]") {
    testing::test_site site;
    std::optional<casacal::store::database> db;
    build_outcome served = build_site(site.main_file(), db, k_now, 1);
    REQUIRE(served.ok());
    for (const std::string path : {"/calendar.ics", "/calendar/apero.ics", "/calendar/atelier.ics",
                                   "/events/casapero.ics"}) {
        build_outcome one = build_site(site.main_file(), db, k_now, 2, build_for::export_only, path);
        REQUIRE(one.ok());
        REQUIRE(one.built->feeds.size() == 1);
        CHECK(one.built->feeds.at(path).body.get() == served.built->feeds.at(path).body.get());
        CHECK(one.built->feeds.at(path).gzip_etag.empty());
    }
    build_outcome none =
        build_site(site.main_file(), db, k_now, 2, build_for::export_only, "/calendar/nope.ics");
    REQUIRE(none.ok());
    CHECK(none.built->feeds.empty());
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

TEST_CASE("a build from the previous snapshot gives the bytes of a build from scratch",
          "[daemon]") {
    testing::test_site site;
    // A second file that stays as it is, with a series and a moved occurrence.
    site.write("events.d/weekly.toml", R"([[event]]
id       = "atelier-hebdo"
title    = "Atelier du mardi, avec un titre assez long pour être plié sur deux lignes"
category = "atelier"
start    = 2026-12-01T09:30:00
duration = "PT2H"
rrule    = "FREQ=WEEKLY;BYDAY=TU"
exdates  = [2026-12-29T09:30:00]

[[event.override]]
recurrence_id = 2027-01-05T09:30:00
start         = 2027-01-06T14:00:00
)");
    std::optional<casacal::store::database> db;
    build_outcome first = build_site(site.main_file(), db, k_now, 1);
    REQUIRE(first.ok());
    REQUIRE(first.built->fingerprints.size() == 2);
    REQUIRE(first.built->calendar_spans.size() == 2);

    const auto same_feeds = [](const snapshot& a, const snapshot& b) {
        REQUIRE(a.feeds.size() == b.feeds.size());
        std::vector<std::string> paths;
        a.feeds.each([&](const std::string& path, std::size_t) { paths.push_back(path); });
        for (const std::string& path : paths) {
            INFO(path);
            const feed_entity& feed = a.feeds.at(path);
            REQUIRE(b.feeds.count(path));
            CHECK(b.feeds.at(path).body.get() == feed.body.get());
            CHECK(b.feeds.at(path).etag == feed.etag);
            CHECK(b.feeds.at(path).last_modified == feed.last_modified);
        }
    };
    // The Casapéro file is rewritten (a new SEQUENCE), the weekly one kept.
    site.write("events.d/casapero.toml", december_casapero);
    build_outcome reused = build_site(site.main_file(), db, k_now + 500, 2, build_for::serving, {},
                                      first.built.get());
    REQUIRE(reused.ok());
    std::optional<casacal::store::database> other;
    build_outcome scratch = build_site(site.main_file(), other, k_now + 500, 2);
    REQUIRE(scratch.ok());
    same_feeds(*reused.built, *scratch.built);
    CHECK(reused.built->fingerprints == scratch.built->fingerprints);
    CHECK(reused.built->calendar_spans == scratch.built->calendar_spans);
    CHECK(reused.built->feeds.at("/calendar.ics").body.get().find("Casapéro de décembre") !=
          std::string::npos);
}
