#include "calendar/ics_writer.hpp"
#include "calendar/model.hpp"
#include "fixture.hpp"

#include <catch2/catch.hpp>

#include <libical/ical.h>
#include <limits>
#include <set>

using namespace casacal;
using namespace casacal::calendar;
using namespace casacal::calendar::testing;

namespace {

constexpr unix_time now_2026_11_24 = 1795536000; // 2026-11-24T16:00:00Z

config::site full_site() {
    config::site s = casapero_site();
    config::override_def moved;
    moved.recurrence_id = local(2027, 2, 4, 18, 30);
    moved.start = local(2027, 2, 5, 19, 0);
    moved.title = "Casapéro spécial";
    config::override_def cancelled;
    cancelled.recurrence_id = local(2027, 3, 4, 18, 30);
    cancelled.status = config::status::cancelled;
    s.events[0].overrides = {moved, cancelled};
    s.events[0].exdates = {local(2027, 1, 7, 18, 30)};
    config::event_def w;
    w.programme = true;
    w.id = "weekend-entrepreneurs-2026-12";
    w.title = "Week-end entrepreneurial";
    w.category = "weekend";
    w.description = "Deux jours pour tester son idée.";
    config::session_def pitch;
    pitch.title = "Pitchs";
    pitch.start = local(2026, 12, 12, 10, 0);
    pitch.end = local(2026, 12, 12, 12, 0);
    pitch.location = "Salle 2";
    config::session_def workshop;
    workshop.title = "Ateliers business model";
    workshop.start = local(2026, 12, 12, 14, 0);
    workshop.end = local(2026, 12, 12, 18, 0);
    w.sessions = {pitch, workshop};
    s.events.push_back(w);
    return s;
}

std::shared_ptr<const model> built(const config::site& s) {
    build_result r = build(s);
    REQUIRE(r.calendar);
    return r.calendar;
}

const std::string& feed(const std::vector<rendered_feed>& feeds, const std::string& path) {
    for (const rendered_feed& f : feeds)
        if (f.path == path) return f.body;
    FAIL("no feed " << path);
    static const std::string none;
    return none;
}

/// The unfolded lines between BEGIN:VEVENT and END:VEVENT of the first
/// VEVENT whose UID line is `uid`, joined by "\n".
std::string vevent_text(const std::string& body, const std::string& uid, int nth = 0) {
    const std::string text = unfold(body);
    std::size_t at = 0;
    for (int i = 0; i <= nth; ++i) {
        at = text.find("BEGIN:VEVENT\nUID:" + uid + "\n", at + (i ? 1 : 0));
        if (at == std::string::npos) return {};
    }
    const std::size_t end = text.find("END:VEVENT\n", at);
    return text.substr(at, end + 11 - at);
}

} // namespace

TEST_CASE("a recurring event renders as master, override and EXDATE", "[calendar]") {
    const auto m = built(full_site());
    const revision_map revisions{{"casapero@casaco.example", {3, 1795000000}}};
    const auto feeds = render_feeds(*m, revisions, now_2026_11_24);
    const std::string& all = feed(feeds, "/calendar.ics");
    CHECK(vevent_text(all, "casapero@casaco.example") ==
          "BEGIN:VEVENT\n"
          "UID:casapero@casaco.example\n"
          "DTSTAMP:20261118T110640Z\n"
          "LAST-MODIFIED:20261118T110640Z\n"
          "SEQUENCE:3\n"
          "DTSTART;TZID=Europe/Paris:20261203T183000\n"
          "DTEND;TZID=Europe/Paris:20261203T210000\n"
          "RRULE:FREQ=MONTHLY;BYDAY=1TH\n"
          "EXDATE;TZID=Europe/Paris:20270107T183000,20270304T183000\n"
          "SUMMARY:Casapéro\n"
          "DESCRIPTION:Apéro mensuel des coworkers.\\nChacun apporte quelque chose \\; on "
          "s'occupe des boissons.\\n\\nTarif : Prix libre\n"
          "LOCATION:Espace convivial\\, rez-de-chaussée\n"
          "CATEGORIES:Apéros\n"
          "ORGANIZER;CN=\"Aurélien\":mailto:aurelien@casaco.example\n"
          "URL:https://agenda.casaco.example/events/casapero\n"
          "STATUS:CONFIRMED\n"
          "COLOR:chocolate\n"
          "END:VEVENT\n");
    const std::string override_event = vevent_text(all, "casapero@casaco.example", 1);
    CHECK(override_event.find("DTSTART;TZID=Europe/Paris:20270205T190000\n"
                              "DTEND;TZID=Europe/Paris:20270205T213000\n"
                              "RECURRENCE-ID;TZID=Europe/Paris:20270204T183000\n"
                              "SUMMARY:Casapéro spécial\n") != std::string::npos);
    CHECK(override_event.find("RRULE") == std::string::npos);
}

