#pragma once
// The reminder, update and cancellation emails of an outbox row, built from
// the current calendar snapshot.

#include "calendar/calendar.hpp"
#include "notify/message.hpp"
#include "store/outbox.hpp"

#include <optional>
#include <string>
#include <vector>

namespace casacal::notify {

/// Whether the row reminds of a whole programme (one reminder for all its
/// sessions) rather than of one occurrence.
bool is_programme(const store::outbox_row& row);

/// What a row is about, found again in the current calendar: the occurrence,
/// or every session of a programme. Empty when it no longer exists.
std::vector<calendar::occurrence> find_subject(const calendar::model& m,
                                               const store::outbox_row& row);

/// The payload the planner stores with a row: what a cancellation notice
/// needs once the occurrence is gone (title, and when it was, in words, in
/// the site's zone).
std::string payload_for(const calendar::occurrence& o, const config::site& site,
                        const std::string& locale);

/// Builds the email for `row`. `about` comes from find_subject (it may be
/// empty for a cancellation notice). `unsubscribe_url` is the one-click URL,
/// `feed_url` the recipient's personal feed (no link when empty). A
/// cancellation notice attaches the VEVENTs it cancels
/// (calendar::cancellation_calendar); `last_revision` gives the SEQUENCE of
/// those the site no longer has (store::revisions::last; 0 without it).
message compose(const calendar::model& m, const calendar::revision_map& revisions,
                const store::outbox_row& row, const std::vector<calendar::occurrence>& about,
                const mailbox& from, const std::string& unsubscribe_url,
                const std::string& feed_url = {},
                const calendar::revision_lookup& last_revision = {});

/// How long a notice waits before it goes: a change undone within it (a
/// deploy that empties the events folder for a moment, an editor's
/// half-written file) withdraws its cancellation notice, and nobody is told.
constexpr calendar::unix_time notice_settle = 10;

/// The key and due time (now + notice_settle) of a notice telling the
/// recipients of a sent reminder that its occurrence moved (`update`) or
/// vanished (`cancellation`).
store::planned_row notice_for(const store::outbox_row& sent, store::message_kind kind,
                              calendar::unix_time now, const std::string& domain);

} // namespace casacal::notify
