#include "calendar/model.hpp"
#include "fixture.hpp"

#include <catch2/catch.hpp>

using namespace casacal;
using namespace casacal::calendar;
using namespace casacal::calendar::testing;

namespace {

std::string problems_of(const build_result& r) {
    std::string out;
    for (const config::diagnostic& d : r.problems.items())
        out += d.where.path.str() + ":" + std::to_string(d.where.line) + ":" +
               std::to_string(d.where.column) +
               (d.level == config::severity::error ? ": error: " : ": warning: ") + d.message +
               "\n";
    return out;
}

} // namespace

TEST_CASE("the monthly Casapero builds without problems", "[calendar]") {
    const build_result r = build(casapero_site());
    CHECK(problems_of(r) == "");
    REQUIRE(r.calendar);
    CHECK(r.calendar->all.size() == 1);
    CHECK(r.calendar->all[0].master.uid == "casapero@casaco.example");
}

TEST_CASE("an unknown site zone is an error at its position", "[calendar]") {
    config::site s = casapero_site();
    s.site.timezone = "Europe/Pariss";
    const build_result r = build(s);
    CHECK(!r.calendar);
    CHECK(problems_of(r) == "casacal.toml:5:13: error: unknown time zone 'Europe/Pariss'\n");
}

TEST_CASE("names of the tz database that are not IANA zones are unknown", "[calendar]") {
    // right/ zones count leap seconds: Paris at +02:00 in December, 27 s off.
    for (const char* name :
         {"right/Europe/Paris", "posix/Europe/Paris", "posixrules", "localtime", "Factory"}) {
        config::site s = casapero_site();
        s.site.timezone = name;
        CHECK(problems_of(build(s)) ==
              "casacal.toml:5:13: error: unknown time zone '" + std::string(name) + "'\n");
    }
}

TEST_CASE("an unknown event zone is an error at its position", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].timezone = "Europe/Pariss";
    s.events[0].timezone_at = pos(9, 15);
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:9:15: error: unknown time zone 'Europe/Pariss'\n");
}

TEST_CASE("one mistake does not hide the others of the same event", "[calendar]") {
    SECTION("an unknown site zone, and a bad rule") {
        config::site s = casapero_site();
        s.site.timezone = "Europe/Pariss";
        s.events[0].rrule = "FREQ=SOMETIMES";
        const build_result r = build(s);
        CHECK(!r.calendar);
        CHECK(problems_of(r) ==
              "casacal.toml:5:13: error: unknown time zone 'Europe/Pariss'\n"
              "events.d/casapero.toml:7:15: error: invalid rrule 'FREQ=SOMETIMES': FREQ must be "
              "DAILY, WEEKLY, MONTHLY, YEARLY, HOURLY, MINUTELY or SECONDLY\n");
    }
    SECTION("an unknown event zone, and an override that matches nothing") {
        config::site s = casapero_site();
        s.events[0].timezone = "Europe/Pariss";
        s.events[0].timezone_at = pos(9, 15);
        config::override_def o;
        o.recurrence_id = s.events[0].start.value();
        o.recurrence_id.value.day += 1;
        o.recurrence_id.where = pos(12, 17);
        o.title = "Autre";
        s.events[0].overrides.push_back(o);
        const std::string found = problems_of(build(s));
        CHECK(found.find("events.d/casapero.toml:9:15: error: unknown time zone") != std::string::npos);
        CHECK(found.find("events.d/casapero.toml:12:17: error: override matches no occurrence") !=
              std::string::npos);
    }
    SECTION("an end before the start, and a bad rule") {
        config::site s = casapero_site();
        s.events[0].end->value.hour = s.events[0].start->value.hour - 1;
        s.events[0].rrule = "FREQ=SOMETIMES";
        const std::string found = problems_of(build(s));
        CHECK(found.find("is before its start") != std::string::npos);
        CHECK(found.find("invalid rrule 'FREQ=SOMETIMES'") != std::string::npos);
    }
}

TEST_CASE("a duration of zero is refused, like an end equal to the start", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].end.reset();
    s.events[0].duration = config::duration{0, 0, "PT0S", pos(6, 12)};
    const build_result r = build(s);
    CHECK(!r.calendar);
    CHECK(problems_of(r) ==
          "events.d/casapero.toml:6:12: error: duration of event 'casapero' must be longer than zero\n");
}

