#pragma once
// Civil-time arithmetic and time zones on top of libical's UTC-offset tables.
// libical's own local-to-UTC conversion does not follow RFC 5545 at DST
// edges, so local times are resolved here (RFC 5545 §3.3.5).

#include "calendar/calendar.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct _icaltimezone;

namespace casacal::calendar {

using zone_ptr = _icaltimezone*;

/// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(int year, int month, int day);
/// The date `days` after 1970-01-01 (time fields zero).
config::civil civil_from_days(std::int64_t days);
/// Seconds since the epoch of `c` read as UTC.
std::int64_t seconds_of(const config::civil& c);
/// The UTC wall clock of an instant.
config::civil civil_of(std::int64_t seconds);
config::civil add_days(const config::civil& c, int days);
/// Only the date part of `c` (time fields zero).
config::civil date_of(const config::civil& c);
/// The number written by the `n` decimal digits of `text` at `at`; nullopt
/// when one of them is not a digit or `text` ends before.
std::optional<int> decimal(std::string_view text, std::size_t at, std::size_t n);
/// A strict YYYY-MM-DD calendar date from 1900 on; nullopt when malformed or
/// not a real date (2026-02-30).
std::optional<config::civil> parse_date(std::string_view text);

/// "2026-12-03T18:30:00" or, with `date_only`, "2026-12-03".
std::string iso_text(const config::civil& c, bool date_only = false);
/// "20261203T183000" or "20261203".
std::string ics_text(const config::civil& c, bool date_only = false);
/// "+02:00" / "-05:00" / "+00:00".
std::string offset_text(int offset_seconds);
/// RFC 3339 "2026-12-03T18:30:00+01:00" for the wall clock `local` read with
/// `offset_seconds`; in UTC ("…Z") when the offset has seconds (Monrovia's
/// -00:44:30 before 1972), which RFC 3339 cannot write.
std::string rfc3339_text(const config::civil& local, int offset_seconds);

/// The zone libical knows under an IANA name; nullptr when unknown.
zone_ptr find_zone(const std::string& name);

/// UTC offset in seconds in force at an instant.
int utc_offset(zone_ptr zone, unix_time t);

/// How a wall-clock time maps to an instant.
enum class fold { none, gap, overlap };

struct resolved_time {
    unix_time utc = 0;
    int offset = 0; ///< the offset the wall clock was read with
    fold kind = fold::none;
};

/// RFC 5545 §3.3.5: in an overlap the first occurrence; in a gap, the
/// offset in force before the gap.
resolved_time to_utc(zone_ptr zone, const config::civil& local);

/// A change of a zone's offset as wall clocks: the times in [from, to) do
/// not exist (gap) or happen twice (overlap).
struct fold_span {
    config::civil from, to;
    fold kind = fold::none;
};

/// The changes of `zone` in the UTC years [first_year, last_year].
std::vector<fold_span> fold_spans(zone_ptr zone, int first_year, int last_year);

/// The wall clock of an instant in `zone`; sets `*offset` when non-null.
config::civil to_local(zone_ptr zone, unix_time t, int* offset = nullptr);

/// The warning `build` gives for a time in a gap or overlap; empty when none.
std::string fold_warning(const config::civil& local, const std::string& zone_name,
                         const resolved_time& r, zone_ptr zone);

/// The unfolded content lines of a VTIMEZONE for `zone` named `name`, with
/// only the rules in force from January 1st of `start_year` on.
std::vector<std::string> vtimezone_lines(zone_ptr zone, const std::string& name, int start_year);

} // namespace casacal::calendar
