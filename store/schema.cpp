#include "store/schema.hpp"

#include <array>

namespace casacal::store::detail {

namespace {

constexpr std::string_view v1 = R"sql(
CREATE TABLE revisions (
    uid      TEXT PRIMARY KEY,
    hash     TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    deleted  INTEGER
);

CREATE TABLE feed_states (
    path     TEXT PRIMARY KEY,
    hash     TEXT NOT NULL,
    modified INTEGER NOT NULL
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    key              TEXT UNIQUE NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('reminder', 'update', 'cancellation', 'test')),
    event_id         TEXT NOT NULL,
    uid              TEXT NOT NULL,
    occurrence       TEXT NOT NULL,
    occurrence_start INTEGER NOT NULL,
    offset           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    recipient_name   TEXT NOT NULL,
    locale           TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('planned', 'sending', 'sent', 'deferred',
                                                    'failed', 'missed', 'cancelled')),
    due              INTEGER NOT NULL,
    next_attempt     INTEGER NOT NULL,
    lease_until      INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    message_id       TEXT NOT NULL,
    date_header      INTEGER,
    sent_at          INTEGER,
    payload          TEXT NOT NULL,
    created          INTEGER NOT NULL,
    updated          INTEGER NOT NULL,
    -- set when a sent row's occurrence vanished and the caller was told once
    vanished         INTEGER
);
CREATE INDEX outbox_by_state ON outbox (state, next_attempt);
CREATE INDEX outbox_by_recipient ON outbox (recipient COLLATE NOCASE);

CREATE TABLE subscribers (
    email        TEXT PRIMARY KEY COLLATE NOCASE,
    name         TEXT NOT NULL,
    categories   TEXT NOT NULL,
    locale       TEXT NOT NULL,
    confirmed    INTEGER,
    confirm_hash TEXT UNIQUE,
    created      INTEGER NOT NULL
);

CREATE TABLE unsubscribed (
    email TEXT PRIMARY KEY COLLATE NOCASE,
    at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    hash    TEXT PRIMARY KEY,
    email   TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('unsubscribe', 'confirm', 'feed')),
    created INTEGER NOT NULL
);
)sql";

// Replanning reads the reminders of the planning scope by their
// occurrence's start: without an index, every row ever sent.
constexpr std::string_view v2 = R"sql(
CREATE INDEX outbox_by_occurrence ON outbox (occurrence_start);
)sql";

// The site's secrets, made on first use: the key personal feed links are
// derived from.
constexpr std::string_view v3 = R"sql(
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
)sql";

// Unsubscribe links made from now on: the token is "<id>-<secret>" and only
// the secret's SHA-256 is kept. A new link goes at the end of this table;
// in `tokens`, keyed by the hash, each one landed on a random page of its
// index, so every send added a page to its commit (docs/performance.md).
constexpr std::string_view v4 = R"sql(
CREATE TABLE unsubscribe_links (
    id      INTEGER PRIMARY KEY,
    hash    TEXT NOT NULL,
    email   TEXT NOT NULL,
    created INTEGER NOT NULL
);
)sql";

// When a programme's sessions take place, so that a session moved after the
// programme's reminder went out brings an update (empty for other rows, and
// for rows planned before this column: they learn it at the next plan).
constexpr std::string_view v5 = R"sql(
ALTER TABLE outbox ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
)sql";

// What a confirmed subscriber asked to follow instead, waiting for the link
// sent to that address: nobody changes another person's subscription.
constexpr std::string_view v6 = R"sql(
CREATE TABLE subscription_changes (
    email        TEXT PRIMARY KEY COLLATE NOCASE,
    name         TEXT NOT NULL,
    categories   TEXT NOT NULL,
    locale       TEXT NOT NULL,
    confirm_hash TEXT UNIQUE NOT NULL,
    created      INTEGER NOT NULL
);
)sql";

// The outbox again, with two changes that every planned row pays for:
// - its CHECKs compare with each allowed value in turn: SQLite 3.40 runs
//   `x IN ('a', 'b', …)` by filling a temporary index with the list, for
//   every row inserted or updated (half the cost of planning a row);
// - no index by recipient: unsubscribing finds an address's pending rows
//   through `outbox_by_state`, and one unsubscribe in a while does not pay
//   for an index that every planned row updates.
// (docs/performance.md, "Midday".)
constexpr std::string_view v7 = R"sql(
CREATE TABLE outbox_v7 (
    id               INTEGER PRIMARY KEY,
    key              TEXT UNIQUE NOT NULL,
    kind             TEXT NOT NULL CHECK (kind = 'reminder' OR kind = 'update' OR
                                          kind = 'cancellation' OR kind = 'test'),
    event_id         TEXT NOT NULL,
    uid              TEXT NOT NULL,
    occurrence       TEXT NOT NULL,
    occurrence_start INTEGER NOT NULL,
    offset           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    recipient_name   TEXT NOT NULL,
    locale           TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state = 'planned' OR state = 'sending' OR
                                          state = 'sent' OR state = 'deferred' OR
                                          state = 'failed' OR state = 'missed' OR
                                          state = 'cancelled'),
    due              INTEGER NOT NULL,
    next_attempt     INTEGER NOT NULL,
    lease_until      INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    message_id       TEXT NOT NULL,
    date_header      INTEGER,
    sent_at          INTEGER,
    payload          TEXT NOT NULL,
    created          INTEGER NOT NULL,
    updated          INTEGER NOT NULL,
    -- set when a sent row's occurrence vanished and the caller was told once
    vanished         INTEGER,
    schedule         TEXT NOT NULL DEFAULT ''
);
INSERT INTO outbox_v7 (id, key, kind, event_id, uid, occurrence, occurrence_start, offset,
                       recipient, recipient_name, locale, state, due, next_attempt, lease_until,
                       attempts, last_error, message_id, date_header, sent_at, payload, created,
                       updated, vanished, schedule)
SELECT id, key, kind, event_id, uid, occurrence, occurrence_start, offset, recipient,
       recipient_name, locale, state, due, next_attempt, lease_until, attempts, last_error,
       message_id, date_header, sent_at, payload, created, updated, vanished, schedule
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v7 RENAME TO outbox;
CREATE INDEX outbox_by_state ON outbox (state, next_attempt);
CREATE INDEX outbox_by_occurrence ON outbox (occurrence_start);
)sql";

constexpr std::array<std::string_view, 7> all = {v1, v2, v3, v4, v5, v6, v7};

} // namespace

std::span<const std::string_view> migrations() noexcept {
    return all;
}

} // namespace casacal::store::detail
