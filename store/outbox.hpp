#pragma once
// The durable queue of emails: reminders planned before they are sent.

#include "calendar/calendar.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casacal::store {

enum class message_kind { reminder, update, cancellation, test };

/// The life of a row: planned → sending → sent | deferred (→ sending…) |
/// failed | missed; planned or deferred → cancelled.
enum class delivery_state { planned, sending, sent, deferred, failed, missed, cancelled };

std::string_view to_string(message_kind k) noexcept;
std::string_view to_string(delivery_state s) noexcept;
std::optional<message_kind> parse_message_kind(std::string_view text) noexcept;
std::optional<delivery_state> parse_delivery_state(std::string_view text) noexcept;

/// One message the planner wants sent. All times are unix seconds.
struct planned_row {
    std::string key; ///< identity of (occurrence, offset, recipient), built by the caller
    message_kind kind = message_kind::reminder;
    std::string event_id;
    std::string uid;
    std::string occurrence; ///< recurrence id (RFC 3339 or date), or the start of a single event
    calendar::unix_time occurrence_start = 0;
    std::string offset; ///< ISO 8601 duration as written ("P1D")
    std::string recipient;
    std::string recipient_name;
    std::string locale;
    calendar::unix_time due = 0;
    std::string message_id; ///< used only when the row is new; an existing row keeps its own
    std::string payload;    ///< JSON of what the message needs, built by the caller
    /// When a programme's sessions take place, built by the caller ("" for
    /// one occurrence): a sent reminder whose schedule changed is moved.
    std::string schedule;
    /// The only occurrence of its event, keyed by its start: a reminder row
    /// of the same uid, offset and recipient under another key is this one,
    /// moved (its Message-ID kept; an update notice if it was sent).
    bool single = false;
    /// Of an event that has begun (a programme whose later sessions may
    /// still move): never inserted, only compared with a row already there,
    /// so that a change after the reminder went out is reported.
    bool update_only = false;
};

/// A programme's sessions as its reminder's schedule lists them
/// ("n@start;", n from 1, start in seconds since the epoch, one per
/// session): (n, start) pairs, entries that are not of that form left out.
std::vector<std::pair<int, calendar::unix_time>> schedule_sessions(std::string_view schedule);

/// One row of the outbox as stored.
struct outbox_row {
    std::int64_t id = 0;
    std::string key;
    message_kind kind = message_kind::reminder;
    std::string event_id;
    std::string uid;
    std::string occurrence;
    calendar::unix_time occurrence_start = 0;
    std::string offset;
    std::string recipient;
    std::string recipient_name;
    std::string locale;
    delivery_state state = delivery_state::planned;
    calendar::unix_time due = 0;
    calendar::unix_time next_attempt = 0;
    std::optional<calendar::unix_time> lease_until;
    int attempts = 0;
    std::string last_error;
    std::string message_id;
    std::optional<calendar::unix_time>
        date_header; ///< the Date: of every attempt, set at the first
    std::optional<calendar::unix_time> sent_at;
    std::string payload;
    calendar::unix_time created = 0;
    calendar::unix_time updated = 0;
    std::string schedule; ///< as planned_row::schedule
    /// Set by plan() on a row of plan_result::moved that had left the plan
    /// (its occurrence gone, or its recipient) and is back in it.
    bool back = false;
};

/// The part of the outbox a plan speaks for: reminder rows whose occurrence
/// starts in [from, to) (the horizon the planner expanded). Such a row that
/// the plan does not contain has vanished: its occurrence was cancelled or
/// deleted, or its recipient left.
struct plan_scope {
    calendar::unix_time from = 0;
    calendar::unix_time to = 0;
    /// Programmes whose first session began in [begun_from, from) (the
    /// planner's look back): a sent reminder of one that the plan no longer
    /// contains has vanished too while a session it listed is still to come.
    calendar::unix_time begun_from = 0;
};

struct plan_result {
    int inserted = 0;  ///< new rows
    int updated = 0;   ///< pending rows whose occurrence, due or payload changed (or revived)
    int cancelled = 0; ///< pending rows of the scope that the plan no longer contains
    /// Rows already sent whose occurrence start changed since, as they were
    /// when sent (the plan holds the new values under the same key). The row
    /// now records the new start, so each move is reported once.
    std::vector<outbox_row> moved;
    /// Rows already sent, in the scope, that the plan no longer contains;
    /// each is reported once.
    std::vector<outbox_row> vanished;
};

/// The outcome of one delivery attempt of a claimed row.
struct delivery_result {
    std::int64_t id = 0;
    delivery_state state = delivery_state::sent; ///< sent, deferred, failed or missed
    calendar::unix_time next_attempt = 0;        ///< deferred: when to try again
    std::string error;                           ///< deferred, failed, missed: why
    bool attempted = true; ///< false: refused before any send; the claim is not counted
};

