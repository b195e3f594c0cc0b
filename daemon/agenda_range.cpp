#include "daemon/agenda_range.hpp"

#include "calendar/zone.hpp"

namespace casacal::daemon {

namespace {

std::int64_t day_number(const config::civil& c) {
    return calendar::days_from_civil(c.year, c.month, c.day);
}

config::civil from_day_number(std::int64_t n) { return calendar::civil_from_days(n); }

} // namespace

config::civil local_today(const calendar::model& m, calendar::unix_time now) {
    std::int64_t days = now / 86400 - (now % 86400 < 0 ? 1 : 0);
    // UTC offsets stay within a day, so the local date is the UTC date or
    // one of its neighbours.
    config::civil d = from_day_number(days);
    if (now < calendar::site_midnight(m, d)) return from_day_number(days - 1);
    if (now >= calendar::site_midnight(m, from_day_number(days + 1)))
        return from_day_number(days + 1);
    return d;
}

config::civil agenda_horizon(const calendar::model& m, calendar::unix_time now) {
    const config::civil today = local_today(m, now);
    // A February 29 that the later year lacks counts on as March 1.
    return from_day_number(
        calendar::days_from_civil(today.year + k_max_agenda_years_ahead, today.month, today.day));
}

agenda_range resolve_agenda_range(const calendar::model& m, std::optional<std::string_view> from,
                                  std::optional<std::string_view> to, calendar::unix_time now) {
    agenda_range r;
    config::civil first;
    if (from) {
        auto d = parse_date(*from);
        if (!d) {
            r.error = "from: expected a date YYYY-MM-DD from 1900-01-01 to 9999-12-31";
            return r;
        }
        first = *d;
    } else {
        first = local_today(m, now);
    }
    const config::civil horizon = agenda_horizon(m, now);
    config::civil last;
    if (to) {
        auto d = parse_date(*to);
        if (!d) {
            r.error = "to: expected a date YYYY-MM-DD from 1900-01-01 to 9999-12-31";
            return r;
        }
        last = *d;
    } else {
        // The default end stops at the horizon: the user gave no end to blame.
        if (day_number(first) >= day_number(horizon)) {
            r.error = "from: at most " + std::to_string(k_max_agenda_years_ahead) +
                      " years ahead, before " + calendar::iso_text(horizon, true);
            return r;
        }
        last = from_day_number(
            std::min(day_number(first) + k_default_agenda_days, day_number(horizon)));
    }
    const std::int64_t span = day_number(last) - day_number(first);
    if (span <= 0) {
        r.error = "from must be before to";
        return r;
    }
    if (span > k_max_agenda_days) {
        r.error = "range too long: at most " + std::to_string(k_max_agenda_days) + " days";
        return r;
    }
    if (day_number(last) > day_number(horizon)) {
        r.error = "to: at most " + std::to_string(k_max_agenda_years_ahead) +
                  " years ahead, " + calendar::iso_text(horizon, true);
        return r;
    }
    r.from = calendar::site_midnight(m, first);
    r.to = calendar::site_midnight(m, last);
    return r;
}

} // namespace casacal::daemon
