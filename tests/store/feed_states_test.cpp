#include "store/feed_states.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace casacal;
using store::database;
using store::feed_states;

TEST_CASE("feed_states: Last-Modified moves only with the body", "[store]") {
    auto db = database::open(":memory:");
    feed_states feeds(db);

    CHECK(feeds.apply("/calendar.ics", "h1", 100) == 100);
    CHECK(feeds.apply("/calendar.ics", "h1", 200) == 100);
    CHECK(feeds.apply("/calendar.ics", "h2", 300) == 300); // e.g. an event was deleted
    CHECK(feeds.apply("/calendar.ics", "h2", 400) == 300);
    CHECK(feeds.apply("/calendar.ics", "h1", 500) == 500); // back to old bytes is still a change
    // A second change within the same second still moves it, by one second,
    // so that If-Modified-Since with the first tells them apart.
    CHECK(feeds.apply("/calendar.ics", "h3", 500) == 501);
    CHECK(feeds.apply("/calendar.ics", "h4", 500) == 502);
    CHECK(feeds.apply("/calendar.ics", "h5", 600) == 600);
}

TEST_CASE("feed_states: a batch is applied at once and survives a restart", "[store]") {
    store::testing::temp_dir dir;
    const auto path = dir.file("casacal.db");
    {
        auto db = database::open(path);
        feed_states feeds(db);
        const auto first = feeds.apply(
            {{"/calendar.ics", "a"}, {"/calendar/apero.ics", "b"}, {"/events/casapero.ics", "c"}},
            100);
        CHECK(first == std::map<std::string, calendar::unix_time>{{"/calendar.ics", 100},
                                                                  {"/calendar/apero.ics", 100},
                                                                  {"/events/casapero.ics", 100}});
    }
    auto db = database::open(path);
    feed_states feeds(db);
    const auto second = feeds.apply(
        {{"/calendar.ics", "a*"}, {"/calendar/apero.ics", "b"}, {"/events/casapero.ics", "c"}},
        200);
    CHECK(second == std::map<std::string, calendar::unix_time>{{"/calendar.ics", 200},
                                                               {"/calendar/apero.ics", 100},
                                                               {"/events/casapero.ics", 100}});
}
