#include "calendar/zone.hpp"

#include "calendar/recurrence.hpp"

#include <libical/ical.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace casacal::calendar {

std::int64_t days_from_civil(int year, int month, int day) {
    const std::int64_t y = month <= 2 ? year - 1 : year;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

config::civil civil_from_days(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const std::int64_t doe = days - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    const int year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
    return config::civil{year, month, day, 0, 0, 0};
}

std::int64_t seconds_of(const config::civil& c) {
    return days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 +
           c.second;
}

config::civil civil_of(std::int64_t seconds) {
    std::int64_t days = seconds / 86400;
    std::int64_t rest = seconds % 86400;
    if (rest < 0) {
        rest += 86400;
        --days;
    }
    config::civil c = civil_from_days(days);
    c.hour = static_cast<int>(rest / 3600);
    c.minute = static_cast<int>(rest / 60 % 60);
    c.second = static_cast<int>(rest % 60);
    return c;
}

config::civil add_days(const config::civil& c, int days) {
    config::civil d = civil_from_days(days_from_civil(c.year, c.month, c.day) + days);
    d.hour = c.hour;
    d.minute = c.minute;
    d.second = c.second;
    return d;
}

config::civil date_of(const config::civil& c) {
    return config::civil{c.year, c.month, c.day, 0, 0, 0};
}

std::optional<int> decimal(std::string_view text, std::size_t at, std::size_t n) {
    if (at > text.size() || n > text.size() - at) return std::nullopt;
    int out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        out = out * 10 + (text[i] - '0');
    }
    return out;
}

std::optional<config::civil> parse_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    const auto year = decimal(text, 0, 4), month = decimal(text, 5, 2), day = decimal(text, 8, 2);
    if (!year || !month || !day) return std::nullopt;
    const config::civil c{*year, *month, *day, 0, 0, 0};
    if (c.year < 1900 || c.month < 1 || c.month > 12 || c.day < 1) return std::nullopt;
    // Round-trip through the day count to reject 2026-02-30.
    if (civil_from_days(days_from_civil(c.year, c.month, c.day)) != c) return std::nullopt;
    return c;
}

namespace {

/// Writes `n` as `width` digits at `p` (the year may need more: then
/// the full number); returns the end.
char* put_digits(char* p, int n, int width) {
    if (n < 0 || (width == 4 && n > 9999)) return p + std::sprintf(p, "%0*d", width, n);
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + n % 10);
        n /= 10;
    }
    return p + width;
}

/// Dates and times with `date_sep` between date fields, and `time_sep`
/// between time fields ('\0' for none).
std::string civil_text(const config::civil& c, bool date_only, char date_sep, char time_sep) {
    char buf[64];
    char* p = put_digits(buf, c.year, 4);
    if (date_sep) *p++ = date_sep;
    p = put_digits(p, c.month, 2);
    if (date_sep) *p++ = date_sep;
    p = put_digits(p, c.day, 2);
    if (!date_only) {
        *p++ = 'T';
        p = put_digits(p, c.hour, 2);
        if (time_sep) *p++ = time_sep;
        p = put_digits(p, c.minute, 2);
        if (time_sep) *p++ = time_sep;
        p = put_digits(p, c.second, 2);
    }
    return std::string(buf, p);
}

} // namespace

std::string iso_text(const config::civil& c, bool date_only) {
    return civil_text(c, date_only, '-', ':');
}

std::string ics_text(const config::civil& c, bool date_only) {
    return civil_text(c, date_only, '\0', '\0');
}

std::string offset_text(int offset_seconds) {
    const int a = std::abs(offset_seconds);
    char buf[16];
    char* p = buf;
    *p++ = offset_seconds < 0 ? '-' : '+';
    p = put_digits(p, a / 3600, 2);
    *p++ = ':';
    p = put_digits(p, a / 60 % 60, 2);
    return std::string(buf, p);
}

std::string rfc3339_text(const config::civil& local, int offset_seconds) {
    if (offset_seconds % 60 != 0)
        return iso_text(civil_of(seconds_of(local) - offset_seconds)) + "Z";
    return iso_text(local) + offset_text(offset_seconds);
}

namespace {
// libical fills each zone's table of changes lazily and loads built-in zones
// on first use, without a lock of its own in 3.0 (data races on those
// caches). The daemon's rebuild worker and its io thread both read zones,
// so every libical zone call goes through this one lock; uncontended, it
// costs a few nanoseconds.
std::mutex& zone_cache_lock() {
    static std::mutex lock;
    return lock;
}
} // namespace

