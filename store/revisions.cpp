#include "store/revisions.hpp"

#include "store/transaction.hpp"

#include <map>
#include <optional>
#include <string>

namespace casacal::store {

namespace {

struct stored {
    std::string hash;
    int sequence = 0;
    calendar::unix_time modified = 0;
    bool deleted = false;
};

} // namespace

calendar::revision_map revisions::apply(const std::vector<calendar::fingerprint>& fingerprints,
                                        calendar::unix_time now) {
    std::map<std::string, std::string> wanted;
    for (const auto& f : fingerprints) {
        auto [it, inserted] = wanted.try_emplace(f.uid, f.hash);
        if (!inserted) it->second += "\n" + f.hash;
    }

    transaction tx(db_);
    std::map<std::string, stored> rows;
    {
        auto& st = db_.prepare("SELECT uid, hash, sequence, modified, deleted FROM revisions");
        while (st.step()) {
            rows.emplace(st.get_text(0), stored{st.get_text(1), static_cast<int>(st.get_int64(2)),
                                                st.get_int64(3), !st.is_null(4)});
        }
    }

    calendar::revision_map result;
    for (const auto& [uid, hash] : wanted) {
        const auto it = rows.find(uid);
        if (it == rows.end()) {
            db_.prepare("INSERT INTO revisions (uid, hash, sequence, modified, deleted) "
                        "VALUES (?1, ?2, 0, ?3, NULL)")
                .bind(1, uid)
                .bind(2, hash)
                .bind(3, now)
                .run();
            result[uid] = {0, now};
            continue;
        }
        const stored& old = it->second;
        if (old.hash == hash && !old.deleted) {
            result[uid] = {old.sequence, old.modified};
            continue;
        }
        db_.prepare("UPDATE revisions SET hash = ?2, sequence = ?3, modified = ?4, deleted = NULL "
                    "WHERE uid = ?1")
            .bind(1, uid)
            .bind(2, hash)
            .bind(3, old.sequence + 1)
            .bind(4, now)
            .run();
        result[uid] = {old.sequence + 1, now};
    }

    for (const auto& [uid, old] : rows) {
        if (old.deleted || wanted.contains(uid)) continue;
        db_.prepare("UPDATE revisions SET deleted = ?2 WHERE uid = ?1")
            .bind(1, uid)
            .bind(2, now)
            .run();
    }

    tx.commit();
    return result;
}

calendar::revision_map revisions::current() {
    calendar::revision_map result;
    auto& st = db_.prepare("SELECT uid, sequence, modified FROM revisions WHERE deleted IS NULL");
    while (st.step()) {
        result[st.get_text(0)] = {static_cast<int>(st.get_int64(1)), st.get_int64(2)};
    }
    return result;
}

} // namespace casacal::store
