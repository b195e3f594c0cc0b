#pragma once
// The site's configuration as plain values: what casacal.toml, events.d/*.toml
// and members.toml say, with the source position of every value that a later
// check (calendar, notify) may need to point at. No defaults are left implicit:
// the loader fills every field.

#include "config/diagnostics.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace casacal::config {

/// A calendar date and wall-clock time with no zone attached.
struct civil {
    int year = 1970, month = 1, day = 1;
    int hour = 0, minute = 0, second = 0;

    friend auto operator<=>(const civil&, const civil&) = default;
};

/// The years a date may name: Unix time starts in 1970, and RFC 5545 writes
/// years in four digits (a duration may not carry an end past them either).
inline constexpr int min_year = 1970;
inline constexpr int max_year = 9999;

/// A time as written in TOML: a local date (all-day), a local date-time
/// (wall clock in the event's zone) or an offset date-time (an instant,
/// stored here already converted to UTC).
struct when {
    enum class kind { date, local, utc };
    kind type = kind::local;
    civil value;
    position where;
};

/// An ISO 8601 / RFC 5545 duration. Days (weeks count as 7) are nominal:
/// they move the wall clock, so "P1D" before 18:30 is 18:30 the day before.
struct duration {
    int days = 0;
    std::int64_t seconds = 0;
    std::string text; ///< as written, e.g. "PT2H"
    position where;   ///< the value; line 0 for a default

    friend bool operator==(const duration& a, const duration& b) {
        return a.days == b.days && a.seconds == b.seconds;
    }
};

/// The longest reminder offset: a year ahead, as planning looks that much
/// further than its horizon for the events the offsets remind of.
inline constexpr int max_offset_days = 366;

enum class status { confirmed, tentative, cancelled };

struct site_section {
    std::string name;
    std::string base_url; ///< no trailing slash
    std::string domain;
    position domain_at;
    std::string timezone = "Europe/Paris";
    position timezone_at;
    std::string locale = "fr"; ///< "fr" | "en"
    std::filesystem::path events_dir;   ///< resolved against site::base_dir
    std::filesystem::path members_file; ///< resolved against site::base_dir
    /// Where the main file names them: a folder or file that cannot be read
    /// is reported there, though the main file itself may be right.
    position events_at, members_at;
};

struct http_section {
    std::string listen = "127.0.0.1:8080";
    std::string address = "127.0.0.1"; ///< without brackets
    std::uint16_t port = 8080;
};

struct storage_section {
    std::filesystem::path database; ///< resolved against site::base_dir
};

struct smtp_section {
    std::string url;                    ///< empty: pickup transport
    std::string starttls = "required"; ///< "required" | "opportunistic" | "off"
    std::string username;
    std::filesystem::path password_file; ///< resolved against site::base_dir, or empty
    std::string from;                    ///< "Name <addr>" or "addr"; default "agenda@{domain}"
    int max_per_minute = 120;
    std::filesystem::path pickup_dir; ///< resolved against site::base_dir
};

struct reminders_section {
    std::vector<duration> offsets; ///< default P1D, PT2H
    duration grace;                ///< default PT30M
};

struct feeds_section {
    duration keep_past; ///< default P90D
};

struct category {
    std::string key; ///< the table name under [categories]
    std::string name;  ///< defaults to the key
    std::string color; ///< "#rrggbb" (lower case) or empty
    std::optional<std::vector<duration>> offsets;
    position where;
};

/// A change to one occurrence of a recurring event.
struct override_def {
    when recurrence_id;
    std::optional<when> start;
    std::optional<when> end;
    std::optional<std::string> title;
    std::optional<std::string> location;
    std::optional<std::string> description;
    std::optional<config::status> status;
    position where;
};

/// A session of a programme; fields it leaves out come from the programme.
struct session_def {
    std::string title;
    when start;
    std::optional<when> end;
    std::optional<config::duration> duration;
    bool length_written = false; ///< 'end' or 'duration' is there, even if wrong
    std::string location;
    std::string description;
    position where;
};

