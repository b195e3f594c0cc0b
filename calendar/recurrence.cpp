#include "calendar/recurrence.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace casacal::calendar {

namespace {

/// The parts a rule may have (RFC 5545 §3.3.10, RFC 7529's RSCALE), in
/// the order the feed writes them.
constexpr std::array<std::string_view, 15> rule_parts = {
    "FREQ",     "UNTIL",     "COUNT",      "INTERVAL", "BYMONTH",
    "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY",    "BYHOUR",
    "BYMINUTE", "BYSECOND",  "BYSETPOS",   "WKST",     "RSCALE"};

int part_rank(std::string_view part) {
    const std::string_view name = part.substr(0, part.find('='));
    return static_cast<int>(std::find(rule_parts.begin(), rule_parts.end(), name) - rule_parts.begin());
}

config::civil civil_of_ical(const icaltimetype& t) {
    if (t.is_date) return config::civil{t.year, t.month, t.day, 0, 0, 0};
    return config::civil{t.year, t.month, t.day, t.hour, t.minute, t.second};
}

std::string libical_text(const icalrecurrencetype& r) {
    icalrecurrencetype copy = r;
    char* raw = icalrecurrencetype_as_string_r(&copy);
    std::string text(raw ? raw : "");
    std::free(raw);
    return text;
}

/// The parts of `text` between `separator`s, empty ones included.
std::vector<std::string_view> parts_of(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    for (std::size_t begin = 0; begin <= text.size();) {
        const std::size_t end = std::min(text.find(separator, begin), text.size());
        parts.push_back(text.substr(begin, end - begin));
        begin = end + 1;
    }
    return parts;
}

/// A decimal number of at most nine digits (no sign), or -1.
int small_number(std::string_view v) {
    if (v.empty() || v.size() > 9) return -1;
    for (char c : v)
        if (c < '0' || c > '9') return -1;
    return std::stoi(std::string(v));
}

bool positive_integer(std::string_view v) {
    return small_number(v) > 0;
}

/// Whether each comma-separated value is an integer within [low, high],
/// or, when `negative` is allowed, within [-high, -low].
bool list_in(std::string_view v, int low, int high, bool negative) {
    for (std::string_view n : parts_of(v, ',')) {
        if (!n.empty() && (n[0] == '+' || (negative && n[0] == '-'))) n.remove_prefix(1);
        const int x = small_number(n);
        if (x < low || x > high) return false;
    }
    return true;
}

bool weekday_list(std::string_view v) {
    static constexpr std::array<std::string_view, 7> days = {"MO", "TU", "WE", "TH",
                                                             "FR", "SA", "SU"};
    for (const std::string_view d : parts_of(v, ',')) {
        if (d.size() < 2 || std::find(days.begin(), days.end(), d.substr(d.size() - 2)) == days.end())
            return false;
        if (d.size() > 2 && !list_in(d.substr(0, d.size() - 2), 1, 53, true)) return false;
    }
    return true;
}

/// What is wrong with the value of part `name`, or "" (RFC 5545 §3.3.10's
/// ranges). libical reads numbers into ints without a check: COUNT=4294967297
/// would be COUNT=1, BYHOUR=4294967306 BYHOUR=10.
std::string value_problem(std::string_view name, std::string_view value) {
    struct range {
        std::string_view part;
        int low, high;
        bool negative;
        std::string_view says;
    };
    static constexpr std::array<range, 8> ranges = {{
        {"BYMONTH", 1, 12, false, "months from 1 to 12"},
        {"BYWEEKNO", 1, 53, true, "weeks from 1 to 53 (or -53 to -1)"},
        {"BYYEARDAY", 1, 366, true, "days from 1 to 366 (or -366 to -1)"},
        {"BYMONTHDAY", 1, 31, true, "days from 1 to 31 (or -31 to -1)"},
        {"BYHOUR", 0, 23, false, "hours from 0 to 23"},
        {"BYMINUTE", 0, 59, false, "minutes from 0 to 59"},
        {"BYSECOND", 0, 60, false, "seconds from 0 to 60"},
        {"BYSETPOS", 1, 366, true, "positions from 1 to 366 (or -366 to -1)"},
    }};
    if (name == "COUNT" && !positive_integer(value))
        return "COUNT must be a positive integer (at most 999999999)";
    // libical keeps INTERVAL in a short.
    if (name == "INTERVAL" && (!positive_integer(value) || small_number(value) > 32767))
        return "INTERVAL must be a positive integer (at most 32767)";
    if (name == "BYDAY" && !weekday_list(value))
        return "BYDAY takes weekdays (MO, TU, WE, TH, FR, SA, SU), each with an optional "
               "ordinal from 1 to 53 (or -53 to -1) like 1TH or -1FR";
    for (const range& r : ranges)
        if (name == r.part && !list_in(value, r.low, r.high, r.negative))
            return std::string(name) + " takes " + std::string(r.says);
    return {};
}

/// The first part of `text` whose value is out of its range, said; "" when
/// none is (or the text is not NAME=VALUE parts, which libical reports).
std::string values_problem(std::string_view text) {
    for (const std::string_view part : parts_of(text, ';')) {
        const std::size_t eq = part.find('=');
        if (eq == std::string_view::npos) continue;
        if (auto why = value_problem(part.substr(0, eq), part.substr(eq + 1)); !why.empty())
            return why;
    }
    return {};
}

/// What is wrong with a rule libical refused, said as precisely as its
/// parts allow (libical only says no). Out-of-range values never get here:
/// parse_rule asks values_problem first.
std::string why_not_a_rule(std::string_view text) {
    if (text.substr(0, 6) == "RRULE:" || text.substr(0, 6) == "rrule:")
        return "write the rule without 'RRULE:'";
    std::vector<std::string_view> seen;
    for (const std::string_view part : parts_of(text, ';')) {
        const std::size_t eq = part.find('=');
        if (eq == std::string_view::npos) return "'" + std::string(part) + "' is not NAME=VALUE";
        const std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
        if (std::find(rule_parts.begin(), rule_parts.end(), name) == rule_parts.end())
            return "unknown part '" + std::string(name) + "'";
        if (std::find(seen.begin(), seen.end(), name) != seen.end())
            return "'" + std::string(name) + "' is given twice";
        seen.push_back(name);
        if (name == "FREQ" && value != "SECONDLY" && value != "MINUTELY" && value != "HOURLY" &&
            value != "DAILY" && value != "WEEKLY" && value != "MONTHLY" && value != "YEARLY")
            return "FREQ must be DAILY, WEEKLY, MONTHLY, YEARLY, HOURLY, MINUTELY or SECONDLY";
        if (name == "UNTIL" && value.size() != 8 && value.size() != 15 && value.size() != 16)
            return "UNTIL must be a date like 20270630 or a date-time like 20270630T235959Z";
    }
    const auto has = [&](std::string_view n) { return std::find(seen.begin(), seen.end(), n) != seen.end(); };
    if (!has("FREQ")) return "FREQ is required";
    if (has("COUNT") && has("UNTIL")) return "COUNT and UNTIL cannot both be set";
    return "not a valid RFC 5545 recurrence rule";
}

/// Which parts RFC 5545 §3.3.10 forbids with the rule's FREQ, said; "" when
/// none. libical reads such rules and expands them its own way, which no
/// client shares (an ordinal BYDAY in a weekly rule), or never ends.
std::string structure_problem(const icalrecurrencetype& r) {
    const auto given = [](const short* by) { return by[0] != ICAL_RECURRENCE_ARRAY_MAX; };
    const bool monthly = r.freq == ICAL_MONTHLY_RECURRENCE;
    const bool yearly = r.freq == ICAL_YEARLY_RECURRENCE;
    for (int i = 0; i < ICAL_BY_DAY_SIZE && r.by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; ++i) {
        if (icalrecurrencetype_day_position(r.by_day[i]) == 0) continue;
        if (!monthly && !yearly)
            return "a BYDAY with an ordinal (like 2MO) needs FREQ=MONTHLY or FREQ=YEARLY";
        if (yearly && given(r.by_week_no))
            return "a BYDAY with an ordinal (like 2MO) cannot go with BYWEEKNO";
    }
    if (given(r.by_week_no) && !yearly) return "BYWEEKNO needs FREQ=YEARLY";
    if (given(r.by_year_day) && (r.freq == ICAL_DAILY_RECURRENCE ||
                                 r.freq == ICAL_WEEKLY_RECURRENCE || monthly))
        return "BYYEARDAY cannot go with FREQ=DAILY, WEEKLY or MONTHLY";
    if (given(r.by_month_day) && r.freq == ICAL_WEEKLY_RECURRENCE)
        return "BYMONTHDAY cannot go with FREQ=WEEKLY";
    if (given(r.by_set_pos) && !given(r.by_second) && !given(r.by_minute) && !given(r.by_hour) &&
        !given(r.by_day) && !given(r.by_month_day) && !given(r.by_year_day) &&
        !given(r.by_week_no) && !given(r.by_month))
        return "BYSETPOS needs another BY part to choose among";
    return {};
}

} // namespace

