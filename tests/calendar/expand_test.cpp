#include "calendar/model.hpp"
#include "fixture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace casacal;
using namespace casacal::calendar;
using namespace casacal::calendar::testing;

namespace {

std::shared_ptr<const model> built(const config::site& s) {
    build_result r = build(s);
    REQUIRE(r.calendar);
    return r.calendar;
}

std::string rfc3339(const occurrence& o) {
    return iso_text(o.start_local) + offset_text(o.start_offset);
}

/// The starts of `s`'s occurrences until 2028, as RFC 3339 text.
std::vector<std::string> starts_until_2028(const config::site& s) {
    std::vector<std::string> out;
    for (const auto& o : expand(*built(s), 0, seconds_of({2028, 1, 1})))
        out.push_back(rfc3339(o));
    return out;
}

} // namespace

TEST_CASE("a monthly 18:30 stays at 18:30 local across the DST change", "[calendar]") {
    const auto m = built(casapero_site());
    const auto list = expand(*m, site_midnight(*m, {2027, 3, 1}), site_midnight(*m, {2027, 4, 30}));
    REQUIRE(list.size() == 2);
    CHECK(rfc3339(list[0]) == "2027-03-04T18:30:00+01:00");
    CHECK(rfc3339(list[1]) == "2027-04-01T18:30:00+02:00");
    CHECK(list[0].start == seconds_of({2027, 3, 4, 17, 30, 0}));
    CHECK(list[1].start == seconds_of({2027, 4, 1, 16, 30, 0}));
    CHECK(list[1].end - list[1].start == 9000);
    CHECK(list[1].recurrence_id == "2027-04-01T18:30:00+02:00");
}

TEST_CASE("a daily occurrence in the spring gap follows RFC 5545", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].start = local(2027, 3, 27, 2, 30);
    s.events[0].end = local(2027, 3, 27, 3, 0);
    s.events[0].rrule = "FREQ=DAILY;COUNT=3";
    const auto m = built(s);
    const auto list = expand(*m, 0, seconds_of({2028, 1, 1}));
    REQUIRE(list.size() == 3);
    CHECK(rfc3339(list[0]) == "2027-03-27T02:30:00+01:00");
    CHECK(rfc3339(list[1]) == "2027-03-28T03:30:00+02:00");
    CHECK(list[1].start == seconds_of({2027, 3, 28, 1, 30, 0}));
    CHECK(list[1].original_start == config::civil{2027, 3, 28, 2, 30, 0});
    CHECK(rfc3339(list[2]) == "2027-03-29T02:30:00+02:00");
}

TEST_CASE("an hourly rule across the spring gap gives each instant once", "[calendar]") {
    // 02:30 does not exist and reads as 03:30, which the rule gives too:
    // one instance (RFC 5545 §3.8.5.3), and an exdate of either removes it.
    config::site s = casapero_site();
    s.events[0].start = local(2027, 3, 28, 0, 30);
    s.events[0].end = local(2027, 3, 28, 0, 45);
    s.events[0].rrule = "FREQ=HOURLY;COUNT=5";
    const auto list = expand(*built(s), 0, seconds_of({2028, 1, 1}));
    CHECK(starts_until_2028(s) ==
          std::vector<std::string>{"2027-03-28T00:30:00+01:00", "2027-03-28T01:30:00+01:00",
                                   "2027-03-28T03:30:00+02:00", "2027-03-28T04:30:00+02:00"});
    // named by the time that exists, as clients name it
    REQUIRE(list.size() == 4);
    CHECK(list[2].original_start == config::civil{2027, 3, 28, 3, 30, 0});
    for (const auto& gone : {local(2027, 3, 28, 3, 30), local(2027, 3, 28, 2, 30)}) {
        config::site x = s;
        x.events[0].exdates = {gone};
        CHECK(starts_until_2028(x) == std::vector<std::string>{"2027-03-28T00:30:00+01:00",
                                                               "2027-03-28T01:30:00+01:00",
                                                               "2027-03-28T04:30:00+02:00"});
    }
}

