#include "store/outbox.hpp"

#include "store/transaction.hpp"

#include "config/text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace casacal::store {

namespace {

/// How long before the planning scope a moved single event's rows are
/// looked for (see outbox::plan).
constexpr calendar::unix_time moved_single_lookback = 31 * 24 * 3600;

constexpr std::array<std::string_view, 4> kind_names = {"reminder", "update", "cancellation",
                                                        "test"};
constexpr std::array<std::string_view, 7> state_names = {
    "planned", "sending", "sent", "deferred", "failed", "missed", "cancelled"};

// Column 23 (vanished) is read only by plan().
#define CASACAL_OUTBOX_COLUMNS                                                                     \
    "id, key, kind, event_id, uid, occurrence, occurrence_start, \"offset\", recipient, "          \
    "recipient_name, locale, state, due, next_attempt, lease_until, attempts, last_error, "        \
    "message_id, date_header, sent_at, payload, created, updated, vanished, schedule"

outbox_row read_row(const statement& st) {
    outbox_row r;
    r.id = st.get_int64(0);
    r.key = st.get_text(1);
    // The schema's CHECK constraints keep kind and state within the enums.
    r.kind = parse_message_kind(st.get_text(2)).value_or(message_kind::reminder);
    r.event_id = st.get_text(3);
    r.uid = st.get_text(4);
    r.occurrence = st.get_text(5);
    r.occurrence_start = st.get_int64(6);
    r.offset = st.get_text(7);
    r.recipient = st.get_text(8);
    r.recipient_name = st.get_text(9);
    r.locale = st.get_text(10);
    r.state = parse_delivery_state(st.get_text(11)).value_or(delivery_state::failed);
    r.due = st.get_int64(12);
    r.next_attempt = st.get_int64(13);
    r.lease_until = st.get_optional_int64(14);
    r.attempts = static_cast<int>(st.get_int64(15));
    r.last_error = st.get_text(16);
    r.message_id = st.get_text(17);
    r.date_header = st.get_optional_int64(18);
    r.sent_at = st.get_optional_int64(19);
    r.payload = st.get_text(20);
    r.created = st.get_int64(21);
    r.updated = st.get_int64(22);
    r.schedule = st.get_text(24);
    return r;
}

bool pending(delivery_state s) {
    return s == delivery_state::planned || s == delivery_state::deferred;
}

/// What the planner decides of a row and compares: a pending row is
/// rewritten when any of it differs from the plan's.
struct planned_fields {
    calendar::unix_time due = 0, occurrence_start = 0;
    std::string_view occurrence, recipient_name, locale, payload, schedule;
    bool operator==(const planned_fields&) const = default;
};

/// The planned fields of an outbox_row or a planned_row.
template <class Row> planned_fields fields_of(const Row& r) {
    return {r.due,    r.occurrence_start, r.occurrence, r.recipient_name,
            r.locale, r.payload,          r.schedule};
}

bool differs(const outbox_row& old, const planned_row& row) {
    return fields_of(old) != fields_of(row);
}

/// Whether plan() leaves the outbox row under the cursor of `st` as it is
/// for `row`, of the same key; `st` selects state, due, occurrence,
/// occurrence_start, recipient_name, locale, payload, schedule and whether
/// vanished is set, from column 1 on. Mirrors the cases of plan()'s loop.
bool left_as_is(const statement& st, const planned_row& row) {
    const planned_fields held{st.get_int64(2),     st.get_int64(4),     st.get_text_view(3),
                              st.get_text_view(5), st.get_text_view(6), st.get_text_view(7),
                              st.get_text_view(8)};
    switch (parse_delivery_state(st.get_text_view(1)).value_or(delivery_state::failed)) {
    case delivery_state::planned:
    case delivery_state::deferred:
        return held == fields_of(row);
    case delivery_state::sent:
        return held.occurrence_start == row.occurrence_start && held.schedule == row.schedule &&
               st.get_int64(9) == 0;
    case delivery_state::cancelled:
        return false;
    case delivery_state::sending:
    case delivery_state::failed:
    case delivery_state::missed:
        return true;
    }
    return false;
}

int insert(database& db, const planned_row& row, calendar::unix_time now) {
    db.prepare("INSERT OR IGNORE INTO outbox (key, kind, event_id, uid, occurrence, "
               "occurrence_start, \"offset\", recipient, recipient_name, locale, state, due, "
               "next_attempt, attempts, message_id, payload, created, updated, schedule) VALUES (?1, "
               "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'planned', ?11, ?11, 0, ?12, ?13, ?14, ?14, ?15)")
        .bind(1, row.key)
        .bind(2, to_string(row.kind))
        .bind(3, row.event_id)
        .bind(4, row.uid)
        .bind(5, row.occurrence)
        .bind(6, row.occurrence_start)
        .bind(7, row.offset)
        .bind(8, row.recipient)
        .bind(9, row.recipient_name)
        .bind(10, row.locale)
        .bind(11, row.due)
        .bind(12, row.message_id)
        .bind(13, row.payload)
        .bind(14, now)
        .bind(15, row.schedule)
        .run();
    return static_cast<int>(db.changes());
}

// Rewrites what the planner owns; state, message_id, attempts and Date stay
// unless `revive` (a cancelled row planned again).
void replan(database& db, const outbox_row& old, const planned_row& row, bool revive,
            calendar::unix_time now) {
    const calendar::unix_time next = old.due != row.due || revive ? row.due : old.next_attempt;
    db.prepare("UPDATE outbox SET occurrence = ?2, occurrence_start = ?3, recipient_name = ?4, "
               "locale = ?5, due = ?6, next_attempt = ?7, payload = ?8, updated = ?9, "
               "state = CASE WHEN ?10 THEN 'planned' ELSE state END, schedule = ?11 WHERE id = ?1")
        .bind(1, old.id)
        .bind(2, row.occurrence)
        .bind(3, row.occurrence_start)
        .bind(4, row.recipient_name)
        .bind(5, row.locale)
        .bind(6, row.due)
        .bind(7, next)
        .bind(8, row.payload)
        .bind(9, now)
        .bind(10, revive ? 1 : 0)
        .bind(11, row.schedule)
        .run();
}

} // namespace