TEST_CASE("a rule over a UTC start is written in Etc/GMT, the same instants on any reading",
          "[calendar]") {
    // A feed's UTC times are read on its X-WR-TIMEZONE's wall clock by some
    // clients (python's x_wr_timezone, after Google): a weekly 09:00Z would
    // then move to 08:00Z in summer. Etc/GMT has no DST and no such reading.
    config::site s = casapero_site();
    s.events[0].start = utc(2027, 3, 16, 9, 0);
    s.events[0].end = utc(2027, 3, 16, 10, 0);
    s.events[0].rrule = "FREQ=WEEKLY;COUNT=4";
    s.events[0].exdates = {utc(2027, 3, 23, 9, 0)};
    config::override_def moved;
    moved.recurrence_id = utc(2027, 3, 30, 9, 0);
    moved.start = utc(2027, 3, 30, 11, 0);
    s.events[0].overrides = {moved};
    config::event_def single = casapero();
    single.id = "once";
    single.rrule.clear();
    single.start = utc(2027, 3, 16, 9, 0);
    single.end = utc(2027, 3, 16, 10, 0);
    s.events.push_back(single);
    const auto m = built(s);
    const auto feeds = render_feeds(*m, {}, now_2026_11_24);
    const std::string& all = feed(feeds, "/calendar.ics");
    const std::string master = vevent_text(all, "casapero@casaco.example");
    CHECK(master.find("DTSTART;TZID=Etc/GMT:20270316T090000\n"
                      "DTEND;TZID=Etc/GMT:20270316T100000\n"
                      "RRULE:FREQ=WEEKLY;COUNT=4\n"
                      "EXDATE;TZID=Etc/GMT:20270323T090000\n") != std::string::npos);
    CHECK(vevent_text(all, "casapero@casaco.example", 1)
              .find("DTSTART:20270330T110000Z\nDTEND:20270330T120000Z\n"
                    "RECURRENCE-ID;TZID=Etc/GMT:20270330T090000\n") != std::string::npos);
    CHECK(vevent_text(all, "once@casaco.example").find("DTSTART:20270316T090000Z\n") !=
          std::string::npos);
    CHECK(all.find("BEGIN:VTIMEZONE\r\nTZID:Etc/GMT\r\n") != std::string::npos);
    // The single event alone needs no zone but the site's.
    CHECK(feed(feeds, "/events/once.ics").find("TZID:Etc/GMT") == std::string::npos);
}

TEST_CASE("an event in a zone named UTC is written in Etc/GMT", "[calendar]") {
    // TZID=UTC is read on the X-WR-TIMEZONE wall clock by the same clients.
    for (const char* name : {"UTC", "Etc/UTC", "Zulu"}) {
        INFO(name);
        config::site s = casapero_site();
        s.events[0].timezone = name;
        const auto m = built(s);
        const auto feeds = render_feeds(*m, {}, now_2026_11_24);
        const std::string& all = feed(feeds, "/calendar.ics");
        CHECK(vevent_text(all, "casapero@casaco.example")
                  .find("DTSTART;TZID=Etc/GMT:20261203T183000\n") != std::string::npos);
        CHECK(all.find("TZID:Etc/GMT\r\n") != std::string::npos);
        CHECK(all.find("TZID=" + std::string(name) + ":") == std::string::npos);
    }
}