TEST_CASE("an invalid rrule is an error at its position", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule = "FREQ=MONTLY";
    const build_result r = build(s);
    CHECK(!r.calendar);
    CHECK(problems_of(r) ==
          "events.d/casapero.toml:7:15: error: invalid rrule 'FREQ=MONTLY': FREQ must be DAILY, "
          "WEEKLY, MONTHLY, YEARLY, HOURLY, MINUTELY or SECONDLY\n");
}

TEST_CASE("a rule libical parses but cannot expand is an error at its position", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule = "FREQ=YEARLY;BYWEEKNO=5;BYMONTHDAY=1";
    const build_result r = build(s);
    CHECK(!r.calendar);
    CHECK(problems_of(r) ==
          "events.d/casapero.toml:7:15: error: invalid rrule 'FREQ=YEARLY;BYWEEKNO=5;BYMONTHDAY=1': "
          "it cannot be expanded: its parts contradict each other or do not go with its FREQ "
          "(BYMONTH=2 with BYMONTHDAY=30, BYYEARDAY with FREQ=WEEKLY)\n");

    // A rule starting past libical's last year says that instead.
    s.events[0].rrule = "FREQ=DAILY";
    s.events[0].start = local(2600, 1, 20, 14, 0, 5);
    s.events[0].end = local(2600, 1, 20, 15, 0, 6);
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:7:15: error: invalid rrule 'FREQ=DAILY': rules are expanded up "
          "to 2582 (libical 3.0), and this one starts in 2600\n");
}

TEST_CASE("end before start is an error at the end", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].end = local(2026, 12, 3, 17, 0, 6);
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:6:15: error: end of event 'casapero' is before its start\n");
}

TEST_CASE("an end that is the start's instant is an error, however it is written", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule.clear();
    // 02:15 in the spring gap reads as 03:15 (UTC+02:00), the end's instant.
    s.events[0].start = local(2027, 3, 28, 2, 15, 5);
    s.events[0].end = local(2027, 3, 28, 3, 15, 6);
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:5:15: warning: 2027-03-28T02:15:00 does not exist in "
          "Europe/Paris (clocks go forward); read as 03:15 (UTC+02:00) per RFC 5545\n"
          "events.d/casapero.toml:6:15: error: end of event 'casapero' is not after its start: "
          "both are 2027-03-28T03:15:00+02:00\n");
    // A wall clock and an instant that name the same time.
    s.events[0].start = local(2027, 1, 10, 18, 30, 5);
    s.events[0].end = utc(2027, 1, 10, 17, 30, 6);
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:6:15: error: end of event 'casapero' is not after its start: "
          "both are 2027-01-10T18:30:00+01:00\n");
    // The same in an override.
    s = casapero_site();
    config::override_def o;
    o.recurrence_id = local(2027, 1, 7, 18, 30, 12);
    o.start = local(2027, 1, 7, 19, 0, 13);
    o.end = utc(2027, 1, 7, 18, 0, 14);
    o.where = pos(11);
    s.events[0].overrides.push_back(o);
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:14:15: error: end of an override of 'casapero' is not "
          "after its start: both are 2027-01-07T19:00:00+01:00\n");
}

TEST_CASE("a timed event needs an end or a duration", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].end.reset();
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:1:1: error: event 'casapero' needs 'end' or 'duration'\n");
    s.events[0].duration = config::duration{1, 1800, "P1DT30M", {}};
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK(r.calendar->all[0].master.end == config::civil{2026, 12, 4, 19, 0, 0});
}

TEST_CASE("an all-day end is inclusive in the files and exclusive in the model", "[calendar]") {
    config::site s = base_site();
    config::event_def e;
    e.id = "weekend";
    e.title = "Week-end";
    e.category = "weekend";
    e.start = day(2026, 12, 12);
    e.end = day(2026, 12, 13);
    s.events.push_back(e);
    s.events.push_back(e);
    s.events[1].id = "one-day";
    s.events[1].end.reset();
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK(r.calendar->find("weekend@casaco.example")->master.end == config::civil{2026, 12, 14});
    CHECK(r.calendar->find("one-day@casaco.example")->master.end == config::civil{2026, 12, 13});
}

TEST_CASE("times in a DST gap or overlap are warnings", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule.clear();
    s.events[0].start = local(2027, 3, 28, 2, 30, 5);
    s.events[0].end = local(2027, 10, 31, 2, 30, 6);
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK(problems_of(r) ==
          "events.d/casapero.toml:5:15: warning: 2027-03-28T02:30:00 does not exist in "
          "Europe/Paris (clocks go forward); read as 03:30 (UTC+02:00) per RFC 5545\n"
          "events.d/casapero.toml:6:15: warning: 2027-10-31T02:30:00 happens twice in "
          "Europe/Paris; read as the first (UTC+02:00) per RFC 5545\n");
}

