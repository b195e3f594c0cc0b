#pragma once
// What the daemon serves: one immutable picture of the site, built off the
// io thread and swapped in whole. Handlers only read it.

#include "calendar/calendar.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace casacal::daemon {

/// One feed route, ready for HTTP: identity and gzip bytes with their
/// strong ETags, and the time its bytes last changed.
struct feed_entity {
    std::string body;
    std::string gzip_body;
    std::string etag;      ///< quoted, over `body`
    std::string gzip_etag; ///< quoted, over `gzip_body`
    std::int64_t last_modified = 0;
};

/// A built site. Never modified once published: share it as
/// `std::shared_ptr<const snapshot>` and read it from any thread.
struct snapshot {
    std::uint64_t generation = 0;
    std::int64_t loaded = 0; ///< when the build finished, Unix seconds
    std::shared_ptr<const calendar::model> calendar;
    calendar::revision_map revisions; ///< SEQUENCE/DTSTAMP per UID (email attachments)
    std::map<std::string, feed_entity, std::less<>> feeds; ///< by route path
    std::vector<std::string> categories;                   ///< category keys, sorted
    std::vector<std::string> warnings;                     ///< formatted diagnostics
    std::size_t event_count = 0;                           ///< events and programmes
};

} // namespace casacal::daemon