icaltimetype ical_of(const config::civil& c, bool date, bool utc) {
    icaltimetype t = date ? icaltime_null_date() : icaltime_null_time();
    t.year = c.year;
    t.month = c.month;
    t.day = c.day;
    if (!date) {
        t.hour = c.hour;
        t.minute = c.minute;
        t.second = c.second;
    }
    t.is_date = date ? 1 : 0;
    t.zone = utc ? icaltimezone_get_utc_timezone() : nullptr;
    return t;
}

icalrecurrencetype rule::iteration() const {
    return icalrecurrencetype_from_string(iteration_text.c_str());
}

std::string rrule_text(const icalrecurrencetype& r) {
    const std::string text = libical_text(r);
    std::vector<std::string_view> parts = parts_of(text, ';');
    std::erase(parts, std::string_view());
    std::stable_sort(parts.begin(), parts.end(), [](std::string_view a, std::string_view b) {
        return part_rank(a) < part_rank(b);
    });
    std::string out;
    for (const std::string_view p : parts) {
        if (!out.empty()) out += ';';
        out += p;
    }
    return out;
}

std::optional<rule> parse_rule(const std::string& text, config::when::kind kind, zone_ptr zone,
                               std::string* error) {
    using config::when;
    const std::string prefix = "invalid rrule '" + text + "': ";
    if (auto why = values_problem(text); !why.empty()) {
        *error = prefix + why;
        return std::nullopt;
    }
    icalerror_clear_errno();
    icalrecurrencetype r = icalrecurrencetype_from_string(text.c_str());
    if (r.freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR) {
        *error = prefix + why_not_a_rule(text);
        icalerror_clear_errno();
        return std::nullopt;
    }
    if (r.rscale) {
        // RFC 7529 calendars: most clients ignore them, and the rule would
        // then mean something else in their hands.
        std::free(r.rscale);
        *error = prefix + "RSCALE is not supported (RFC 5545 rules use the Gregorian calendar)";
        return std::nullopt;
    }
    if (r.count > 0 && !icaltime_is_null_time(r.until)) {
        *error = prefix + "COUNT and UNTIL cannot both be set";
        return std::nullopt;
    }
    if (r.count < 0 || r.interval < 1) {
        *error = prefix + "COUNT and INTERVAL must be positive";
        return std::nullopt;
    }
    for (int i = 0; i < ICAL_BY_MONTH_SIZE && r.by_month[i] != ICAL_RECURRENCE_ARRAY_MAX; ++i) {
        if (icalrecurrencetype_month_is_leap(r.by_month[i]) ||
            icalrecurrencetype_month_month(r.by_month[i]) > 12) {
            *error = prefix + "BYMONTH must be between 1 and 12";
            return std::nullopt;
        }
    }
    if (auto why = structure_problem(r); !why.empty()) {
        *error = prefix + why;
        return std::nullopt;
    }
    if (!icaltime_is_null_time(r.until)) {
        // libical reads 20270230 or T250000 and carries the excess over.
        const icaltimetype u = r.until;
        const config::civil day = civil_from_days(days_from_civil(u.year, u.month, u.day));
        if (u.month < 1 || u.month > 12 || day.month != u.month || day.day != u.day ||
            u.hour > 23 || u.minute > 59 || u.second > 59) {
            *error = prefix + "UNTIL names no real " + (u.is_date ? "date" : "date and time");
            return std::nullopt;
        }
    }
    const bool all_day = kind == when::kind::date;
    if (all_day && (r.freq == ICAL_SECONDLY_RECURRENCE || r.freq == ICAL_MINUTELY_RECURRENCE ||
                    r.freq == ICAL_HOURLY_RECURRENCE)) {
        *error = prefix + "an all-day event cannot repeat more often than daily";
        return std::nullopt;
    }
    const auto given = [](const short* by) { return by[0] != ICAL_RECURRENCE_ARRAY_MAX; };
    if (all_day && (given(r.by_hour) || given(r.by_minute) || given(r.by_second))) {
        // RFC 5545 §3.3.10: they MUST NOT be given with a DATE start.
        *error = prefix + "an all-day event's rule cannot have BYHOUR, BYMINUTE or BYSECOND";
        return std::nullopt;
    }

    icalrecurrencetype iteration = r;
    icalrecurrencetype feed = r;
    if (!icaltime_is_null_time(r.until)) {
        const icaltimetype u = r.until;
        const config::civil written = civil_of_ical(u);
        const bool written_utc = !u.is_date && icaltime_is_utc(u);
        if (all_day) {
            // An all-day series counts whole days: UNTIL is a DATE.
            config::civil day = written;
            if (written_utc) day = to_local(zone, seconds_of(written));
            // libical 3.0 mis-steps weekly rules on DATE starts, so all-day
            // series iterate on midnights and keep only the date.
            iteration.until =
                ical_of(config::civil{day.year, day.month, day.day, 23, 59, 59}, false, false);
            feed.until = ical_of(date_of(day), true, false);
        } else {
            // The last instant that still counts, as a UTC instant.
            unix_time last = 0;
            if (written_utc)
                last = seconds_of(written);
            else if (u.is_date)
                last = to_utc(zone,
                              config::civil{written.year, written.month, written.day, 23, 59, 59})
                           .utc;
            else {
                const resolved_time at = to_utc(zone, written);
                last = at.utc;
                // A wall clock read twice: the occurrence at it is the first
                // instant (§3.3.5), but clients read UNTIL as the second
                // (ical.js, recurring_ical_events) and would drop it. The
                // feed names the second: a rule stepping the wall clock
                // gives nothing between the two.
                if (at.kind == fold::overlap)
                    for (const unix_time shift : {7200, 3600, 1800})
                        if (to_local(zone, last + shift) == written) {
                            last += shift;
                            break;
                        }
            }
            const config::civil frame =
                kind == when::kind::utc ? civil_of(last) : to_local(zone, last);
            iteration.until = ical_of(frame, false, false);
            feed.until = ical_of(civil_of(last), false, true);
        }
    }
    rule out;
    out.iteration_text = libical_text(iteration);
    out.feed_text = rrule_text(feed);
    out.freq = iteration.freq;
    out.interval = iteration.interval;
    out.week_start = iteration.week_start;
    out.counted = iteration.count > 0;
    out.seekable = seekable(iteration);
    if (!icaltime_is_null_time(iteration.until)) out.until = civil_of_ical(iteration.until);

    return out;
}

