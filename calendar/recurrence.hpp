#pragma once
// RRULE parsing, UNTIL normalisation and expansion with libical.

#include "calendar/zone.hpp"

#include <libical/ical.h>

#include <optional>
#include <string>

namespace casacal::calendar {

/// No series is expanded further than this many occurrences (runaway rules).
inline constexpr int max_occurrences = 100000;

/// A validated RRULE of one series.
struct rule {
    /// UNTIL rewritten in the frame the series is iterated in: the DTSTART's
    /// wall clock (floating); all-day series iterate on floating midnights.
    icalrecurrencetype iteration;
    std::string feed_text; ///< the RRULE value the feed writes (UNTIL in UTC for zoned starts)
    bool bounded() const { return iteration.count > 0 || !icaltime_is_null_time(iteration.until); }
};

/// libical's serialisation with the parts in a fixed order (FREQ, UNTIL,
/// COUNT, INTERVAL, BYMONTH... WKST).
std::string rrule_text(const icalrecurrencetype& r);

/// Parses `text` for a series whose DTSTART is `dtstart` of kind `kind`;
/// `zone` reads local UNTIL values (the site's zone for UTC starts).
/// Returns nullopt and sets `*error` when invalid.
std::optional<rule> parse_rule(const std::string& text, config::when::kind kind, zone_ptr zone,
                               const config::civil& dtstart, std::string* error);

/// The starts a rule generates, in the DTSTART's frame, in order. Not copyable.
class rule_iterator {
  public:
    rule_iterator(const rule& r, const config::civil& dtstart, bool all_day);
    ~rule_iterator();
    rule_iterator(const rule_iterator&) = delete;
    rule_iterator& operator=(const rule_iterator&) = delete;

    /// The next start, or nullopt at the end of the series (or the bound).
    std::optional<config::civil> next();

  private:
    icalrecur_iterator* it_ = nullptr;
    int produced_ = 0;
    bool all_day_ = false;
};

} // namespace casacal::calendar
