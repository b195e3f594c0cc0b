#include "config/site.hpp"
#include "site_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace casacal::config;
using casacal::config::testing::site_dir;

namespace {

const std::string full_main = R"([site]
name      = "Casaco"
base_url  = "https://agenda.casaco.example/"
domain    = "casaco.example"
timezone  = "America/Montreal"
locale    = "en"
events    = "agenda"
members   = "people/members.toml"

[http]
listen = "[::1]:8443"

[storage]
database = "/var/lib/casacal/casacal.db"

[smtp]
url       = "smtp://mail.casaco.example:587"
starttls  = "opportunistic"
username  = "agenda"
password_file = "/run/credentials/casacal.service/smtp-password"
from      = "Casaco <agenda@casaco.example>"
max_per_minute = 30
pickup_dir = "spool"

[reminders]
offsets = ["P1W", "PT1H30M"]
grace   = "PT10M"

[feeds]
keep_past = "P30D"

[categories.apero]
name  = "Apéros"
color = "#E67E22"
[categories.casacademie]
name  = "CASAcadémie"
offsets = ["P2D", "PT1H"]
)";

const std::string casapero = R"([[event]]
id          = "casapero"
title       = "Casapéro"
category    = "apero"
start       = 2026-12-03T18:30:00
end         = 2026-12-03T21:00:00
rrule       = "FREQ=MONTHLY;BYDAY=1TH"
exdates     = [2027-01-07T18:30:00]
location    = "Espace convivial"
description = """Apéro mensuel.
Chacun apporte quelque chose."""
organizer   = "Aurélien <aurelien@casaco.example>"
url         = "https://casaco.example/casapero"
price       = "Prix libre"
status      = "tentative"
offsets     = ["P1D"]
timezone    = "Europe/Paris"

[[event.override]]
recurrence_id = 2026-12-24T18:30:00
start         = 2026-12-23T18:30:00
end           = 2026-12-23T20:00:00
title         = "Casapéro de Noël"
location      = "Salle 2"
description   = "Spécial"
status        = "cancelled"
)";

const std::string weekend = R"([[programme]]
id       = "weekend-2026-12"
title    = "Week-end entrepreneurial"
category = "casacademie"
location = "Salle 1"
description = "Deux jours."
  [[programme.session]]
  title = "Pitchs"
  start = 2026-12-12T10:00:00
  end   = 2026-12-12T12:00:00
  location = "Salle 2"
  [[programme.session]]
  title = "Ateliers"
  start = 2026-12-12T14:00:00+01:00
  duration = "PT4H"

[[event]]
id = "marche"
title = "Marché"
category = "apero"
start = 2026-12-12
end = 2026-12-13
)";

const std::string members = R"([[member]]
email      = "camille@example.org"
name       = "Camille"
categories = ["apero", "casacademie"]
offsets    = ["PT3H"]
locale     = "fr"

[[member]]
email      = "Dominique <dom@example.org>"
categories = ["*"]
)";

} // namespace

