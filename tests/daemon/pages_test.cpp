#include "daemon/pages.hpp"

#include "daemon/site_build.hpp"
#include "test_site.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace casacal::daemon;

namespace {

// Sunday 2026-11-29T12:00:00Z, 13:00 in Paris.
constexpr std::int64_t k_now = 1795953600;

bool has(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

/// The test site, built and served at `now`.
struct page_fixture {
    testing::test_site site;
    std::shared_ptr<const snapshot> snap;
    std::int64_t now = k_now;

    void build() {
        std::optional<casacal::store::database> db;
        build_outcome built = build_site(site.main_file(), db, k_now, 1);
        std::string problems;
        for (const auto& d : built.problems.items())
            problems += d.format() + "\n";
        INFO(problems);
        REQUIRE(built.failure.empty());
        REQUIRE(built.ok());
        snap = built.built;
    }
    /// Replaces `from` by `to` in casacal.toml.
    void edit_main(const std::string& from, const std::string& to) {
        std::ifstream in(site.main_file());
        std::stringstream text;
        text << in.rdbuf();
        std::string main = text.str();
        REQUIRE(main.find(from) != std::string::npos);
        main.replace(main.find(from), from.size(), to);
        site.write("casacal.toml", main);
    }
    response run(const request& req) {
        if (!snap) build();
        route_context ctx;
        ctx.current = snap;
        ctx.now = now;
        return handle(req, ctx);
    }
    response get(const std::string& target, const std::string& method = "GET") {
        request req;
        req.method = method;
        req.target = target;
        return run(req);
    }
};

std::string header_or_empty(const response& r, std::string_view name) {
    const std::string* v = r.header(name);
    return v ? *v : std::string();
}

void check_page_headers(const response& r) {
    CHECK(header_or_empty(r, "Content-Type") == "text/html; charset=utf-8");
    CHECK(header_or_empty(r, "Content-Security-Policy") ==
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors "
          "'none'");
    CHECK(header_or_empty(r, "X-Content-Type-Options") == "nosniff");
    CHECK(header_or_empty(r, "Cache-Control") == "public, max-age=60");
    CHECK(header_or_empty(r, "ETag").size() == 34);
    CHECK(header_or_empty(r, "ETag").front() == '"');
    CHECK(r.header("Access-Control-Allow-Origin") == nullptr);
}

} // namespace

TEST_CASE("the agenda lists the next days by day, with filters and subscribe links", "[daemon][pages]") {
    page_fixture f;
    response r = f.get("/");
    REQUIRE(r.status == 200);
    CHECK(r.route == "agenda");
    check_page_headers(r);
    const std::string html(r.payload());
    CHECK(html.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"));
    CHECK(has(html, "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"));
    CHECK(has(html, "<title>Agenda — Casaco</title>"));
    CHECK(has(html, "<p class=\"meta\">Du dimanche 29 novembre 2026 au mercredi 27 janvier 2027</p>"));
    // 60 days from today: December's and January's Casapéros, the year shown once it changes.
    CHECK(has(html, "<h2>jeudi 3 décembre</h2>\n<ul class=\"events\">\n"
                    "<li style=\"border-left-color:#e67e22\"><span class=\"when\">18h30 – 21h</span> "
                    "<a class=\"title\" href=\"/events/casapero\">Casapéro</a><br>"
                    "<span class=\"meta\">Espace convivial · Apéros</span></li>\n</ul>\n"));
    CHECK(has(html, "<h2>jeudi 7 janvier 2027</h2>"));
    CHECK_FALSE(has(html, "4 février"));
    CHECK(has(html, "<a href=\"/?from=2027-01-28\">Plus tard →</a>"));
    CHECK_FALSE(has(html, "Plus tôt"));

    // category filters
    CHECK(has(html, "<a href=\"/\" aria-current=\"page\">Tout</a>"));
    CHECK(has(html, "<a href=\"/?category=apero\">Apéros</a>"));
    CHECK(has(html, "<a href=\"/?category=atelier\">Ateliers</a>"));

    // subscribe: the whole calendar and each category
    for (std::string path : {"/calendar.ics", "/calendar/apero.ics", "/calendar/atelier.ics"}) {
        INFO(path);
        CHECK(has(html, "<a href=\"webcal://agenda.casaco.example" + path +
                            "\">S'abonner dans mon agenda</a>"));
        std::string encoded = "webcal%3A%2F%2Fagenda.casaco.example" + path;
        for (std::size_t at; (at = encoded.find('/')) != std::string::npos;)
            encoded.replace(at, 1, "%2F");
        CHECK(has(html, "<a href=\"https://calendar.google.com/calendar/r?cid=" + encoded +
                            "\" rel=\"noreferrer\">Ajouter à Google Agenda</a>"));
        CHECK(has(html, "<input type=\"text\" readonly value=\"https://agenda.casaco.example" +
                            path + "\""));
    }

    // the reminder form posts what POST /subscribe reads
    CHECK(has(html, "<form method=\"post\" action=\"/subscribe\">"));
    CHECK(has(html, "<input type=\"email\" name=\"email\" required"));
    CHECK(has(html, "<label><input type=\"checkbox\" name=\"categories\" value=\"apero\"> Apéros</label>"));
    CHECK(has(html, "<label><input type=\"checkbox\" name=\"categories\" value=\"atelier\"> Ateliers</label>"));

    // nothing fetched from anywhere
    for (const char* fetch : {"<script", "<link", "<img", "src=", "@import", "url("})
        CHECK_FALSE(has(html, fetch));
}

TEST_CASE("the agenda filters by category and pages by date", "[daemon][pages]") {
    page_fixture f;
    SECTION("a category") {
        response r = f.get("/?category=atelier");
        REQUIRE(r.status == 200);
        const std::string html(r.payload());
        CHECK(has(html, "<title>Agenda — Ateliers — Casaco</title>"));
        CHECK(has(html, "<a href=\"/?category=atelier\" aria-current=\"page\">Ateliers</a>"));
        CHECK(has(html, "<a href=\"/\">Tout</a>"));
        CHECK_FALSE(has(html, "href=\"/events/casapero\""));
        CHECK(has(html, "<p>Aucun événement sur cette période.</p>"));
        CHECK(has(html, "value=\"atelier\" checked>"));
        CHECK(has(html, "<a href=\"/?category=atelier&amp;from=2027-01-28\">Plus tard →</a>"));
        // the whole calendar stays offered
        CHECK(has(html, "value=\"https://agenda.casaco.example/calendar.ics\""));
    }
    SECTION("an unknown category is a 404 page") {
        response r = f.get("/?category=nope");
        CHECK(r.status == 404);
        CHECK(r.route == "agenda");
        CHECK(header_or_empty(r, "Content-Type") == "text/html; charset=utf-8");
        CHECK(has(r.payload(), "<h1>Catégorie inconnue</h1>"));
        CHECK(has(r.payload(), "<p>Il n&#39;y a pas de catégorie nope.</p>"));
        // The page is UTF-8 whatever bytes the request named.
        r = f.get("/?category=nope%ff%00%0d%0a%1b");
        CHECK(r.status == 404);
        CHECK(has(r.payload(), "<p>Il n&#39;y a pas de catégorie nope?????.</p>"));
    }
    SECTION("a 404 or 400 page answers whatever the preconditions (RFC 9110 §13.2.1)") {
        for (const char* target : {"/?category=nope", "/?from=tomorrow", "/events/nope"}) {
            INFO(target);
            const unsigned status = f.get(target).status;
            CHECK(status >= 400);
            CHECK(header_or_empty(f.get(target), "ETag").empty());
            request conditional;
            conditional.method = "GET";
            conditional.target = target;
            conditional.if_none_match = "*";
            CHECK(f.run(conditional).status == status);
            conditional.if_none_match.reset();
            conditional.if_match = "\"x\"";
            CHECK(f.run(conditional).status == status);
        }
    }
    SECTION("from a later date") {
        response r = f.get("/?from=2027-01-05");
        REQUIRE(r.status == 200);
        const std::string html(r.payload());
        // the year is shown for days not in the current one
        CHECK(has(html, "<h2>jeudi 7 janvier 2027</h2>"));
        CHECK(has(html, "<h2>jeudi 4 février 2027</h2>"));
        CHECK(has(html, "<h2>jeudi 4 mars 2027</h2>"));
        CHECK_FALSE(has(html, "3 décembre"));
        CHECK(has(html, "<a href=\"/?from=2026-11-29\">← Plus tôt</a> "
                        "<a href=\"/?from=2027-03-06\">Plus tard →</a>"));
    }
    SECTION("a malformed date is a 400 page") {
        for (const char* target : {"/?from=2027-02-30", "/?from=tomorrow", "/?from=%zz"}) {
            INFO(target);
            response r = f.get(target);
            CHECK(r.status == 400);
            CHECK(header_or_empty(r, "Content-Type") == "text/html; charset=utf-8");
        }
    }
    SECTION("the agenda goes ten years ahead, with no later link past that") {
        response last = f.get("/?from=2036-11-28");
        REQUIRE(last.status == 200);
        CHECK(has(last.payload(), "← Plus tôt"));
        CHECK_FALSE(has(last.payload(), "Plus tard"));
        CHECK(has(f.get("/?from=2036-09-29").payload(), "<a href=\"/?from=2036-11-28\">Plus tard →</a>"));
        for (const char* target : {"/?from=2036-11-29", "/?from=9999-12-01"}) {
            INFO(target);
            response r = f.get(target);
            CHECK(r.status == 400);
            CHECK(has(r.payload(), "<h1>Date trop lointaine</h1>"));
            CHECK(has(r.payload(), "L&#39;agenda va jusqu&#39;au vendredi 28 novembre 2036."));
        }
    }
}

TEST_CASE("an event page shows the event, its next dates and its feed", "[daemon][pages]") {
    page_fixture f;
    f.site.write("events.d/weekend.toml", R"([[programme]]
id = "weekend-2026-12"
title = "Week-end"
category = "atelier"
organizer = "Léa <lea@casaco.example>"
price = "Prix libre"
url = "https://casaco.example/weekend"
description = "Deux jours.\nOuvert à tous."
  [[programme.session]]
  title = "Pitchs"
  start = 2026-12-12T10:00:00
  end   = 2026-12-12T12:00:00
  location = "Salle 2"
  [[programme.session]]
  title = "Jury"
  start = 2026-12-13T14:00:00
  end   = 2026-12-13T18:00:00
  location = "Salle 1"
)");
    response r = f.get("/events/casapero");
    REQUIRE(r.status == 200);
    CHECK(r.route == "event_page");
    check_page_headers(r);
    std::string html(r.payload());
    CHECK(has(html, "<title>Casapéro — Casaco</title>"));
    CHECK(has(html, "<h1>Casapéro</h1>"));
    CHECK(has(html, "<p class=\"meta\"><a href=\"/?category=apero\">Apéros</a></p>"));
    CHECK(has(html, "<dt>Lieu</dt><dd>Espace convivial</dd>"));
    CHECK(has(html, "<h2>Prochaines dates</h2>\n<ul class=\"events\">\n"
                    "<li style=\"border-left-color:#e67e22\"><span class=\"when\">jeudi 3 décembre "
                    "2026, 18h30 – 21h00</span></li>\n"
                    "<li style=\"border-left-color:#e67e22\"><span class=\"when\">jeudi 7 janvier "
                    "2027, 18h30 – 21h00</span></li>\n"));
    // a monthly event over the next two years: 20 listed, the rest counted
    CHECK(has(html, "<p class=\"meta\">… et 4 autres dates.</p>"));
    CHECK(has(html, "<a href=\"webcal://agenda.casaco.example/events/casapero.ics\">"));
    CHECK(has(html, "<a href=\"https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F"
                    "agenda.casaco.example%2Fevents%2Fcasapero.ics\" rel=\"noreferrer\">"));
    CHECK(has(html, "value=\"https://agenda.casaco.example/events/casapero.ics\""));

    response w = f.get("/events/weekend-2026-12");
    REQUIRE(w.status == 200);
    html = w.payload();
    CHECK(has(html, "<dt>Organisation</dt><dd>Léa</dd>"));
    CHECK_FALSE(has(html, "lea@casaco.example"));
    CHECK(has(html, "<dt>Tarif</dt><dd>Prix libre</dd>"));
    CHECK(has(html, "<dd><a href=\"https://casaco.example/weekend\">https://casaco.example/weekend</a></dd>"));
    CHECK(has(html, "<p>Deux jours.<br>\nOuvert à tous.</p>"));
    CHECK(has(html, "<span class=\"when\">samedi 12 décembre 2026, 10h00 – 12h00</span><br>"
                    "<span class=\"meta\">Pitchs · Salle 2</span>"));
    CHECK(has(html, "<span class=\"when\">dimanche 13 décembre 2026, 14h00 – 18h00</span><br>"
                    "<span class=\"meta\">Jury · Salle 1</span>"));

    SECTION("the feed of the same id is still the feed") {
        response feed = f.get("/events/casapero.ics");
        CHECK(feed.status == 200);
        CHECK(feed.route == "feed");
        CHECK(header_or_empty(feed, "Content-Type") == "text/calendar; charset=utf-8");
    }
    SECTION("an unknown event is a 404 page") {
        response nope = f.get("/events/nope");
        CHECK(nope.status == 404);
        CHECK(nope.route == "event_page");
        CHECK(header_or_empty(nope, "Content-Type") == "text/html; charset=utf-8");
        CHECK(has(nope.payload(), "<h1>Événement introuvable</h1>"));
        CHECK(has(nope.payload(), "<a href=\"/\">Voir l'agenda</a>"));
        for (const char* target : {"/events/", "/events/Casapero", "/events/casapero/",
                                   "/events/%2e%2e", "/events/casapero.html"}) {
            INFO(target);
            CHECK(f.get(target).status == 404);
        }
    }
}

TEST_CASE("text from the site's files is escaped in pages", "[daemon][pages]") {
    page_fixture f;
    f.site.write("events.d/hostile.toml", R"([[event]]
id = "hostile"
title = "<script>alert('x')</script>"
category = "atelier"
start = 2026-12-05T10:00:00
duration = "PT1H"
location = "A & B \"quoted\""
description = "<img src=https://evil.example/x.png>"
url = "https://casaco.example/a?b=1&c='x'"
organizer = "Bob & Co <bob@casaco.example>"
)");
    f.edit_main("name = \"Ateliers\"", "name = \"Ateliers <i>&</i>\"");
    for (const char* target : {"/", "/events/hostile"}) {
        INFO(target);
        response r = f.get(target);
        REQUIRE(r.status == 200);
        const std::string html(r.payload());
        CHECK(has(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        CHECK_FALSE(has(html, "<script"));
        CHECK(has(html, "A &amp; B &quot;quoted&quot;"));
        CHECK_FALSE(has(html, "<img"));
        CHECK(has(html, "Ateliers &lt;i&gt;&amp;&lt;/i&gt;"));
        CHECK_FALSE(has(html, "<i>"));
    }
    const std::string event(f.get("/events/hostile").payload());
    // check refuses '"', '<' and '>' in a URL; what is left is escaped.
    CHECK(has(event, "<dd><a href=\"https://casaco.example/a?b=1&amp;c=&#39;x&#39;\">"));
    CHECK(has(event, "<dt>Organisation</dt><dd>Bob &amp; Co</dd>"));
}

TEST_CASE("a cancelled event stays listed, marked cancelled", "[daemon][pages]") {
    page_fixture f;
    f.site.write("events.d/cancelled.toml", R"([[event]]
id = "atelier-annule"
title = "Atelier"
category = "atelier"
start = 2026-12-05T10:00:00
duration = "PT1H30M"
status = "cancelled"
)");
    const std::string html(f.get("/").payload());
    CHECK(has(html, "<h2>samedi 5 décembre</h2>\n<ul class=\"events\">\n<li class=\"cancelled\">"
                    "<span class=\"when\">10h – 11h30</span> <a class=\"title\" "
                    "href=\"/events/atelier-annule\">Atelier</a> <span class=\"status\">Annulé</span>"));
    CHECK(has(f.get("/events/atelier-annule").payload(),
              "<p class=\"meta\"><a href=\"/?category=atelier\">Ateliers</a> "
              "<span class=\"status\">Annulé</span></p>"));
}

TEST_CASE("what began before the first day and is not over comes first, under way",
          "[daemon][pages]") {
    page_fixture f; // now: Sunday 29 November 2026, 13:00 in Paris
    f.site.write("events.d/under-way.toml", R"([[event]]
id = "fermeture"
title = "Fermeture"
category = "atelier"
start = 2026-11-20
end = 2026-12-03
[[event]]
id = "nuit"
title = "Nuit blanche"
category = "atelier"
start = 2026-11-28T22:00:00
end = 2026-11-29T02:00:00
[[event]]
id = "reveillon"
title = "Réveillon"
category = "atelier"
start = 2026-12-30
end = 2027-01-02
[[event]]
id = "brunch"
title = "Brunch"
category = "atelier"
start = 2026-11-29T10:00:00
end = 2026-11-29T12:00:00
[[event]]
id = "dejeuner"
title = "Déjeuner"
category = "atelier"
start = 2026-11-29T12:30:00
end = 2026-11-29T14:00:00
[[event]]
id = "jubile"
title = "Jubilé"
category = "atelier"
start = 2030-06-01T18:00:00
end = 2030-06-01T20:00:00
)");
    std::string html(f.get("/").payload());
    // Over at 02:00 today: gone; the closure goes on until Thursday.
    CHECK_FALSE(has(html, "Nuit blanche"));
    CHECK(has(f.get("/?from=2026-11-28").payload(),
              "<span class=\"when\">22h – dimanche 29 novembre, 2h</span>"));
    CHECK(has(html, "<h2>En cours</h2>\n<ul class=\"events\">\n<li>"
                    "<span class=\"when\">vendredi 20 novembre – jeudi 3 décembre 2026</span> "
                    "<a class=\"title\" href=\"/events/fermeture\">Fermeture</a>"));
    CHECK(html.find("<h2>En cours</h2>") < html.find("<h2>jeudi 3 décembre</h2>"));
    // The last day is in another year: it says which.
    CHECK(has(html, "<span class=\"when\">Jusqu&#39;au samedi 2 janvier 2027</span>"));
    // Looked at from a later first day, as it stands then.
    html = f.get("/?from=2026-12-02").payload();
    CHECK(has(html, "<h2>En cours</h2>"));
    CHECK_FALSE(has(f.get("/?from=2026-12-04").payload(), "Fermeture"));

    html = f.get("/events/fermeture").payload();
    CHECK(has(html, "<span class=\"when\">vendredi 20 novembre – jeudi 3 décembre 2026</span> "
                    "<span class=\"meta\">(en cours)</span>"));
    CHECK_FALSE(has(html, "Aucune date à venir"));
    CHECK(has(f.get("/events/reveillon").payload(),
              "<span class=\"when\">mercredi 30 décembre 2026 – samedi 2 janvier 2027</span>"));
    CHECK(has(f.get("/events/nuit").payload(), "Aucune date à venir"));
    // Today's: over at noon, it is not upcoming; begun at 12:30, it is under way.
    CHECK(has(f.get("/events/brunch").payload(), "Aucune date à venir"));
    CHECK(has(f.get("/events/dejeuner").payload(),
              "<span class=\"when\">dimanche 29 novembre 2026, 12h30 – 14h00</span> "
              "<span class=\"meta\">(en cours)</span>"));
    // Past the two years listed, its date is still given.
    html = f.get("/events/jubile").payload();
    CHECK_FALSE(has(html, "Aucune date à venir"));
    CHECK(has(html, "<span class=\"when\">samedi 1er juin 2030, 18h00 – 20h00</span>"));
}

TEST_CASE("pages follow site.locale", "[daemon][pages]") {
    page_fixture f;
    f.edit_main("locale   = \"fr\"", "locale   = \"en\"");
    std::string html(f.get("/").payload());
    CHECK(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    CHECK(has(html, "<p class=\"meta\">From Sunday 29 November 2026 to Wednesday 27 January 2027</p>"));
    CHECK(has(html, "<h2>Thursday 3 December</h2>"));
    CHECK(has(html, "<span class=\"when\">6:30 pm – 9 pm</span>"));
    CHECK(has(html, "<h2>Thursday 7 January 2027</h2>"));
    CHECK(has(html, "<a href=\"/\" aria-current=\"page\">All</a>"));
    CHECK(has(html, ">Subscribe in my calendar app</a>"));
    CHECK(has(html, ">Add to Google Calendar</a>"));
    CHECK(has(html, "<button type=\"submit\">Get the reminders</button>"));
    html = f.get("/events/casapero").payload();
    CHECK(has(html, "<h2>Upcoming dates</h2>"));
    CHECK(has(html, "<span class=\"when\">Thursday 3 December 2026, 6:30 pm – 9:00 pm</span>"));
    CHECK(has(html, "<dt>Place</dt><dd>Espace convivial</dd>"));
    CHECK(has(f.get("/events/nope").payload(), "<h1>Event not found</h1>"));
}

TEST_CASE("pages answer HEAD and revalidate with their ETag", "[daemon][pages]") {
    page_fixture f;
    for (const char* target : {"/", "/events/casapero"}) {
        INFO(target);
        response get = f.get(target);
        const std::string etag = header_or_empty(get, "ETag");
        REQUIRE(get.status == 200);

        response head = f.get(target, "HEAD");
        CHECK(head.status == 200);
        CHECK(head.head);
        CHECK(header_or_empty(head, "ETag") == etag);
        CHECK(head.payload().size() == get.payload().size());

        request again;
        again.method = "GET";
        again.target = target;
        again.if_none_match = etag;
        response not_modified = f.run(again);
        CHECK(not_modified.status == 304);
        CHECK(not_modified.payload().empty());
        CHECK(header_or_empty(not_modified, "ETag") == etag);
        CHECK(header_or_empty(not_modified, "Cache-Control") == "public, max-age=60");

        // The same page an hour later is the same page; once the first
        // Casapéro is past, it is not.
        f.now = k_now + 3600;
        CHECK(f.run(again).status == 304);
        f.now = k_now + 5 * 86400;
        response tomorrow = f.run(again);
        CHECK(tomorrow.status == 200);
        CHECK(header_or_empty(tomorrow, "ETag") != etag);
        f.now = k_now;
    }
}

TEST_CASE("pages allow GET, HEAD and OPTIONS, without CORS", "[daemon][pages]") {
    page_fixture f;
    response options = f.get("/", "OPTIONS");
    CHECK(options.status == 204);
    CHECK(header_or_empty(options, "Allow") == "GET, HEAD, OPTIONS");
    CHECK(options.header("Access-Control-Allow-Origin") == nullptr);
    for (const char* target : {"/", "/events/casapero"}) {
        response post = f.get(target, "POST");
        CHECK(post.status == 405);
        CHECK(header_or_empty(post, "Allow") == "GET, HEAD, OPTIONS");
    }
}

TEST_CASE("the agenda lists at most k_page_max_occurrences and goes on from the last day", "[daemon][pages]") {
    page_fixture f;
    f.site.write("events.d/often.toml", R"([[event]]
id = "often"
title = "Often"
category = "atelier"
start = 2026-11-29T00:00:00
duration = "PT1H"
rrule = "FREQ=HOURLY;INTERVAL=2"
)");
    const std::string html(f.get("/?category=atelier").payload());
    std::size_t items = 0;
    for (std::size_t at = 0; (at = html.find("<li", at)) != std::string::npos; ++at)
        ++items;
    CHECK(items == k_page_max_occurrences);
    // 12 a day from today: the 300th is on the 25th day, listed again from its start
    CHECK(has(html, "<h2>mercredi 23 décembre</h2>"));
    CHECK_FALSE(has(html, "<h2>jeudi 24 décembre</h2>"));
    CHECK(has(html, "<p class=\"meta\">Seuls les 300 premiers événements sont affichés.</p>"));
    CHECK(has(html, "<a href=\"/?category=atelier&amp;from=2026-12-23\">Plus tard →</a>"));
}