TEST_CASE("the calendar header and VTIMEZONE come first", "[calendar]") {
    const auto m = built(full_site());
    const auto feeds = render_feeds(*m, {}, now_2026_11_24);
    const std::string& apero = feed(feeds, "/calendar/apero.ics");
    CHECK(apero.rfind("BEGIN:VCALENDAR\r\n"
                      "PRODID:-//casacal//casacal//EN\r\n"
                      "VERSION:2.0\r\n"
                      "CALSCALE:GREGORIAN\r\n"
                      "METHOD:PUBLISH\r\n"
                      "NAME:Casaco — Apéros\r\n"
                      "X-WR-CALNAME:Casaco — Apéros\r\n"
                      "X-WR-TIMEZONE:Europe/Paris\r\n"
                      "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"
                      "X-PUBLISHED-TTL:PT1H\r\n"
                      "BEGIN:VTIMEZONE\r\n"
                      "TZID:Europe/Paris\r\n",
                      0) == 0);
    CHECK(apero.find("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n") != std::string::npos);
    CHECK(apero.find("1891") == std::string::npos);
    CHECK(apero.find("X-LIC") == std::string::npos);
    CHECK(apero.find("freeassociation") == std::string::npos);
    CHECK(apero.find("weekend-entrepreneurs") == std::string::npos);
    CHECK(apero.substr(apero.size() - 15) == "END:VCALENDAR\r\n");
}

TEST_CASE("feeds exist for the site, every category and every event", "[calendar]") {
    const auto m = built(full_site());
    const auto feeds = render_feeds(*m, {}, now_2026_11_24);
    std::vector<std::string> paths;
    for (const rendered_feed& f : feeds)
        paths.push_back(f.path);
    CHECK(paths == std::vector<std::string>{"/calendar.ics", "/calendar/apero.ics",
                                            "/calendar/weekend.ics", "/events/casapero.ics",
                                            "/events/weekend-entrepreneurs-2026-12.ics"});
    const std::string& weekend = feed(feeds, "/events/weekend-entrepreneurs-2026-12.ics");
    CHECK(weekend.find("X-WR-CALNAME:Week-end entrepreneurial\r\n") != std::string::npos);
    CHECK(vevent_text(weekend, "weekend-entrepreneurs-2026-12-1@casaco.example")
              .find("SUMMARY:Week-end entrepreneurial — Pitchs\nDESCRIPTION:Deux jours pour "
                    "tester son idée.\nLOCATION:Salle 2\n") != std::string::npos);
    CHECK(!vevent_text(weekend, "weekend-entrepreneurs-2026-12-2@casaco.example").empty());
}

TEST_CASE("all-day events write exclusive DATE ends", "[calendar]") {
    config::site s = base_site();
    config::event_def e;
    e.id = "marche";
    e.title = "Marché de Noël";
    e.category = "weekend";
    e.start = day(2026, 12, 12);
    e.end = day(2026, 12, 13);
    e.rrule = "FREQ=YEARLY;UNTIL=20301231";
    e.exdates = {day(2027, 12, 12)};
    s.events.push_back(e);
    const auto feeds = render_feeds(*built(s), {}, now_2026_11_24);
    const std::string v = vevent_text(feed(feeds, "/calendar.ics"), "marche@casaco.example");
    CHECK(v.find("DTSTART;VALUE=DATE:20261212\nDTEND;VALUE=DATE:20261214\n"
                 "RRULE:FREQ=YEARLY;UNTIL=20301231\nEXDATE;VALUE=DATE:20271212\n") !=
          std::string::npos);
    CHECK(feed(feeds, "/calendar.ics").find("BEGIN:VTIMEZONE") == std::string::npos);
}

TEST_CASE("rendering is deterministic", "[calendar]") {
    const revision_map revisions{{"casapero@casaco.example", {2, 1795000000}}};
    const auto a = render_feeds(*built(full_site()), revisions, now_2026_11_24);
    const auto b = render_feeds(*built(full_site()), revisions, now_2026_11_24 + 3600);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        CHECK(a[i].body == b[i].body);
}

