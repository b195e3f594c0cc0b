#pragma once
// RRULE parsing, UNTIL normalisation and expansion with libical.

#include "calendar/zone.hpp"

#include <libical/ical.h>

#include <cstdint>
#include <optional>
#include <string>

namespace casacal::calendar {

/// No series is expanded further than this many occurrences (runaway rules).
inline constexpr int max_occurrences = 100000;

/// A validated RRULE of one series.
struct rule {
    /// The rule as iterated: UNTIL rewritten in the DTSTART's wall clock
    /// (floating; rule_iterator hands libical that wall clock as UTC);
    /// all-day series iterate on midnights. Kept as
    /// libical's text, which is a few dozen bytes where its parsed form
    /// takes 2.7 kB; iteration() parses it again (a microsecond).
    std::string iteration_text;
    std::string feed_text; ///< the RRULE value the feed writes (UNTIL in UTC for zoned starts)
    icalrecurrencetype_frequency freq = ICAL_NO_RECURRENCE;
    int interval = 1;
    icalrecurrencetype_weekday week_start = ICAL_MONDAY_WEEKDAY;
    bool counted = false; ///< has a COUNT
    /// Whether rule_iterator::seek may jump instead of stepping (see seekable()).
    bool seekable = false;
    /// UNTIL in the iteration frame, when the rule has one.
    std::optional<config::civil> until;
    bool bounded() const { return counted || until.has_value(); }
    /// The parsed form of iteration_text.
    icalrecurrencetype iteration() const;
};

/// `c` as a libical date-time: a date, or a time floating or in UTC.
icaltimetype ical_of(const config::civil& c, bool date, bool utc);

/// Whether libical 3.0's icalrecur_iterator_set_start gives the same starts
/// as stepping from DTSTART, when started at the beginning of a period:
/// no COUNT, FREQ of a day or longer, no BYHOUR/BYMINUTE/BYSECOND, BYWEEKNO
/// or BYYEARDAY, and weekly rules on at most one weekday without BYSETPOS
/// (3.0.16 skips the later days of the week otherwise). Checked against
/// stepping in tests/calendar/recurrence_test.cpp.
bool seekable(const icalrecurrencetype& r);

/// libical's serialisation with the parts in a fixed order (FREQ, UNTIL,
/// COUNT, INTERVAL, BYMONTH... WKST).
std::string rrule_text(const icalrecurrencetype& r);

/// Parses `text` for a series whose DTSTART is of kind `kind`;
/// `zone` reads local UNTIL values (the site's zone for UTC starts).
/// Returns nullopt and sets `*error` when invalid. Rules libical parses but
/// refuses to expand are found by the first rule_iterator (see valid()).
std::optional<rule> parse_rule(const std::string& text, config::when::kind kind, zone_ptr zone,
                               std::string* error);

/// The error for a rule whose iterator is not valid(), for a series
/// starting in `start_year`; clears libical's errno.
std::string cannot_expand(const std::string& text, int start_year);

/// The last year libical 3.0 expands rules in.
inline constexpr int last_rule_year = 2582;

/// The starts a rule generates, in the DTSTART's frame, in order. Not copyable.
class rule_iterator {
  public:
    rule_iterator(const rule& r, const config::civil& dtstart, bool all_day);
    ~rule_iterator();
    rule_iterator(const rule_iterator&) = delete;
    rule_iterator& operator=(const rule_iterator&) = delete;

    /// False when libical refuses to expand the rule (then next() gives nothing).
    bool valid() const { return it_ != nullptr; }

    /// The next start, or nullopt at the end of the series (or the bound).
    std::optional<config::civil> next();

    /// The first start at or after `t`; next() then continues after it.
    /// Seekable rules jump there (in either direction). Other rules step on
    /// from where they are, so `t` must not lie before the last start given.
    std::optional<config::civil> seek(const config::civil& t);

  private:
    config::civil start_; ///< the iteration DTSTART
    const rule& rule_;
    icalrecur_iterator* it_ = nullptr;
    std::optional<config::civil> last_; ///< the last start next() gave
    int produced_ = 0;
    bool all_day_ = false;
};

} // namespace casacal::calendar