TEST_CASE("a valid site is read whole, with positions", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", full_main);
    dir.write("agenda/b-weekend.toml", weekend);
    dir.write("agenda/a-casapero.toml", casapero);
    dir.write("agenda/notes.txt", "not read");
    dir.write("agenda/.#a-casapero.toml", "not read either");
    dir.write("people/members.toml", members);
    const load_result r = dir.load();
    // STARTTLS may be left out on the way; the password is a systemd
    // credential, which only the service sees.
    REQUIRE(dir.lines(r.problems) ==
            std::vector<std::string>{
                "casacal.toml:18:13: warning: starttls = \"opportunistic\" with a username: the "
                "password crosses the network in clear to 'smtp://mail.casaco.example:587' when "
                "the server offers no STARTTLS, or someone between takes the offer out; use "
                "starttls = \"required\" or an smtps:// url",
                "casacal.toml:20:17: warning: cannot read [smtp] password_file "
                "'/run/credentials/casacal.service/smtp-password': No such file or directory "
                "(systemd credentials are only visible to the service)"});
    const site& s = r.site;
    const auto root = dir.root();

    CHECK(s.main_file == root / "casacal.toml");
    CHECK(s.base_dir == root);
    CHECK(s.site.name == "Casaco");
    CHECK(s.site.base_url == "https://agenda.casaco.example");
    CHECK(s.site.domain == "casaco.example");
    CHECK(s.site.timezone == "America/Montreal");
    CHECK(s.site.timezone_at.line == 5);
    CHECK(s.site.timezone_at.column == 13);
    CHECK(s.site.locale == "en");
    CHECK(s.site.events_dir == root / "agenda");
    CHECK(s.site.members_file == root / "people/members.toml");
    CHECK(s.http.listen == "[::1]:8443");
    CHECK(s.http.address == "::1");
    CHECK(s.http.port == 8443);
    CHECK(s.storage.database == "/var/lib/casacal/casacal.db");
    CHECK(s.smtp.url == "smtp://mail.casaco.example:587");
    CHECK(s.smtp.starttls == "opportunistic");
    CHECK(s.smtp.username == "agenda");
    CHECK(s.smtp.password_file == "/run/credentials/casacal.service/smtp-password");
    CHECK(s.smtp.from == "Casaco <agenda@casaco.example>");
    CHECK(s.smtp.max_per_minute == 30);
    CHECK(s.smtp.pickup_dir == root / "spool");
    REQUIRE(s.reminders.offsets.size() == 2);
    CHECK(s.reminders.offsets[0].days == 7);
    CHECK(s.reminders.offsets[0].seconds == 0);
    CHECK(s.reminders.offsets[0].text == "P1W");
    CHECK(s.reminders.offsets[1].days == 0);
    CHECK(s.reminders.offsets[1].seconds == 5400);
    CHECK(s.reminders.offsets[1].where.line == 26);
    CHECK(s.reminders.offsets[1].where.column == 19);
    CHECK(s.reminders.grace.seconds == 600);
    CHECK(s.feeds.keep_past.days == 30);

    REQUIRE(s.categories.size() == 2);
    CHECK(s.categories[0].key == "apero");
    CHECK(s.categories[0].name == "Apéros");
    CHECK(s.categories[0].color == "#e67e22");
    CHECK_FALSE(s.categories[0].offsets);
    CHECK(s.categories[0].where.line == 32);
    CHECK(s.categories[1].key == "casacademie");
    REQUIRE(s.categories[1].offsets);
    CHECK(s.categories[1].offsets->size() == 2);
    CHECK(s.find_category("casacademie") == &s.categories[1]);
    CHECK(s.find_category("weekend") == nullptr);

    REQUIRE(s.events.size() == 3);
    const event_def& e = s.events[0];
    CHECK_FALSE(e.programme);
    CHECK(e.id == "casapero");
    CHECK(e.id_at.path == (root / "agenda/a-casapero.toml").string());
    CHECK(e.id_at.line == 2);
    CHECK(e.id_at.column == 15);
    CHECK(e.where.line == 1);
    CHECK(e.where.column == 1);
    CHECK(e.title == "Casapéro");
    CHECK(e.category == "apero");
    CHECK(e.category_at.line == 4);
    REQUIRE(e.start);
    CHECK(e.start->type == when::kind::local);
    CHECK(e.start->value == civil{2026, 12, 3, 18, 30, 0});
    CHECK(e.start->where.line == 5);
    REQUIRE(e.end);
    CHECK(e.end->value == civil{2026, 12, 3, 21, 0, 0});
    CHECK_FALSE(e.duration);
    CHECK(e.rrule == "FREQ=MONTHLY;BYDAY=1TH");
    CHECK(e.rrule_at.line == 7);
    REQUIRE(e.exdates.size() == 1);
    CHECK(e.exdates[0].type == when::kind::local);
    CHECK(e.exdates[0].value == civil{2027, 1, 7, 18, 30, 0});
    CHECK(e.exdates[0].where.column == 16);
    CHECK(e.location == "Espace convivial");
    CHECK(e.description == "Apéro mensuel.\nChacun apporte quelque chose.");
    CHECK(e.organizer == "Aurélien <aurelien@casaco.example>");
    CHECK(e.url == "https://casaco.example/casapero");
    CHECK(e.price == "Prix libre");
    CHECK(e.status == status::tentative);
    REQUIRE(e.offsets);
    CHECK(e.offsets->at(0).days == 1);
    CHECK(e.timezone == "Europe/Paris");
    CHECK(e.timezone_at.line == 17);
    REQUIRE(e.overrides.size() == 1);
    const override_def& o = e.overrides[0];
    CHECK(o.where.line == 19);
    CHECK(o.recurrence_id.value == civil{2026, 12, 24, 18, 30, 0});
    REQUIRE(o.start);
    CHECK(o.start->value == civil{2026, 12, 23, 18, 30, 0});
    REQUIRE(o.end);
    CHECK(o.end->value == civil{2026, 12, 23, 20, 0, 0});
    CHECK(o.title == "Casapéro de Noël");
    CHECK(o.location == "Salle 2");
    CHECK(o.description == "Spécial");
    CHECK(o.status == status::cancelled);

    const event_def& w = s.events[1];
    CHECK(w.programme);
    CHECK(w.id == "weekend-2026-12");
    CHECK_FALSE(w.start);
    CHECK(w.status == status::confirmed);
    CHECK_FALSE(w.offsets);
    CHECK(w.timezone.empty());
    REQUIRE(w.sessions.size() == 2);
    CHECK(w.sessions[0].title == "Pitchs");
    CHECK(w.sessions[0].start.value == civil{2026, 12, 12, 10, 0, 0});
    REQUIRE(w.sessions[0].end);
    CHECK(w.sessions[0].location == "Salle 2");
    CHECK(w.sessions[0].description == "Deux jours.");
    CHECK(w.sessions[0].where.line == 7);
    CHECK(w.sessions[0].where.column == 3);
    CHECK(w.sessions[1].start.type == when::kind::utc);
    CHECK(w.sessions[1].start.value == civil{2026, 12, 12, 13, 0, 0});
    REQUIRE(w.sessions[1].duration);
    CHECK(w.sessions[1].duration->seconds == 4 * 3600);
    CHECK(w.sessions[1].location == "Salle 1");

    const event_def& m = s.events[2];
    CHECK(m.id == "marche");
    CHECK(m.start->type == when::kind::date);
    CHECK(m.start->value == civil{2026, 12, 12, 0, 0, 0});
    CHECK(m.end->type == when::kind::date);

    REQUIRE(s.members.size() == 2);
    CHECK(s.members[0].email == "camille@example.org");
    CHECK(s.members[0].name == "Camille");
    CHECK(s.members[0].categories == std::vector<std::string>{"apero", "casacademie"});
    REQUIRE(s.members[0].offsets);
    CHECK(s.members[0].offsets->at(0).seconds == 3 * 3600);
    CHECK(s.members[0].locale == "fr");
    CHECK(s.members[0].where.line == 1);
    CHECK(s.members[1].email == "dom@example.org");
    CHECK(s.members[1].name == "Dominique");
    CHECK(s.members[1].categories == std::vector<std::string>{"*"});
    CHECK_FALSE(s.members[1].offsets);
    CHECK(s.members[1].locale.empty());
}

