#include "calendar/model.hpp"
#include "config/parallel.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>

namespace casacal::calendar {

namespace {

/// Occurrences of series are found in blocks, one vector per block, so that
/// threads share no vector and the result keeps the serial order.
constexpr std::size_t block_size = 64;

/// A start in the series' frame no later than the start of any occurrence
/// beginning at or after `from`: two days earlier covers any UTC offset.
config::civil seek_target(const series& s, unix_time from) {
    const unix_time early = from - 2 * 86400;
    switch (s.master.kind) {
    case config::when::kind::utc:
        return civil_of(early);
    case config::when::kind::date:
        return date_of(to_local(s.zone, early));
    case config::when::kind::local:
        break;
    }
    return to_local(s.zone, early);
}

/// Where lists place the start `c` of `s` (at `instant`): all-day dates are
/// floating in the feed, so every client shows them on their date: they
/// are placed at the site zone's midnight of it, whatever the event's zone.
unix_time listed_at(const series& s, zone_ptr site_zone, const config::civil& c,
                    unix_time instant) {
    if (!s.all_day() || s.zone == site_zone) return instant;
    return to_utc(site_zone, c).utc;
}

void expand_series(const series& s, zone_ptr site_zone, unix_time from, unix_time to,
                   std::vector<occurrence>& out) {
    const auto place = [&](occurrence o) {
        o.listed = listed_at(s, site_zone, o.start_local, o.start);
        out.push_back(std::move(o));
    };
    if (!s.rrule) {
        const unix_time listed = listed_at(s, site_zone, s.master.start, s.master.start_utc);
        if (listed >= from && listed < to) place(make_occurrence(s, s.master, std::nullopt));
        return;
    }
    // An override may move an occurrence into or out of the window, so
    // overrides are placed by their own start.
    for (const vevent& o : s.overrides) {
        const unix_time listed = listed_at(s, site_zone, o.start, o.start_utc);
        if (!s.excluded(*o.recurrence_id) && listed >= from && listed < to)
            place(make_occurrence(s, o, o.recurrence_id));
    }
    // The rule starts no earlier than DTSTART (two days of margin cover a
    // shifted UTC offset and an all-day date placed in another zone), and
    // no later than the end of its last occurrence: a series entirely
    // outside the window needs no iterator.
    if (s.master.start_utc - 2 * 86400 >= to) return;
    if (s.last_end && *s.last_end + 2 * 86400 < from) return;
    rule_iterator it(*s.rrule, s.master.start, s.all_day());
    std::optional<config::civil> c =
        s.rrule->seekable ? it.seek(seek_target(s, from)) : it.next();
    // A time the rule gives in a spring gap reads as the hour after it (RFC
    // 5545 §3.3.5), which the rule may give as well (FREQ=HOURLY gives 02:00
    // then 03:00; BYMINUTE=0,30 gives 02:00 and 02:30, then 03:00 and 03:30):
    // that is one instance (§3.8.5.3), gone when either of its times is
    // excluded. The starts of the last hours are kept to find the twin.
    struct seen {
        unix_time start;
        std::size_t at; ///< its place in `out`, or npos when not listed
    };
    constexpr std::size_t npos = static_cast<std::size_t>(-1);
    std::deque<seen> recent;
    for (; c; c = it.next()) {
        const unix_time start = s.instant_of(*c);
        const unix_time listed = listed_at(s, site_zone, *c, start);
        if (listed >= to) break;
        while (!recent.empty() && recent.front().start < start - 3 * 3600)
            recent.pop_front();
        const auto twin = std::find_if(recent.begin(), recent.end(),
                                       [&](const seen& x) { return x.start == start; });
        if (twin != recent.end()) {
            if (twin->at == npos) continue;
            if (!s.excluded(*c) && !s.override_at(*c)) {
                // Kept under the time that exists, as clients name it.
                occurrence o = instance_occurrence(s, *c, start);
                o.listed = listed;
                out[twin->at] = std::move(o);
                continue;
            }
            const std::size_t gone = twin->at;
            out.erase(out.begin() + static_cast<std::ptrdiff_t>(gone));
            for (seen& x : recent)
                if (x.at != npos && x.at > gone) --x.at;
            twin->at = npos;
            continue;
        }
        if (listed < from || s.excluded(*c) || s.override_at(*c)) {
            recent.push_back({start, npos});
            continue;
        }
        place(instance_occurrence(s, *c, start));
        recent.push_back({start, out.size() - 1});
    }
}

} // namespace

bool earlier(const occurrence& a, const occurrence& b) {
    return a.listed != b.listed ? a.listed < b.listed : a.uid < b.uid;
}

std::vector<occurrence> expand(const model& m, unix_time from, unix_time to,
                               const std::string& category, unsigned threads,
                               unix_time kept_after) {
    std::vector<std::vector<occurrence>> found(block_count(m.all.size(), block_size));
    parallel_blocks(m.all.size(), block_size, threads,
                    [&](std::size_t b, std::size_t begin, std::size_t end) {
                        for (std::size_t i = begin; i < end; ++i)
                            if ((category.empty() || m.all[i].master.category == category) &&
                                (!m.all[i].last_end || *m.all[i].last_end >= kept_after))
                                expand_series(m.all[i], m.site_zone, from, to, found[b]);
                    });
    // Sort places (block, index) in block order, then move each occurrence once.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> order;
    std::size_t total = 0;
    for (const auto& f : found)
        total += f.size();
    order.reserve(total);
    for (std::size_t b = 0; b < found.size(); ++b)
        for (std::size_t i = 0; i < found[b].size(); ++i)
            order.emplace_back(static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(i));
    const auto at = [&](const std::pair<std::uint32_t, std::uint32_t>& p) -> occurrence& {
        return found[p.first][p.second];
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](const auto& a, const auto& b) { return earlier(at(a), at(b)); });
    std::vector<occurrence> sorted;
    sorted.reserve(total);
    for (const auto& p : order)
        sorted.push_back(std::move(at(p)));
    return sorted;
}

std::vector<occurrence> expand_event(const model& m, const std::string& event_id, unix_time from,
                                     unix_time to) {
    // UIDs are "{id}@..." or "{id}-{n}@...": the series of an event sort
    // among those starting with its id.
    std::vector<occurrence> out;
    auto it = std::lower_bound(m.all.begin(), m.all.end(), event_id,
                               [](const series& s, const std::string& id) { return s.master.uid < id; });
    for (; it != m.all.end() && it->master.uid.compare(0, event_id.size(), event_id) == 0; ++it)
        if (it->master.event_id == event_id) expand_series(*it, m.site_zone, from, to, out);
    std::sort(out.begin(), out.end(), earlier);
    return out;
}

} // namespace casacal::calendar