/// The table `outbox`. Every change is one transaction; record() commits
/// with synchronous=FULL so that a sent message stays recorded as sent
/// across a power loss. Borrows the database, which must outlive it; same
/// thread as the database (the daemon's io thread).
class outbox {
  public:
    explicit outbox(database& db) : db_(db) {}

    /// The connection, for a transaction that groups several operations
    /// (each joins it, see transaction.hpp).
    database& connection() noexcept { return db_; }

    /// Brings the outbox in line with the planner's view, in one transaction:
    /// - a row whose key is new is inserted as planned, next_attempt = due;
    /// - a planned or deferred row whose due, occurrence, occurrence_start,
    ///   recipient_name, locale or payload changed is updated (next_attempt
    ///   moves to the new due when due changed); its message_id, Date and
    ///   attempts stay;
    /// - a cancelled row that is planned again becomes planned (updated);
    /// - a reminder row of `scope` that is planned or deferred and not in
    ///   `rows` is cancelled;
    /// - sent, sending, failed and missed rows are never re-planned; a sent
    ///   row whose start moved, or that vanished from `scope`, is reported.
    /// Planning the same rows again changes nothing.
    plan_result plan(const std::vector<planned_row>& rows, const plan_scope& scope,
                     calendar::unix_time now);

    /// Adds messages outside any plan (update and cancellation notices, test
    /// emails): rows whose key exists are left alone, but for a cancelled
    /// one, planned again (a notice withdrawn, then needed after all).
    /// Returns the number added or planned again.
    int enqueue(const std::vector<planned_row>& rows, calendar::unix_time now);

    /// Cancels the cancellation notices still planned or deferred of the
    /// reminder `sent` as it was when sent (its uid, occurrence start, offset
    /// and recipient; not its key or occurrence, which a moved single
    /// event's rows change). Returns how many.
    int withdraw_cancellations(const outbox_row& sent, calendar::unix_time now);

    /// Whether a cancellation notice of the reminder `sent` was planned, in
    /// any state (matched as withdraw_cancellations matches).
    bool has_cancellation(const outbox_row& sent);

    /// At start-up, before the first claim: rows left sending by a previous
    /// process (it crashed, or lost power, mid-send) may be claimed at once
    /// instead of when their lease runs out. Only one process sends from a
    /// database. Returns the number of such rows.
    int recover(calendar::unix_time now);

    /// Whether reminder `row` is overtaken: another reminder of the same
    /// occurrence to the same recipient is due by `now` too, later than it
    /// (PT2H after P1D), planned, going or gone. Sending both at once, after
    /// an outage or to a new recipient, would say the same thing twice.
    bool overtaken(const outbox_row& row, calendar::unix_time now);

    /// When the single timer should fire next: the earliest next_attempt of a
    /// planned or deferred row, or the second after lease_until of a row
    /// left sending (claim takes it once its lease is past, not at its end).
    std::optional<calendar::unix_time> next_due();

    /// When the messages sent at or after `since` went, oldest first: what
    /// max_per_minute counted before a restart.
    std::vector<calendar::unix_time> sent_since(calendar::unix_time since);

    /// Takes, in one transaction, up to `limit` rows to send: planned or
    /// deferred with next_attempt <= now, and sending with lease_until < now
    /// (a send interrupted by a crash), earliest first. Each becomes sending
    /// with lease_until = now + lease_seconds, attempts + 1, and date_header
    /// set to now unless already set.
    std::vector<outbox_row> claim(calendar::unix_time now, int limit,
                                  calendar::unix_time lease_seconds);

    /// Records the outcomes of one loop turn in one transaction committed with
    /// synchronous=FULL. Only rows still sending are changed: sent (sent_at =
    /// now), deferred (next_attempt, last_error), failed or missed (last_error).
    void record(const std::vector<delivery_result>& results, calendar::unix_time now);

    /// Gives back rows claimed but never started (the transport stopped
    /// first), as they were before the claim: planned (or deferred, after an
    /// earlier attempt) at their next_attempt, that attempt not counted, no
    /// Date if they never had one. Only rows still sending are changed.
    void release(const std::vector<std::int64_t>& ids, calendar::unix_time now);

    /// Cancels every planned or deferred row of `email` (case-insensitive,
    /// on unsubscription). Returns the number cancelled.
    int cancel_recipient(std::string_view email, calendar::unix_time now);

    /// Every row, by due then id (`casacal reminders`).
    std::vector<outbox_row> list();

    /// The row with this key, if any.
    std::optional<outbox_row> find(std::string_view key);

    /// Rows per state, every state present (reminders by state in /metrics).
    std::map<delivery_state, std::int64_t> counts();

  private:
    database& db_;
};

} // namespace casacal::store
