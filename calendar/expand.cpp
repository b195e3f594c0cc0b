#include "calendar/model.hpp"

#include <algorithm>

namespace casacal::calendar {

std::vector<occurrence> expand(const model& m, unix_time from, unix_time to,
                               const std::string& category) {
    std::vector<occurrence> out;
    for (const series& s : m.all) {
        if (!category.empty() && s.master.category != category) continue;
        if (!s.rrule) {
            if (s.master.start_utc >= from && s.master.start_utc < to)
                out.push_back(make_occurrence(s, s.master, std::nullopt));
            continue;
        }
        // An override may move an occurrence into or out of the window, so
        // overrides are placed by their own start.
        for (const vevent& o : s.overrides)
            if (!s.excluded(*o.recurrence_id) && o.start_utc >= from && o.start_utc < to)
                out.push_back(make_occurrence(s, o, o.recurrence_id));
        rule_iterator it(*s.rrule, s.master.start, s.all_day());
        while (auto c = it.next()) {
            const unix_time start = s.instant_of(*c);
            if (start >= to) break;
            if (start < from || s.excluded(*c) || s.override_at(*c)) continue;
            out.push_back(make_occurrence(s, s.instance(*c), *c));
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const occurrence& a, const occurrence& b) {
        if (a.start != b.start) return a.start < b.start;
        return a.uid < b.uid;
    });
    return out;
}

} // namespace casacal::calendar
