#include "daemon/site_build.hpp"

#include "calendar/model.hpp"
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

/// What a build takes from the previous snapshot for the series `build`
/// copied from its model: their fingerprints, and their VEVENTs as its
/// /calendar.ics holds them when their revision stayed.
class previous_texts {
  public:
    previous_texts(const calendar::model& m, const snapshot* previous) : m_(m), previous_(previous) {
        if (!previous || !previous->calendar ||
            previous->fingerprints.size() != previous->calendar->all.size() ||
            previous->calendar_spans.size() != previous->calendar->all.size())
            previous_ = nullptr;
        if (!previous_) return;
        index_.assign(m.all.size(), none);
        known_.assign(m.all.size(), std::string());
        const auto& earlier = previous_->calendar->all;
        for (std::size_t i = 0; i < m.all.size(); ++i) {
            if (!m.all[i].reused) continue;
            const calendar::series* s = previous_->calendar->find(m.all[i].master.uid);
            if (!s) continue;
            index_[i] = static_cast<std::size_t>(s - earlier.data());
            known_[i] = previous_->fingerprints[index_[i]];
        }
    }

    const std::vector<std::string>* known() const { return previous_ ? &known_ : nullptr; }

    /// The previous VEVENTs of the series whose revision is unchanged.
    const std::vector<std::string_view>* ready(const calendar::revision_map& revisions) {
        if (!previous_) return nullptr;
        const feed_entity* body = previous_->feeds.find("/calendar.ics");
        if (!body || !body->body.ready()) return nullptr;
        const std::string_view text = body->body.get();
        ready_.assign(m_.all.size(), std::string_view());
        for (std::size_t i = 0; i < m_.all.size(); ++i) {
            if (index_[i] == none) continue;
            const std::string& uid = m_.all[i].master.uid;
            const auto now = revisions.find(uid);
            const auto then = previous_->revisions.find(uid);
            if (now == revisions.end() || then == previous_->revisions.end() ||
                now->second.sequence != then->second.sequence ||
                now->second.modified != then->second.modified)
                continue;
            const auto [offset, length] = previous_->calendar_spans[index_[i]];
            if (length == 0 || offset + length > text.size()) continue;
            ready_[i] = std::string_view(text).substr(offset, length);
        }
        return &ready_;
    }

  private:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    const calendar::model& m_;
    const snapshot* previous_;
    std::vector<std::size_t> index_;
    std::vector<std::string> known_;
    std::vector<std::string_view> ready_;
};

} // namespace

build_outcome build_site(const std::filesystem::path& main_file, std::optional<store::database>& db,
                         std::int64_t now, std::uint64_t generation, build_for purpose,
                         std::string_view only, const snapshot* previous,
                         const std::function<void(const std::string&)>& before_open,
                         std::string_view database) {
    build_outcome out;
    site_check checked = check_site(main_file, previous ? previous->calendar.get() : nullptr);
    out.problems = std::move(checked.problems);
    if (!checked.calendar) return out;
    const calendar::model& model = *checked.calendar;
    const config::site& site = calendar::site_of(model);

    try {
        const std::string db_path =
            database.empty() ? site.storage.database.string() : std::string(database);
        if (!db || db->path() != db_path) {
            if (before_open) before_open(db_path);
            db = store::database::open(db_path);
        }

        auto snap = std::make_shared<snapshot>();
        const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
        // Serving renders every VEVENT, export those of one feed: the texts
        // hashed for the revisions are reused for it.
        const bool render_all = only.empty() && purpose == build_for::serving;
        const bool reuse_texts = render_all || !only.empty();
        // A series copied from the previous model has the fingerprint it had
        // then, and, if its revision stayed, the VEVENTs the previous
        // /calendar.ics holds.
        previous_texts earlier(model, render_all ? previous : nullptr);
        std::vector<std::string> texts;
        auto fingerprints = calendar::fingerprints(model, threads, reuse_texts ? &texts : nullptr,
                                                   earlier.known());
        snap->revisions = store::revisions(*db).apply(fingerprints, now);
        if (render_all) {
            snap->fingerprints.reserve(fingerprints.size());
            for (calendar::fingerprint& f : fingerprints)
                snap->fingerprints.push_back(std::move(f.hash));
        }
        fingerprints = {};
        snap->generation = generation;
        snap->loaded = now;
        snap->calendar = checked.calendar;
        snap->event_count = site.events.size();
        for (const auto& c : site.categories)
            snap->categories.push_back(c.key);
        std::sort(snap->categories.begin(), snap->categories.end());
        for (const auto& d : out.problems.sorted())
            if (d.level == config::severity::warning) snap->warnings.push_back(d.format());

        std::map<std::string, std::string> hashes;
        // A feed rendered on demand copies the VEVENTs /calendar.ics holds.
        const snapshot* self = snap.get();
        snap->feeds.set_renderer([self](const std::string& path) {
            const std::vector<std::string_view> ready = self->calendar_vevents();
            return calendar::render_feed(*self->calendar, path, self->revisions, self->loaded, 1,
                                         {nullptr, &ready, nullptr})
                .value_or(std::string());
        });
        const auto add = [&](calendar::rendered_feed feed) {
            feed_entity entity;
            entity.body = feed_bytes(std::move(feed.body), purpose == build_for::serving);
            if (purpose == build_for::serving) {
                auto hash = calendar::sha256_hex(entity.body.get());
                entity.etag = quoted_etag(hash);
                entity.gzip_etag = quoted_etag(hash, "-gz");
                hashes[feed.path] = std::move(hash);
            }
            snap->feeds.add(std::move(feed.path), std::move(entity));
        };
        if (render_all) {
            // The category and single-event feeds, which few clients fetch,
            // are digested on every core and rendered on demand.
            std::vector<calendar::feed_digest> later(site.categories.size() +
                                                     site.events.size()); // at most one per event
            calendar::render_feeds(
                model, snap->revisions, now, add,
                [&](std::size_t i, calendar::feed_digest d) { later[i] = std::move(d); },
                threads, {&texts, earlier.ready(snap->revisions), &snap->calendar_spans});
            texts = {};
            for (const calendar::feed_digest& d : later)
                if (!d.path.empty()) hashes[d.path] = d.sha256;
            snap->feeds.add_later(std::move(later), true);
        } else if (only.empty()) {
            calendar::render_feeds(model, snap->revisions, now, add);
        } else if (auto body = calendar::render_feed(model, only, snap->revisions, now, threads,
                                                     {&texts, nullptr, nullptr})) {
            add({std::string(only), std::move(*body)});
        }
        for (const auto& [path, modified] : store::feed_states(*db).apply(hashes, now))
            snap->feeds.set_last_modified(path, modified);
        out.built = std::move(snap);
    } catch (const std::exception& e) {
        // A broken connection is not reused: the next build reopens it.
        db.reset();
        out.failure = e.what();
    }
    return out;
}

} // namespace casacal::daemon
