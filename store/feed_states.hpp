#pragma once
// The Last-Modified time of every feed route, kept across restarts.

#include "calendar/calendar.hpp"
#include "store/database.hpp"

#include <map>
#include <string>
#include <string_view>

namespace casacal::store {

/// The table `feed_states`: per feed path, a hash of the body last served
/// and when it last changed. `modified` moves only when the hash does, so
/// HTTP Last-Modified survives restarts and also moves when an event is
/// deleted (which changes the body but no surviving event's revision).
/// Borrows the database, which must outlive it; same thread as the database.
class feed_states {
  public:
    explicit feed_states(database& db) : db_(db) {}

    /// Records `body_hash` for `path`; returns when that body first appeared
    /// (`now` if the path is new or its hash changed).
    calendar::unix_time apply(std::string_view path, std::string_view body_hash,
                              calendar::unix_time now);

    /// The same for every feed of a build, in one transaction: path → hash
    /// in, path → modified out. Paths not given are left as they are.
    std::map<std::string, calendar::unix_time>
    apply(const std::map<std::string, std::string>& hashes, calendar::unix_time now);

  private:
    calendar::unix_time apply_one(std::string_view path, std::string_view body_hash,
                                  calendar::unix_time now);

    database& db_;
};

} // namespace casacal::store