std::string_view to_string(message_kind k) noexcept {
    return kind_names[static_cast<int>(k)];
}

std::string_view to_string(delivery_state s) noexcept {
    return state_names[static_cast<int>(s)];
}

std::optional<message_kind> parse_message_kind(std::string_view text) noexcept {
    for (std::size_t i = 0; i < kind_names.size(); ++i) {
        if (kind_names[i] == text) return static_cast<message_kind>(i);
    }
    return std::nullopt;
}

std::optional<delivery_state> parse_delivery_state(std::string_view text) noexcept {
    for (std::size_t i = 0; i < state_names.size(); ++i) {
        if (state_names[i] == text) return static_cast<delivery_state>(i);
    }
    return std::nullopt;
}

plan_result outbox::plan(const std::vector<planned_row>& rows, const plan_scope& scope,
                         calendar::unix_time now) {
    plan_result result;
    transaction tx(db_);
    // The live reminder rows by (uid, offset, recipient), read once at the
    // first single-event row without a row of its own: where a moved single
    // event finds its rows. A single event is one occurrence whatever its
    // start, so they are looked for back to a month before the scope (an
    // event moved after it began, its reminder sent), and in every state
    // but those a new plan may replace: a row sent, sending or refused for
    // good (5xx) is not sent again because its event moved. A row whose
    // event vanished counts too: the event back at another time (deleted and
    // written again, within a deploy or a month) is the same event, moved.
    std::optional<std::map<std::tuple<std::string, std::string, std::string>, std::string>> live;
    const auto rekey_moved_single = [&](const planned_row& row) {
        if (!live) {
            live.emplace();
            auto& st = db_.prepare(
                "SELECT key, uid, \"offset\", recipient FROM outbox WHERE kind = 'reminder' AND "
                "occurrence_start >= ?1 AND occurrence_start < ?2 AND "
                "state IN ('planned', 'deferred', 'sending', 'sent', 'failed') "
                "ORDER BY occurrence_start, id");
            st.bind(1, scope.from - moved_single_lookback).bind(2, scope.to);
            while (st.step())
                live->insert_or_assign(
                    {st.get_text(1), st.get_text(2), config::ascii_lower(st.get_text(3))},
                    st.get_text(0));
            st.reset();
        }
        if (live->empty()) return false; // a first plan: nothing to move
        const auto found = live->find({row.uid, row.offset, config::ascii_lower(row.recipient)});
        if (found == live->end() || found->second == row.key) return false;
        db_.prepare("UPDATE outbox SET key = ?1 WHERE key = ?2")
            .bind(1, row.key)
            .bind(2, found->second)
            .run();
        live->erase(found);
        return db_.changes() > 0;
    };

    // The plan's rows by key; the first of duplicate keys wins, the others
    // are passed over.
    enum class in_scope : unsigned char { no_row, row, row_as_is, duplicate };
    std::vector<in_scope> held(rows.size(), in_scope::no_row);
    std::unordered_map<std::string_view, std::size_t> by_key;
    by_key.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (!by_key.emplace(rows[i].key, i).second) held[i] = in_scope::duplicate;
    // The rows the scope holds, read in one pass, each compared with the
    // plan's row of its key as it is read. A planned row whose key none of
    // them has is new, unless it moved out of the scope: it is inserted
    // without first being looked up, and looked up only when the insert
    // finds its key taken (a first plan of 100,000 rows makes half the
    // statements: docs/performance.md). One that the plan leaves as it is
    // (all of them, when nothing changed) is not looked up at all.
    std::vector<std::string> unplanned; ///< keys of the scope's rows the plan does not hold
    {
        auto& st = db_.prepare(
            "SELECT key, state, due, occurrence, occurrence_start, recipient_name, locale, "
            "payload, schedule, vanished IS NOT NULL FROM outbox WHERE occurrence_start >= ?1 "
            "AND occurrence_start < ?2");
        st.bind(1, scope.from).bind(2, scope.to);
        while (st.step()) {
            const auto found = by_key.find(st.get_text_view(0));
            if (found == by_key.end()) {
                unplanned.push_back(st.get_text(0));
                continue;
            }
            held[found->second] =
                left_as_is(st, rows[found->second]) ? in_scope::row_as_is : in_scope::row;
        }
        st.reset();
    }
    // Sent reminders of programmes under way that the plan no longer holds
    // (cancelled, deleted, or their recipient left) while a session they
    // listed is still to come.
    std::vector<std::string> unplanned_begun;
    if (scope.begun_from < scope.from) {
        auto& st = db_.prepare(
            "SELECT key, schedule FROM outbox WHERE kind = 'reminder' AND state = 'sent' AND "
            "vanished IS NULL AND schedule != '' AND occurrence_start >= ?1 AND "
            "occurrence_start < ?2");
        st.bind(1, scope.begun_from).bind(2, scope.from);
        while (st.step()) {
            if (by_key.contains(st.get_text_view(0))) continue;
            const auto sessions = schedule_sessions(st.get_text_view(1));
            if (std::any_of(sessions.begin(), sessions.end(),
                            [&](const auto& s) { return s.second >= scope.from; }))
                unplanned_begun.push_back(st.get_text(0));
        }
        st.reset();
    }

    for (std::size_t i = 0; i < rows.size(); ++i) {
        const planned_row& row = rows[i];
        if (held[i] == in_scope::duplicate || held[i] == in_scope::row_as_is) continue;
        if (held[i] == in_scope::no_row && !row.update_only &&
            (!row.single || !rekey_moved_single(row)) && insert(db_, row, now) > 0) {
            ++result.inserted;
            continue;
        }
        auto& find = db_.prepare("SELECT " CASACAL_OUTBOX_COLUMNS " FROM outbox WHERE key = ?1");
        find.bind(1, row.key);
        if (!find.step()) {
            find.reset();
            if (row.update_only) continue;
            if (!row.single || !rekey_moved_single(row)) {
                result.inserted += insert(db_, row, now);
                continue;
            }
            find.bind(1, row.key);
            find.step(); // the row just given this key
        }
        const outbox_row old = read_row(find);
        const bool was_vanished = !find.is_null(23);
        find.reset();
        // A row planned before schedules were kept has none to compare.
        const bool rescheduled = !old.schedule.empty() && old.schedule != row.schedule;

        if (pending(old.state)) {
            if (differs(old, row)) {
                replan(db_, old, row, false, now);
                ++result.updated;
            }
        } else if (old.state == delivery_state::cancelled && !row.update_only) {
            replan(db_, old, row, true, now);
            ++result.updated;
        } else if (old.state == delivery_state::sent &&
                   (old.occurrence_start != row.occurrence_start || was_vanished || rescheduled)) {
            // Record the new start so that the move is reported once; its
            // due stays when it was sent for, as the listing shows it.
            db_.prepare("UPDATE outbox SET occurrence = ?2, occurrence_start = ?3, payload = ?4, "
                        "vanished = NULL, updated = ?5, schedule = ?6 WHERE id = ?1")
                .bind(1, old.id)
                .bind(2, row.occurrence)
                .bind(3, row.occurrence_start)
                .bind(4, row.payload)
                .bind(5, now)
                .bind(6, row.schedule)
                .run();
            // Reported under what it is now: a single event's key and
            // occurrence name its start.
            outbox_row moved = old;
            moved.key = row.key;
            moved.occurrence = row.occurrence;
            moved.back = was_vanished;
            result.moved.push_back(std::move(moved));
        } else if (old.state == delivery_state::sent && old.schedule.empty() &&
                   !row.schedule.empty()) {
            db_.prepare("UPDATE outbox SET schedule = ?2 WHERE id = ?1")
                .bind(1, old.id)
                .bind(2, row.schedule)
                .run();
        }
    }

    // Rows of the scope that the plan no longer holds: untouched by the loop
    // above, so still in the scope, under a key read at the start (unless a
    // moved single event took the row under its new key).
    std::vector<outbox_row> gone;
    {
        auto& still = db_.prepare(
            "SELECT " CASACAL_OUTBOX_COLUMNS " FROM outbox WHERE key = ?1 AND kind = 'reminder' "
            "AND occurrence_start >= ?2 AND occurrence_start < ?3 AND "
            "(state IN ('planned', 'deferred') OR (state = 'sent' AND vanished IS NULL))");
        for (const auto& key : unplanned) {
            still.bind(1, key).bind(2, scope.from).bind(3, scope.to);
            if (still.step()) gone.push_back(read_row(still));
            still.reset();
        }
        for (const auto& key : unplanned_begun) {
            still.bind(1, key).bind(2, scope.begun_from).bind(3, scope.from);
            if (still.step()) gone.push_back(read_row(still));
            still.reset();
        }
        std::sort(gone.begin(), gone.end(), [](const outbox_row& a, const outbox_row& b) {
            return std::tie(a.occurrence_start, a.id) < std::tie(b.occurrence_start, b.id);
        });
    }
    for (auto& row : gone) {
        if (pending(row.state)) {
            db_.prepare("UPDATE outbox SET state = 'cancelled', updated = ?2 WHERE id = ?1")
                .bind(1, row.id)
                .bind(2, now)
                .run();
            ++result.cancelled;
        } else {
            db_.prepare("UPDATE outbox SET vanished = ?2, updated = ?2 WHERE id = ?1")
                .bind(1, row.id)
                .bind(2, now)
                .run();
            result.vanished.push_back(std::move(row));
        }
    }

    tx.commit();
    return result;
}

