#pragma once
// Sites built in C++ for the calendar tests.

#include "calendar/calendar.hpp"

#include <string>

namespace casacal::calendar::testing {

inline config::position pos(int line, int column = 1) {
    return config::position{"events.d/casapero.toml", line, column};
}

inline config::when local(int y, int mo, int d, int h, int mi, int line = 5) {
    return config::when{config::when::kind::local, config::civil{y, mo, d, h, mi, 0},
                        pos(line, 15)};
}

inline config::when utc(int y, int mo, int d, int h, int mi, int line = 5) {
    return config::when{config::when::kind::utc, config::civil{y, mo, d, h, mi, 0}, pos(line, 15)};
}

inline config::when day(int y, int mo, int d, int line = 5) {
    return config::when{config::when::kind::date, config::civil{y, mo, d, 0, 0, 0}, pos(line, 15)};
}

inline config::site base_site() {
    config::site s;
    s.site.name = "Casaco";
    s.site.base_url = "https://agenda.casaco.example";
    s.site.domain = "casaco.example";
    s.site.timezone = "Europe/Paris";
    s.site.timezone_at = config::position{"casacal.toml", 5, 13};
    s.site.locale = "fr";
    s.feeds.keep_past = config::duration{90, 0, "P90D", {}};
    config::category apero;
    apero.key = "apero";
    apero.name = "Apéros";
    apero.color = "#e67e22";
    config::category weekend;
    weekend.key = "weekend";
    weekend.name = "Week-ends";
    s.categories = {apero, weekend};
    return s;
}

/// The monthly Casapéro of product.md.
inline config::event_def casapero() {
    config::event_def e;
    e.id = "casapero";
    e.title = "Casapéro";
    e.category = "apero";
    e.start = local(2026, 12, 3, 18, 30, 5);
    e.end = local(2026, 12, 3, 21, 0, 6);
    e.rrule = "FREQ=MONTHLY;BYDAY=1TH";
    e.rrule_at = pos(7, 15);
    e.location = "Espace convivial, rez-de-chaussée";
    e.description =
        "Apéro mensuel des coworkers.\nChacun apporte quelque chose ; on s'occupe des boissons.";
    e.organizer = "Aurélien <aurelien@casaco.example>";
    e.price = "Prix libre";
    e.where = pos(1);
    return e;
}

/// A weekend [[programme]] of `count` two-hour sessions from Saturday
/// 2026-12-05, two a day, at 10:00 and 14:00.
inline config::event_def weekend_programme(const std::string& id, int count) {
    config::event_def p;
    p.programme = true;
    p.id = id;
    p.title = "Week-end entrepreneurial";
    p.category = "weekend";
    p.where = pos(1);
    for (int i = 0; i < count; ++i) {
        config::session_def s;
        s.title = "Session " + std::to_string(i + 1);
        s.start = local(2026, 12, 5 + i / 2, 10 + 4 * (i % 2), 0, 3 + i);
        s.end = local(2026, 12, 5 + i / 2, 12 + 4 * (i % 2), 0, 3 + i);
        s.where = pos(3 + i);
        p.sessions.push_back(s);
    }
    return p;
}

inline config::site casapero_site() {
    config::site s = base_site();
    s.events.push_back(casapero());
    return s;
}

} // namespace casacal::calendar::testing