zone_ptr find_zone(const std::string& name) {
    std::lock_guard guard(zone_cache_lock());
    // Names of the tz database's other trees and aliases are not IANA zone
    // names: right/ zones count leap seconds (an event at 18:30 would be
    // published 27 s off), localtime follows the host, Factory has no
    // local time at all.
    if (name.empty() || name.starts_with("right/") || name.starts_with("posix/") ||
        name == "posixrules" || name == "localtime" || name == "Factory")
        return nullptr;
    // libical compares the name with each of its ~400 zones in turn.
    static std::map<std::string, zone_ptr, std::less<>> found;
    if (const auto it = found.find(name); it != found.end()) return it->second;
    zone_ptr zone = icaltimezone_get_builtin_timezone(name.c_str());
    if (zone) found.emplace(name, zone);
    return zone;
}

namespace {

/// libical's answer, under the lock.
int libical_utc_offset(zone_ptr zone, unix_time t) {
    // What icaltime_from_timet_with_zone(t, 0, utc) gives, without gmtime.
    icaltimetype tt = ical_of(civil_of(t), false, true);
    int is_daylight = 0;
    std::lock_guard guard(zone_cache_lock());
    return icaltimezone_get_utc_offset_of_utc_time(zone, &tt, &is_daylight);
}

/// The offsets of one zone over one UTC year, read from libical once: the
/// offset at its first second, then each change (instant, new offset).
/// Zones never change twice within six hours (months apart, in practice), so
/// samples six hours apart find every change, and bisection its exact second.
struct year_offsets {
    std::vector<std::pair<unix_time, int>> spans;

    year_offsets(zone_ptr zone, int year) {
        const unix_time begin = days_from_civil(year, 1, 1) * 86400;
        const unix_time end = days_from_civil(year + 1, 1, 1) * 86400;
        int current = libical_utc_offset(zone, begin);
        spans.emplace_back(begin, current);
        constexpr unix_time step = 6 * 3600;
        for (unix_time t = begin; t < end; t += step) {
            const unix_time next = std::min(t + step, end - 1);
            const int later = libical_utc_offset(zone, next);
            if (later == current) continue;
            unix_time lo = t, hi = next; // offset(lo) == current, offset(hi) == later
            while (hi - lo > 1) {
                const unix_time mid = lo + (hi - lo) / 2;
                (libical_utc_offset(zone, mid) == current ? lo : hi) = mid;
            }
            spans.emplace_back(hi, later);
            current = later;
        }
    }

    int at(unix_time t) const {
        int off = spans.front().second;
        for (const auto& [from, offset] : spans) {
            if (from > t) break;
            off = offset;
        }
        return off;
    }
};

/// Per zone, its years' offsets, filled on first use and then read without
/// a lock (each year is published once and never changes).
struct zone_offsets {
    static constexpr int first_year = 1900, years = 400;
    std::atomic<zone_ptr> zone{nullptr};
    std::array<std::atomic<const year_offsets*>, years> by_year{};
};

constexpr std::size_t max_cached_zones = 64;
std::array<zone_offsets, max_cached_zones> offset_tables;

/// The table of `zone`, or nullptr when every slot is taken.
zone_offsets* offsets_of(zone_ptr zone) {
    for (zone_offsets& z : offset_tables) {
        const zone_ptr owner = z.zone.load(std::memory_order_acquire);
        if (owner == zone) return &z;
        if (owner == nullptr) break;
    }
    static std::mutex claim;
    std::lock_guard guard(claim);
    for (zone_offsets& z : offset_tables) {
        const zone_ptr owner = z.zone.load(std::memory_order_acquire);
        if (owner == zone) return &z;
        if (owner == nullptr) {
            z.zone.store(zone, std::memory_order_release);
            return &z;
        }
    }
    return nullptr;
}

/// The offsets of `zone` over a UTC year, from the cache; nullptr when the
/// year or the zone is past what it holds.
const year_offsets* offsets_in(zone_ptr zone, int year) {
    zone_offsets* table = offsets_of(zone);
    if (!table || year < zone_offsets::first_year ||
        year >= zone_offsets::first_year + zone_offsets::years)
        return nullptr;
    std::atomic<const year_offsets*>& slot = table->by_year[year - zone_offsets::first_year];
    const year_offsets* offsets = slot.load(std::memory_order_acquire);
    if (!offsets) {
        static std::mutex fill;
        std::lock_guard guard(fill);
        offsets = slot.load(std::memory_order_acquire);
        if (!offsets) {
            offsets = new year_offsets(zone, year); // kept for the process' life
            slot.store(offsets, std::memory_order_release);
        }
    }
    return offsets;
}

} // namespace

