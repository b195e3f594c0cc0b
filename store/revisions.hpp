#pragma once
// SEQUENCE, DTSTAMP and LAST-MODIFIED of every UID, kept across restarts.

#include "calendar/calendar.hpp"
#include "store/database.hpp"

#include <optional>
#include <string>
#include <vector>

namespace casacal::store {

/// The table `revisions`: per UID, the content hash last seen, its SEQUENCE
/// and the time it last changed. Rows of UIDs that left the site are kept
/// (marked deleted) so that a UID that comes back continues its sequence.
/// Borrows the database, which must outlive it; same thread as the database.
class revisions {
  public:
    explicit revisions(database& db) : db_(db) {}

    /// Records the fingerprints of the current site, in one transaction, and
    /// returns the revision of each UID given:
    /// - a new UID gets sequence 0, modified `now`;
    /// - a UID whose hash changed, or that comes back after being deleted,
    ///   gets sequence + 1, modified `now`;
    /// - a UID whose hash is unchanged keeps its revision;
    /// - a UID that is not given is marked deleted (at `now`, once).
    /// Several fingerprints with the same UID (a master and its overrides)
    /// count as one: the UID's hash is theirs joined in input order, so a
    /// change to any of them bumps the UID. Applying the same fingerprints
    /// again changes nothing, not even `modified`.
    calendar::revision_map apply(const std::vector<calendar::fingerprint>& fingerprints,
                                 calendar::unix_time now);

    /// The revisions of every UID not marked deleted, without changing anything
    /// (for a reader that must render what the daemon renders).
    calendar::revision_map current();

    /// The revision last recorded for `uid`, marked deleted or not; nullopt
    /// for a UID never seen.
    std::optional<calendar::revision> last(const std::string& uid);

  private:
    database& db_;
};

} // namespace casacal::store