TEST_CASE("defaults fill every field left out", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", casacal::config::testing::minimal_main);
    dir.mkdir("events.d");
    const load_result r = dir.load();
    REQUIRE(dir.lines(r.problems).empty());
    const site& s = r.site;
    const auto root = dir.root();
    CHECK(s.site.timezone == "Europe/Paris");
    CHECK(s.site.locale == "fr");
    CHECK(s.site.events_dir == root / "events.d");
    CHECK(s.site.members_file == root / "members.toml");
    CHECK(s.http.listen == "127.0.0.1:8080");
    CHECK(s.http.address == "127.0.0.1");
    CHECK(s.http.port == 8080);
    CHECK(s.storage.database == root / "casacal.db");
    CHECK(s.smtp.url.empty());
    CHECK(s.smtp.starttls == "required");
    CHECK(s.smtp.password_file.empty());
    CHECK(s.smtp.from == "agenda@casaco.example");
    CHECK(s.smtp.max_per_minute == 120);
    CHECK(s.smtp.pickup_dir == root / "outbox");
    REQUIRE(s.reminders.offsets.size() == 2);
    CHECK(s.reminders.offsets[0].text == "P1D");
    CHECK(s.reminders.offsets[0].days == 1);
    CHECK(s.reminders.offsets[1].text == "PT2H");
    CHECK(s.reminders.offsets[1].seconds == 7200);
    CHECK(s.reminders.grace.text == "PT30M");
    CHECK(s.reminders.grace.seconds == 1800);
    CHECK(s.feeds.keep_past.text == "P90D");
    CHECK(s.feeds.keep_past.days == 90);
    CHECK(s.categories.size() == 3);
    CHECK(s.categories[2].name == "Week-ends");
    CHECK(s.events.empty());
    CHECK(s.members.empty()); // members.toml left out and absent: no members, no error
}

TEST_CASE("a folder in the events folder is a warning: its files are not read", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", casacal::config::testing::minimal_main);
    dir.write("events.d/archives/old.toml", "[[event]]\nid = \"X\"\n");
    dir.write("events.d/notes.txt", "");
    dir.mkdir("events.d/.git");
    CHECK(dir.problems() ==
          std::vector<std::string>{"casacal.toml:1:1: warning: 'events.d/archives' is a folder: "
                                   "only the *.toml files directly in 'events.d' are read"});
}

