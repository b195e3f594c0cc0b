#include "calendar/recurrence.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
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

TEST_CASE("UNTIL at a wall clock read twice names its second instant", "[calendar]") {
    // 02:30 on 2027-10-31 is 00:30Z, then 01:30Z: the occurrence is at the
    // first; the feed names the second, where clients read it.
    const config::civil start{2027, 10, 24, 2, 30, 0};
    CHECK(feed("FREQ=WEEKLY;UNTIL=20271031T023000", kind::local, start) ==
          "FREQ=WEEKLY;UNTIL=20271031T013000Z");
    const auto s = starts("FREQ=WEEKLY;UNTIL=20271031T023000", kind::local, start);
    CHECK(s == std::vector<std::string>{"2027-10-24T02:30:00", "2027-10-31T02:30:00"});
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
    CHECK(error == "invalid rrule 'FREQ=MONTLY': FREQ must be DAILY, WEEKLY, MONTHLY, YEARLY, "
                   "HOURLY, MINUTELY or SECONDLY");
    CHECK(!parse_rule("FREQ=DAILY;COUNT=3;UNTIL=20270101", kind::local, paris, &error));
    CHECK(error == "invalid rrule 'FREQ=DAILY;COUNT=3;UNTIL=20270101': COUNT and UNTIL cannot "
                   "both be set");
    // libical only says no: the message says why.
    const std::pair<const char*, const char*> why[] = {
        {"RRULE:FREQ=DAILY", "write the rule without 'RRULE:'"},
        {"BYDAY=MO", "FREQ is required"},
        {"FREQ=DAILY;FREQ=WEEKLY", "'FREQ' is given twice"},
        {"FREQ=DAILY;COLOR=RED", "unknown part 'COLOR'"},
        {"FREQ=DAILY;COUNT", "'COUNT' is not NAME=VALUE"},
        {"FREQ=DAILY;INTERVAL=0", "INTERVAL must be a positive integer (at most 32767)"},
        {"FREQ=DAILY;INTERVAL=32768", "INTERVAL must be a positive integer (at most 32767)"},
        {"FREQ=DAILY;INTERVAL=1,2", "INTERVAL must be a positive integer (at most 32767)"},
        {"FREQ=WEEKLY;BYDAY=XX", "BYDAY takes weekdays (MO, TU, WE, TH, FR, SA, SU), each with an "
                                 "optional ordinal from 1 to 53 (or -53 to -1) like 1TH or -1FR"},
        {"FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY takes days from 1 to 31 (or -31 to -1)"},
        // libical takes these, and reads them modulo 2^32: COUNT=1, INTERVAL=2...
        {"FREQ=DAILY;COUNT=4294967297", "COUNT must be a positive integer (at most 999999999)"},
        {"FREQ=DAILY;INTERVAL=4294967298", "INTERVAL must be a positive integer (at most 32767)"},
        {"FREQ=YEARLY;BYMONTH=4294967297", "BYMONTH takes months from 1 to 12"},
        {"FREQ=MONTHLY;BYMONTHDAY=4294967297", "BYMONTHDAY takes days from 1 to 31 (or -31 to -1)"},
        {"FREQ=DAILY;BYHOUR=4294967306", "BYHOUR takes hours from 0 to 23"},
        {"FREQ=DAILY;BYMINUTE=60", "BYMINUTE takes minutes from 0 to 59"},
        {"FREQ=DAILY;BYSECOND=61", "BYSECOND takes seconds from 0 to 60"},
        {"FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO takes weeks from 1 to 53 (or -53 to -1)"},
        {"FREQ=YEARLY;BYYEARDAY=-367", "BYYEARDAY takes days from 1 to 366 (or -366 to -1)"},
        {"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0",
         "BYSETPOS takes positions from 1 to 366 (or -366 to -1)"},
        {"FREQ=MONTHLY;BYDAY=4294967297MO",
         "BYDAY takes weekdays (MO, TU, WE, TH, FR, SA, SU), each "
         "with an optional ordinal from 1 to 53 (or -53 to -1) like "
         "1TH or -1FR"},
        {"FREQ=DAILY;UNTIL=2027", "UNTIL must be a date like 20270630 or a date-time like "
                                  "20270630T235959Z"},
        // libical takes these and carries the excess over (March 2nd).
        {"FREQ=DAILY;UNTIL=20270230", "UNTIL names no real date"},
        {"FREQ=DAILY;UNTIL=20271301", "UNTIL names no real date"},
        {"FREQ=DAILY;UNTIL=20270228T256000", "UNTIL names no real date and time"},
        {"FREQ=DAILY;UNTIL=20270228T235960Z", "UNTIL names no real date and time"},
        // RFC 5545 §3.3.10 forbids these parts with these FREQs; libical
        // expands them all the same, each its own way (ical.js never ends
        // FREQ=DAILY;BYDAY=1MO).
        {"FREQ=WEEKLY;BYDAY=2MO", "a BYDAY with an ordinal (like 2MO) needs FREQ=MONTHLY or "
                                  "FREQ=YEARLY"},
        {"FREQ=DAILY;BYDAY=MO,1TU", "a BYDAY with an ordinal (like 2MO) needs FREQ=MONTHLY or "
                                    "FREQ=YEARLY"},
        {"FREQ=HOURLY;BYDAY=-1FR", "a BYDAY with an ordinal (like 2MO) needs FREQ=MONTHLY or "
                                   "FREQ=YEARLY"},
        {"FREQ=YEARLY;BYWEEKNO=5;BYDAY=1MO", "a BYDAY with an ordinal (like 2MO) cannot go with "
                                             "BYWEEKNO"},
        {"FREQ=MONTHLY;BYWEEKNO=5", "BYWEEKNO needs FREQ=YEARLY"},
        {"FREQ=WEEKLY;BYYEARDAY=100", "BYYEARDAY cannot go with FREQ=DAILY, WEEKLY or MONTHLY"},
        {"FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot go with FREQ=WEEKLY"},
        {"FREQ=MONTHLY;BYSETPOS=-1", "BYSETPOS needs another BY part to choose among"},
    };
    for (const auto& [rule_text, reason] : why) {
        CHECK(!parse_rule(rule_text, kind::local, paris, &error));
        CHECK(error == "invalid rrule '" + std::string(rule_text) + "': " + reason);
    }
    CHECK(!parse_rule("FREQ=YEARLY;BYMONTH=13", kind::local, paris, &error));
    CHECK(!parse_rule("FREQ=HOURLY", kind::date, paris, &error));
    // RFC 5545 §3.3.10: no time parts with a DATE start.
    for (const char* text :
         {"FREQ=DAILY;BYHOUR=3", "FREQ=WEEKLY;BYMINUTE=5,10", "FREQ=MONTHLY;BYSECOND=0"}) {
        CHECK(!parse_rule(text, kind::date, paris, &error));
        CHECK(error == "invalid rrule '" + std::string(text) +
                           "': an all-day event's rule cannot have BYHOUR, BYMINUTE or BYSECOND");
        CHECK(parse_rule(text, kind::local, paris, &error));
    }
    CHECK(!parse_rule("BYDAY=MO", kind::local, paris, &error));
    CHECK(!parse_rule("RSCALE=HEBREW;FREQ=YEARLY", kind::local, paris, &error));
    CHECK(error == "invalid rrule 'RSCALE=HEBREW;FREQ=YEARLY': RSCALE is not supported (RFC 5545 "
                   "rules use the Gregorian calendar)");
}

