#pragma once
// The date range of an agenda query (`/api/events`, `casacal agenda`):
// YYYY-MM-DD bounds read in the site's time zone, defaults and limits.
// Callers hold calendar_mutex() (it calls into casacal::calendar).

#include "calendar/calendar.hpp"
#include "calendar/zone.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace casacal::daemon {

/// Days listed when `to` is left out.
inline constexpr int k_default_agenda_days = 30;
/// The longest range a query may ask for.
inline constexpr int k_max_agenda_days = 731;

/// How many years ahead of today a query may reach. libical steps most
/// rules from their DTSTART, so listing a range costs time in proportion to
/// how far ahead it lies (a year 9999 cost seconds on a thousand events):
/// one client must not hold the serving thread stepping through centuries.
inline constexpr int k_max_agenda_years_ahead = 10;

/// A strict YYYY-MM-DD calendar date (calendar/zone.hpp).
using calendar::parse_date;

/// The site's local date at `now`.
config::civil local_today(const calendar::model& m, calendar::unix_time now);

/// The first day a query may not reach: today, k_max_agenda_years_ahead
/// years later (February 29 becomes March 1).
config::civil agenda_horizon(const calendar::model& m, calendar::unix_time now);

/// [from, to) as instants, or the reason the bounds are refused.
struct agenda_range {
    calendar::unix_time from = 0;
    calendar::unix_time to = 0;
    std::string error; ///< empty when valid
};

/// Defaults: from = today, to = from + 30 days. Refuses malformed dates,
/// from >= to, ranges longer than k_max_agenda_days and ranges that end
/// after agenda_horizon().
agenda_range resolve_agenda_range(const calendar::model& m, std::optional<std::string_view> from,
                                  std::optional<std::string_view> to, calendar::unix_time now);

} // namespace casacal::daemon
