#include "notify/planner.hpp"
#include "notify/reminder_mail.hpp"

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
    r.date_header = p.due + 5;
    return r;
}

} // namespace

TEST_CASE("reminder_mail: the email of a recurring occurrence", "[notify]") {
    auto site = casapero_site();
    site.reminders.offsets = {config::duration{1, 0, "P1D", {}}};
    auto built = calendar::build(site);
    REQUIRE(built.calendar);
    notify::recipient camille{"camille@example.org", "Camille", "", {"apero"}, std::nullopt};
    auto plan = notify::make_plan(*built.calendar, {camille}, 1'796'122'800);
    REQUIRE(plan.rows.size() == 1);
    auto row = row_for(plan.rows[0]);

    auto about = notify::find_subject(*built.calendar, row);
    REQUIRE(about.size() == 1);
    auto msg = notify::compose(*built.calendar, {}, row, about,
                               {"Casaco", "agenda@casaco.example"},
                               "https://agenda.casaco.example/unsubscribe/0123",
                               "https://agenda.casaco.example/feeds/4567.ics");
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

TEST_CASE("reminder_mail: a cancellation notice needs no occurrence", "[notify]") {
    auto site = casapero_site();
    auto built = calendar::build(site);
    REQUIRE(built.calendar);
    store::outbox_row sent;
    sent.key = "casapero@casaco.example|2026-12-03T18:30:00+01:00|P1D|camille@example.org";
    sent.kind = store::message_kind::reminder;
    sent.recipient = "camille@example.org";
    sent.locale = "en";
    sent.payload = R"({"title":"Casapéro","when":"Thursday 3 December at 6:30 pm"})";
    auto notice = notify::notice_for(sent, store::message_kind::cancellation, 1000, "casaco.example");
    CHECK(notice.key == sent.key + "|cancellation");
    CHECK(notice.due == 1000);
    auto row = row_for(notice);
    row.kind = store::message_kind::cancellation;
    auto msg = notify::compose(*built.calendar, {}, row, {}, {"Casaco", "agenda@casaco.example"}, "");
    CHECK(msg.subject == "Cancelled: Casapéro — Thursday 3 December at 6:30 pm");
    CHECK_FALSE(msg.calendar);
    CHECK(msg.text.find("This event is cancelled:") != std::string::npos);
}