TEST_CASE("gap times a sub-daily rule gives before their twins are each one instance",
          "[calendar]") {
    config::site s = casapero_site();
    s.events[0].start = local(2027, 3, 28, 1, 0);
    s.events[0].end = local(2027, 3, 28, 1, 10);
    // 01:00 01:30 02:00 02:30 03:00 03:30 04:00: 02:00 and 02:30 do not exist,
    // and read as 03:00 and 03:30, which the rule gives next.
    s.events[0].rrule = "FREQ=HOURLY;BYMINUTE=0,30;COUNT=7";
    const auto list = expand(*built(s), 0, seconds_of({2028, 1, 1}));
    CHECK(starts_until_2028(s) ==
          std::vector<std::string>{"2027-03-28T01:00:00+01:00", "2027-03-28T01:30:00+01:00",
                                   "2027-03-28T03:00:00+02:00", "2027-03-28T03:30:00+02:00",
                                   "2027-03-28T04:00:00+02:00"});
    REQUIRE(list.size() == 5);
    CHECK(list[2].original_start == config::civil{2027, 3, 28, 3, 0, 0});
    CHECK(list[3].original_start == config::civil{2027, 3, 28, 3, 30, 0});
    // either time excludes it, and only it
    for (const auto& gone : {local(2027, 3, 28, 2, 0), local(2027, 3, 28, 3, 0)}) {
        config::site x = s;
        x.events[0].exdates = {gone};
        CHECK(starts_until_2028(x) ==
              std::vector<std::string>{"2027-03-28T01:00:00+01:00", "2027-03-28T01:30:00+01:00",
                                       "2027-03-28T03:30:00+02:00", "2027-03-28T04:00:00+02:00"});
    }
}

TEST_CASE("a weekly occurrence in the autumn overlap is the first instant", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].start = local(2027, 10, 24, 2, 30);
    s.events[0].end = local(2027, 10, 24, 3, 0);
    s.events[0].rrule = "FREQ=WEEKLY;COUNT=2";
    const auto list = expand(*built(s), 0, seconds_of({2028, 1, 1}));
    REQUIRE(list.size() == 2);
    CHECK(rfc3339(list[1]) == "2027-10-31T02:30:00+02:00");
    CHECK(list[1].start == seconds_of({2027, 10, 31, 0, 30, 0}));
}

TEST_CASE("expansion applies exdates, overrides and the window", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].exdates = {local(2027, 1, 7, 18, 30)};
    config::override_def moved;
    moved.recurrence_id = local(2027, 2, 4, 18, 30);
    moved.start = local(2027, 3, 1, 19, 0); // moved into the next month
    config::override_def cancelled;
    cancelled.recurrence_id = local(2027, 3, 4, 18, 30);
    cancelled.status = config::status::cancelled;
    s.events[0].overrides = {moved, cancelled};
    const auto m = built(s);
    const auto list = expand(*m, site_midnight(*m, {2027, 1, 1}), site_midnight(*m, {2027, 4, 1}));
    REQUIRE(list.size() == 1);
    CHECK(rfc3339(list[0]) == "2027-03-01T19:00:00+01:00");
    CHECK(list[0].moved);
    CHECK(list[0].recurrence_id == "2027-02-04T18:30:00+01:00");
    CHECK(expand(*m, site_midnight(*m, {2027, 1, 1}), site_midnight(*m, {2027, 4, 1}), "weekend")
              .empty());
}

TEST_CASE(
    "an all-day date in another zone is listed on its date, as the feed's floating date reads",
    "[calendar]") {
    // The site is in Paris; an all-day event in Auckland (12 hours ahead)
    // and one in New York (6 hours behind) on 10 June, a timed one at 00:30
    // Paris that day. Clients show a VALUE=DATE on its date whatever zone.
    config::site s = casapero_site();
    s.events[0].rrule.clear();
    s.events[0].start = local(2027, 6, 10, 0, 30);
    s.events[0].end = local(2027, 6, 10, 1, 0);
    for (const auto& [id, zone] :
         {std::pair{"auckland", "Pacific/Auckland"}, std::pair{"new-york", "America/New_York"}}) {
        config::event_def e = casapero();
        e.id = id;
        e.rrule = "FREQ=YEARLY;COUNT=2";
        e.timezone = zone;
        e.start = day(2027, 6, 10);
        e.end.reset();
        s.events.push_back(e);
    }
    const auto m = built(s);
    const auto ids = [&](int from_day, int to_day) {
        std::vector<std::string> out;
        for (const occurrence& o : expand(*m, site_midnight(*m, {2027, 6, from_day}),
                                          site_midnight(*m, {2027, 6, to_day})))
            out.push_back(o.event_id);
        return out;
    };
    CHECK(ids(10, 11) == std::vector<std::string>{"auckland", "new-york", "casapero"});
    CHECK(ids(9, 10).empty());
    CHECK(ids(11, 12).empty());
    // Reminders still go by the start in the event's own zone.
    const auto list =
        expand(*m, site_midnight(*m, {2027, 6, 10}), site_midnight(*m, {2027, 6, 11}));
    CHECK(list[0].start == seconds_of({2027, 6, 9, 12, 0, 0}));
    CHECK(list[1].start == seconds_of({2027, 6, 10, 4, 0, 0}));
    CHECK(m->listing_shift == 2 * 86400);
    CHECK(built(casapero_site())->listing_shift == 0);
}

