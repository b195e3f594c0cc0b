#pragma once
// Web subscriptions (double opt-in), unsubscriptions and the hashes of the
// tokens in emailed links.

#include "calendar/calendar.hpp"
#include "store/database.hpp"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casacal::store {

enum class token_purpose { unsubscribe, confirm, feed };

std::string_view to_string(token_purpose p) noexcept;

/// A person who subscribed from the web page.
struct subscriber {
    std::string email;
    std::string name;
    std::vector<std::string> categories; ///< category keys, or {"*"} for everything
    std::string locale;
    std::optional<calendar::unix_time> confirmed; ///< when the address was confirmed
    calendar::unix_time created = 0;
};

enum class add_outcome {
    pending,         ///< stored (or replaced) as pending, waiting for the confirm link
    already_pending, ///< asked less than confirm_interval ago: choices updated, same link
    change_pending,  ///< a confirmed address: the new choices wait for the confirm link
};

/// How long a confirmation link stands before a new request for the same
/// address gets a new one (and a new email): the form cannot be used to
/// flood an inbox.
constexpr calendar::unix_time confirm_interval = 15 * 60;

/// How long a confirmation link can be followed, as mailing-list managers
/// let theirs (a forgotten link found in an old mailbox confirms nothing).
constexpr calendar::unix_time confirm_lifetime = 7 * 86400;

/// The tables `subscribers`, `unsubscribed`, `tokens` and
/// `unsubscribe_links`. Emails compare case-insensitively (ASCII). Only
/// hashes of tokens are stored: generating and hashing them is the
/// caller's. Borrows the database, which must outlive it; same thread as
/// the database.
class subscribers {
  public:
    explicit subscribers(database& db) : db_(db) {}

    /// Stores a pending subscription whose confirm link carries the token
    /// hashed as `confirm_hash`. A pending one for the same address is
    /// replaced (a new link, new categories). A confirmed one stays as it
    /// is until its address follows the link: the request is kept beside it
    /// as a pending change, so that nobody can change another person's
    /// subscription. An address that unsubscribed since its confirmation
    /// starts over as pending.
    add_outcome add_pending(const subscriber& s, std::string_view confirm_hash,
                            calendar::unix_time now);

    /// Confirms the pending subscription or change whose confirm hash is
    /// `confirm_hash` and lifts an earlier unsubscription of that address (a
    /// fresh opt-in). Returns its email, or nothing when no pending
    /// subscription or change younger than confirm_lifetime has it.
    std::optional<std::string> confirm(std::string_view confirm_hash, calendar::unix_time now);
    /// The address whose subscription, still in force, `confirm_hash` last
    /// confirmed: the link followed again (a second click, after a mail
    /// scanner that came first) confirms it again, not "unknown link".
    std::optional<std::string> confirmed_by(std::string_view confirm_hash);
    /// The confirmation email of that link did not go: the next request
    /// for the address sends a new one at once (not confirm_interval later).
    void confirmation_failed(std::string_view confirm_hash);
    /// The address a pending subscription's or change's link would confirm,
    /// changing nothing (HEAD asks it).
    std::optional<std::string> pending(std::string_view confirm_hash, calendar::unix_time now);

    /// Confirmed subscribers that have not unsubscribed, by email.
    std::vector<subscriber> confirmed();

    /// Stops every reminder to `email` (web subscriber or member of the file).
    /// The time of the first unsubscription is kept.
    void unsubscribe(std::string_view email, calendar::unix_time now);

    bool is_unsubscribed(std::string_view email);

    /// Every unsubscribed address, lower-cased (for the planner, in one read).
    std::set<std::string> unsubscribed();

    /// Remembers that the token hashed as `hash` stands for `email` and `purpose`.
    void store_token(std::string_view hash, std::string_view email, token_purpose purpose,
                     calendar::unix_time now);

    /// Stores one unsubscribe link per (hash of its secret, email) pair, in
    /// one transaction, and returns their ids in the same order: a link's
    /// token is its id and its secret (see notify::unsubscribe_token).
    std::vector<std::int64_t> add_unsubscribe_links(
        const std::vector<std::pair<std::string, std::string>>& hash_email, calendar::unix_time now);

    /// The email of unsubscribe link `id`, if the hash of its secret is `hash`.
    std::optional<std::string> find_unsubscribe_link(std::int64_t id, std::string_view hash);

    /// The email of the token hashed as `hash`, if it was stored for `purpose`.
    std::optional<std::string> find_token(std::string_view hash, token_purpose purpose);

    /// The site's secret key for personal feed links: 32 random bytes as 64
    /// hex digits, made on the first call and the same ever after.
    std::string feed_key();

  private:
    database& db_;
};

} // namespace casacal::store
