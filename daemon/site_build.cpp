#include "daemon/site_build.hpp"

#include "store/error.hpp"
#include "store/feed_states.hpp"
#include "store/revisions.hpp"

#include <zlib.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace casacal::daemon {

std::string gzip_compress(std::string_view bytes) {
    z_stream zs{};
    // windowBits 15 + 16: a gzip wrapper instead of zlib's.
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("gzip: deflateInit2 failed");
    std::string out;
    out.resize(deflateBound(&zs, static_cast<uLong>(bytes.size())) + 32);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(bytes.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    const auto written = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
    out.resize(written);
    return out;
}

std::string quoted_etag(std::string_view digest_hex, std::string_view suffix) {
    std::string tag = "\"";
    tag += digest_hex.substr(0, 32);
    tag += suffix;
    tag += '"';
    return tag;
}

std::string etag_of(std::string_view bytes, std::string_view suffix) {
    return quoted_etag(calendar::sha256_hex(bytes), suffix);
}

site_check check_site(const std::filesystem::path& main_file, const calendar::model* previous) {
    site_check out;
    config::load_result loaded =
        config::load(main_file, previous ? &calendar::site_of(*previous) : nullptr);
    out.problems = std::move(loaded.problems);
    calendar::build_result built = calendar::build(
        std::move(loaded.site), std::max(1u, std::thread::hardware_concurrency()), previous);
    // Both layers may see the same mistake (an end before its start): one
    // report per place is enough, and the loader's is the more precise.
    std::set<std::tuple<std::string, int, int>> reported;
    for (const auto& d : out.problems.items())
        if (d.level == config::severity::error)
            reported.emplace(d.where.path, d.where.line, d.where.column);
    for (const auto& d : built.problems.items()) {
        if (reported.count({d.where.path, d.where.line, d.where.column})) continue;
        if (d.level == config::severity::error)
            out.problems.error(d.where, d.message);
        else
            out.problems.warning(d.where, d.message);
    }
    if (!out.problems.has_errors()) out.calendar = std::move(built.calendar);
    return out;
}

namespace {

bool single_event_feed(std::string_view path) {
    return path.starts_with("/events/");
}

} // namespace

build_outcome build_site(const std::filesystem::path& main_file, std::optional<store::database>& db,
                         std::int64_t now, std::uint64_t generation, build_for purpose,
                         std::string_view only, const calendar::model* previous) {
    build_outcome out;
    site_check checked = check_site(main_file, previous);
    out.problems = std::move(checked.problems);
    if (!checked.calendar) return out;
    const calendar::model& model = *checked.calendar;
    const config::site& site = calendar::site_of(model);

    try {
        const std::string db_path = site.storage.database.string();
        if (!db || db->path() != db_path) db = store::database::open(db_path);

        auto snap = std::make_shared<snapshot>();
        const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
        // Serving renders every VEVENT: the texts hashed for the revisions
        // are reused for it.
        const bool render_all = only.empty() && purpose == build_for::serving;
        std::vector<std::string> texts;
        snap->revisions = store::revisions(*db).apply(
            calendar::fingerprints(model, threads, render_all ? &texts : nullptr), now);
        snap->generation = generation;
        snap->loaded = now;
        snap->calendar = checked.calendar;
        snap->event_count = site.events.size();
        for (const auto& c : site.categories)
            snap->categories.push_back(c.key);
        std::sort(snap->categories.begin(), snap->categories.end());
        for (const auto& d : out.problems.sorted())
            if (d.level == config::severity::warning) snap->warnings.push_back(d.format());

        const snapshot* self = snap.get(); // the producers live inside it
        std::map<std::string, std::string> hashes;
        // gzip bytes are made on the first request that asks for them.
        const auto publish = [&](std::string path, feed_entity entity) {
            auto [it, added] = snap->feeds.emplace(std::move(path), std::move(entity));
            if (added && purpose == build_for::serving) {
                const feed_bytes* body = &it->second.body;
                it->second.gzip_body = feed_bytes(0, [body] { return gzip_compress(body->get()); });
            }
        };
        // Thousands of small feeds few ever fetch: keep the ETag, render on demand.
        const auto publish_event = [&](std::string path, std::size_t size, std::string hash) {
            feed_entity entity;
            entity.etag = quoted_etag(hash);
            entity.gzip_etag = quoted_etag(hash, "-gz");
            hashes[path] = std::move(hash);
            entity.body = feed_bytes(size, [self, path] {
                return calendar::render_feed(*self->calendar, path, self->revisions, self->loaded)
                    .value_or(std::string());
            });
            publish(std::move(path), std::move(entity));
        };
        const auto add = [&](calendar::rendered_feed feed) {
            if (purpose == build_for::serving && single_event_feed(feed.path)) {
                auto hash = calendar::sha256_hex(feed.body);
                return publish_event(std::move(feed.path), feed.body.size(), std::move(hash));
            }
            feed_entity entity;
            if (purpose == build_for::serving) {
                auto hash = calendar::sha256_hex(feed.body);
                entity.etag = quoted_etag(hash);
                entity.gzip_etag = quoted_etag(hash, "-gz");
                hashes[feed.path] = std::move(hash);
            }
            entity.body = feed_bytes(std::move(feed.body));
            publish(std::move(feed.path), std::move(entity));
        };
        if (render_all) {
            // Single-event feeds are digested on every core, then published
            // in render_feeds' order.
            std::vector<calendar::feed_digest> events(site.events.size()); // at most one per event
            calendar::render_feeds(
                model, snap->revisions, now, add,
                [&](std::size_t i, calendar::feed_digest d) { events[i] = std::move(d); },
                threads, &texts);
            texts = {};
            for (calendar::feed_digest& e : events) {
                if (e.path.empty()) break;
                publish_event(std::move(e.path), e.size, std::move(e.sha256));
            }
        } else if (only.empty()) {
            calendar::render_feeds(model, snap->revisions, now, add);
        } else if (auto body = calendar::render_feed(model, only, snap->revisions, now, threads)) {
            add({std::string(only), std::move(*body)});
        }
        for (const auto& [path, modified] : store::feed_states(*db).apply(hashes, now))
            if (auto it = snap->feeds.find(path); it != snap->feeds.end())
                it->second.last_modified = modified;
        out.built = std::move(snap);
    } catch (const std::exception& e) {
        // A broken connection is not reused: the next build reopens it.
        db.reset();
        out.failure = e.what();
    }
    return out;
}

} // namespace casacal::daemon