bool seekable(const icalrecurrencetype& r) {
    const auto empty = [](const short* by) { return by[0] == ICAL_RECURRENCE_ARRAY_MAX; };
    if (r.count > 0 || r.rscale != nullptr) return false;
    if (r.freq != ICAL_DAILY_RECURRENCE && r.freq != ICAL_WEEKLY_RECURRENCE &&
        r.freq != ICAL_MONTHLY_RECURRENCE && r.freq != ICAL_YEARLY_RECURRENCE)
        return false;
    if (!empty(r.by_second) || !empty(r.by_minute) || !empty(r.by_hour) ||
        !empty(r.by_year_day) || !empty(r.by_week_no))
        return false;
    if (r.freq == ICAL_WEEKLY_RECURRENCE &&
        (!empty(r.by_set_pos) ||
         (!empty(r.by_day) && r.by_day[1] != ICAL_RECURRENCE_ARRAY_MAX)))
        return false;
    return true;
}

namespace {

/// Midnight opening the rule's period (day, week from WKST, month, year)
/// that holds `t`: set_start is only exact from there.
config::civil period_start(const rule& r, const config::civil& t) {
    config::civil p = date_of(t);
    switch (r.freq) {
    case ICAL_WEEKLY_RECURRENCE: {
        const std::int64_t days = days_from_civil(p.year, p.month, p.day);
        const int weekday = static_cast<int>(((days + 4) % 7 + 7) % 7) + 1; // Sunday is 1
        const int first = r.week_start == ICAL_NO_WEEKDAY ? ICAL_MONDAY_WEEKDAY : r.week_start;
        p = add_days(p, -((weekday - first + 7) % 7));
        break;
    }
    case ICAL_MONTHLY_RECURRENCE:
        p.day = 1;
        break;
    case ICAL_YEARLY_RECURRENCE:
        p.month = 1;
        p.day = 1;
        break;
    default:
        break;
    }
    return p;
}

} // namespace