int utc_offset(zone_ptr zone, unix_time t) {
    const year_offsets* offsets = offsets_in(zone, civil_of(t).year);
    return offsets ? offsets->at(t) : libical_utc_offset(zone, t);
}

std::vector<fold_span> fold_spans(zone_ptr zone, int first_year, int last_year) {
    std::vector<fold_span> out;
    for (int year = first_year; year <= last_year; ++year) {
        const year_offsets* offsets = offsets_in(zone, year);
        if (!offsets) break;
        const auto& spans = offsets->spans;
        for (std::size_t i = 1; i < spans.size(); ++i) {
            const auto [at, after] = spans[i];
            const int before = spans[i - 1].second;
            if (after > before)
                out.push_back({civil_of(at + before), civil_of(at + after), fold::gap});
            else
                out.push_back({civil_of(at + after), civil_of(at + before), fold::overlap});
        }
    }
    return out;
}

resolved_time to_utc(zone_ptr zone, const config::civil& local) {
    const std::int64_t wall = seconds_of(local);
    // Zones change offset at most once in two days, so the offsets in force a
    // day either side are the only candidates.
    const int before = utc_offset(zone, wall - 86400);
    const int after = utc_offset(zone, wall + 86400);
    const bool before_fits = utc_offset(zone, wall - before) == before;
    const bool after_fits =
        after == before ? before_fits : utc_offset(zone, wall - after) == after;
    if (before_fits && after_fits) {
        if (before == after) return {wall - before, before, fold::none};
        const int first = before > after ? before : after; // larger offset = earlier instant
        return {wall - first, first, fold::overlap};
    }
    if (before_fits) return {wall - before, before, fold::none};
    if (after_fits) return {wall - after, after, fold::none};
    return {wall - before, before, fold::gap};
}

config::civil to_local(zone_ptr zone, unix_time t, int* offset) {
    const int off = utc_offset(zone, t);
    if (offset) *offset = off;
    return civil_of(t + off);
}

std::string fold_warning(const config::civil& local, const std::string& zone_name,
                         const resolved_time& r, zone_ptr zone) {
    if (r.kind == fold::gap) {
        int off = 0;
        const config::civil shown = to_local(zone, r.utc, &off);
        char hm[8];
        std::snprintf(hm, sizeof hm, "%02d:%02d", shown.hour, shown.minute);
        return iso_text(local) + " does not exist in " + zone_name +
               " (clocks go forward); read as " + hm + " (UTC" + offset_text(off) +
               ") per RFC 5545";
    }
    if (r.kind == fold::overlap)
        return iso_text(local) + " happens twice in " + zone_name + "; read as the first (UTC" +
               offset_text(r.offset) + ") per RFC 5545";
    return {};
}

namespace {

struct component_deleter {
    void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
using component_ptr = std::unique_ptr<icalcomponent, component_deleter>;

std::string property_line(icalproperty* p) {
    char* raw = icalproperty_as_ical_string_r(p);
    std::string text(raw ? raw : "");
    std::free(raw);
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' || text[i] == '\n') {
            // Unfold: CRLF followed by one space or tab is no line break.
            std::size_t j = i;
            if (text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') ++j;
            if (j + 1 < text.size() && (text[j + 1] == ' ' || text[j + 1] == '\t')) j += 1;
            i = j;
            continue;
        }
        out += text[i];
    }
    return out;
}

std::string rule_without_until(icalproperty* rrule) {
    icalrecurrencetype r = icalproperty_get_rrule(rrule);
    r.until = icaltime_null_time();
    char* s = icalrecurrencetype_as_string_r(&r);
    std::string out(s ? s : "");
    std::free(s);
    return out;
}

std::string text_of(icalcomponent* c, icalproperty_kind kind) {
    icalproperty* p = icalcomponent_get_first_property(c, kind);
    return p ? property_line(p) : std::string();
}

std::string value_of(icalcomponent* c, icalproperty_kind kind) {
    const std::string line = text_of(c, kind);
    const auto colon = line.find(':');
    return colon == std::string::npos ? std::string() : line.substr(colon + 1);
}

// libical reads the zone files' 32-bit table, which ends at
// 2038-01-19T03:14:07Z, and starts an observance there: a copy of the rule
// then in force (with that instant's offset as TZOFFSETFROM), or a
// transition to the offset already in force.
bool starts_at_32_bit_end(icalcomponent* c) {
    const icaltimetype start = icalcomponent_get_dtstart(c);
    return start.year == 2038 && start.month == 1 && (start.day == 18 || start.day == 19) &&
           start.second == 7;
}

// The no-op observances that end leaves: no rule, the offset unchanged.
void drop_32_bit_end_marks(icalcomponent* vtz) {
    std::vector<icalcomponent*> marks;
    for (icalcomponent* c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT)) {
        if (starts_at_32_bit_end(c) && !icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY) &&
            value_of(c, ICAL_TZOFFSETFROM_PROPERTY) == value_of(c, ICAL_TZOFFSETTO_PROPERTY))
            marks.push_back(c);
    }
    for (icalcomponent* c : marks) {
        icalcomponent_remove_component(vtz, c);
        icalcomponent_free(c);
    }
}