TEST_CASE("a repeat in a DST gap or overlap is a warning at the rule", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].start = local(2027, 3, 20, 2, 30, 5);
    s.events[0].end = local(2027, 3, 20, 3, 0, 6);
    s.events[0].rrule = "FREQ=WEEKLY;BYDAY=SA,SU";
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK(
        problems_of(r) ==
        "events.d/casapero.toml:7:15: warning: a repeat of 'casapero': 2027-03-28T02:30:00 does "
        "not exist in Europe/Paris (clocks go forward); read as 03:30 (UTC+02:00) per RFC 5545\n");

    // Excluded (the exdate's own time is warned of), that repeat says
    // nothing more; the next one, in the repeated hour, does.
    s.events[0].exdates = {local(2027, 3, 28, 2, 30, 8)};
    CHECK(problems_of(build(s)) ==
          "events.d/casapero.toml:8:15: warning: 2027-03-28T02:30:00 does not exist in "
          "Europe/Paris (clocks go forward); read as 03:30 (UTC+02:00) per RFC 5545\n"
          "events.d/casapero.toml:7:15: warning: a repeat of 'casapero': 2027-10-31T02:30:00 "
          "happens twice in Europe/Paris; read as the first (UTC+02:00) per RFC 5545\n");

    // A rule that ends before, or a time of day clear of the change, says nothing.
    s.events[0].exdates.clear();
    s.events[0].rrule = "FREQ=WEEKLY;BYDAY=SA,SU;UNTIL=20270327";
    CHECK(problems_of(build(s)).empty());
    s.events[0].rrule = "FREQ=DAILY";
    s.events[0].start = local(2027, 3, 20, 3, 30, 5);
    s.events[0].end = local(2027, 3, 20, 4, 0, 6);
    CHECK(problems_of(build(s)).empty());
}

TEST_CASE("an override that matches no occurrence is an error at its position", "[calendar]") {
    config::site s = casapero_site();
    config::override_def o;
    o.recurrence_id = local(2026, 12, 24, 18, 30, 12);
    o.start = local(2026, 12, 23, 18, 30, 13);
    o.where = pos(11);
    s.events[0].overrides.push_back(o);
    const build_result r = build(s);
    CHECK(!r.calendar);
    CHECK(problems_of(r) ==
          "events.d/casapero.toml:12:15: error: override matches no occurrence of "
          "'casapero' (recurrence_id 2026-12-24T18:30:00)\n");
}

TEST_CASE("overrides move, change or cancel one occurrence", "[calendar]") {
    config::site s = casapero_site();
    config::override_def moved;
    moved.recurrence_id = local(2027, 2, 4, 18, 30);
    moved.start = local(2027, 2, 5, 19, 0);
    config::override_def renamed;
    renamed.recurrence_id = local(2026, 12, 3, 18, 30);
    renamed.title = "Casapéro de Noël";
    config::override_def cancelled;
    cancelled.recurrence_id = local(2027, 3, 4, 18, 30);
    cancelled.status = config::status::cancelled;
    s.events[0].overrides = {moved, renamed, cancelled};
    const build_result r = build(s);
    REQUIRE(r.calendar);
    const series& c = r.calendar->all[0];
    CHECK(c.exdates == std::vector<config::civil>{{2027, 3, 4, 18, 30, 0}});
    REQUIRE(c.overrides.size() == 2);
    CHECK(c.overrides[0].title == "Casapéro de Noël");
    CHECK(!c.overrides[0].moved);
    CHECK(c.overrides[1].moved);
    // A changed start without end keeps the duration.
    CHECK(c.overrides[1].end == config::civil{2027, 2, 5, 21, 30, 0});
}

TEST_CASE("an exdate that matches no occurrence is a warning", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].exdates = {local(2027, 1, 8, 18, 30, 8), local(2027, 1, 7, 18, 30, 9)};
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK(problems_of(r) == "events.d/casapero.toml:8:15: warning: exdate 2027-01-08T18:30:00 "
                            "matches no occurrence of 'casapero'\n");
    CHECK(r.calendar->all[0].exdates == std::vector<config::civil>{{2027, 1, 7, 18, 30, 0}});
}