int outbox::enqueue(const std::vector<planned_row>& rows, calendar::unix_time now) {
    int added = 0;
    transaction tx(db_);
    for (const auto& row : rows) {
        if (insert(db_, row, now) > 0) {
            ++added;
            continue;
        }
        db_.prepare("UPDATE outbox SET state = 'planned', due = ?2, next_attempt = ?2, payload = "
                    "?3, updated = ?4 WHERE key = ?1 AND state = 'cancelled'")
            .bind(1, row.key)
            .bind(2, row.due)
            .bind(3, row.payload)
            .bind(4, now)
            .run();
        added += static_cast<int>(db_.changes());
    }
    tx.commit();
    return added;
}

int outbox::withdraw_cancellations(const outbox_row& sent, calendar::unix_time now) {
    db_.prepare("UPDATE outbox SET state = 'cancelled', updated = ?5 WHERE kind = 'cancellation' "
                "AND uid = ?1 AND occurrence_start = ?2 AND \"offset\" = ?3 AND recipient = ?4 "
                "COLLATE NOCASE AND state IN ('planned', 'deferred')")
        .bind(1, sent.uid)
        .bind(2, sent.occurrence_start)
        .bind(3, sent.offset)
        .bind(4, sent.recipient)
        .bind(5, now)
        .run();
    return static_cast<int>(db_.changes());
}

