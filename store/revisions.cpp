#include "store/revisions.hpp"

#include "store/transaction.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casacal::store {
namespace {

// What a revision row may hold: a SEQUENCE that can still rise by one, and
// an instant iCalendar can write (up to 9999-12-31T23:59:59Z).
constexpr std::int64_t max_sequence = 2147483646;
constexpr std::int64_t max_instant = 253402300799;

} // namespace

calendar::revision_map revisions::apply(const std::vector<calendar::fingerprint>& fingerprints,
                                        calendar::unix_time now) {
    // The fingerprints by UID; a UID given twice hashes its parts together,
    // in the order given.
    std::vector<const calendar::fingerprint*> by_uid;
    by_uid.reserve(fingerprints.size());
    for (const auto& f : fingerprints)
        by_uid.push_back(&f);
    std::stable_sort(by_uid.begin(), by_uid.end(),
                     [](const auto* a, const auto* b) { return a->uid < b->uid; });
    std::vector<std::pair<std::string_view, std::string>> wanted;
    wanted.reserve(by_uid.size());
    for (const auto* f : by_uid) {
        if (!wanted.empty() && wanted.back().first == f->uid)
            wanted.back().second += "\n" + f->hash;
        else
            wanted.emplace_back(f->uid, f->hash);
    }

    transaction tx(db_);
    // One pass over the stored rows in UID order, beside `wanted`: each UID
    // is kept, changed (SEQUENCE + 1), new, or gone. The writes wait for the
    // end of the read.
    calendar::revision_map result;
    std::vector<std::size_t> added;                  // indexes in wanted
    std::vector<std::pair<std::size_t, int>> changed; // index in wanted, new SEQUENCE
    std::vector<std::string> gone;
    {
        auto& st = db_.prepare("SELECT uid, hash, sequence, modified, deleted FROM revisions "
                               "ORDER BY uid");
        std::size_t next = 0;
        // The wanted UIDs before `bound` (all that are left without one) are new.
        const auto add_new = [&](std::optional<std::string_view> bound) {
            for (; next < wanted.size() && (!bound || wanted[next].first < *bound); ++next) {
                added.push_back(next);
                result.emplace_hint(result.end(), wanted[next].first, calendar::revision{0, now});
            }
        };
        while (st.step()) {
            const std::string_view uid = st.get_text_view(0);
            add_new(uid);
            const bool deleted = !st.is_null(4);
            if (next < wanted.size() && wanted[next].first == uid) {
                const auto sequence = static_cast<int>(st.get_int64(2, 0, max_sequence));
                if (st.get_text_view(1) == wanted[next].second && !deleted) {
                    result.emplace_hint(result.end(), uid,
                                        calendar::revision{sequence, st.get_int64(3, 0, max_instant)});
                } else {
                    changed.emplace_back(next, sequence + 1);
                    result.emplace_hint(result.end(), uid, calendar::revision{sequence + 1, now});
                }
                ++next;
            } else if (!deleted) {
                gone.emplace_back(uid);
            }
        }
        st.reset();
        add_new(std::nullopt);
    }

    for (const std::size_t i : added)
        db_.prepare("INSERT INTO revisions (uid, hash, sequence, modified, deleted) "
                    "VALUES (?1, ?2, 0, ?3, NULL)")
            .bind(1, wanted[i].first)
            .bind(2, wanted[i].second)
            .bind(3, now)
            .run();
    for (const auto& [i, sequence] : changed)
        db_.prepare("UPDATE revisions SET hash = ?2, sequence = ?3, modified = ?4, deleted = NULL "
                    "WHERE uid = ?1")
            .bind(1, wanted[i].first)
            .bind(2, wanted[i].second)
            .bind(3, sequence)
            .bind(4, now)
            .run();
    for (const std::string& uid : gone)
        db_.prepare("UPDATE revisions SET deleted = ?2 WHERE uid = ?1").bind(1, uid).bind(2, now).run();

    tx.commit();
    return result;
}

calendar::revision_map revisions::current() {
    calendar::revision_map result;
    auto& st = db_.prepare("SELECT uid, sequence, modified FROM revisions WHERE deleted IS NULL");
    while (st.step()) {
        result[st.get_text(0)] = {static_cast<int>(st.get_int64(1, 0, max_sequence)),
                                  st.get_int64(2, 0, max_instant)};
    }
    return result;
}

std::optional<calendar::revision> revisions::last(const std::string& uid) {
    auto& st = db_.prepare("SELECT sequence, modified FROM revisions WHERE uid = ?1").bind(1, uid);
    std::optional<calendar::revision> found;
    if (st.step())
        found = calendar::revision{static_cast<int>(st.get_int64(0, 0, max_sequence)),
                                   st.get_int64(1, 0, max_instant)};
    st.reset();
    return found;
}

} // namespace casacal::store