rule_iterator::rule_iterator(const rule& r, const config::civil& dtstart, bool all_day)
    : start_(all_day ? date_of(dtstart) : dtstart), rule_(r), all_day_(all_day) {
    // The frame's wall clock is handed over as UTC rather than floating:
    // neither has an offset change, so the starts are the same, but
    // libical 3.0 built with ICU seeks in about half the time (5.4 against
    // 9.6 µs) and creates the iterator in three quarters (docs/performance.md).
    it_ = icalrecur_iterator_new(r.iteration(), ical_of(start_, false, true));
}

rule_iterator::~rule_iterator() {
    if (it_) icalrecur_iterator_free(it_);
}

std::string cannot_expand(const std::string& text, int start_year) {
    icalerror_clear_errno();
    if (start_year > last_rule_year)
        return "invalid rrule '" + text + "': rules are expanded up to " +
               std::to_string(last_rule_year) + " (libical 3.0), and this one starts in " +
               std::to_string(start_year);
    return "invalid rrule '" + text + "': it cannot be expanded: its parts contradict each "
           "other or do not go with its FREQ (BYMONTH=2 with BYMONTHDAY=30, BYYEARDAY with "
           "FREQ=WEEKLY)";
}

std::optional<config::civil> rule_iterator::next() {
    if (!it_ || produced_ >= max_occurrences) return std::nullopt;
    const icaltimetype t = icalrecur_iterator_next(it_);
    if (icaltime_is_null_time(t)) return std::nullopt;
    ++produced_;
    const config::civil c = civil_of_ical(t);
    last_ = all_day_ ? date_of(c) : c;
    return last_;
}

std::optional<config::civil> rule_iterator::seek(const config::civil& t) {
    if (!it_) return std::nullopt;
    if (rule_.seekable) {
        const config::civil from = period_start(rule_, std::max(t, start_));
        if (icalrecur_iterator_set_start(it_, ical_of(from, false, true)) == 0) {
            icalerror_clear_errno();
            return std::nullopt;
        }
        produced_ = 0;
        last_.reset();
    } else if (last_ && *last_ >= t) {
        return last_;
    }
    while (auto c = next())
        if (*c >= t) return c;
    return std::nullopt;
}

} // namespace casacal::calendar