TEST_CASE("an occurrence in a spring gap is named by either of its times", "[calendar]") {
    // 02:30 on 2027-03-28 does not exist in Paris: the rule's occurrence is
    // at 03:30, which clients show and an organizer may write.
    config::site s = casapero_site();
    s.events[0].start = local(2027, 3, 21, 2, 30);
    s.events[0].end = local(2027, 3, 21, 3, 30);
    s.events[0].rrule = "FREQ=WEEKLY;COUNT=3";
    for (const int hour : {2, 3}) {
        INFO(hour);
        config::site x = s;
        x.events[0].exdates = {local(2027, 3, 28, hour, 30, 8)};
        const build_result r = build(x);
        REQUIRE(r.calendar);
        CHECK(problems_of(r).find("matches no occurrence") == std::string::npos);
        // kept as the rule gives it, as EXDATE and RECURRENCE-ID must be
        CHECK(r.calendar->all[0].exdates == std::vector<config::civil>{{2027, 3, 28, 2, 30, 0}});
        config::site y = s;
        config::override_def o;
        o.recurrence_id = local(2027, 3, 28, hour, 30, 11);
        o.title = "Décalé";
        y.events[0].overrides = {o};
        const build_result ry = build(y);
        REQUIRE(ry.calendar);
        REQUIRE(ry.calendar->all[0].overrides.size() == 1);
        CHECK(*ry.calendar->all[0].overrides[0].recurrence_id == config::civil{2027, 3, 28, 2, 30, 0});
    }
    // a time an hour later than no gap names nothing
    s.events[0].exdates = {local(2027, 4, 4, 3, 30, 8)};
    CHECK(problems_of(build(s)).find("exdate 2027-04-04T03:30:00 matches no occurrence") !=
          std::string::npos);
}

TEST_CASE("an exdate of an event without rrule is a warning that says so", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule.clear();
    s.events[0].exdates = {local(2026, 12, 3, 18, 30, 8)};
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK(problems_of(r) == "events.d/casapero.toml:8:15: warning: exdate 2026-12-03T18:30:00 of "
                            "'casapero' has no effect: the event has no rrule\n");
    CHECK(r.calendar->all[0].exdates.empty());
}

TEST_CASE("an UNTIL before the start is an error", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule = "FREQ=MONTHLY;BYDAY=1TH;UNTIL=20261101";
    const build_result r = build(s);
    CHECK(!r.calendar);
    CHECK(problems_of(r) == "events.d/casapero.toml:7:15: error: UNTIL of 'casapero' is before "
                            "its start (2026-12-03T18:30:00): the rule gives no occurrence\n");
    // The start's own day still counts: a one-occurrence series.
    s.events[0].rrule = "FREQ=MONTHLY;BYDAY=1TH;UNTIL=20261203";
    CHECK(problems_of(build(s)).empty());
}

TEST_CASE("an end that falls after the year 9999 is an error", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule.clear();
    s.events[0].start = local(9999, 12, 31, 18, 30, 5);
    s.events[0].end = local(10000, 1, 1, 1, 0, 6);
    CHECK(problems_of(build(s)) == "events.d/casapero.toml:6:15: error: end of event 'casapero' "
                                   "falls after the year 9999\n");
    s.events[0].end.reset();
    s.events[0].duration = config::duration{99999999, 0, "P99999999D", pos(6, 12)};
    CHECK(problems_of(build(s)) == "events.d/casapero.toml:6:12: error: end of event 'casapero' "
                                   "falls after the year 9999\n");
    // All day, the last day inclusive: DTEND is the day after it.
    s.events[0].start = config::when{config::when::kind::date, {9999, 12, 31}, pos(5, 9)};
    s.events[0].duration.reset();
    CHECK(problems_of(build(s)) == "events.d/casapero.toml:5:9: error: end of event 'casapero' "
                                   "falls after the year 9999\n");
    s.events[0].start = config::when{config::when::kind::date, {9999, 12, 30}, pos(5, 9)};
    CHECK(problems_of(build(s)).empty());
}

TEST_CASE("a start its rule does not give is a warning", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].start = local(2026, 12, 2, 18, 30, 5); // a Wednesday; the rule gives Thursdays
    s.events[0].end = local(2026, 12, 2, 21, 0, 6);
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK(problems_of(r) ==
          "events.d/casapero.toml:7:15: warning: the start of 'casapero' (2026-12-02T18:30:00) is "
          "not a date its rule gives, and calendar clients differ on whether it is an occurrence: "
          "start the event on its first occurrence\n");
    CHECK(problems_of(build(casapero_site())).empty());
}

