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
            out.push_back(instance_occurrence(s, *c, start));
        }
    }
    // Sort keys, then move each occurrence once.
    std::vector<std::size_t> order(out.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (out[a].start != out[b].start) return out[a].start < out[b].start;
        return out[a].uid < out[b].uid;
    });
    std::vector<occurrence> sorted;
    sorted.reserve(out.size());
    for (const std::size_t i : order)
        sorted.push_back(std::move(out[i]));
    return sorted;
}

} // namespace casacal::calendar
