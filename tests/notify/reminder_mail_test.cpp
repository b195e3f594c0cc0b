#include "notify/planner.hpp"
#include "notify/reminder_mail.hpp"
#include "notify/wording.hpp"

#include "../calendar/fixture.hpp"

#include <catch2/catch.hpp>

using namespace casacal;
using namespace casacal::calendar::testing;

namespace {

store::outbox_row row_for(const store::planned_row& p) {
    store::outbox_row r;
    r.key = p.key;
    r.kind = p.kind;
    r.event_id = p.event_id;
    r.uid = p.uid;
    r.occurrence = p.occurrence;
    r.occurrence_start = p.occurrence_start;
    r.offset = p.offset;
    r.recipient = p.recipient;
    r.recipient_name = p.recipient_name;
    r.locale = p.locale;
    r.due = p.due;
    r.message_id = p.message_id;
    r.payload = p.payload;
    r.schedule = p.schedule;
    r.date_header = p.due + 5;
    return r;
}

/// The one reminder Camille (following `category`, offset P1D) gets from
/// `site` when planned on 2026-12-01, composed as the dispatcher does.
struct composed {
    std::shared_ptr<const calendar::model> model;
    store::planned_row planned;
    store::outbox_row row;
    std::vector<calendar::occurrence> about;
    notify::message msg;
};

composed only_reminder(config::site site, const std::string& category,
                       const std::string& unsubscribe_url = "", const std::string& feed_url = "") {
    site.reminders.offsets = {config::duration{1, 0, "P1D", {}}};
    composed c;
    auto built = calendar::build(site);
    REQUIRE(built.calendar);
    c.model = built.calendar;
    notify::recipient camille{"camille@example.org", "Camille", "", {category}, std::nullopt};
    auto plan = notify::make_plan(*c.model, {camille}, 1'796'122'800);
    REQUIRE(plan.rows.size() == 1);
    c.planned = plan.rows[0];
    c.row = row_for(c.planned);
    c.about = notify::find_subject(*c.model, c.row);
    REQUIRE_FALSE(c.about.empty());
    c.msg = notify::compose(*c.model, {}, c.row, c.about, {"Casaco", "agenda@casaco.example"},
                            unsubscribe_url, feed_url);
    return c;
}

} // namespace

TEST_CASE("reminder_mail: the email of a recurring occurrence", "[notify]") {
    const auto c =
        only_reminder(casapero_site(), "apero", "https://agenda.casaco.example/unsubscribe/0123",
                      "https://agenda.casaco.example/feeds/4567.ics");
    REQUIRE(c.about.size() == 1);
    const auto& msg = c.msg;
    const auto& row = c.row;
    CHECK(msg.subject == "Rappel : Casapéro — jeudi 3 décembre à 18h30");
    CHECK(msg.to.address == "camille@example.org");
    CHECK(msg.to.display == "Camille");
    CHECK(msg.date == row.due + 5);
    CHECK(msg.message_id == row.message_id);
    CHECK(msg.list_id_domain == "casaco.example");
    CHECK(msg.list_unsubscribe == "https://agenda.casaco.example/unsubscribe/0123");
    CHECK(msg.text.find("Bonjour Camille,") == 0);
    CHECK(msg.text.find("jeudi 3 décembre 2026, 18h30 – 21h00\nEspace convivial, rez-de-chaussée\n") !=
          std::string::npos);
    CHECK(msg.text.find("Votre agenda (les catégories que vous suivez) : "
                        "https://agenda.casaco.example/feeds/4567.ics\n"
                        "Se désinscrire : https://agenda.casaco.example/unsubscribe/0123") !=
          std::string::npos);
    CHECK(msg.html.find("<a href=\"https://agenda.casaco.example/feeds/4567.ics\">") !=
          std::string::npos);
    CHECK(msg.html.find("Chacun apporte quelque chose ; on s&#39;occupe des boissons.") !=
          std::string::npos);
    REQUIRE(msg.calendar);
    CHECK(msg.calendar->method == "PUBLISH");
    CHECK(msg.calendar->ics.find("UID:casapero@casaco.example\r\n") != std::string::npos);
    CHECK(msg.calendar->ics.find("RECURRENCE-ID;TZID=Europe/Paris:20261203T183000\r\n") !=
          std::string::npos);
    CHECK(msg.calendar->ics.find("RRULE:FREQ=MONTHLY") == std::string::npos); // just this one
}

namespace {

/// A cancellation notice of `sent`, as the dispatcher composes it (no
/// occurrence found), in English.
notify::message cancellation_of(const calendar::model& m, store::outbox_row sent,
                                const calendar::revision_lookup& last_revision = {}) {
    sent.kind = store::message_kind::reminder;
    sent.recipient = "camille@example.org";
    sent.locale = "en";
    sent.payload = R"({"title":"Casapéro","when":"Thursday 3 December at 6:30 pm"})";
    auto row = row_for(
        notify::notice_for(sent, store::message_kind::cancellation, 1000, "casaco.example"));
    return notify::compose(m, {}, row, {}, {"Casaco", "agenda@casaco.example"}, "", "",
                           last_revision);
}

/// A sent reminder of the occurrence `occurrence` of `uid`, which started
/// on 3 December 2026 at 18:30 in Paris.
store::outbox_row sent_reminder(const std::string& uid, const std::string& occurrence) {
    store::outbox_row sent;
    sent.key = uid + "|" + occurrence + "|P1D|camille@example.org";
    sent.uid = uid;
    sent.occurrence = occurrence;
    sent.occurrence_start = 1'796'319'000; // 2026-12-03T17:30:00Z
    return sent;
}

bool has(const std::string& ics, const std::string& line) {
    return ics.find("\r\n" + line + "\r\n") != std::string::npos;
}

} // namespace

TEST_CASE("reminder_mail: a cancellation notice needs no occurrence", "[notify]") {
    auto site = casapero_site();
    auto built = calendar::build(site);
    REQUIRE(built.calendar);
    store::outbox_row sent;
    sent.key = "casapero@casaco.example|2026-12-03T18:30:00+01:00|P1D|camille@example.org";
    sent.recipient = "camille@example.org";
    sent.payload = R"({"title":"Casapéro","when":"Thursday 3 December at 6:30 pm"})";
    auto notice = notify::notice_for(sent, store::message_kind::cancellation, 1000, "casaco.example");
    CHECK(notice.key == sent.key + "|cancellation");
    CHECK(notice.due == 1000 + notify::notice_settle);

    auto msg = cancellation_of(
        *built.calendar, sent_reminder("casapero@casaco.example", "2026-12-03T18:30:00+01:00"));
    CHECK(msg.subject == "Cancelled: Casapéro — Thursday 3 December at 6:30 pm");
    CHECK(msg.text.find("This event is cancelled:") != std::string::npos);
    // The occurrence, as the reminder's attachment had it, now cancelled.
    REQUIRE(msg.calendar);
    const std::string& ics = msg.calendar->ics;
    CHECK(msg.calendar->method == "PUBLISH");
    CHECK(msg.calendar->filename == "event.ics");
    CHECK(has(ics, "METHOD:PUBLISH"));
    CHECK(has(ics, "UID:casapero@casaco.example"));
    CHECK(has(ics, "RECURRENCE-ID;TZID=Europe/Paris:20261203T183000"));
    CHECK(has(ics, "DTSTART;TZID=Europe/Paris:20261203T183000"));
    CHECK(has(ics, "STATUS:CANCELLED"));
    CHECK(has(ics, "BEGIN:VTIMEZONE"));
    CHECK(ics.find("RRULE:FREQ=MONTHLY") == std::string::npos); // just this one
    CHECK(ics.find("STATUS:CONFIRMED") == std::string::npos);
}

TEST_CASE("reminder_mail: a cancelled occurrence of an all-day or a UTC series", "[notify]") {
    auto site = casapero_site();
    // The attachment cancelling the Casapéro occurrence `text` names.
    const auto attachment = [&site](const std::string& text) {
        auto built = calendar::build(site);
        REQUIRE(built.calendar);
        auto msg = cancellation_of(*built.calendar, sent_reminder("casapero@casaco.example", text));
        REQUIRE(msg.calendar);
        CHECK(has(msg.calendar->ics, "STATUS:CANCELLED"));
        return msg.calendar->ics;
    };
    SECTION("all-day: the recurrence id is a date") {
        site.events[0].start = day(2026, 12, 3);
        site.events[0].end.reset();
        const auto ics = attachment("2027-01-07");
        CHECK(has(ics, "DTSTART;VALUE=DATE:20270107"));
        CHECK(has(ics, "RECURRENCE-ID;VALUE=DATE:20270107"));
    }
    SECTION("UTC: the recurrence id shows the event's zone, RECURRENCE-ID is in Etc/GMT") {
        site.events[0].start = utc(2026, 12, 3, 17, 30);
        site.events[0].end = utc(2026, 12, 3, 20, 0);
        const auto ics = attachment("2027-01-07T18:30:00+01:00");
        CHECK(has(ics, "DTSTART:20270107T173000Z"));
        CHECK(has(ics, "RECURRENCE-ID;TZID=Etc/GMT:20270107T173000"));
        CHECK(has(ics, "TZID:Etc/GMT"));
    }
}

TEST_CASE("reminder_mail: an event in another zone is told in the site's time", "[notify]") {
    auto site = casapero_site();
    site.events[0].rrule.clear();
    site.events[0].timezone = "America/New_York";
    site.events[0].start = local(2026, 12, 3, 12, 30); // 18h30 in Paris
    site.events[0].end = local(2026, 12, 3, 13, 30);
    const auto c = only_reminder(site, "apero");
    CHECK(c.planned.payload.find("jeudi 3 décembre à 18h30") != std::string::npos);
    const auto& msg = c.msg;
    CHECK(msg.subject == "Rappel : Casapéro — jeudi 3 décembre à 18h30");
    CHECK(msg.text.find("jeudi 3 décembre 2026, 18h30 – 19h30\n") != std::string::npos);
    REQUIRE(msg.calendar); // the attachment keeps the event's own zone
    CHECK(msg.calendar->ics.find("DTSTART;TZID=America/New_York:20261203T123000") !=
          std::string::npos);
}

TEST_CASE("reminder_mail: a programme whose title holds a dash keeps it whole", "[notify]") {
    auto site = casapero_site();
    site.events.push_back(weekend_programme("weekend", 2));
    site.events.back().title = "Week-end — édition 2";
    site.events.back().sessions[0].title = "Pitchs — jury";
    site.events.back().sessions[1].title.clear(); // a session without a title of its own
    const auto c = only_reminder(site, "weekend");
    REQUIRE(c.about.size() == 2);
    const auto& msg = c.msg;
    CHECK(msg.subject == "Rappel : Week-end — édition 2 — samedi 5 décembre à 10h");
    CHECK(msg.text.find("\nWeek-end — édition 2\n") != std::string::npos);
    CHECK(msg.text.find("10h00 – 12h00 : Pitchs — jury\n") != std::string::npos);
    CHECK(msg.text.find("14h00 – 16h00\n") != std::string::npos);
}

TEST_CASE("reminder_mail: a programme's update cancels a session its reminder listed that is gone",
          "[notify]") {
    // Sessions are numbered in file order: removing the second renumbers
    // the third as weekend-2, and weekend-3 is no more.
    auto site = casapero_site();
    site.events.push_back(weekend_programme("weekend", 3));
    const auto c = only_reminder(site, "weekend");
    store::outbox_row sent = c.row;
    sent.kind = store::message_kind::reminder;
    auto& sessions = site.events.back().sessions;
    sessions.erase(sessions.begin() + 1);
    auto after = calendar::build(site);
    REQUIRE(after.calendar);
    auto row =
        row_for(notify::notice_for(sent, store::message_kind::update, 1000, "casaco.example"));
    auto about = notify::find_subject(*after.calendar, row);
    REQUIRE(about.size() == 2);
    auto msg =
        notify::compose(*after.calendar, {}, row, about, {"Casaco", "agenda@casaco.example"}, "",
                        "", [](const std::string&) {
                            return std::optional<calendar::revision>(calendar::revision{4, 0});
                        });
    REQUIRE(msg.calendar);
    const std::string& ics = msg.calendar->ics;
    CHECK(has(ics, "UID:weekend-1@casaco.example"));
    CHECK(has(ics, "UID:weekend-2@casaco.example"));
    const auto gone = ics.find("UID:weekend-3@casaco.example");
    REQUIRE(gone != std::string::npos);
    const std::string tail = ics.substr(gone, ics.find("END:VEVENT", gone) - gone);
    CHECK(tail.find("STATUS:CANCELLED") != std::string::npos);
    CHECK(tail.find("SEQUENCE:5") != std::string::npos);
    CHECK(tail.find("DTSTART:20261206T090000Z") != std::string::npos); // 10:00 in Paris
}

TEST_CASE("reminder_mail: a cancelled programme's notice cancels every session", "[notify]") {
    auto site = casapero_site();
    site.reminders.offsets = {config::duration{1, 0, "P1D", {}}};
    site.events.push_back(weekend_programme("weekend", 2));
    auto before = calendar::build(site);
    REQUIRE(before.calendar);
    notify::recipient camille{"camille@example.org", "Camille", "", {"weekend"}, std::nullopt};
    auto plan = notify::make_plan(*before.calendar, {camille}, 1'796'122'800);
    REQUIRE(plan.rows.size() == 1);
    store::outbox_row sent = row_for(plan.rows[0]);

    site.events.back().status = config::status::cancelled;
    auto after = calendar::build(site);
    REQUIRE(after.calendar);
    auto msg = cancellation_of(*after.calendar, sent);
    REQUIRE(msg.calendar);
    const std::string& ics = msg.calendar->ics;
    CHECK(has(ics, "UID:weekend-1@casaco.example"));
    CHECK(has(ics, "UID:weekend-2@casaco.example"));
    CHECK(has(ics, "DTSTART;TZID=Europe/Paris:20261205T100000"));
    CHECK(has(ics, "DTSTART;TZID=Europe/Paris:20261205T140000"));
    CHECK(has(ics, "BEGIN:VTIMEZONE"));
    std::size_t cancelled = 0;
    for (auto at = ics.find("STATUS:CANCELLED"); at != std::string::npos;
         at = ics.find("STATUS:CANCELLED", at + 1))
        ++cancelled;
    CHECK(cancelled == 2);
}

TEST_CASE("reminder_mail: a cancellation of an occurrence the text does not name attaches nothing",
          "[notify]") {
    auto built = calendar::build(casapero_site());
    REQUIRE(built.calendar);
    // Not a recurrence id as occurrences write it: a VEVENT without
    // RECURRENCE-ID would cancel every Casapéro.
    for (const char* text :
         {"2026-12-03", "2026-12-03T18:30:00Z", "2026-12-03T18:30:00+0100", "", "garbage"}) {
        INFO(text);
        auto msg = cancellation_of(*built.calendar, sent_reminder("casapero@casaco.example", text));
        CHECK(msg.subject == "Cancelled: Casapéro — Thursday 3 December at 6:30 pm");
        CHECK_FALSE(msg.calendar);
    }
}

TEST_CASE("reminder_mail: a cancellation of an event gone from the site cancels its UID",
          "[notify]") {
    auto built = calendar::build(casapero_site());
    REQUIRE(built.calendar);
    auto sent = sent_reminder("velo@casaco.example", "2026-12-03T18:30:00+01:00");
    std::vector<std::string> asked;
    const auto last = [&](const std::string& uid) {
        asked.push_back(uid);
        return std::optional<calendar::revision>(calendar::revision{4, 1'790'000'000});
    };
    auto msg = cancellation_of(*built.calendar, sent, last);
    REQUIRE(msg.calendar);
    const std::string& ics = msg.calendar->ics;
    CHECK(asked == std::vector<std::string>{"velo@casaco.example"});
    CHECK(has(ics, "UID:velo@casaco.example"));
    CHECK(has(ics, "SEQUENCE:5"));
    CHECK(has(ics, "DTSTART:20261203T173000Z"));
    CHECK(has(ics, "DTSTAMP:19700101T001655Z")); // the Date of the notice
    CHECK(has(ics, "SUMMARY:Casapéro"));
    CHECK(has(ics, "STATUS:CANCELLED"));
    CHECK(ics.find("RECURRENCE-ID") == std::string::npos);
    CHECK(ics.find("BEGIN:VTIMEZONE") == std::string::npos);

    SECTION("an all-day event") {
        sent.occurrence = "2026-12-03";
        auto day = cancellation_of(*built.calendar, sent);
        REQUIRE(day.calendar);
        CHECK(has(day.calendar->ics, "DTSTART;VALUE=DATE:20261203"));
        CHECK(has(day.calendar->ics, "SEQUENCE:0")); // nothing recorded for it
    }
    SECTION("a programme: every session its reminder listed") {
        sent.key = "programme:weekend|P1D|camille@example.org";
        sent.event_id = "weekend";
        sent.uid = "weekend-1@casaco.example";
        sent.occurrence = "2026-12-05T09:00:00+01:00";
        sent.schedule = "1@1796457600;2@1796544000;";
        asked.clear();
        auto both = cancellation_of(*built.calendar, sent, last);
        REQUIRE(both.calendar);
        const std::string& text = both.calendar->ics;
        CHECK(asked ==
              std::vector<std::string>{"weekend-1@casaco.example", "weekend-2@casaco.example"});
        CHECK(has(text, "UID:weekend-1@casaco.example\r\nDTSTAMP:19700101T001655Z\r\nSEQUENCE:5\r\n"
                        "DTSTART:20261205T080000Z"));
        CHECK(has(text, "UID:weekend-2@casaco.example\r\nDTSTAMP:19700101T001655Z\r\nSEQUENCE:5\r\n"
                        "DTSTART:20261206T080000Z"));
    }
}

TEST_CASE("html_escape writes the five markup characters as entities and line breaks as <br>",
          "[notify]") {
    using notify::html_escape;
    CHECK(html_escape("") == "");
    CHECK(html_escape("Casapéro") == "Casapéro");
    CHECK(html_escape("<b>\"Tom & Jerry's\"</b>") ==
          "&lt;b&gt;&quot;Tom &amp; Jerry&#39;s&quot;&lt;/b&gt;");
    CHECK(html_escape("&") == "&amp;");
    CHECK(html_escape("un\ndeux\n") == "un<br>\ndeux<br>\n");
    CHECK(html_escape("a<") == "a&lt;");
}