bool outbox::has_cancellation(const outbox_row& sent) {
    auto& st = db_.prepare("SELECT 1 FROM outbox WHERE kind = 'cancellation' AND uid = ?1 AND "
                           "occurrence_start = ?2 AND \"offset\" = ?3 AND recipient = ?4 COLLATE "
                           "NOCASE LIMIT 1");
    st.bind(1, sent.uid)
        .bind(2, sent.occurrence_start)
        .bind(3, sent.offset)
        .bind(4, sent.recipient);
    const bool found = st.step();
    st.reset();
    return found;
}

int outbox::recover(calendar::unix_time now) {
    auto& st = db_.prepare("UPDATE outbox SET lease_until = ?1 - 1, updated = ?1 WHERE state = "
                           "'sending' AND lease_until >= ?1");
    st.bind(1, now);
    st.run();
    return static_cast<int>(db_.changes());
}

bool outbox::overtaken(const outbox_row& row, calendar::unix_time now) {
    // outbox_by_recipient finds the recipient's rows; they are few.
    auto& st = db_.prepare(
        "SELECT 1 FROM outbox WHERE recipient = ?1 COLLATE NOCASE AND uid = ?2 AND occurrence = ?3 "
        "AND kind = 'reminder' AND due > ?4 AND due <= ?5 "
        "AND state IN ('planned', 'deferred', 'sending', 'sent') LIMIT 1");
    st.bind(1, row.recipient)
        .bind(2, row.uid)
        .bind(3, row.occurrence)
        .bind(4, row.due)
        .bind(5, now);
    const bool found = st.step();
    st.reset();
    return found;
}

