#pragma once
// Reminder planning: from a calendar snapshot and the recipients, every
// reminder due within the horizon, one per (occurrence, offset, recipient).
// Pure: the caller passes the time and writes the result to store::outbox.

#include "calendar/calendar.hpp"
#include "config/site.hpp"
#include "store/outbox.hpp"
#include "store/subscribers.hpp"

#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casacal::notify {

/// Someone who gets reminders: a member of the file or a confirmed web subscriber.
struct recipient {
    std::string email;
    std::string name;
    std::string locale; ///< empty: the site's
    std::vector<std::string> categories; ///< keys, or "*"
    std::optional<std::vector<config::duration>> offsets; ///< personal override
};

/// Members of the file, then confirmed web subscribers not in the file,
/// leaving out every unsubscribed address (lower-case). A member of the
/// file who subscribed on the web too follows the categories of both.
std::vector<recipient> recipients_of(const config::site& site,
                                     const std::vector<store::subscriber>& confirmed,
                                     const std::set<std::string>& unsubscribed);

/// How far ahead reminders are written to the outbox. Replanning at least
/// every `horizon / 2` keeps every reminder planned well before it is due.
inline constexpr calendar::unix_time planning_horizon = 7 * 24 * 3600;

struct plan {
    std::vector<store::planned_row> rows;
    store::plan_scope scope; ///< the occurrence starts these rows speak for
};

/// Every reminder due before `now + planning_horizon` for occurrences that
/// start after `now`; offsets resolve member > event > category >
/// [reminders]. A programme gets one reminder per offset for all its
/// sessions, due before its first session. Cancelled events get none.
plan make_plan(const calendar::model& m, const std::vector<recipient>& recipients,
               calendar::unix_time now);

/// "P1D", "PT2H", "P1DT30M": the canonical text of an offset, so that two
/// spellings of the same duration make the same key.
std::string canonical_duration(const config::duration& d);

/// The instant `d` before `start`, days counted on the wall clock of `zone`
/// (so P1D before 18:30 is 18:30 the day before, across DST too).
calendar::unix_time before(calendar::unix_time start, const std::string& zone,
                           const config::duration& d);

/// Which occurrence of its series `o` is, as the outbox records it: the
/// recurrence id, or the start (RFC 3339, or a date) of a single event.
std::string occurrence_text(const calendar::occurrence& o);

/// A programme's sessions as its reminder's schedule lists them (see store).
using store::schedule_sessions;

/// The token of `email`'s personal feed, /feeds/{token}.ics: the first 128
/// bits of HMAC-SHA-256, under the site's feed key
/// (store::subscribers::feed_key), of the lower-cased address, as 32 hex
/// digits. The same for an address every time, so that the link in every
/// reminder is the one a calendar subscribed to; nobody can make one
/// without the key.
std::string feed_token(std::string_view key, std::string_view email);

/// Message-ID local part and domain for an outbox key: stable for the key.
std::string message_id_for(const std::string& key, const std::string& domain);

} // namespace casacal::notify
