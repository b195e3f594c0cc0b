#include "calendar/zone.hpp"
#include "fixture.hpp"

#include <catch2/catch.hpp>
#include <libical/ical.h>

using namespace casacal;
using namespace casacal::calendar;

namespace {

std::string instant(unix_time t) {
    return iso_text(civil_of(t)) + "Z";
}

/// `c` as a libical date-time, floating or in UTC.
icaltimetype ical(const config::civil& c, bool utc = false) {
    icaltimetype t = icaltime_null_time();
    t.year = c.year;
    t.month = c.month;
    t.day = c.day;
    t.hour = c.hour;
    t.minute = c.minute;
    t.second = c.second;
    if (utc) t.zone = icaltimezone_get_utc_timezone();
    return t;
}

unix_time libical_to_utc(zone_ptr zone, const config::civil& c) {
    return icaltime_as_timet_with_zone(ical(c), zone);
}

} // namespace

TEST_CASE("civil day arithmetic round-trips", "[calendar]") {
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
    CHECK(civil_from_days(11017) == config::civil{2000, 3, 1, 0, 0, 0});
    CHECK(add_days(config::civil{2027, 2, 28, 18, 30, 0}, 1) ==
          config::civil{2027, 3, 1, 18, 30, 0});
    CHECK(civil_of(-1) == config::civil{1969, 12, 31, 23, 59, 59});
    CHECK(offset_text(-5 * 3600 - 1800) == "-05:30");
    CHECK(rfc3339_text({2027, 3, 8, 20, 0, 0}, -5 * 3600) == "2027-03-08T20:00:00-05:00");
}

TEST_CASE("an offset with seconds is written in UTC, which RFC 3339 can say", "[calendar]") {
    zone_ptr monrovia = find_zone("Africa/Monrovia");
    REQUIRE(monrovia);
    int offset = 0;
    const config::civil local =
        to_local(monrovia, to_utc(monrovia, {1971, 6, 1, 10, 0, 0}).utc, &offset);
    CHECK(offset == -(44 * 60 + 30));
    CHECK(rfc3339_text(local, offset) == "1971-06-01T10:44:30Z");
}

TEST_CASE("wall clock away from DST edges maps to one instant", "[calendar]") {
    zone_ptr paris = find_zone("Europe/Paris");
    REQUIRE(paris);
    const resolved_time winter = to_utc(paris, {2026, 12, 3, 18, 30, 0});
    CHECK(instant(winter.utc) == "2026-12-03T17:30:00Z");
    CHECK(winter.offset == 3600);
    CHECK(winter.kind == fold::none);
    const resolved_time summer = to_utc(paris, {2027, 7, 1, 18, 30, 0});
    CHECK(instant(summer.utc) == "2027-07-01T16:30:00Z");
    CHECK(summer.kind == fold::none);
}

TEST_CASE("a time in the spring gap reads with the offset before the gap", "[calendar]") {
    zone_ptr paris = find_zone("Europe/Paris");
    const config::civil gap{2027, 3, 28, 2, 30, 0};
    const resolved_time r = to_utc(paris, gap);
    CHECK(r.kind == fold::gap);
    CHECK(instant(r.utc) == "2027-03-28T01:30:00Z");
    int offset = 0;
    CHECK(iso_text(to_local(paris, r.utc, &offset)) == "2027-03-28T03:30:00");
    CHECK(offset == 7200);
    CHECK(fold_warning(gap, "Europe/Paris", r, paris) ==
          "2027-03-28T02:30:00 does not exist in Europe/Paris (clocks go forward); read as 03:30 "
          "(UTC+02:00) per RFC 5545");
    // libical's own conversion disagrees with RFC 5545 here.
    CHECK(instant(libical_to_utc(paris, gap)) != instant(r.utc));
}

TEST_CASE("a time in the autumn overlap reads as the first instant", "[calendar]") {
    zone_ptr paris = find_zone("Europe/Paris");
    const config::civil twice{2027, 10, 31, 2, 30, 0};
    const resolved_time r = to_utc(paris, twice);
    CHECK(r.kind == fold::overlap);
    CHECK(instant(r.utc) == "2027-10-31T00:30:00Z");
    CHECK(r.offset == 7200);
    CHECK(fold_warning(twice, "Europe/Paris", r, paris) ==
          "2027-10-31T02:30:00 happens twice in Europe/Paris; read as the first (UTC+02:00) per "
          "RFC 5545");
    CHECK(instant(libical_to_utc(paris, twice)) == "2027-10-31T01:30:00Z");
    // Just outside the overlap there is one reading.
    CHECK(to_utc(paris, {2027, 10, 31, 3, 0, 0}).kind == fold::none);
    CHECK(instant(to_utc(paris, {2027, 10, 31, 3, 0, 0}).utc) == "2027-10-31T02:00:00Z");
}