std::vector<calendar::unix_time> outbox::sent_since(calendar::unix_time since) {
    std::vector<calendar::unix_time> out;
    auto& st = db_.prepare("SELECT sent_at FROM outbox WHERE sent_at >= ?1 ORDER BY sent_at");
    st.bind(1, since);
    while (st.step())
        out.push_back(st.get_int64(0));
    st.reset();
    return out;
}

std::optional<calendar::unix_time> outbox::next_due() {
    auto& st = db_.prepare(
        "SELECT min(t) FROM (SELECT min(next_attempt) AS t FROM outbox WHERE state IN "
        "('planned', 'deferred') UNION ALL SELECT min(lease_until) + 1 FROM outbox WHERE state = "
        "'sending')");
    std::optional<calendar::unix_time> due;
    if (st.step()) due = st.get_optional_int64(0);
    st.reset();
    return due;
}

std::vector<outbox_row> outbox::claim(calendar::unix_time now, int limit,
                                      calendar::unix_time lease_seconds) {
    std::vector<outbox_row> claimed;
    if (limit <= 0) return claimed;
    transaction tx(db_);
    {
        // One branch per state, each read in order off outbox_by_state and
        // cut at the limit: an OR of the three would scan every row ever sent.
        auto& st = db_.prepare(
            "UPDATE outbox SET state = 'sending', lease_until = ?1 + ?2, attempts = attempts + 1, "
            "date_header = coalesce(date_header, ?1), updated = ?1 WHERE id IN (SELECT id FROM ("
            "SELECT * FROM (SELECT id, next_attempt FROM outbox WHERE state = 'planned' AND "
            "next_attempt <= ?1 ORDER BY next_attempt, id LIMIT ?3) UNION ALL "
            "SELECT * FROM (SELECT id, next_attempt FROM outbox WHERE state = 'deferred' AND "
            "next_attempt <= ?1 ORDER BY next_attempt, id LIMIT ?3) UNION ALL "
            "SELECT * FROM (SELECT id, next_attempt FROM outbox WHERE state = 'sending' AND "
            "lease_until < ?1 ORDER BY next_attempt, id LIMIT ?3)"
            ") ORDER BY next_attempt, id LIMIT ?3) "
            "RETURNING " CASACAL_OUTBOX_COLUMNS);
        st.bind(1, now).bind(2, lease_seconds).bind(3, limit);
        while (st.step())
            claimed.push_back(read_row(st));
    }
    tx.commit();
    // RETURNING gives no order.
    std::sort(claimed.begin(), claimed.end(), [](const outbox_row& a, const outbox_row& b) {
        return std::tie(a.next_attempt, a.id) < std::tie(b.next_attempt, b.id);
    });
    return claimed;
}