TEST_CASE("a cancelled event expands with status cancelled", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].status = config::status::cancelled;
    const auto m = built(s);
    const auto list = expand(*m, site_midnight(*m, {2026, 12, 1}), site_midnight(*m, {2027, 1, 1}));
    REQUIRE(list.size() == 1);
    CHECK(list[0].status == config::status::cancelled);
}

TEST_CASE("expand_event keeps one event or programme, not those whose id it prefixes", "[calendar]") {
    config::site s = casapero_site();
    config::event_def other = casapero(); // "casapero-x" sorts among "casapero"'s UIDs
    other.id = "casapero-x";
    other.rrule.clear();
    config::event_def weekend;
    weekend.programme = true;
    weekend.id = "casapero-weekend";
    weekend.title = "Week-end";
    weekend.category = "weekend";
    for (int d : {12, 13}) {
        config::session_def session;
        session.title = "Jour " + std::to_string(d - 11);
        session.start = local(2026, 12, d, 10, 0);
        session.end = local(2026, 12, d, 12, 0);
        weekend.sessions.push_back(session);
    }
    s.events = {casapero(), other, weekend};
    const auto m = built(s);
    const unix_time from = site_midnight(*m, {2026, 12, 1}), to = site_midnight(*m, {2027, 2, 1});
    const auto apero = expand_event(*m, "casapero", from, to);
    REQUIRE(apero.size() == 2);
    CHECK(rfc3339(apero[0]) == "2026-12-03T18:30:00+01:00");
    CHECK(rfc3339(apero[1]) == "2027-01-07T18:30:00+01:00");
    CHECK(apero[1].event_id == "casapero");
    const auto sessions = expand_event(*m, "casapero-weekend", from, to);
    REQUIRE(sessions.size() == 2);
    CHECK(sessions[0].title == "Week-end — Jour 1");
    CHECK(sessions[1].session == 2);
    CHECK(expand_event(*m, "casapero-x", from, to).size() == 1);
    CHECK(expand_event(*m, "casap", from, to).empty());
}