TEST_CASE("a rule that repeats more often than hourly is a warning", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].rrule = "FREQ=MINUTELY;INTERVAL=30;COUNT=4";
    const build_result r = build(s);
    REQUIRE(r.calendar);
    CHECK_THAT(problems_of(r),
               Catch::Contains("warning: 'casapero' repeats more often than hourly "
                               "(FREQ=MINUTELY;INTERVAL=30;COUNT=4); each occurrence gets its own "
                               "reminders"));
    s.events[0].rrule = "FREQ=HOURLY;COUNT=4";
    CHECK(problems_of(build(s)).find("hourly") == std::string::npos);
}

TEST_CASE("site_midnight is local midnight in the site zone", "[calendar]") {
    const build_result r = build(casapero_site());
    REQUIRE(r.calendar);
    CHECK(site_midnight(*r.calendar, {2026, 12, 3}) == seconds_of({2026, 12, 2, 23, 0, 0}));
    CHECK(site_midnight(*r.calendar, {2027, 7, 1}) == seconds_of({2027, 6, 30, 22, 0, 0}));
    CHECK(&site_of(*r.calendar) != nullptr);
}

TEST_CASE("CSS3 colour names approximate hex colours", "[calendar]") {
    CHECK(css_color_name("#e67e22") == "chocolate");
    CHECK(css_color_name("#ff0000") == "red");
    CHECK(css_color_name("#FFFFFE") == "white");
    CHECK(css_color_name("") == "");
    CHECK(css_color_name("#zzzzzz") == "");
}

TEST_CASE("build records the end of a series' last occurrence", "[calendar]") {
    config::site s = base_site();
    config::event_def e = casapero();
    e.rrule = "FREQ=MONTHLY;BYDAY=1TH;COUNT=3";
    e.exdates = {local(2027, 2, 4, 18, 30, 9)};
    s.events.push_back(e);
    config::event_def open = casapero();
    open.id = "open";
    s.events.push_back(open);
    build_result r = build(s);
    REQUIRE(r.calendar);
    const series* bounded = r.calendar->find("casapero@casaco.example");
    REQUIRE(bounded);
    // The third occurrence is excluded: the second, 2027-01-07 21:00 CET, is the last.
    CHECK(bounded->last_end == std::optional<unix_time>(seconds_of({2027, 1, 7, 20, 0, 0})));
    CHECK_FALSE(r.calendar->find("open@casaco.example")->last_end);
}

TEST_CASE("a rebuild copies the series of events copied from the previous load", "[calendar]") {
    // Two events in one file; the second has a time in the spring gap (a
    // warning), so it is built again whatever happens.
    const auto site_with = [](const std::string& title) {
        config::site s = casapero_site();
        s.main_file = "casacal.toml";
        s.main_stamp = config::file_stamp{100, 1, 2, 3, 4};
        s.events[0].title = title;
        config::event_def gap = casapero();
        gap.id = "gap";
        gap.title = title;
        gap.start = local(2027, 3, 28, 2, 30);
        gap.end = local(2027, 3, 28, 4, 0);
        gap.rrule.clear();
        s.events.push_back(gap);
        config::events_source src;
        src.name = "a.toml";
        src.count = s.events.size();
        s.sources = {src};
        return s;
    };
    const build_result first = build(site_with("Before"));
    REQUIRE(first.calendar);
    CHECK(first.calendar->noted == std::vector<std::string>{"gap"});

    // What load says was copied is taken from the previous model: a site
    // whose events say otherwise shows it.
    config::site again = site_with("After");
    again.sources[0].previous_first = 0;
    const build_result reused = build(again, 2, first.calendar.get());
    REQUIRE(reused.calendar);
    CHECK(reused.calendar->find("casapero@casaco.example")->master.title == "Before");
    CHECK(reused.calendar->find("gap@casaco.example")->master.title == "After");
    CHECK(problems_of(reused) == problems_of(first)); // the warning is given again

    // Not copied, or another main file: built again.
    const build_result fresh = build(site_with("After"), 2, first.calendar.get());
    CHECK(fresh.calendar->find("casapero@casaco.example")->master.title == "After");
    config::site other_main = again;
    other_main.main_stamp->ctime_ns += 1;
    const build_result rebuilt = build(other_main, 2, first.calendar.get());
    CHECK(rebuilt.calendar->find("casapero@casaco.example")->master.title == "After");
}