TEST_CASE("every feed parses back with libical without errors", "[calendar]") {
    const auto feeds = render_feeds(*built(full_site()), {}, now_2026_11_24);
    for (const rendered_feed& f : feeds) {
        INFO(f.path);
        icalcomponent* c = icalparser_parse_string(f.body.c_str());
        REQUIRE(c);
        CHECK(icalcomponent_count_errors(c) == 0);
        CHECK(icalcomponent_isa(c) == ICAL_VCALENDAR_COMPONENT);
        icalcomponent_free(c);
    }
}

TEST_CASE("a feed with no event still holds a component: the site zone", "[calendar]") {
    const auto one_zone = [](const std::string& body) {
        icalcomponent* c = icalparser_parse_string(body.c_str());
        REQUIRE(c);
        CHECK(icalcomponent_count_components(c, ICAL_ANY_COMPONENT) == 1);
        icalcomponent* z = icalcomponent_get_first_component(c, ICAL_VTIMEZONE_COMPONENT);
        REQUIRE(z);
        icalproperty* tzid = icalcomponent_get_first_property(z, ICAL_TZID_PROPERTY);
        REQUIRE(tzid);
        CHECK(std::string(icalproperty_get_tzid(tzid)) == "Europe/Paris");
        icalcomponent_free(c);
    };
    config::site s = full_site();
    config::category empty;
    empty.key = "vide";
    empty.name = "Vide";
    s.categories.push_back(empty);
    const auto feeds = render_feeds(*built(s), {}, now_2026_11_24);
    one_zone(feed(feeds, "/calendar/vide.ics"));
    // As of the earliest year the site's events need: the same VTIMEZONE.
    const std::string& all = feed(feeds, "/calendar.ics");
    const std::string& none = feed(feeds, "/calendar/vide.ics");
    const auto zone_of = [](const std::string& body) {
        const auto from = body.find("BEGIN:VTIMEZONE");
        return body.substr(from, body.find("END:VTIMEZONE") - from);
    };
    CHECK(zone_of(none) == zone_of(all));

    s.events.clear();
    const auto bare = render_feeds(*built(s), {}, now_2026_11_24);
    one_zone(feed(bare, "/calendar.ics"));
    one_zone(feed(bare, "/calendar/apero.ics"));
}

TEST_CASE("fingerprints are stable and change with the content", "[calendar]") {
    const auto a = fingerprints(*built(full_site()));
    const auto b = fingerprints(*built(full_site()));
    REQUIRE(a.size() == 3);
    CHECK(a[0].uid == "casapero@casaco.example");
    CHECK(a[0].hash.size() == 64);
    CHECK(a[0].hash == b[0].hash);

    config::site edited = full_site();
    edited.events[0].overrides[0].title = "Casapéro très spécial";
    const auto c = fingerprints(*built(edited));
    CHECK(c[0].hash != a[0].hash);
    CHECK(c[1].hash == a[1].hash);

    config::site recoloured = full_site();
    recoloured.categories[0].color = "#0000ff";
    CHECK(fingerprints(*built(recoloured))[0].hash != a[0].hash);
}

