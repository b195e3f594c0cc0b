#include "calendar/recurrence.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace casacal;
using namespace casacal::calendar;
using kind = config::when::kind;

namespace {

/// The RRULE the feed writes (the start only documents the case).
std::string feed(const std::string& text, kind k, const config::civil& /*start*/) {
    std::string error;
    const auto r = parse_rule(text, k, find_zone("Europe/Paris"), &error);
    INFO(error);
    REQUIRE(r);
    return r->feed_text;
}

std::vector<std::string> starts(const std::string& text, kind k, const config::civil& start) {
    std::string error;
    const auto r = parse_rule(text, k, find_zone("Europe/Paris"), &error);
    REQUIRE(r);
    std::vector<std::string> out;
    rule_iterator it(*r, start, k == kind::date);
    while (auto c = it.next())
        out.push_back(iso_text(*c, k == kind::date));
    return out;
}

} // namespace

TEST_CASE("rrule parts are written in a fixed order", "[calendar]") {
    CHECK(feed("BYDAY=1TH;FREQ=MONTHLY", kind::local, {2026, 12, 3, 18, 30, 0}) ==
          "FREQ=MONTHLY;BYDAY=1TH");
    CHECK(feed("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", kind::local, {2027, 3, 28, 10, 0, 0}) ==
          "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU");
}

TEST_CASE("UNTIL as a local date counts the whole day, written in UTC", "[calendar]") {
    const config::civil start{2027, 6, 1, 18, 30, 0};
    CHECK(feed("FREQ=WEEKLY;BYDAY=TU;UNTIL=20270629", kind::local, start) ==
          "FREQ=WEEKLY;UNTIL=20270629T215959Z;BYDAY=TU");
    const auto s = starts("FREQ=WEEKLY;BYDAY=TU;UNTIL=20270629", kind::local, start);
    REQUIRE(!s.empty());
    CHECK(s.back() == "2027-06-29T18:30:00");
    CHECK(s.size() == 5);
}

TEST_CASE("UNTIL as a local date-time becomes its UTC instant", "[calendar]") {
    const config::civil start{2026, 12, 1, 18, 30, 0};
    CHECK(feed("FREQ=DAILY;UNTIL=20261203T183000", kind::local, start) ==
          "FREQ=DAILY;UNTIL=20261203T173000Z");
    CHECK(starts("FREQ=DAILY;UNTIL=20261203T183000", kind::local, start).size() == 3);
    CHECK(feed("FREQ=DAILY;UNTIL=20261203T173000Z", kind::local, start) ==
          "FREQ=DAILY;UNTIL=20261203T173000Z");
}

TEST_CASE("UNTIL of an all-day series stays a date", "[calendar]") {
    const config::civil start{2026, 12, 7, 0, 0, 0};
    CHECK(feed("FREQ=WEEKLY;UNTIL=20261221", kind::date, start) == "FREQ=WEEKLY;UNTIL=20261221");
    CHECK(feed("FREQ=WEEKLY;UNTIL=20261221T120000", kind::date, start) ==
          "FREQ=WEEKLY;UNTIL=20261221");
    CHECK(starts("FREQ=WEEKLY;UNTIL=20261221", kind::date, start) ==
          std::vector<std::string>{"2026-12-07", "2026-12-14", "2026-12-21"});
}

TEST_CASE("UNTIL of a UTC series stays UTC", "[calendar]") {
    const config::civil start{2026, 12, 1, 17, 30, 0};
    CHECK(feed("FREQ=DAILY;UNTIL=20261203", kind::utc, start) ==
          "FREQ=DAILY;UNTIL=20261203T225959Z");
}

TEST_CASE("invalid rules are rejected with the rule quoted", "[calendar]") {
    std::string error;
    zone_ptr paris = find_zone("Europe/Paris");
    CHECK(!parse_rule("FREQ=MONTLY", kind::local, paris, &error));
    CHECK(error == "invalid rrule 'FREQ=MONTLY': not a valid RFC 5545 recurrence rule");
    CHECK(!parse_rule("FREQ=DAILY;COUNT=3;UNTIL=20270101", kind::local, paris, &error));
    CHECK(error == "invalid rrule 'FREQ=DAILY;COUNT=3;UNTIL=20270101': not a valid RFC 5545 "
                   "recurrence rule");
    CHECK(!parse_rule("FREQ=YEARLY;BYMONTH=13", kind::local, paris, &error));
    CHECK(!parse_rule("FREQ=HOURLY", kind::date, paris, &error));
    CHECK(!parse_rule("BYDAY=MO", kind::local, paris, &error));
}

TEST_CASE("a runaway rule stops at the bound", "[calendar]") {
    std::string error;
    const config::civil start{2026, 12, 3, 18, 30, 0};
    const auto r =
        parse_rule("FREQ=SECONDLY", kind::local, find_zone("Europe/Paris"), &error);
    REQUIRE(r);
    CHECK(!r->bounded());
    rule_iterator it(*r, start, false);
    int n = 0;
    while (it.next())
        ++n;
    CHECK(n == max_occurrences);
}
