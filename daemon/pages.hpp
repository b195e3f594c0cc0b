#pragma once
// The public HTML pages, rendered per request from the current snapshot in
// the site's locale and time zone: the agenda (GET /) and one event
// (GET /events/{id}). They depend on the snapshot and on the time (today's
// date, what is under way); their strong ETag changes with their content.
// Io thread only.
//
// The agenda lists k_page_days days from `?from=YYYY-MM-DD` (default
// today), at most k_page_max_occurrences occurrences, grouped by day,
// after those begun earlier and not over (under way);
// `?category=KEY` keeps one category, and an unknown key is a 404 page (as
// on /api/events). Occurrences of a cancelled event stay listed, marked
// cancelled (occurrences cancelled one at a time are not in the feeds, so
// not here either).

#include "daemon/routes.hpp"

#include <string_view>

namespace casacal::daemon {

/// Days the agenda page lists.
inline constexpr int k_page_days = 60;
/// The most occurrences the agenda page lists; a note says when more were left out.
inline constexpr std::size_t k_page_max_occurrences = 300;
/// The most upcoming occurrences an event page lists (from today, over
/// k_max_agenda_days); a note counts the others.
inline constexpr std::size_t k_event_max_occurrences = 20;

/// GET / with its query. `ctx.current->calendar` is not null.
response agenda_page(const request& req, const query_params& query, const route_context& ctx);

/// GET /events/{id}; a 404 page when there is no such event or programme.
/// `ctx.current->calendar` is not null.
response event_page(const request& req, std::string_view id, const route_context& ctx);

} // namespace casacal::daemon