TEST_CASE("keep_past leaves out events that ended long ago", "[calendar]") {
    config::site s = full_site();
    config::event_def old;
    old.id = "old";
    old.title = "Ancien";
    old.category = "apero";
    old.start = local(2026, 6, 1, 18, 0);
    old.end = local(2026, 6, 1, 20, 0);
    s.events.push_back(old);
    config::event_def bounded = old;
    bounded.id = "bounded";
    bounded.rrule = "FREQ=WEEKLY;COUNT=20";
    s.events.push_back(bounded);
    config::event_def recent = old;
    recent.id = "recent";
    recent.start = local(2026, 9, 1, 18, 0);
    recent.end = local(2026, 9, 1, 20, 0);
    s.events.push_back(recent);
    const auto feeds = render_feeds(*built(s), {}, now_2026_11_24);
    const std::string& all = feed(feeds, "/calendar.ics");
    CHECK(all.find("UID:old@") == std::string::npos);
    CHECK(all.find("UID:bounded@") != std::string::npos); // last of 20 weeks ends 2026-10-12
    CHECK(all.find("UID:recent@") != std::string::npos);
    CHECK(feed(feeds, "/events/old.ics").find("UID:old@") != std::string::npos);

    // The API expands what the feed holds: given the cutoff, the same series.
    const auto m = built(s);
    const auto ids = [&](unix_time kept_after) {
        std::set<std::string> out;
        for (const auto& o : expand(*m, seconds_of({2026, 5, 1, 0, 0, 0}),
                                    seconds_of({2026, 9, 2, 0, 0, 0}), "apero", 1, kept_after))
            out.insert(o.event_id);
        return out;
    };
    CHECK(ids(keep_past_cutoff(*m, now_2026_11_24)) == std::set<std::string>{"bounded", "recent"});
    CHECK(ids(std::numeric_limits<unix_time>::min()) ==
          std::set<std::string>{"bounded", "old", "recent"});
}

TEST_CASE("a cancelled event stays in the feed as CANCELLED", "[calendar]") {
    config::site s = casapero_site();
    s.events[0].status = config::status::cancelled;
    const auto feeds = render_feeds(*built(s), {}, now_2026_11_24);
    CHECK(feed(feeds, "/calendar.ics").find("STATUS:CANCELLED\r\n") != std::string::npos);
}

TEST_CASE("an occurrence calendar holds that occurrence alone", "[calendar]") {
    const auto m = built(full_site());
    const auto occurrences =
        expand(*m, seconds_of({2027, 2, 1, 0, 0, 0}), seconds_of({2027, 2, 28, 0, 0, 0}), "apero");
    REQUIRE(occurrences.size() == 1);
    const revision_map revisions{{"casapero@casaco.example", {4, 1795000000}}};
    const std::string ics = occurrence_calendar(*m, occurrences[0], revisions);
    CHECK(ics.find("METHOD:PUBLISH\r\n") != std::string::npos);
    CHECK(ics.find("BEGIN:VTIMEZONE\r\n") != std::string::npos);
    const std::string v = vevent_text(ics, "casapero@casaco.example");
    CHECK(v.find("SEQUENCE:4\nDTSTART;TZID=Europe/Paris:20270205T190000\n"
                 "DTEND;TZID=Europe/Paris:20270205T213000\n"
                 "RECURRENCE-ID;TZID=Europe/Paris:20270204T183000\n"
                 "SUMMARY:Casapéro spécial\n") != std::string::npos);
    CHECK(ics.find("RRULE:FREQ=MONTHLY") == std::string::npos);
    icalcomponent* c = icalparser_parse_string(ics.c_str());
    REQUIRE(c);
    CHECK(icalcomponent_count_errors(c) == 0);
    icalcomponent_free(c);
}

TEST_CASE("category and single-event feeds are digested to the hash and size of their bytes",
          "[calendar]") {
    const auto m = built(full_site());
    const revision_map revisions = {};
    std::map<std::string, std::string> bodies;
    for (auto& f : render_feeds(*m, revisions, now_2026_11_24))
        bodies[f.path] = std::move(f.body);
    for (const unsigned threads : {1u, 2u}) {
        std::vector<feed_digest> digests(m->site.categories.size() + m->site.events.size());
        std::vector<std::string> shared;
        render_feeds(
            *m, revisions, now_2026_11_24, [&](rendered_feed f) { shared.push_back(f.path); },
            [&](std::size_t i, feed_digest d) { digests[i] = std::move(d); }, threads);
        CHECK(shared.front() == "/calendar.ics");
        std::size_t seen = 0;
        for (const feed_digest& d : digests) {
            if (d.path.empty()) continue;
            ++seen;
            INFO(d.path);
            REQUIRE(bodies.count(d.path));
            CHECK(d.size == bodies[d.path].size());
            CHECK(d.sha256 == sha256_hex(bodies[d.path]));
            CHECK(render_feed(*m, d.path, revisions, now_2026_11_24) == bodies[d.path]);
        }
        CHECK(shared.size() == 1);
        CHECK(seen + shared.size() == bodies.size());
        CHECK(digests.front().path.starts_with("/calendar/"));
    }
}