void outbox::record(const std::vector<delivery_result>& results, calendar::unix_time now) {
    for (const auto& r : results) {
        if (r.state == delivery_state::planned || r.state == delivery_state::sending ||
            r.state == delivery_state::cancelled) {
            throw std::invalid_argument("outbox::record: a delivery ends sent, deferred, failed "
                                        "or missed, not " +
                                        std::string(to_string(r.state)));
        }
    }
    if (results.empty()) return;

    transaction tx(db_, durability::full);
    for (const auto& r : results) {
        // Only a row still sending takes a result: a late duplicate cannot
        // turn a sent row back into a deferred one.
        if (r.state == delivery_state::sent) {
            db_.prepare("UPDATE outbox SET state = 'sent', sent_at = ?2, lease_until = NULL, "
                        "last_error = NULL, updated = ?2 WHERE id = ?1 AND state = 'sending'")
                .bind(1, r.id)
                .bind(2, now)
                .run();
        } else {
            db_.prepare("UPDATE outbox SET state = ?2, next_attempt = CASE WHEN ?2 = 'deferred' "
                        "THEN ?3 ELSE next_attempt END, last_error = ?4, lease_until = NULL, "
                        "updated = ?5, attempts = CASE WHEN ?6 THEN attempts ELSE "
                        "max(attempts - 1, 0) END WHERE id = ?1 AND state = 'sending'")
                .bind(1, r.id)
                .bind(2, to_string(r.state))
                .bind(3, r.next_attempt)
                .bind(4, r.error)
                .bind(5, now)
                .bind(6, r.attempted ? 1 : 0)
                .run();
        }
    }
    tx.commit();
}

void outbox::release(const std::vector<std::int64_t>& ids, calendar::unix_time now) {
    if (ids.empty()) return;
    transaction tx(db_);
    // SET reads the row as it was: `attempts` is the count with the claim.
    for (const std::int64_t id : ids)
        db_.prepare("UPDATE outbox SET state = CASE WHEN attempts > 1 THEN 'deferred' ELSE "
                    "'planned' END, date_header = CASE WHEN attempts > 1 THEN date_header END, "
                    "attempts = max(attempts - 1, 0), lease_until = NULL, updated = ?2 "
                    "WHERE id = ?1 AND state = 'sending'")
            .bind(1, id)
            .bind(2, now)
            .run();
    tx.commit();
}

int outbox::cancel_recipient(std::string_view email, calendar::unix_time now) {
    transaction tx(db_);
    db_.prepare("UPDATE outbox SET state = 'cancelled', updated = ?2 WHERE recipient = ?1 COLLATE "
                "NOCASE AND state IN ('planned', 'deferred')")
        .bind(1, email)
        .bind(2, now)
        .run();
    const auto n = static_cast<int>(db_.changes());
    tx.commit();
    return n;
}

std::vector<outbox_row> outbox::list() {
    std::vector<outbox_row> rows;
    auto& st = db_.prepare("SELECT " CASACAL_OUTBOX_COLUMNS " FROM outbox ORDER BY due, id");
    while (st.step())
        rows.push_back(read_row(st));
    return rows;
}

std::optional<outbox_row> outbox::find(std::string_view key) {
    auto& st = db_.prepare("SELECT " CASACAL_OUTBOX_COLUMNS " FROM outbox WHERE key = ?1");
    st.bind(1, key);
    std::optional<outbox_row> row;
    if (st.step()) row = read_row(st);
    st.reset();
    return row;
}

std::map<delivery_state, std::int64_t> outbox::counts() {
    std::map<delivery_state, std::int64_t> result;
    for (std::size_t i = 0; i < state_names.size(); ++i)
        result[static_cast<delivery_state>(i)] = 0;
    auto& st = db_.prepare("SELECT state, count(*) FROM outbox GROUP BY state");
    while (st.step()) {
        if (auto s = parse_delivery_state(st.get_text(0))) result[*s] = st.get_int64(1);
    }
    return result;
}

std::vector<std::pair<int, calendar::unix_time>> schedule_sessions(std::string_view schedule) {
    const auto whole = [](std::string_view text, auto& value) {
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        return ec == std::errc() && end == text.data() + text.size();
    };
    std::vector<std::pair<int, calendar::unix_time>> out;
    while (!schedule.empty()) {
        const std::string_view entry = schedule.substr(0, schedule.find(';'));
        schedule.remove_prefix(std::min(schedule.size(), entry.size() + 1));
        const auto at = entry.find('@');
        int session = 0;
        calendar::unix_time start = 0;
        if (at != std::string_view::npos && whole(entry.substr(0, at), session) && session > 0 &&
            whole(entry.substr(at + 1), start))
            out.emplace_back(session, start);
    }
    return out;
}

} // namespace casacal::store
