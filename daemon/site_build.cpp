#include "daemon/site_build.hpp"

#include "store/error.hpp"
#include "store/feed_states.hpp"
#include "store/revisions.hpp"

#include <zlib.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
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

site_check check_site(const std::filesystem::path& main_file) {
    site_check out;
    config::load_result loaded = config::load(main_file);
    out.site = std::move(loaded.site);
    out.problems = std::move(loaded.problems);
    calendar::build_result built = calendar::build(out.site);
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

build_outcome build_site(const std::filesystem::path& main_file, std::optional<store::database>& db,
                         std::int64_t now, std::uint64_t generation, build_for purpose) {
    build_outcome out;
    site_check checked = check_site(main_file);
    out.problems = std::move(checked.problems);
    if (!checked.calendar) return out;
    const config::site& site = checked.site;
    const calendar::model& model = *checked.calendar;

    try {
        const std::string db_path = site.storage.database.string();
        if (!db || db->path() != db_path) db = store::database::open(db_path);

        calendar::revision_map revisions =
            store::revisions(*db).apply(calendar::fingerprints(model), now);
        std::vector<calendar::rendered_feed> feeds = calendar::render_feeds(model, revisions, now);

        auto snap = std::make_shared<snapshot>();
        snap->generation = generation;
        snap->loaded = now;
        snap->calendar = checked.calendar;
        snap->revisions = std::move(revisions);
        snap->event_count = site.events.size();
        for (const auto& c : site.categories)
            snap->categories.push_back(c.key);
        std::sort(snap->categories.begin(), snap->categories.end());
        for (const auto& d : out.problems.sorted())
            if (d.level == config::severity::warning) snap->warnings.push_back(d.format());

        std::map<std::string, std::string> hashes;
        for (auto& feed : feeds) {
            feed_entity entity;
            if (purpose == build_for::serving) {
                auto hash = calendar::sha256_hex(feed.body);
                entity.etag = quoted_etag(hash);
                entity.gzip_body = gzip_compress(feed.body);
                entity.gzip_etag = quoted_etag(hash, "-gz");
                hashes[feed.path] = std::move(hash);
            }
            entity.body = std::move(feed.body);
            snap->feeds.emplace(std::move(feed.path), std::move(entity));
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
