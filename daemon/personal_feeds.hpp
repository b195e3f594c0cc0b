#pragma once
// Members' personal feeds, GET /feeds/{token}.ics: the events of the
// categories a recipient follows (members file or confirmed web
// subscription), at a URL only they know (notify::feed_token). io thread
// only.

#include "daemon/routes.hpp"
#include "daemon/snapshot.hpp"
#include "notify/planner.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace casacal::daemon {

class personal_feeds {
  public:
    /// Who has a feed, and the key their tokens come from (none when empty).
    void set_recipients(const std::string& key, const std::vector<notify::recipient>& recipients);

    /// GET or HEAD /feeds/{token}.ics from `current`; nullopt for any other path.
    std::optional<response> route(const request& req, const std::shared_ptr<const snapshot>& current,
                                  std::int64_t now);

  private:
    struct rendered;
    std::shared_ptr<const rendered> of_categories(const std::shared_ptr<const snapshot>& current,
                                                  const std::vector<std::string>& keys);

    std::map<std::string, std::vector<std::string>> categories_; ///< by SHA-256 of the token
    /// What a token's feed was last served from (its categories, joined)
    /// and when that last changed, by SHA-256 of the token: a feed's bytes
    /// change with the categories it follows (a subscription changed, a
    /// category removed), which the categories' own dates do not show.
    struct served {
        std::string keys;
        std::int64_t changed_at = 0; ///< 0: no change seen since start
    };
    std::map<std::string, served> served_;
    /// Feeds of several categories, by their keys joined, for one snapshot
    /// generation; one per distinct choice of categories among recipients.
    std::map<std::string, std::shared_ptr<const rendered>> rendered_;
    std::uint64_t generation_ = 0;
};

} // namespace casacal::daemon