TEST_CASE("a rule keeps its iteration form as text that parses back to it", "[calendar]") {
    std::string error;
    zone_ptr paris = find_zone("Europe/Paris");
    // Without UNTIL, which the iteration form rewrites, every part survives.
    for (const char* text :
         {"FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=TU,TH", "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU;COUNT=9",
          "FREQ=MONTHLY;BYMONTHDAY=1,15,-1;BYHOUR=9,14;BYMINUTE=30",
          "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,-1"}) {
        INFO(text);
        const auto r = parse_rule(text, kind::local, paris, &error);
        REQUIRE(r);
        const icalrecurrencetype it = r->iteration();
        CHECK(rrule_text(it) == rrule_text(icalrecurrencetype_from_string(text)));
        CHECK(it.freq == r->freq);
        CHECK(it.interval == r->interval);
        CHECK(it.week_start == r->week_start);
        CHECK((it.count > 0) == r->counted);
        CHECK(!r->until);
    }
    const auto r = parse_rule("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231", kind::local, paris, &error);
    REQUIRE(r);
    CHECK(rrule_text(r->iteration()) == "FREQ=MONTHLY;UNTIL=20271231T235959;BYDAY=-1FR");
    CHECK(r->until == config::civil{2027, 12, 31, 23, 59, 59});
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

namespace {

/// Rule shapes organizers write (and some they rarely do), drawn from a
/// fixed seed so a failure names a reproducible rule.
std::string random_rule(std::mt19937& g) {
    static const char* const freq[] = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"};
    static const char* const day[] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
    const auto pick = [&](int n) { return static_cast<int>(g() % static_cast<unsigned>(n)); };
    const int f = pick(4);
    std::string r = std::string("FREQ=") + freq[f] + ";INTERVAL=" + std::to_string(1 + pick(4));
    switch (pick(6)) {
    case 1:
        r += ";BYDAY=";
        r += day[pick(7)];
        if (pick(2) == 0) r += std::string(",") + day[pick(7)];
        break;
    case 2:
        if (f >= 2) r += ";BYDAY=" + std::to_string(pick(3) == 0 ? -1 : 1 + pick(4)) + day[pick(7)];
        break;
    case 3:
        if (f >= 2) r += ";BYMONTHDAY=" + std::to_string(pick(2) ? 1 + pick(31) : -1 - pick(3));
        break;
    case 4:
        if (f == 3)
            r += ";BYMONTH=" + std::to_string(1 + pick(12)) + ";BYDAY=" +
                 std::to_string(1 + pick(4)) + day[pick(7)];
        break;
    case 5:
        if (f >= 1) r += ";BYDAY=MO,TU,WE,TH,FR;BYSETPOS=" + std::string(pick(2) ? "1" : "-1");
        break;
    default:
        if (f >= 2) // "Friday the 13th", in some months
            r += ";BYMONTHDAY=" + std::to_string(1 + pick(28)) + ";BYDAY=" + day[pick(7)] +
                 (pick(2) ? ";BYMONTH=" + std::to_string(1 + pick(12)) : "");
        break;
    }
    if (pick(4) == 0) r += std::string(";WKST=") + day[pick(7)];
    if (pick(3) == 0) r += ";UNTIL=2029" + std::to_string(10 + pick(3)) + "15T120000";
    return r;
}

} // namespace

TEST_CASE("seek finds the same starts as stepping from DTSTART", "[calendar]") {
    std::mt19937 g(20261129);
    zone_ptr paris = find_zone("Europe/Paris");
    int seekable_rules = 0;
    for (int n = 0; n < 400; ++n) {
        const std::string text = random_rule(g);
        const bool all_day = g() % 4 == 0;
        const config::civil start{2026 + static_cast<int>(g() % 2), 1 + static_cast<int>(g() % 12),
                                  1 + static_cast<int>(g() % 28), all_day ? 0 : 18, 30, 0};
        std::string error;
        const auto r = parse_rule(text, all_day ? kind::date : kind::local, paris, &error);
        INFO(text << " from " << iso_text(start));
        REQUIRE(r);
        seekable_rules += r->seekable ? 1 : 0;
        std::vector<config::civil> all;
        rule_iterator stepping(*r, start, all_day);
        while (all.size() < 150)
            if (auto c = stepping.next())
                all.push_back(*c);
            else
                break;
        if (all.size() < 2) continue; // a bound reached at once
        rule_iterator seeking(*r, start, all_day);
        // Targets anywhere in the span, in no particular order, and past the end.
        const std::int64_t first = seconds_of(all.front()), span = seconds_of(all.back()) - first;
        for (int k = 0; k < 40; ++k) {
            const config::civil target =
                civil_of(first + static_cast<std::int64_t>(g() % static_cast<unsigned>(span + 2)));
            const auto want = std::lower_bound(all.begin(), all.end(), target);
            if (want == all.end()) continue;
            rule_iterator fresh(*r, start, all_day);
            const auto got = (r->seekable ? seeking : fresh).seek(target);
            INFO("target " << iso_text(target));
            REQUIRE(got);
            CHECK(*got == *want);
            if (want + 1 != all.end()) {
                const auto after = (r->seekable ? seeking : fresh).next();
                REQUIRE(after);
                CHECK(*after == *(want + 1));
            }
        }
    }
    CHECK(seekable_rules > 200); // the shapes mostly exercise the jump
}

TEST_CASE("seeking past the end of a bounded rule finds nothing", "[calendar]") {
    std::string error;
    zone_ptr paris = find_zone("Europe/Paris");
    for (const char* text : {"FREQ=WEEKLY;BYDAY=TU;UNTIL=20270629", "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231T235959",
                             "FREQ=DAILY;INTERVAL=3;UNTIL=20270110T090000", "FREQ=WEEKLY;COUNT=4"}) {
        INFO(text);
        const auto r = parse_rule(text, kind::local, paris, &error);
        REQUIRE(r);
        const config::civil start{2027, 1, 5, 18, 30, 0};
        rule_iterator it(*r, start, false);
        CHECK_FALSE(it.seek({2028, 6, 1, 0, 0, 0}));
        CHECK_FALSE(it.next());
        // A seekable rule goes back to the first start stepping gives.
        rule_iterator stepping(*r, start, false);
        if (r->seekable) CHECK(it.seek(start) == stepping.next());
    }
}

TEST_CASE("rules libical 3.0 cannot seek exactly step instead", "[calendar]") {
    const auto seekable_text = [](const std::string& text) {
        std::string error;
        const auto r = parse_rule(text, kind::local, find_zone("Europe/Paris"), &error);
        REQUIRE(r);
        return r->seekable;
    };
    CHECK(seekable_text("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"));
    CHECK(seekable_text("FREQ=MONTHLY;BYDAY=-1TH"));
    CHECK(seekable_text("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"));
    CHECK_FALSE(seekable_text("FREQ=WEEKLY;BYDAY=TU,TH")); // set_start skips the Thursday
    CHECK_FALSE(seekable_text("FREQ=WEEKLY;COUNT=10"));
    CHECK_FALSE(seekable_text("FREQ=HOURLY;INTERVAL=5"));
    CHECK_FALSE(seekable_text("FREQ=YEARLY;BYWEEKNO=20"));
}

TEST_CASE("rules step through the wall clock, with no hour missing or repeated", "[calendar]") {
    // The iteration frame is the wall clock (given to libical as UTC, see
    // rule_iterator): the hour Paris skips in spring and the one it repeats
    // in autumn are ordinary hours there, far from 1970 as near it.
    CHECK(starts("FREQ=HOURLY;COUNT=4", kind::local, {2027, 3, 28, 1, 30, 0}) ==
          std::vector<std::string>{"2027-03-28T01:30:00", "2027-03-28T02:30:00",
                                   "2027-03-28T03:30:00", "2027-03-28T04:30:00"});
    CHECK(starts("FREQ=HOURLY;COUNT=3", kind::local, {2027, 10, 31, 1, 30, 0}) ==
          std::vector<std::string>{"2027-10-31T01:30:00", "2027-10-31T02:30:00",
                                   "2027-10-31T03:30:00"});
    CHECK(starts("FREQ=YEARLY;COUNT=3", kind::local, {1965, 10, 31, 2, 30, 0}) ==
          std::vector<std::string>{"1965-10-31T02:30:00", "1966-10-31T02:30:00",
                                   "1967-10-31T02:30:00"});
    CHECK(starts("FREQ=MONTHLY;BYDAY=-1SU;COUNT=2", kind::local, {2099, 10, 25, 2, 30, 0}) ==
          std::vector<std::string>{"2099-10-25T02:30:00", "2099-11-29T02:30:00"});
    CHECK(starts("FREQ=DAILY;UNTIL=20270329", kind::date, {2027, 3, 27, 0, 0, 0}) ==
          std::vector<std::string>{"2027-03-27", "2027-03-28", "2027-03-29"});

    std::string error;
    const auto weekly = parse_rule("FREQ=WEEKLY;BYDAY=SU", kind::local, find_zone("Europe/Paris"), &error);
    REQUIRE(weekly);
    REQUIRE(weekly->seekable);
    rule_iterator it(*weekly, {2027, 1, 3, 2, 30, 0}, false);
    CHECK(it.seek({2027, 3, 28, 0, 0, 0}) == config::civil{2027, 3, 28, 2, 30, 0});
    CHECK(it.seek({2100, 10, 30, 0, 0, 0}) == config::civil{2100, 10, 31, 2, 30, 0});
}
