#pragma once
// The resolved calendar: every event as one series (master VEVENT, rule,
// exceptions, overrides) with its times resolved to instants. Built once per
// configuration by `build`, then read-only.

#include "calendar/calendar.hpp"
#include "calendar/recurrence.hpp"
#include "calendar/zone.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace casacal::calendar {

/// What one VEVENT says: a master, a session or an override.
struct vevent {
    std::string uid;
    std::string event_id;
    int session = 0;
    int programme_title_size = 0; ///< sessions: `title` starts with the programme's, this long
    std::string title;
    std::string category;      ///< key
    std::string category_name; ///< display name
    std::string color;         ///< CSS3 colour name or empty
    std::string location;
    std::string description; ///< with the price line appended
    std::string organizer;   ///< as written
    std::string url;         ///< the event's or {base_url}/events/{id}
    config::status status = config::status::confirmed;
    config::when::kind kind = config::when::kind::local; ///< how DTSTART/DTEND are written
    config::civil start;                                 ///< in that kind's frame
    config::civil end; ///< same frame; all-day: the day after the last
    unix_time start_utc = 0;
    unix_time end_utc = 0;                      ///< all-day: local midnights in the series' zone
    std::optional<config::civil> recurrence_id; ///< overrides: original start, master's frame
    bool moved = false;
};

/// The zone UTC series with a rule are written in (series::gmt_frame).
inline const std::string gmt_zone = "Etc/GMT";

/// One VEVENT UID: a master with its rule, exceptions and overrides.
struct series {
    vevent master;
    zone_ptr zone = nullptr; ///< the event's zone (display zone of UTC starts too)
    std::string zone_name;
    std::shared_ptr<const rule> rrule; ///< null when it does not repeat; shared by copies
    std::vector<config::civil> exdates; ///< master's frame, sorted; cancelled overrides too
    std::vector<vevent> overrides;      ///< sorted by recurrence id
    std::int64_t length = 0;            ///< exact seconds, or days for all-day series
    bool uses_zone = false;             ///< some DTSTART/DTEND carries TZID
    int zone_year = 0;                  ///< first year its VTIMEZONE must cover
    /// The end of its last occurrence (RRULE, EXDATE and overrides applied);
    /// nullopt for a series without end. Set by `build`.
    std::optional<unix_time> last_end;
    /// Copied from the previous model by `build` (an unchanged event).
    bool reused = false;

    bool all_day() const { return master.kind == config::when::kind::date; }
    /// A rule over a UTC start is written in `gmt_zone`: the same instants,
    /// but clients that read a feed's UTC times on its X-WR-TIMEZONE's wall
    /// clock (Google's convention, python's x_wr_timezone) would repeat a
    /// UTC DTSTART on that clock, an hour off across each DST change.
    bool gmt_frame() const { return rrule && master.kind == config::when::kind::utc; }
    /// The instant an original start (master's frame) stands for.
    unix_time instant_of(const config::civil& original) const;
    /// The occurrence the rule generates at `original`, before overrides.
    vevent instance(const config::civil& original) const;
    /// `instance(original).end_utc`, without building the instance.
    unix_time instance_end(const config::civil& original) const;
    bool excluded(const config::civil& original) const;
    const vevent* override_at(const config::civil& original) const;
    /// Whether the rule generates `original` (bounded by max_occurrences).
    bool generates(const config::civil& original) const;
};

class model {
  public:
    config::site site;
    zone_ptr site_zone = nullptr;
    std::vector<series> all; ///< sorted by UID
    /// Unfolded VTIMEZONE lines by (IANA name, first year).
    std::map<std::pair<std::string, int>, std::vector<std::string>> vtimezones;
    /// The first year of the site zone's VTIMEZONE in a feed with no event
    /// (RFC 5545 wants a component in every calendar): the earliest any
    /// series needs, 1970 for a site without events. Held in `vtimezones`.
    int empty_feed_year = 1970;
    /// How far from its start expand() may place an occurrence: two days
    /// when an all-day series is in another zone than the site's (its date
    /// is placed at the site zone's midnight), else 0.
    unix_time listing_shift = 0;
    /// Ids of the events whose build gave a diagnostic (warnings: a good
    /// model has no errors), sorted: a later build must not reuse them.
    std::vector<std::string> noted;

    const series* find(const std::string& uid) const;
};

/// The UID of an event ("id@domain"), or of session n of a programme
/// ("id-n@domain").
std::string uid_of(const std::string& id, int session, const std::string& domain);

/// The occurrence `v` of `s`; `original` is its original start for
/// recurring series.
occurrence make_occurrence(const series& s, const vevent& v,
                           const std::optional<config::civil>& original);

/// `make_occurrence(s, s.instance(original), original)`, where `start` is
/// `s.instant_of(original)`.
occurrence instance_occurrence(const series& s, const config::civil& original, unix_time start);

/// The CSS3 colour keyword nearest to "#rrggbb"; empty when not such a colour.
std::string css_color_name(const std::string& hex);

} // namespace casacal::calendar
