#include "store/feed_states.hpp"

#include "store/transaction.hpp"

#include <algorithm>

namespace casacal::store {

calendar::unix_time feed_states::apply(std::string_view path, std::string_view body_hash,
                                       calendar::unix_time now) {
    transaction tx(db_);
    const auto modified = apply_one(path, body_hash, now);
    tx.commit();
    return modified;
}

std::map<std::string, calendar::unix_time>
feed_states::apply(const std::map<std::string, std::string>& hashes, calendar::unix_time now) {
    std::map<std::string, calendar::unix_time> result;
    transaction tx(db_);
    for (const auto& [path, hash] : hashes)
        result[path] = apply_one(path, hash, now);
    tx.commit();
    return result;
}

calendar::unix_time feed_states::apply_one(std::string_view path, std::string_view body_hash,
                                           calendar::unix_time now) {
    auto& find = db_.prepare("SELECT hash, modified FROM feed_states WHERE path = ?1");
    find.bind(1, path);
    if (find.step()) {
        const bool same = find.get_text(0) == body_hash;
        const auto modified = find.get_int64(1, 0, 253402300799); // up to 9999-12-31T23:59:59Z
        find.reset();
        if (same) return modified;
        // Last-Modified has whole seconds: a second change within the second
        // of the first must still move it, or a client asking
        // If-Modified-Since with the first would be told nothing changed.
        const calendar::unix_time moved = std::max(now, modified + 1);
        db_.prepare("UPDATE feed_states SET hash = ?2, modified = ?3 WHERE path = ?1")
            .bind(1, path)
            .bind(2, body_hash)
            .bind(3, moved)
            .run();
        return moved;
    }
    db_.prepare("INSERT INTO feed_states (path, hash, modified) VALUES (?1, ?2, ?3)")
        .bind(1, path)
        .bind(2, body_hash)
        .bind(3, now)
        .run();
    return now;
}

} // namespace casacal::store
