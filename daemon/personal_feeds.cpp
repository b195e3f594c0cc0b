#include "daemon/personal_feeds.hpp"

#include "daemon/site_build.hpp"

#include <algorithm>

namespace casacal::daemon {

namespace {

/// Category keys as one string ("apero,atelier,"): the name of a choice.
std::string joined(const std::vector<std::string>& keys) {
    std::string out;
    for (const std::string& k : keys)
        out += k + ",";
    return out;
}

} // namespace

/// A feed of several categories and the snapshot its bytes come from.
struct personal_feeds::rendered {
    std::shared_ptr<const snapshot> from;
    feed_entity feed;
};

void personal_feeds::set_recipients(const std::string& key,
                                    const std::vector<notify::recipient>& recipients) {
    categories_.clear();
    if (key.empty()) return;
    // By the token's SHA-256, as the other tokens: comparing a guess with
    // the table then tells nothing about the tokens themselves.
    for (const notify::recipient& r : recipients)
        categories_[calendar::sha256_hex(notify::feed_token(key, r.email))] = r.categories;
    std::erase_if(served_, [&](const auto& s) { return !categories_.count(s.first); });
}

std::shared_ptr<const personal_feeds::rendered>
personal_feeds::of_categories(const std::shared_ptr<const snapshot>& current,
                              const std::vector<std::string>& keys) {
    if (generation_ != current->generation) {
        rendered_.clear();
        generation_ = current->generation;
    }
    auto& slot = rendered_[joined(keys)];
    if (slot) return slot;

    auto made = std::make_shared<rendered>();
    made->from = current;
    const std::vector<std::string_view> ready = current->calendar_vevents();
    std::string body = calendar::render_categories_feed(*current->calendar, keys, current->revisions,
                                                        current->loaded, {nullptr, &ready, nullptr});
    const std::string hash = calendar::sha256_hex(body);
    made->feed.etag = quoted_etag(hash);
    made->feed.gzip_etag = quoted_etag(hash, "-gz");
    made->feed.body = feed_bytes(std::move(body));
    made->feed.gzip_body = feed_bytes(0, [self = made.get()] {
        return gzip_compress(self->feed.body.get());
    });
    // Its bytes change when one of its categories' feed does.
    for (const std::string& k : keys)
        if (const feed_entity* f = current->feeds.find("/calendar/" + k + ".ics"))
            made->feed.last_modified = std::max(made->feed.last_modified, f->last_modified);
    slot = std::move(made);
    return slot;
}

std::optional<response> personal_feeds::route(const request& req,
                                              const std::shared_ptr<const snapshot>& current,
                                              std::int64_t now) {
    constexpr std::string_view prefix = "/feeds/", suffix = ".ics";
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (!path.starts_with(prefix)) return std::nullopt;
    if (auto answer = method_answer(req, "GET, HEAD", now)) {
        answer->route = "personal_feed";
        return answer;
    }
    response r = error_response(404, "not found", now);
    r.route = "personal_feed";
    const std::string_view name = path.substr(prefix.size());
    if (!name.ends_with(suffix) || !current) return r;
    const std::string token_hash =
        calendar::sha256_hex(name.substr(0, name.size() - suffix.size()));
    const auto found = categories_.find(token_hash);
    if (found == categories_.end()) return r;

    const std::vector<std::string>& follows = found->second;
    std::vector<std::string> keys;
    for (const std::string& k : current->categories)
        if (std::find(follows.begin(), follows.end(), k) != follows.end()) keys.push_back(k);
    std::shared_ptr<const void> owner = current;
    const feed_entity* feed = nullptr;
    const bool all = std::find(follows.begin(), follows.end(), "*") != follows.end();
    // The whole site, or one category, is a feed the snapshot has already.
    if (all) {
        feed = current->feeds.find("/calendar.ics");
    } else if (keys.size() == 1) {
        feed = current->feeds.find("/calendar/" + keys.front() + ".ics");
    } else {
        auto made = of_categories(current, keys);
        feed = &made->feed;
        owner = std::move(made);
    }
    if (!feed) return r;
    const std::string chosen = all ? "*" : joined(keys);
    const auto [seen, first] = served_.try_emplace(token_hash, served{chosen, 0});
    if (!first && seen->second.keys != chosen) seen->second = {chosen, now};
    std::int64_t changed_at = seen->second.changed_at;
    // Of no category left: what is left of it changes with the site's feed.
    if (keys.empty() && !all)
        if (const feed_entity* site = current->feeds.find("/calendar.ics"))
            changed_at = std::max(changed_at, site->last_modified);
    r = feed_response(req, *feed, std::move(owner), now, feed_audience::token_holder, changed_at);
    r.route = "personal_feed";
    return r;
}

} // namespace casacal::daemon