// libical's tables stop around 2037 and continue with a second, open-ended
// copy of each rule. Join such pairs so a rule still observed never ends.
void join_split_rules(icalcomponent* vtz) {
    bool changed = true;
    while (changed) {
        changed = false;
        std::vector<icalcomponent*> parts;
        for (icalcomponent* c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT); c;
             c = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT))
            parts.push_back(c);
        for (icalcomponent* a : parts) {
            icalproperty* ar = icalcomponent_get_first_property(a, ICAL_RRULE_PROPERTY);
            if (!ar || icaltime_is_null_time(icalproperty_get_rrule(ar).until)) continue;
            const icaltimetype until = icalproperty_get_rrule(ar).until;
            for (icalcomponent* b : parts) {
                if (b == a || icalcomponent_isa(b) != icalcomponent_isa(a)) continue;
                icalproperty* br = icalcomponent_get_first_property(b, ICAL_RRULE_PROPERTY);
                if (!br || rule_without_until(ar) != rule_without_until(br) ||
                    (text_of(a, ICAL_TZOFFSETFROM_PROPERTY) !=
                         text_of(b, ICAL_TZOFFSETFROM_PROPERTY) &&
                     !starts_at_32_bit_end(b)) ||
                    text_of(a, ICAL_TZOFFSETTO_PROPERTY) != text_of(b, ICAL_TZOFFSETTO_PROPERTY) ||
                    text_of(a, ICAL_TZNAME_PROPERTY) != text_of(b, ICAL_TZNAME_PROPERTY) ||
                    icaltime_compare_date_only(icalcomponent_get_dtstart(b), until) < 0)
                    continue;
                icalrecurrencetype joined = icalproperty_get_rrule(ar);
                joined.until = icalproperty_get_rrule(br).until;
                icalproperty_set_rrule(ar, joined);
                icalcomponent_remove_component(vtz, b);
                icalcomponent_free(b);
                changed = true;
                break;
            }
            if (changed) break;
        }
    }
}

/// The offset a reader of `vtz` finds in force at `t`, as libical reads it.
int offset_read_from(icalcomponent* vtz, unix_time t) {
    icaltimezone* read = icaltimezone_new();
    icaltimezone_set_component(read, icalcomponent_new_clone(vtz));
    const int offset = libical_utc_offset(read, t);
    icaltimezone_free(read, 1);
    return offset;
}

/// The last change of `zone` at or before `t`, within the two years before
/// it: its instant, and the offsets before and after it.
struct change {
    unix_time at = 0;
    int before = 0, after = 0;
};
std::optional<change> last_change(zone_ptr zone, unix_time t) {
    const int last = civil_of(t).year;
    for (int year = last; year >= std::max(last - 2, int{zone_offsets::first_year}); --year) {
        const year_offsets offsets(zone, year);
        for (auto it = offsets.spans.rbegin(); it + 1 != offsets.spans.rend(); ++it)
            if (it->first <= t) return change{it->first, (it + 1)->second, it->second};
    }
    return std::nullopt;
}