TEST_CASE("unknown zone names are not found", "[calendar]") {
    CHECK(find_zone("Europe/Pariss") == nullptr);
    CHECK(find_zone("") == nullptr);
    CHECK(find_zone("America/New_York") != nullptr);
}

TEST_CASE("VTIMEZONE keeps only open-ended rules in RRULE form", "[calendar]") {
    const std::vector<std::string> lines =
        vtimezone_lines(find_zone("Europe/Paris"), "Europe/Paris", 2026);
    std::string text;
    for (const std::string& l : lines)
        text += l + "\n";
    CHECK(text == "BEGIN:VTIMEZONE\n"
                  "TZID:Europe/Paris\n"
                  "BEGIN:DAYLIGHT\n"
                  "TZNAME:CEST\n"
                  "TZOFFSETFROM:+0100\n"
                  "TZOFFSETTO:+0200\n"
                  "DTSTART:19810329T020000\n"
                  "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\n"
                  "END:DAYLIGHT\n"
                  "BEGIN:STANDARD\n"
                  "TZNAME:CET\n"
                  "TZOFFSETFROM:+0200\n"
                  "TZOFFSETTO:+0100\n"
                  "DTSTART:19961027T030000\n"
                  "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\n"
                  "END:STANDARD\n"
                  "END:VTIMEZONE\n");
}

TEST_CASE("VTIMEZONE of a zone without DST starts before the feed", "[calendar]") {
    const std::vector<std::string> lines =
        vtimezone_lines(find_zone("Asia/Tokyo"), "Asia/Tokyo", 2026);
    REQUIRE(lines.size() >= 4);
    CHECK(lines[1] == "TZID:Asia/Tokyo");
    bool found = false;
    for (const std::string& l : lines)
        if (l.rfind("DTSTART:", 0) == 0) {
            found = true;
            CHECK(l <= "DTSTART:20260101T000000");
        }
    CHECK(found);
}

TEST_CASE("VTIMEZONE carries no trace of the 32-bit end of libical's tables", "[calendar]") {
    const auto text_of = [](const char* name) {
        std::string text;
        for (const std::string& l : vtimezone_lines(find_zone(name), name, 2027))
            text += l + "\n";
        return text;
    };
    // Santiago's September rule goes on past 2038 from -04:00, not -03:00.
    const std::string santiago = text_of("America/Santiago");
    CHECK(santiago.find("2038") == std::string::npos);
    CHECK(santiago.find("UNTIL") == std::string::npos);
    CHECK(santiago.find("TZOFFSETFROM:-0400\nTZOFFSETTO:-0300\nDTSTART:20230903T000000\n"
                        "RRULE:FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=2,3,4,5,6,7,8;BYDAY=SU\n") !=
          std::string::npos);
    // A zone without DST keeps one observance.
    const std::string sao_paulo = text_of("America/Sao_Paulo");
    CHECK(sao_paulo.find("2038") == std::string::npos);
    std::size_t observances = 0;
    for (std::size_t at = sao_paulo.find("BEGIN:STANDARD"); at != std::string::npos;
         at = sao_paulo.find("BEGIN:STANDARD", at + 1))
        ++observances;
    CHECK(observances == 1);
}

TEST_CASE("a VTIMEZONE part with RDATEs lists its DTSTART among them", "[calendar]") {
    // ical.js takes DTSTART as an onset only when a part has no RDATE:
    // Cairo's October 2023 change would be lost to it.
    const std::vector<std::string> lines = vtimezone_lines(find_zone("Africa/Cairo"), "Africa/Cairo", 2023);
    std::size_t parts_with_rdate = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!lines[i].starts_with("DTSTART:")) continue;
        std::size_t j = i + 1;
        while (j < lines.size() && !lines[j].starts_with("RDATE:") && !lines[j].starts_with("END:")) ++j;
        if (j == lines.size() || !lines[j].starts_with("RDATE:")) continue;
        ++parts_with_rdate;
        CHECK(lines[j] == "RDATE:" + lines[i].substr(8));
    }
    CHECK(parts_with_rdate > 0);
}