TEST_CASE("agenda_json writes the documented document", "[calendar]") {
    config::site s = casapero_site();
    config::event_def e;
    e.id = "marche";
    e.title = "Marché de Noël";
    e.category = "weekend";
    e.start = day(2026, 12, 12);
    e.end = day(2026, 12, 13);
    s.events.push_back(e);
    const auto m = built(s);
    const auto list =
        expand(*m, site_midnight(*m, {2026, 12, 1}), site_midnight(*m, {2026, 12, 31}));
    CHECK(
        agenda_json(list) ==
        R"({"occurrences":[)"
        R"({"uid":"casapero@casaco.example","event":"casapero","title":"Casapéro",)"
        R"("category":"apero","start":"2026-12-03T18:30:00+01:00","end":"2026-12-03T21:00:00+01:00",)"
        R"("all_day":false,"location":"Espace convivial, rez-de-chaussée","status":"confirmed",)"
        R"("recurrence_id":"2026-12-03T18:30:00+01:00","url":"https://agenda.casaco.example/events/casapero"},)"
        R"({"uid":"marche@casaco.example","event":"marche","title":"Marché de Noël",)"
        R"("category":"weekend","start":"2026-12-12","end":"2026-12-14","all_day":true,)"
        R"("location":"","status":"confirmed","recurrence_id":null,)"
        R"("url":"https://agenda.casaco.example/events/marche"}]})");
    CHECK(agenda_json({}) == R"({"occurrences":[]})");
}

TEST_CASE("agenda_json escapes text as JSON requires", "[calendar]") {
    occurrence o;
    o.uid = "u@x";
    o.event_id = "e";
    o.title = "a\"b\\c\nd\te\x01" "f\x7f Noël";
    o.category = "c";
    o.url = "https://x/e";
    CHECK(agenda_json({o}) ==
          R"({"occurrences":[{"uid":"u@x","event":"e","title":"a\"b\\c\nd\te\u0001f)"
          "\x7f"
          R"( Noël","category":"c","start":"1970-01-01T00:00:00+00:00",)"
          R"("end":"1970-01-01T00:00:00+00:00","all_day":false,"location":"",)"
          R"("status":"confirmed","recurrence_id":null,"url":"https://x/e"}]})");
    o.title = "\xC3("; // not UTF-8: refused as nlohmann::json refuses it
    CHECK_THROWS(agenda_json({o}));
}

TEST_CASE("agenda_json escapes long texts as nlohmann::json does, at any offset", "[calendar]") {
    // Texts longer than a word, with each kind of byte to escape (and UTF-8)
    // at every position around the word boundaries.
    const std::string plain = "Atelier compta : apportez vos questions, à 18h30 !";
    for (const std::string special : {"\"", "\\", "\n", "\x01", "\x1f", "é", "\x7f"}) {
        for (std::size_t at = 0; at <= 20; ++at) {
            occurrence o;
            o.uid = "u@x";
            o.title = plain.substr(0, at) + special + plain.substr(at);
            o.location = std::string(at, 'x') + special;
            INFO(o.title);
            const auto doc = nlohmann::json::parse(agenda_json({o}));
            CHECK(doc["occurrences"][0]["title"] == o.title);
            CHECK(doc["occurrences"][0]["location"] == o.location);
            const std::string text = agenda_json({o});
            CHECK(text.find(nlohmann::json(o.title).dump()) != std::string::npos);
        }
    }
    occurrence o;
    o.title = plain + "\xC3"; // not UTF-8 after a run of ASCII words
    CHECK_THROWS(agenda_json({o}));
}

TEST_CASE("any window holds what the whole expansion holds there, on any number of threads",
          "[calendar]") {
    // Series of every kind: zoned weekly across both DST changes (with an
    // exdate and a moved occurrence), UTC daily with an UNTIL, all-day
    // monthly, a COUNT rule (stepped, not sought) and a single event.
    config::site s = base_site();
    const auto add = [&](const std::string& id, config::when start, config::when end,
                         const std::string& rrule) {
        config::event_def e = casapero();
        e.id = id;
        e.start = start;
        e.end = end;
        e.rrule = rrule;
        s.events.push_back(e);
    };
    add("weekly", local(2027, 1, 5, 2, 30), local(2027, 1, 5, 4, 0), "FREQ=WEEKLY;BYDAY=TU");
    s.events.back().exdates = {local(2027, 3, 30, 2, 30)};
    config::override_def moved;
    moved.recurrence_id = local(2027, 6, 1, 2, 30);
    moved.start = local(2027, 5, 20, 9, 0);
    moved.end = local(2027, 5, 20, 10, 0);
    s.events.back().overrides = {moved};
    add("daily-utc", utc(2027, 2, 1, 23, 30), utc(2027, 2, 2, 0, 30),
        "FREQ=DAILY;INTERVAL=3;UNTIL=20271201T000000Z");
    add("monthly-day", day(2027, 1, 31), day(2027, 1, 31), "FREQ=MONTHLY;BYMONTHDAY=-1");
    add("counted", local(2027, 3, 1, 18, 0), local(2027, 3, 1, 19, 0), "FREQ=WEEKLY;COUNT=30");
    add("single", local(2027, 10, 31, 2, 30), local(2027, 10, 31, 3, 30), "");
    const auto m = built(s);

    const unix_time first = seconds_of({2026, 12, 1}), last = seconds_of({2028, 3, 1});
    const auto all = expand(*m, first, last);
    REQUIRE(all.size() > 150);
    const auto key = [](const occurrence& o) { return o.uid + " " + o.recurrence_id + " " + rfc3339(o); };
    for (unix_time from = first; from < last; from += 86400 * 17 + 3600 * 7) {
        for (const unix_time length : {unix_time{3600}, unix_time{86400 * 8}, unix_time{86400 * 95}}) {
            if (from + length > last) continue;
            std::vector<std::string> want;
            for (const occurrence& o : all)
                if (o.start >= from && o.start < from + length) want.push_back(key(o));
            for (const unsigned threads : {1u, 2u}) {
                std::vector<std::string> got;
                for (const occurrence& o : expand(*m, from, from + length, {}, threads))
                    got.push_back(key(o));
                INFO("from " << iso_text(civil_of(from)) << " for " << length << " s");
                CHECK(got == want);
            }
        }
    }
}