/// libical's cutting drops a part without RRULE whose one onset lies before
/// `from` even when it is the one in force then, if a rule of the other
/// kind still runs past `from` (America/Sao_Paulo cut at December 2018: the
/// summer time begun in November, and abolished before the next, is lost;
/// the rule of the winters ending in February stays). A part for the change
/// in force at `from` is put back when the cut component reads another
/// offset there than the zone has; such a part began within the rule's
/// last year, so the change is looked for in the two years before `from`.
void keep_part_in_force(icalcomponent* vtz, zone_ptr zone, unix_time from) {
    // Past 2037 libical's own tables are rules it guessed: nothing to mend.
    if (civil_of(from).year > 2037) return;
    const int actual = utc_offset(zone, from);
    if (offset_read_from(vtz, from) == actual) return;
    const auto c = last_change(zone, from);
    if (!c || c->after != actual) return;
    icalcomponent* part = icalcomponent_new(c->after > c->before ? ICAL_XDAYLIGHT_COMPONENT
                                                                 : ICAL_XSTANDARD_COMPONENT);
    icalcomponent_add_property(part, icalproperty_new_tzoffsetfrom(c->before));
    icalcomponent_add_property(part, icalproperty_new_tzoffsetto(c->after));
    // An onset is the wall clock before the change (TZOFFSETFROM), floating.
    icalcomponent_add_property(
        part, icalproperty_new_dtstart(ical_of(civil_of(c->at + c->before), false, false)));
    icalcomponent_add_component(vtz, part);
}

} // namespace

std::vector<std::string> vtimezone_lines(zone_ptr zone, const std::string& name, int start_year) {
    std::vector<std::string> lines;
    std::unique_lock guard(zone_cache_lock());
    icalcomponent* source = icaltimezone_get_component(zone);
    if (!source) {
        // libical's built-in UTC zone has no component: one fixed rule.
        return {"BEGIN:VTIMEZONE",    "TZID:" + name,     "BEGIN:STANDARD",          "TZNAME:UTC",
                "TZOFFSETFROM:+0000", "TZOFFSETTO:+0000", "DTSTART:19700101T000000", "END:STANDARD",
                "END:VTIMEZONE"};
    }
    component_ptr vtz(icalcomponent_new_clone(source));
    guard.unlock();
    // A month of margin: the feed's first wall-clock date may lie before
    // January 1st UTC (zones east of Greenwich).
    icaltimetype from = icaltime_null_time();
    from.year = start_year - 1;
    from.month = 12;
    from.day = 1;
    from.zone = icaltimezone_get_utc_timezone();
    icaltimezone_truncate_vtimezone(vtz.get(), from, icaltime_null_time(), 1);
    join_split_rules(vtz.get());
    drop_32_bit_end_marks(vtz.get());
    keep_part_in_force(vtz.get(), zone, days_from_civil(from.year, from.month, from.day) * 86400);

    lines.push_back("BEGIN:VTIMEZONE");
    lines.push_back("TZID:" + name);
    for (icalcomponent* c = icalcomponent_get_first_component(vtz.get(), ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(vtz.get(), ICAL_ANY_COMPONENT)) {
        const char* kind = icalcomponent_kind_to_string(icalcomponent_isa(c));
        lines.push_back(std::string("BEGIN:") + kind);
        // DTSTART is the first onset of a part whatever its RDATEs say (RFC
        // 5545 §3.8.5.3), but ical.js only counts it when there are none:
        // it is given again as the first RDATE.
        std::string first_onset;
        if (icalproperty* d = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY)) {
            const std::string line = property_line(d);
            first_onset = line.substr(line.find(':') + 1);
        }
        for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
             p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
            const icalproperty_kind pk = icalproperty_isa(p);
            if (pk == ICAL_X_PROPERTY || pk == ICAL_TZUNTIL_PROPERTY) continue;
            if (pk == ICAL_RDATE_PROPERTY && !first_onset.empty()) {
                const std::string line = property_line(p);
                if (line.substr(line.find(':') + 1) != first_onset)
                    lines.push_back("RDATE:" + first_onset);
                first_onset.clear();
            }
            if (pk == ICAL_RRULE_PROPERTY) {
                icalrecurrencetype r = icalproperty_get_rrule(p);
                lines.push_back("RRULE:" + rrule_text(r));
                continue;
            }
            lines.push_back(property_line(p));
        }
        lines.push_back(std::string("END:") + kind);
    }
    lines.push_back("END:VTIMEZONE");
    return lines;
}

} // namespace casacal::calendar
