#pragma once
// The calendar of a site: validated events, their occurrences and the
// iCalendar feeds. Pure values and functions: no I/O, no clock reads (the
// current time is always passed in), no global mutable state of ours.
// A model is immutable: any thread may read it. libical's process-wide zone
// caches are filled under one lock inside this module (zone.cpp), so the
// daemon's rebuild worker and its io thread may call in at the same time.

#include "config/site.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_md_ctx_st; // OpenSSL's EVP_MD_CTX

namespace casacal::calendar {

/// Seconds since the Unix epoch, UTC.
using unix_time = std::int64_t;

/// One occurrence as the feed implies it, after RRULE, EXDATE and overrides.
struct occurrence {
    std::string uid;      ///< the VEVENT's UID ({id}@{domain}, sessions {id}-{n}@{domain})
    std::string event_id; ///< the event or programme id
    int session = 0;      ///< 1-based session number, 0 when not a session
    /// Sessions: the title is "{programme} — {session}" (or the programme's
    /// alone), and the programme's title is this long.
    int programme_title_size = 0;
    std::string title;
    std::string category;
    std::string location;
    std::string description;
    std::string url;
    config::status status = config::status::confirmed;
    bool all_day = false;
    unix_time start = 0;       ///< all-day: local midnight of the first day in the event's zone
    /// Where lists (the API, the agenda) place it: `start`, but for all-day
    /// the site zone's midnight of its date, as the feed's floating date
    /// reads (set by expand(); `start` elsewhere).
    unix_time listed = 0;
    unix_time end = 0;         ///< exclusive; all-day: local midnight of the day after the last
    config::civil start_local; ///< wall clock in the event's zone (all-day: the date)
    config::civil end_local;   ///< exclusive; all-day: the day after the last
    int start_offset = 0;      ///< UTC offset in seconds at start (0 for all-day)
    int end_offset = 0;
    std::string timezone; ///< IANA name of the event's zone
    /// For occurrences of recurring events: the original start, as RFC 3339
    /// (or a date for all-day series); empty otherwise.
    /// UTC-kind events show the event's zone (the site's unless set).
    std::string recurrence_id;
    /// For occurrences of recurring events: the start the RRULE generated, in
    /// the master DTSTART's frame (wall clock, UTC, or date), as RECURRENCE-ID
    /// writes it.
    config::civil original_start;
    bool moved = false; ///< an override changed its start or end
};

/// The content fingerprint of one UID (its master VEVENT and every
/// RECURRENCE-ID override): changes iff what a client would show changes,
/// category name and colour included. Used to bump SEQUENCE.
struct fingerprint {
    std::string uid;
    std::string hash; ///< hex SHA-256 of those VEVENTs without DTSTAMP/SEQUENCE/LAST-MODIFIED
};

/// What the store remembers of a UID; see store::revisions.
struct revision {
    int sequence = 0;
    unix_time modified = 0;
};
using revision_map = std::map<std::string, revision>;

/// A feed route and its body, before HTTP concerns (ETag, gzip).
struct rendered_feed {
    std::string path; ///< "/calendar.ics", "/calendar/apero.ics", "/events/casapero.ics"
    std::string body; ///< CRLF, folded, UTF-8
};

/// What a feed's body would be, without the body: its size and SHA-256.
struct feed_digest {
    std::string path;
    std::size_t size = 0;
    std::string sha256; ///< lower-case hex, as sha256_hex(body)
};

class model;

struct build_result {
    std::shared_ptr<const model> calendar; ///< null when problems has errors
    config::diagnostics problems;          ///< errors and warnings (DST gaps/overlaps...)
};

/// Validates time zones, RRULEs, ends, overrides... on top of config::load's
/// checks (it does not repeat them: an unknown category is shown by its key)
/// and resolves every event to UTC instants. Wall-clock times follow RFC 5545
/// §3.3.5: in a DST overlap the first instant, in a gap the offset before the
/// gap; each such time written in the files gets a warning.
/// The model keeps `site` (see site_of): move it in to save a copy. Events
/// are built on up to `threads` threads; the result does not depend on it.
/// With `previous` (a model built from an earlier load of the same main
/// file, which `site` was loaded against): an event copied from it by
/// config::load, while the main file is unchanged, takes its series from
/// it instead of being built again, unless its build gave a diagnostic.
build_result build(config::site site, unsigned threads = 1, const model* previous = nullptr);

/// One fingerprint per UID the feeds can contain, sorted by UID, computed
/// on up to `threads` threads.
/// With `texts`, also leaves there each series' VEVENTs as hashed (without
/// DTSTAMP, LAST-MODIFIED and SEQUENCE), by index in the model, for
/// render_feeds to reuse. With `known`, a series whose entry there (by
/// index) is not empty takes that hash and is not rendered ("" in `texts`).
std::vector<fingerprint> fingerprints(const model& m, unsigned threads = 1,
                                      std::vector<std::string>* texts = nullptr,
                                      const std::vector<std::string>* known = nullptr);

/// VEVENT texts one render can take from another, by index in the model.
struct vevent_texts {
    /// In: fingerprints' texts ("" when not rendered).
    const std::vector<std::string>* plain = nullptr;
    /// In: VEVENTs with their revision lines, as an earlier /calendar.ics
    /// holds them ("" when none).
    const std::vector<std::string_view>* ready = nullptr;
    /// Out: where each series' VEVENTs lie in the /calendar.ics body given
    /// to the sink, {offset, length} (length 0: not in it).
    std::vector<std::pair<std::size_t, std::size_t>>* spans = nullptr;
};

/// Every feed of the site: /calendar.ics, then /calendar/{key}.ics for every
/// category (sorted by key, even when empty), then /events/{id}.ics for every
/// event and programme (sorted by id). `now` decides which past events
/// `[feeds] keep_past` leaves out of the first two kinds (at day granularity,
/// so the bytes change at most once a day without an edit): those whose last
/// occurrence ended before local midnight, site zone, keep_past days before
/// today; series without end always stay, bounded series stay whole.
/// Single-event feeds are never trimmed. DTSTAMP/LAST-MODIFIED/SEQUENCE come
/// from `revisions`; a UID missing there gets sequence 0 and the largest
/// `modified` of the map (the epoch when empty) — the daemon passes a
/// complete map.
std::vector<rendered_feed> render_feeds(const model& m, const revision_map& revisions,
                                        unix_time now);

/// render_feeds, handing each feed to `sink` as soon as it is rendered, in
/// the same order, so that they need not all be held at once.
void render_feeds(const model& m, const revision_map& revisions, unix_time now,
                  const std::function<void(rendered_feed)>& sink);

/// The same, with every feed but /calendar.ics (the category feeds, then
/// the single-event feeds) handed to `digest_sink` as a digest, with its
/// index among them (0, 1...): their bytes are hashed as they would be
/// written, not assembled (render_feed gives them on demand). They are
/// digested on up to `threads` threads: `digest_sink` is then called from
/// those threads at once, once per feed, in no particular order. `sink` is
/// called on the calling thread, first, with /calendar.ics alone.
/// `texts` may spare rendering VEVENTs again: a series with a plain text
/// only gets its revision lines, one with a ready text is copied.
void render_feeds(const model& m, const revision_map& revisions, unix_time now,
                  const std::function<void(rendered_feed)>& sink,
                  const std::function<void(std::size_t, feed_digest)>& digest_sink,
                  unsigned threads, const vevent_texts& texts = {});

/// The body render_feeds gives `path` ("/calendar.ics", "/calendar/{key}.ics"
/// or "/events/{id}.ics"), rendering that feed alone; nullopt when
/// render_feeds has no feed at `path`. /calendar.ics renders its VEVENTs on
/// up to `threads` threads. `texts` may spare rendering VEVENTs again, as
/// for render_feeds (`texts.spans` is not filled).
std::optional<std::string> render_feed(const model& m, std::string_view path,
                                       const revision_map& revisions, unix_time now,
                                       unsigned threads = 1, const vevent_texts& texts = {});

/// A feed of the series of /calendar.ics in the categories `keys` (a
/// member's personal feed, for several categories), named
/// "{site} — {category names}", with the VTIMEZONEs they need. `texts` as
/// for render_feed.
std::string render_categories_feed(const model& m, const std::vector<std::string>& keys,
                                   const revision_map& revisions, unix_time now,
                                   const vevent_texts& texts = {});

/// Occurrences starting in [from, to), sorted by start then UID, exactly as a
/// client expands the feeds. Occurrences of a cancelled event are included
/// with status cancelled; occurrences cancelled by an override are not (the
/// feed writes them as EXDATE). Empty category: all. A series whose last
/// occurrence ended before `kept_after` is left out, as from the feeds (see
/// keep_past_cutoff). The series are expanded on up to `threads` threads.
/// The order of expand: by `listed`, then by UID.
bool earlier(const occurrence& a, const occurrence& b);

std::vector<occurrence> expand(const model& m, unix_time from, unix_time to,
                               const std::string& category = {}, unsigned threads = 1,
                               unix_time kept_after = std::numeric_limits<unix_time>::min());

/// expand() for one event or programme: the occurrences of the series
/// whose event id is `event_id` (a programme's sessions), in the same order.
std::vector<occurrence> expand_event(const model& m, const std::string& event_id, unix_time from,
                                     unix_time to);

/// The /api/events document for these occurrences (see product.md), keys in
/// the documented order, no spaces. `location` is "" when unknown;
/// `recurrence_id` is null for events that do not repeat.
std::string agenda_json(const std::vector<occurrence>& occurrences);

/// One VEVENT (with its VTIMEZONE) for a reminder attachment: a VCALENDAR
/// with METHOD:PUBLISH holding that occurrence alone (same UID as the feed,
/// no RRULE), RECURRENCE-ID set for recurring events. Times, title,
/// location, description and status come from `o`.
std::string occurrence_calendar(const model& m, const occurrence& o, const revision_map& revisions);

/// What a cancellation notice knows of an occurrence it announces, which
/// the site may no longer hold.
struct cancelled_occurrence {
    std::string uid;
    /// Its recurrence id (RFC 3339 with offset, or a date for all-day
    /// series) for recurring events; otherwise the event's start.
    std::string occurrence;
    unix_time start = 0; ///< where the reminder placed it
    std::string title;
};

/// The revision last recorded for a UID, also when it has left the site.
using revision_lookup = std::function<std::optional<revision>(const std::string& uid)>;

/// occurrence_calendar for several occurrences (a programme's sessions): one
/// VCALENDAR holding each one's VEVENT and the VTIMEZONEs they need; then
/// `gone`, events that left the site, cancelled as cancellation_calendar
/// writes them (a programme's session removed after its reminder).
std::string occurrences_calendar(const model& m, const std::vector<occurrence>& list,
                                 const revision_map& revisions,
                                 const std::vector<cancelled_occurrence>& gone = {},
                                 unix_time now = 0, const revision_lookup& last_revision = {});

/// The attachment of a cancellation notice: a VCALENDAR with METHOD:PUBLISH
/// holding each occurrence's VEVENT with STATUS:CANCELLED, so that a client
/// which added the reminder's attachment marks them cancelled. An event the
/// site still has is written as occurrence_calendar writes it (with the
/// SEQUENCE of the change); one gone from the site as a VEVENT of its UID
/// (no RECURRENCE-ID: all of it is gone) with DTSTART, SUMMARY,
/// STATUS:CANCELLED, DTSTAMP `now` and one past the SEQUENCE `last_revision`
/// gives (0 without one), so that clients take the notice as newer. nullopt
/// when the site has the series but not an occurrence the text names: an
/// attachment without RECURRENCE-ID would cancel the whole series.
std::optional<std::string> cancellation_calendar(const model& m,
                                                 const std::vector<cancelled_occurrence>& list,
                                                 const revision_map& revisions, unix_time now,
                                                 const revision_lookup& last_revision = {});

/// Midnight at the start of the local date `d` in the site's zone (RFC 5545
/// reading when midnight falls in a gap).
unix_time site_midnight(const model& m, const config::civil& d);

/// The longest any occurrence lasts (overrides included; an all-day one as
/// its days, one of them of 25 hours, plus listing_shift): how long before
/// an instant an occurrence may start and still be under way then.
unix_time longest_occurrence(const model& m);

/// `o` with its wall-clock times in the site's zone, as people at the site
/// read them (the agenda, emails); all-day occurrences and those already
/// in that zone are left as they are.
occurrence in_site_zone(occurrence o, const config::site& site);

/// `[feeds] keep_past` on the day of `now`: a series whose last occurrence
/// ended before this instant is left out of the site and category feeds,
/// and so of expand() given it (local midnight, site zone, keep_past days
/// before today, minus keep_past's hours).
unix_time keep_past_cutoff(const model& m, unix_time now);

/// The site this model was built from.
const config::site& site_of(const model& m);

} // namespace casacal::calendar

namespace casacal::calendar {

/// Lower-case hex SHA-256 of `bytes` (fingerprints, ETags, token hashes).
std::string sha256_hex(std::string_view bytes);

/// HMAC-SHA-256 (RFC 2104) of `bytes` under `key`, lower-case hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view bytes);

/// `count` random bytes from the kernel (getrandom), as lower-case hex.
std::string random_hex(std::size_t count);

/// SHA-256 of bytes given in pieces: hex() equals sha256_hex of them joined.
class sha256_stream {
  public:
    sha256_stream();
    ~sha256_stream();
    sha256_stream(const sha256_stream&) = delete;
    sha256_stream& operator=(const sha256_stream&) = delete;

    void update(std::string_view bytes);
    /// The digest of everything given; call once.
    std::string hex();

  private:
    ::evp_md_ctx_st* ctx_; ///< OpenSSL's EVP_MD_CTX
};

} // namespace casacal::calendar