TEST_CASE("feeds built from the fingerprinted texts are the feeds rendered afresh", "[calendar]") {
    config::site s = full_site();
    // A UID longer than a line: the revision lines go after its last fold.
    config::event_def long_id = s.events.front();
    long_id.id = "atelier-" + std::string(90, 'x');
    s.events.push_back(long_id);
    const auto m = built(s);
    std::vector<std::string> texts;
    revision_map revisions;
    for (const fingerprint& f : fingerprints(*m, 2, &texts))
        revisions[f.uid] = {static_cast<int>(f.uid.size() % 5), 1795000000 + static_cast<int>(f.uid.size())};
    REQUIRE(texts.size() == m->all.size());
    std::map<std::string, std::string> fresh;
    for (auto& f : render_feeds(*m, revisions, now_2026_11_24))
        fresh[f.path] = std::move(f.body);
    std::size_t shared = 0;
    std::string whole;
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    std::vector<feed_digest> digests(m->site.categories.size() + m->site.events.size());
    render_feeds(
        *m, revisions, now_2026_11_24,
        [&](rendered_feed f) {
            ++shared;
            INFO(f.path);
            CHECK(f.body == fresh[f.path]);
            whole = std::move(f.body);
        },
        [&](std::size_t i, feed_digest d) { digests[i] = std::move(d); }, 2,
        {&texts, nullptr, &spans});
    CHECK(shared == 1);
    // The other feeds, rendered later from the VEVENTs /calendar.ics holds,
    // as the daemon does on their first request.
    REQUIRE(spans.size() == m->all.size());
    std::vector<std::string_view> ready;
    for (const auto& [offset, length] : spans)
        ready.push_back(std::string_view(whole).substr(offset, length));
    for (const feed_digest& d : digests) { // Catch2 checks on this thread only
        INFO(d.path);
        REQUIRE(fresh.count(d.path));
        CHECK(d.sha256 == sha256_hex(fresh[d.path]));
        CHECK(render_feed(*m, d.path, revisions, now_2026_11_24, 1, {nullptr, &ready, nullptr}) ==
              fresh[d.path]);
    }
    CHECK(fresh["/calendar.ics"].find("SEQUENCE:") != std::string::npos);

    // `export` writes each VEVENT straight into its place in the feed.
    for (const unsigned threads : {1u, 2u})
        CHECK(render_feed(*m, "/calendar.ics", revisions, now_2026_11_24, threads,
                          {&texts, nullptr, nullptr}) == fresh["/calendar.ics"]);
    // A text that does not fill the place sized for it (here: no UID line to
    // put the revision after) is assembled the other way, never left short.
    const std::size_t first = texts.front().size();
    texts.front() = "BEGIN:VEVENT\r\nSUMMARY:sans UID\r\nEND:VEVENT\r\n";
    REQUIRE(texts.front().size() < first);
    const std::string odd =
        *render_feed(*m, "/calendar.ics", revisions, now_2026_11_24, 2, {&texts, nullptr, nullptr});
    CHECK(odd.find('\0') == std::string::npos);
    CHECK(odd.find(texts.front()) != std::string::npos);
    CHECK(odd.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
}

TEST_CASE("times at a DST change are written so that every reader finds the same instants", "[calendar]") {
    config::site s = base_site();
    config::event_def e;
    e.id = "nuit-blanche";
    e.title = "Nuit blanche";
    e.category = "weekend";
    e.start = local(2027, 10, 31, 2, 30); // the first 02:30 (UTC+02:00)
    e.duration = config::duration{0, 3600, "PT1H", {}}; // ends at the second 02:30
    s.events.push_back(e);
    config::event_def f;
    f.id = "veille";
    f.title = "Veille";
    f.category = "weekend";
    f.start = local(2027, 10, 31, 1, 0);
    f.duration = config::duration{0, 3600, "PT1H", {}}; // ends at the first 02:00
    s.events.push_back(f);
    config::event_def g = f;
    g.id = "soiree";
    g.start = local(2027, 10, 31, 1, 45);
    g.duration = config::duration{0, 6300, "PT1H45M", {}}; // ends at the second 02:30
    s.events.push_back(g);
    config::event_def h = e;
    h.id = "nuit-hebdo";
    h.rrule = "FREQ=WEEKLY;COUNT=3";
    s.events.push_back(h);
    config::event_def j = f;
    j.id = "fin-ambigue";
    j.duration.reset();
    j.end = local(2027, 10, 31, 2, 30); // given, in the repeated hour: the first, 00:30Z
    s.events.push_back(j);
    config::event_def k = f;
    k.id = "fin-absente";
    k.start = local(2027, 3, 28, 1, 30);
    k.duration.reset();
    k.end = local(2027, 3, 28, 2, 30); // given, in the gap: 03:30 (UTC+02:00)
    s.events.push_back(k);
    config::event_def i = f;
    i.id = "printemps";
    i.start = local(2027, 3, 28, 2, 30); // does not exist: 03:30 (UTC+02:00)
    s.events.push_back(i);
    const auto feeds = render_feeds(*built(s), {}, now_2026_11_24);
    const std::string& body = feed(feeds, "/calendar.ics");
    CHECK(vevent_text(body, "soiree@casaco.example")
              .find("DTSTART;TZID=Europe/Paris:20271031T014500\nDTEND:20271031T013000Z\n") !=
          std::string::npos);
    // A start in the repeated hour or in the gap reads differently in each
    // client: a single event is written in UTC, a series keeps its wall
    // clock start for its rule and gives its length as a DURATION.
    const std::string v = vevent_text(body, "nuit-blanche@casaco.example");
    CHECK(v.find("DTSTART:20271031T003000Z\nDTEND:20271031T013000Z\n") != std::string::npos);
    CHECK(vevent_text(body, "nuit-hebdo@casaco.example")
              .find("DTSTART;TZID=Europe/Paris:20271031T023000\nDURATION:PT1H\n") !=
          std::string::npos);
    CHECK(vevent_text(body, "fin-ambigue@casaco.example")
              .find("DTSTART;TZID=Europe/Paris:20271031T010000\nDTEND:20271031T003000Z\n") !=
          std::string::npos);
    CHECK(vevent_text(body, "fin-absente@casaco.example")
              .find("DTSTART;TZID=Europe/Paris:20270328T013000\nDTEND:20270328T013000Z\n") !=
          std::string::npos);
    CHECK(vevent_text(body, "printemps@casaco.example")
              .find("DTSTART:20270328T013000Z\nDTEND:20270328T023000Z\n") != std::string::npos);
    // written in UTC alone, it uses no zone (one VTIMEZONE per zone used)
    CHECK(feed(feeds, "/events/printemps.ics").find("VTIMEZONE") == std::string::npos);
    CHECK(feed(feeds, "/events/nuit-hebdo.ics").find("TZID:Europe/Paris") != std::string::npos);
    // an end at the first 02:00 is in the repeated hour too: clients would
    // take the second
    CHECK(vevent_text(body, "veille@casaco.example")
              .find("DTSTART;TZID=Europe/Paris:20271031T010000\nDTEND:20271031T000000Z\n") !=
          std::string::npos);

    // libical reads it back as that UTC instant.
    icalcomponent* cal = icalparser_parse_string(body.c_str());
    REQUIRE(cal);
    int seen = 0;
    for (icalcomponent* c = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); c;
         c = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        if (std::string(icalcomponent_get_uid(c)) != "nuit-blanche@casaco.example") continue;
        const icaltimetype end = icalcomponent_get_dtend(c);
        CHECK(icaltime_is_utc(end));
        CHECK(std::make_pair(end.hour, end.minute) == std::make_pair(1, 30));
        ++seen;
    }
    CHECK(seen == 1);
    icalcomponent_free(cal);
}
