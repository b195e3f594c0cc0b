#include "daemon/snapshot.hpp"

#include "calendar/model.hpp"
#include "daemon/site_build.hpp"

#include <algorithm>
#include <stdexcept>

namespace casacal::daemon {

void feed_table::add(std::string path, feed_entity entity) {
    auto [it, added] = given_.emplace(std::move(path), std::move(entity));
    // gzip bytes are made on the first request that asks for them.
    if (added && !it->second.gzip_etag.empty()) {
        const feed_bytes* body = &it->second.body;
        it->second.gzip_body = feed_bytes(0, [body] { return gzip_compress(body->get()); });
    }
}

void feed_table::add_later(std::vector<calendar::feed_digest> digests, bool gzip) {
    later_.reserve(digests.size());
    for (calendar::feed_digest& d : digests) {
        if (d.path.empty()) continue;
        later& l = later_.emplace_back();
        l.path = std::move(d.path);
        l.size = d.size;
        std::copy_n(d.sha256.begin(), std::min(d.sha256.size(), l.tag.size()), l.tag.begin());
        l.gzip = gzip;
    }
    std::sort(later_.begin(), later_.end(),
              [](const later& a, const later& b) { return a.path < b.path; });
}

namespace {

/// The entry of sorted `table` at `path`, or null.
template <class Table> auto* entry_at(Table& table, std::string_view path) {
    const auto it = std::lower_bound(table.begin(), table.end(), path,
                                     [](const auto& l, std::string_view p) { return l.path < p; });
    return it != table.end() && it->path == path ? &*it : nullptr;
}

} // namespace

void feed_table::set_last_modified(std::string_view path, std::int64_t when) {
    if (auto it = given_.find(path); it != given_.end()) {
        it->second.last_modified = when;
    } else if (later* l = entry_at(later_, path)) {
        l->last_modified = when;
    }
}

const feed_entity* feed_table::find(std::string_view path) const {
    if (auto it = given_.find(path); it != given_.end()) return &it->second;
    const later* l = entry_at(later_, path);
    if (!l) return nullptr;
    if (!l->made) {
        auto e = std::make_unique<feed_entity>();
        const std::string_view tag(l->tag.data(), l->tag.size());
        e->etag = quoted_etag(tag);
        e->body = feed_bytes(l->size, [this, l] { return render_ ? render_(l->path) : std::string(); });
        if (l->gzip) {
            e->gzip_etag = quoted_etag(tag, "-gz");
            const feed_bytes* body = &e->body;
            e->gzip_body = feed_bytes(0, [body] { return gzip_compress(body->get()); });
        }
        e->last_modified = l->last_modified;
        l->made = std::move(e);
    }
    return l->made.get();
}

const feed_entity& feed_table::at(std::string_view path) const {
    if (const feed_entity* f = find(path)) return *f;
    throw std::out_of_range("no feed at " + std::string(path));
}

void feed_table::each(const std::function<void(const std::string&, std::size_t)>& f) const {
    for (const auto& [path, feed] : given_)
        f(path, feed.body.size());
    for (const later& l : later_)
        f(l.path, l.size);
}

std::vector<std::string_view> snapshot::calendar_vevents() const {
    std::vector<std::string_view> ready;
    const feed_entity* all = feeds.find("/calendar.ics");
    if (!all || !all->body.ready() || !calendar || calendar_spans.size() != calendar->all.size())
        return ready;
    const std::string_view text = all->body.get();
    ready.reserve(calendar_spans.size());
    for (const auto& [offset, length] : calendar_spans)
        ready.push_back(offset + length <= text.size() ? text.substr(offset, length)
                                                       : std::string_view());
    return ready;
}

} // namespace casacal::daemon