TEST_CASE("paths stay as the main file was given", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", casacal::config::testing::minimal_main +
                                  "[storage]\ndatabase = \"../state/./db.sqlite\"\n");
    dir.write("events.d/x.toml", "[[event]]\nid = \"X\"\n");
    const auto relative = std::filesystem::relative(dir.root(), std::filesystem::current_path());
    REQUIRE(relative.is_relative());
    const load_result r = load(relative / "." / "casacal.toml");
    CHECK(r.site.main_file == relative / "casacal.toml");
    CHECK(r.site.base_dir == relative);
    CHECK(r.site.site.events_dir == relative / "events.d");
    CHECK(r.site.storage.database == (relative / "../state/db.sqlite").lexically_normal());
    REQUIRE_FALSE(r.problems.items().empty());
    CHECK(r.problems.sorted().front().where.path == (relative / "events.d/x.toml").string());
}

TEST_CASE("a main file in the current folder has base_dir '.'", "[config]") {
    const load_result r = load("no-such-casacal.toml");
    CHECK(r.site.base_dir == ".");
    CHECK(r.site.site.events_dir == "events.d");
    REQUIRE(r.problems.items().size() == 1);
    CHECK(r.problems.items()[0].format() ==
          "no-such-casacal.toml:1:1: error: cannot read file: No such file or directory");
}

TEST_CASE("event files parsed in parallel give events and problems in file order", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", casacal::config::testing::minimal_main);
    std::string expected_ids;
    for (int f = 0; f < 12; ++f) {
        char name[32];
        std::snprintf(name, sizeof name, "events.d/f%02d", f);
        if (f % 4 == 1) {
            dir.write(std::string(name) + ".toml", "[[event]\nid = \"broken\"\n"); // a syntax error
            continue;
        }
        std::string text;
        for (int e = 0; e < 3; ++e) {
            char id[32];
            std::snprintf(id, sizeof id, "e%d-%d", f, e);
            text += "[[event]]\nid = \"";
            text += id;
            text += "\"\nnope = 1\n";
            expected_ids += id;
            expected_ids += ' ';
        }
        dir.write(std::string(name) + ".toml", text);
    }
    const load_result r = dir.load();
    std::string ids;
    for (const auto& e : r.site.events)
        ids += e.id + " ";
    CHECK(ids == expected_ids);
    // Problems come in the order a one-file-at-a-time load finds them.
    std::string files;
    for (const auto& d : r.problems.items()) {
        const std::string name = std::filesystem::path(d.where.path.str()).filename().string();
        if (!files.ends_with(name + " ")) files += name + " ";
    }
    CHECK(files == "f00.toml f01.toml f02.toml f03.toml f04.toml f05.toml f06.toml f07.toml "
                   "f08.toml f09.toml f10.toml f11.toml ");
}

TEST_CASE("a reload parses only the events files that changed", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", casacal::config::testing::minimal_main);
    const auto event = [](const std::string& id, const std::string& title) {
        return "[[event]]\nid = \"" + id + "\"\ntitle = \"" + title +
               "\"\nstart = 2027-01-07T18:30:00\nduration = \"PT2H\"\ncategorie = 1\n";
    };
    dir.write("events.d/a.toml", event("a", "A"));
    dir.write("events.d/b.toml", event("b", "B"));
    const load_result first = dir.load();
    REQUIRE(first.site.events.size() == 2);
    REQUIRE(first.site.sources.size() == 2);
    CHECK(first.problems.items().size() >= 2); // an unknown key per file at least

    // What came from an unchanged file is taken from the previous load: a
    // previous site whose events say otherwise shows it.
    site altered = first.site;
    for (event_def& e : altered.events)
        e.title = "from the previous load";
    const load_result again = dir.load("casacal.toml", &altered);
    REQUIRE(again.site.events.size() == 2);
    CHECK(again.site.events[0].title == "from the previous load");
    CHECK(again.site.events[1].title == "from the previous load");
    // Its problems are reported again.
    CHECK(again.problems.items().size() == first.problems.items().size());

    // A file written since is read again; the other one is still reused.
    dir.write("events.d/b.toml", event("b", "B, moved") + "\n");
    const load_result edited = dir.load("casacal.toml", &altered);
    REQUIRE(edited.site.events.size() == 2);
    CHECK(edited.site.events[0].title == "from the previous load");
    CHECK(edited.site.events[1].title == "B, moved");

    // New and removed files, and other categories, are seen too.
    dir.write("events.d/c.toml", event("c", "C"));
    std::filesystem::remove(dir.root() / "events.d/a.toml");
    const load_result moved = dir.load("casacal.toml", &altered);
    REQUIRE(moved.site.events.size() == 2);
    CHECK(moved.site.events[0].id == "b");
    CHECK(moved.site.events[1].title == "C");
    site other_categories = altered;
    other_categories.categories.clear();
    const load_result recategorised = dir.load("casacal.toml", &other_categories);
    CHECK(recategorised.site.events[0].title == "B, moved");
}