/// An `[[event]]` or a `[[programme]]` (then `sessions` is non-empty).
struct event_def {
    bool programme = false;
    std::string id;
    position id_at;
    std::string title;
    std::string category;
    position category_at;
    std::optional<when> start; ///< absent for programmes (and when in error)
    std::optional<when> end;
    std::optional<config::duration> duration;
    bool length_written = false; ///< 'end' or 'duration' is there, even if wrong
    std::string rrule; ///< as written, empty when none
    position rrule_at;
    std::vector<when> exdates;
    std::string location;
    std::string description;
    std::string organizer; ///< "Name <addr>" or "addr"
    std::string url;
    std::string price;
    config::status status = config::status::confirmed;
    std::optional<std::vector<config::duration>> offsets;
    std::string timezone; ///< empty: site.timezone
    position timezone_at;
    std::vector<override_def> overrides;
    std::vector<session_def> sessions;
    position where; ///< the table header
};

struct member {
    std::string email; ///< the bare address, even when written "Name <addr>"
    std::string name;  ///< defaults to the display name of `email`
    std::vector<std::string> categories; ///< may hold "*"
    std::optional<std::vector<duration>> offsets;
    std::string locale; ///< empty: site.locale
    position where;
};

/// What tells a file's content without reading it, as make and git do: a
/// file whose size, times and inode are unchanged is taken as unchanged (a
/// write moves ctime, which no tool can set back).
struct file_stamp {
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    std::uint64_t inode = 0, device = 0;

    friend bool operator==(const file_stamp&, const file_stamp&) = default;
};

/// One file of the events folder as it was read: its events are
/// site::events[first, first + count), `problems` what reading it reported.
struct events_source {
    std::string name; ///< file name in the events folder
    std::optional<file_stamp> stamp;
    std::size_t first = 0, count = 0;
    diagnostics problems;
    /// When its events were copied from a previous load: where they start
    /// in that load's events.
    std::optional<std::size_t> previous_first;
};

/// Everything the site's files say. Value type; cheap enough to copy once
/// per reload. Paths stay relative when the main file was given relative,
/// so diagnostics print them as the user typed them.
struct site {
    std::filesystem::path main_file; ///< as given, lexically normalised
    std::filesystem::path base_dir;  ///< folder of main_file, "." when none
    site_section site;
    http_section http;
    storage_section storage;
    smtp_section smtp;
    reminders_section reminders;
    feeds_section feeds;
    std::vector<category> categories; ///< sorted by key
    std::vector<event_def> events;    ///< files in name order, events in file order
    std::vector<member> members;      ///< file order
    std::vector<events_source> sources; ///< the events folder's files, by name
    std::optional<file_stamp> main_stamp; ///< of main_file as it was read

    const category* find_category(std::string_view key) const;
};

struct load_result {
    config::site site;
    diagnostics problems;
};

/// Reads the main file and every file it names. Never throws for bad input:
/// every problem lands in `problems`; `site` holds whatever could be read.
/// With `previous` (an earlier load of the same site), an events file whose
/// stamp is unchanged is not parsed again: its events and problems are
/// taken from `previous`, when the categories are the same.
load_result load(const std::filesystem::path& main_file, const site* previous = nullptr);

/// Parses "P1D", "PT2H30M", "P1W"... (P[nW][nD][T[nH][nM][nS]], unsigned,
/// at least one part, upper case). Returns nullopt when malformed; `where`
/// is left empty.
std::optional<duration> parse_duration(std::string_view text);

/// Checks the addr-spec of "Name <addr>" or "addr" (RFC 5322 dot-atom,
/// ASCII, a domain of at least two labels, no control character anywhere).
/// Sets `address` and `display` (unquoted) on success; either may be null.
bool parse_mailbox(std::string_view text, std::string* display, std::string* address);

/// Like parse_mailbox(), but returns why `text` is not a mailbox ("missing
/// '@'"), or an empty string when it is one.
std::string check_mailbox(std::string_view text, std::string* display, std::string* address);

} // namespace casacal::config
