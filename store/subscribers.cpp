#include "store/subscribers.hpp"

#include "config/text.hpp"
#include "store/transaction.hpp"

#include <algorithm>

namespace casacal::store {

namespace {

// Category keys are [a-z0-9-]+ or "*", so a comma never occurs inside one.
std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ',';
        out += item;
    }
    return out;
}

std::vector<std::string> split(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

/// Where a request for an address is kept: a new subscription, or a change
/// of a confirmed one. Both statements take ?1 email, ?2 name, ?3
/// categories, ?4 locale; `update_recent` then the oldest creation time
/// still recent, `store` the confirm hash and now.
struct request_kind {
    const char* update_recent;
    const char* store;
    add_outcome stored;
};

constexpr request_kind new_subscription{
    "UPDATE subscribers SET name = ?2, categories = ?3, locale = ?4 WHERE email = ?1 AND confirmed "
    "IS NULL AND created > ?5",
    "INSERT INTO subscribers (email, name, categories, locale, confirmed, confirm_hash, created) "
    "VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6) ON CONFLICT (email) DO UPDATE SET email = "
    "excluded.email, name = excluded.name, categories = excluded.categories, locale = "
    "excluded.locale, confirmed = NULL, confirm_hash = excluded.confirm_hash, created = "
    "excluded.created",
    add_outcome::pending};

constexpr request_kind change_of_subscription{
    "UPDATE subscription_changes SET name = ?2, categories = ?3, locale = ?4 WHERE email = ?1 AND "
    "created > ?5",
    "INSERT OR REPLACE INTO subscription_changes (email, name, categories, locale, confirm_hash, "
    "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    add_outcome::change_pending};

statement& with_choices(database& db, const char* sql, const subscriber& s) {
    return db.prepare(sql)
        .bind(1, s.email)
        .bind(2, s.name)
        .bind(3, join(s.categories))
        .bind(4, s.locale);
}

std::optional<std::string> email_of(database& db, const char* sql, std::string_view confirm_hash,
                                    calendar::unix_time now) {
    auto& find = db.prepare(sql);
    find.bind(1, confirm_hash);
    find.bind(2, now - confirm_lifetime);
    std::optional<std::string> email;
    if (find.step()) email = find.get_text(0);
    find.reset();
    return email;
}

std::optional<std::string> pending_subscription(database& db, std::string_view confirm_hash,
                                                calendar::unix_time now) {
    return email_of(db,
                    "SELECT email FROM subscribers WHERE confirm_hash = ?1 AND confirmed IS NULL "
                    "AND created > ?2",
                    confirm_hash, now);
}

std::optional<std::string> pending_change(database& db, std::string_view confirm_hash,
                                          calendar::unix_time now) {
    // The address as the subscription holds it, whatever case the request
    // used. A change applies only to a subscription confirmed and in force:
    // asked before unsubscribing (and subscribing anew), its link is void.
    return email_of(db,
                    "SELECT s.email FROM subscription_changes AS c JOIN subscribers AS s ON "
                    "s.email = c.email WHERE c.confirm_hash = ?1 AND c.created > ?2 AND "
                    "s.confirmed IS NOT NULL AND s.email NOT IN (SELECT email FROM unsubscribed)",
                    confirm_hash, now);
}

} // namespace

std::string_view to_string(token_purpose p) noexcept {
    switch (p) {
    case token_purpose::unsubscribe:
        return "unsubscribe";
    case token_purpose::confirm:
        return "confirm";
    case token_purpose::feed:
        return "feed";
    }
    return "unsubscribe";
}

add_outcome subscribers::add_pending(const subscriber& s, std::string_view confirm_hash,
                                     calendar::unix_time now) {
    transaction tx(db_);
    // An address that unsubscribed since its confirmation may opt in again.
    auto& find = db_.prepare("SELECT 1 FROM subscribers WHERE email = ?1 AND confirmed IS NOT NULL "
                             "AND email NOT IN (SELECT email FROM unsubscribed)");
    find.bind(1, s.email);
    const bool confirmed = find.step();
    find.reset();
    const request_kind& kind = confirmed ? change_of_subscription : new_subscription;
    with_choices(db_, kind.update_recent, s).bind(5, now - confirm_interval).run();
    if (db_.changes() > 0) {
        tx.commit();
        return add_outcome::already_pending;
    }
    with_choices(db_, kind.store, s).bind(5, confirm_hash).bind(6, now).run();
    tx.commit();
    return kind.stored;
}

void subscribers::confirmation_failed(std::string_view confirm_hash) {
    transaction tx(db_);
    db_.prepare("UPDATE subscribers SET created = 0 WHERE confirm_hash = ?1 AND confirmed IS NULL")
        .bind(1, confirm_hash)
        .run();
    db_.prepare("UPDATE subscription_changes SET created = 0 WHERE confirm_hash = ?1")
        .bind(1, confirm_hash)
        .run();
    tx.commit();
}

std::optional<std::string> subscribers::pending(std::string_view confirm_hash,
                                                calendar::unix_time now) {
    if (auto email = pending_subscription(db_, confirm_hash, now)) return email;
    return pending_change(db_, confirm_hash, now);
}

std::optional<std::string> subscribers::confirm(std::string_view confirm_hash,
                                                calendar::unix_time now) {
    transaction tx(db_);
    // The link that confirmed stays with the subscription (confirmed_by).
    std::optional<std::string> email = pending_subscription(db_, confirm_hash, now);
    if (email) {
        db_.prepare("UPDATE subscribers SET confirmed = ?2 WHERE email = ?1")
            .bind(1, *email)
            .bind(2, now)
            .run();
        // A change asked before this confirmation has had its answer.
        db_.prepare("DELETE FROM subscription_changes WHERE email = ?1").bind(1, *email).run();
    } else if ((email = pending_change(db_, confirm_hash, now))) {
        db_.prepare("UPDATE subscribers SET (name, categories, locale, confirm_hash) = (SELECT "
                    "name, categories, locale, confirm_hash FROM subscription_changes WHERE "
                    "confirm_hash = ?2) WHERE email = ?1")
            .bind(1, *email)
            .bind(2, confirm_hash)
            .run();
        db_.prepare("DELETE FROM subscription_changes WHERE email = ?1").bind(1, *email).run();
    } else {
        return std::nullopt;
    }
    db_.prepare("DELETE FROM unsubscribed WHERE email = ?1").bind(1, *email).run();
    tx.commit();
    return email;
}

std::optional<std::string> subscribers::confirmed_by(std::string_view confirm_hash) {
    auto& st = db_.prepare("SELECT email FROM subscribers WHERE confirm_hash = ?1 AND confirmed IS "
                           "NOT NULL AND email NOT IN (SELECT email FROM unsubscribed)");
    st.bind(1, confirm_hash);
    std::optional<std::string> email;
    if (st.step()) email = st.get_text(0);
    st.reset();
    return email;
}

std::vector<subscriber> subscribers::confirmed() {
    std::vector<subscriber> out;
    auto& st = db_.prepare(
        "SELECT email, name, categories, locale, confirmed, created FROM subscribers WHERE "
        "confirmed IS NOT NULL AND email NOT IN (SELECT email FROM unsubscribed) ORDER BY email");
    while (st.step()) {
        out.push_back({st.get_text(0), st.get_text(1), split(st.get_text(2)), st.get_text(3),
                       st.get_optional_int64(4), st.get_int64(5)});
    }
    return out;
}

void subscribers::unsubscribe(std::string_view email, calendar::unix_time now) {
    db_.prepare("INSERT OR IGNORE INTO unsubscribed (email, at) VALUES (?1, ?2)")
        .bind(1, email)
        .bind(2, now)
        .run();
}

bool subscribers::is_unsubscribed(std::string_view email) {
    auto& st = db_.prepare("SELECT 1 FROM unsubscribed WHERE email = ?1");
    st.bind(1, email);
    const bool found = st.step();
    st.reset();
    return found;
}

std::set<std::string> subscribers::unsubscribed() {
    std::set<std::string> out;
    auto& st = db_.prepare("SELECT email FROM unsubscribed");
    while (st.step())
        out.insert(config::ascii_lower(st.get_text(0)));
    return out;
}

void subscribers::store_token(std::string_view hash, std::string_view email, token_purpose purpose,
                              calendar::unix_time now) {
    db_.prepare("INSERT OR IGNORE INTO tokens (hash, email, purpose, created) VALUES (?1, ?2, ?3, "
                "?4)")
        .bind(1, hash)
        .bind(2, email)
        .bind(3, to_string(purpose))
        .bind(4, now)
        .run();
}

std::vector<std::int64_t> subscribers::add_unsubscribe_links(
    const std::vector<std::pair<std::string, std::string>>& hash_email, calendar::unix_time now) {
    std::vector<std::int64_t> ids;
    ids.reserve(hash_email.size());
    transaction tx(db_);
    for (const auto& [hash, email] : hash_email) {
        db_.prepare("INSERT INTO unsubscribe_links (hash, email, created) VALUES (?1, ?2, ?3)")
            .bind(1, hash)
            .bind(2, email)
            .bind(3, now)
            .run();
        ids.push_back(db_.last_insert_rowid());
    }
    tx.commit();
    return ids;
}

std::optional<std::string> subscribers::find_unsubscribe_link(std::int64_t id,
                                                              std::string_view hash) {
    auto& st = db_.prepare("SELECT email FROM unsubscribe_links WHERE id = ?1 AND hash = ?2");
    st.bind(1, id).bind(2, hash);
    std::optional<std::string> email;
    if (st.step()) email = st.get_text(0);
    st.reset();
    return email;
}

std::optional<std::string> subscribers::find_token(std::string_view hash, token_purpose purpose) {
    auto& st = db_.prepare("SELECT email FROM tokens WHERE hash = ?1 AND purpose = ?2");
    st.bind(1, hash).bind(2, to_string(purpose));
    std::optional<std::string> email;
    if (st.step()) email = st.get_text(0);
    st.reset();
    return email;
}

std::string subscribers::feed_key() {
    auto& find = db_.prepare("SELECT value FROM secrets WHERE name = 'feed'");
    std::optional<std::string> key;
    if (find.step()) key = find.get_text(0);
    find.reset();
    if (key && key->size() == 64) return *key;

    const std::string fresh = calendar::random_hex(32);
    transaction tx(db_);
    db_.prepare("INSERT OR REPLACE INTO secrets (name, value) VALUES ('feed', ?1)").bind(1, fresh).run();
    tx.commit();
    return fresh;
}

} // namespace casacal::store