TEST_CASE("VTIMEZONE of UTC is one fixed rule", "[calendar]") {
    const std::vector<std::string> lines = vtimezone_lines(find_zone("UTC"), "UTC", 2026);
    REQUIRE(lines.size() == 9);
    CHECK(lines[1] == "TZID:UTC");
    CHECK(lines[5] == "TZOFFSETTO:+0000");
}

TEST_CASE("utc_offset gives libical's offset at every quarter hour of several years",
          "[calendar]") {
    // Zones with half-hour DST (Lord Howe), 45-minute offsets (Chatham),
    // DST dropped (Sao Paulo, 2019) and Ramadan breaks (Casablanca).
    for (const char* name : {"Europe/Paris", "America/New_York", "Australia/Lord_Howe",
                             "Pacific/Chatham", "America/Sao_Paulo", "Africa/Casablanca",
                             "Asia/Kolkata"}) {
        INFO(name);
        zone_ptr zone = find_zone(name);
        REQUIRE(zone);
        int mismatches = 0;
        for (unix_time t = seconds_of({2018, 1, 1}); t < seconds_of({2029, 1, 1}); t += 900) {
            const config::civil c = civil_of(t);
            icaltimetype tt = ical(c, true);
            int daylight = 0;
            const int direct = icaltimezone_get_utc_offset_of_utc_time(zone, &tt, &daylight);
            if (utc_offset(zone, t) != direct && ++mismatches < 5) {
                INFO(iso_text(c) << "Z");
                CHECK(utc_offset(zone, t) == direct);
            }
        }
        CHECK(mismatches == 0);
    }
}

TEST_CASE("decimal and parse_date read fixed-width digits and real dates only", "[calendar]") {
    CHECK(decimal("2027-01-07", 0, 4) == 2027);
    CHECK(decimal("2027-01-07", 8, 2) == 7);
    CHECK_FALSE(decimal("2027-01-07", 3, 2)); // '7-'
    CHECK_FALSE(decimal("2027", 2, 3));       // past the end
    CHECK_FALSE(decimal("2027", 5, 1));
    const auto d = parse_date("2028-02-29");
    REQUIRE(d);
    CHECK((d->year == 2028 && d->month == 2 && d->day == 29 && d->hour == 0));
    for (const char* bad :
         {"2027-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-01-00", "1899-12-31",
          "2026-1-01", "2026-01-011", "2026/01/01", "2026-01-0a", ""})
        CHECK_FALSE(parse_date(bad));
}

TEST_CASE("a VTIMEZONE cut while a summer time since abolished ran keeps that summer",
          "[calendar]") {
    // Brazil's last summer time began on 2018-11-04 and ended on
    // 2019-02-17; libical's cut at December 2018 dropped its part and kept
    // the rule of the Februaries, so readers placed January 2019 at -03.
    const std::vector<std::string> lines =
        vtimezone_lines(find_zone("America/Sao_Paulo"), "America/Sao_Paulo", 2019);
    std::string text;
    for (const auto& l : lines)
        text += l + "\n";
    CHECK(text.find("BEGIN:DAYLIGHT\nTZOFFSETFROM:-0300\nTZOFFSETTO:-0200\n"
                    "DTSTART:20181104T000000\nEND:DAYLIGHT\n") != std::string::npos);
    // What libical reads back from it on 2019-01-06 at noon: -02.
    icalcomponent* vtz =
        icalparser_parse_string(("BEGIN:VCALENDAR\n" + text + "END:VCALENDAR\n").c_str());
    REQUIRE(vtz);
    icaltimezone* read = icaltimezone_new();
    icaltimezone_set_component(read, icalcomponent_new_clone(icalcomponent_get_first_component(
                                         vtz, ICAL_VTIMEZONE_COMPONENT)));
    icaltimetype noon = icaltime_from_string("20190106T140000Z");
    int dst = 0;
    CHECK(icaltimezone_get_utc_offset_of_utc_time(read, &noon, &dst) == -7200);
    icaltimezone_free(read, 1);
    icalcomponent_free(vtz);
    // A zone whose cut needs nothing put back is as it was.
    const auto paris = vtimezone_lines(find_zone("Europe/Paris"), "Europe/Paris", 2026);
    CHECK(std::count(paris.begin(), paris.end(), "BEGIN:DAYLIGHT") == 1);
}
