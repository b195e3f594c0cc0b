#pragma once
// What the daemon serves: one immutable picture of the site, built off the
// io thread and swapped in whole. Handlers only read it.

#include "calendar/calendar.hpp"
#include "daemon/memory_file.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace casacal::daemon {

/// Bytes of a feed: given at build time, or of a known size and produced on
/// first use, then kept (the producer must give the same bytes every time).
/// From k_file_from bytes on, they are kept in a memory_file, which
/// responses send with sendfile(2) (see file()).
/// Not copyable: its address is what HTTP responses alias.
class feed_bytes {
  public:
    using producer = std::function<std::string()>;
    /// The size from which the bytes go into a memory file: a feed that
    /// large costs more to copy into a socket than the file's descriptor.
    static constexpr std::size_t k_file_from = 64 * 1024;

    feed_bytes() = default;
    /// `sendable`: kept in a memory file when large enough (not for
    /// `casacal export`, which writes them once).
    explicit feed_bytes(std::string bytes, bool sendable = true) : size_(bytes.size()) {
        if (sendable)
            keep(std::move(bytes));
        else
            bytes_ = std::move(bytes);
    }
    /// Bytes `make` produces on first use; `size` is their length when known, else 0.
    feed_bytes(std::size_t size, producer make) : size_(size), make_(std::move(make)) {}
    feed_bytes(const feed_bytes&) = delete;
    feed_bytes& operator=(const feed_bytes&) = delete;
    feed_bytes(feed_bytes&&) = default;
    feed_bytes& operator=(feed_bytes&&) = default;

    std::size_t size() const { return make_ ? size_ : get().size(); }
    bool empty() const { return size() == 0; }
    /// Whether the bytes are in memory (given, or produced already).
    bool ready() const { return !make_; }
    /// The bytes, produced now if not yet; valid as long as this lives.
    /// Thread: see feed_entity.
    std::string_view get() const {
        if (make_) {
            keep(make_());
            make_ = nullptr;
        }
        return file_ ? file_->bytes() : std::string_view(bytes_);
    }
    /// A descriptor of a file holding the bytes (produced now if not yet),
    /// or -1 when they are only in memory.
    int file() const {
        get();
        return file_ ? file_->fd() : -1;
    }

  private:
    void keep(std::string bytes) const {
        if (bytes.size() >= k_file_from && (file_ = memory_file::make(bytes))) return;
        bytes_ = std::move(bytes);
    }

    std::size_t size_ = 0;
    mutable std::string bytes_;
    mutable std::optional<memory_file> file_;
    mutable producer make_;
};

/// One feed route, ready for HTTP: identity and gzip bytes with their
/// strong ETags, and the time its bytes last changed.
///
/// What stays in memory: the bytes of /calendar.ics are kept from the
/// build; a category or single-event feed keeps only its size and ETag (see
/// feed_table), and is rendered from the snapshot's model and revisions on
/// its first request (the same bytes, which the ETag and Last-Modified were
/// computed over at build time). gzip bytes are compressed on the first
/// request that asks for gzip. Both are then kept with the snapshot.
/// Filling these caches needs no lock because, once a snapshot is
/// published, the io thread is the only thread that reads its `feeds`
/// (HTTP handlers, metrics); a build reads its own snapshot, and of the
/// previous one only /calendar.ics, whose bytes were given at build time.
struct feed_entity {
    feed_bytes body;
    feed_bytes gzip_body;  ///< never produced when gzip_etag is empty (export builds)
    std::string etag;      ///< quoted, over `body`
    std::string gzip_etag; ///< quoted, over `gzip_body`; empty: no gzip
    std::int64_t last_modified = 0;
};

/// The feed routes of a snapshot, by path. Feeds given with their bytes
/// are kept as entities; those rendered on demand (category and
/// single-event feeds, thousands of them, which few clients fetch) as their
/// size, digest and a shared renderer, and become entities on their first
/// lookup. Lookups run on the io thread, but for /calendar.ics, which the
/// next build also reads (see feed_entity).
class feed_table {
  public:
    /// Renders the bytes of the feed at a path (given to add_later).
    using renderer = std::function<std::string(const std::string& path)>;

    /// A feed with its bytes; with a gzip_etag, its gzip bytes are made on
    /// the first request that asks for them.
    void add(std::string path, feed_entity entity);
    /// Feeds known by their digests (those with an empty path are skipped),
    /// rendered by the renderer on first use; `gzip` offers a gzip variant.
    /// Call once.
    void add_later(std::vector<calendar::feed_digest> digests, bool gzip);
    void set_renderer(renderer render) { render_ = std::move(render); }
    void set_last_modified(std::string_view path, std::int64_t when);

    /// The feed at `path`, or null.
    const feed_entity* find(std::string_view path) const;
    /// The feed at `path`; throws std::out_of_range when there is none.
    const feed_entity& at(std::string_view path) const;
    std::size_t count(std::string_view path) const { return find(path) ? 1 : 0; }
    std::size_t size() const { return given_.size() + later_.size(); }
    bool empty() const { return size() == 0; }
    /// Calls `f(path, body size)` for every feed, in path order within each kind.
    void each(const std::function<void(const std::string&, std::size_t)>& f) const;

  private:
    struct later {
        std::string path;
        std::size_t size = 0;
        std::array<char, 32> tag{}; ///< the ETag's hex digits
        bool gzip = false;
        std::int64_t last_modified = 0;
        mutable std::unique_ptr<feed_entity> made; ///< on first lookup
    };

    std::map<std::string, feed_entity, std::less<>> given_;
    std::vector<later> later_; ///< sorted by path
    renderer render_;
};

/// A built site. Never modified once published (but for the byte caches of
/// `feeds`, see feed_entity and feed_table): share it as
/// `std::shared_ptr<const snapshot>`; any thread may read it, but only the
/// io thread its `feeds`.
struct snapshot {
    std::uint64_t generation = 0;
    std::int64_t loaded = 0; ///< when the build finished, Unix seconds
    std::shared_ptr<const calendar::model> calendar;
    calendar::revision_map revisions; ///< SEQUENCE/DTSTAMP per UID (email attachments)
    feed_table feeds;
    std::vector<std::string> categories;                   ///< category keys, sorted
    std::vector<std::string> warnings;                     ///< formatted diagnostics
    std::size_t event_count = 0;                           ///< events and programmes
    /// For the next build, by index in `calendar->all`: each series'
    /// fingerprint, and where its VEVENTs lie in the /calendar.ics body
    /// ({offset, length}, length 0 when not there). Empty unless serving.
    std::vector<std::string> fingerprints;
    std::vector<std::pair<std::size_t, std::size_t>> calendar_spans;

    /// Each series' VEVENTs as the /calendar.ics body holds them, by index
    /// in `calendar->all` ("" when not there), for a render to copy (see
    /// calendar::vevent_texts); empty when that body is not in memory. io
    /// thread, or the build of this snapshot.
    std::vector<std::string_view> calendar_vevents() const;
};

} // namespace casacal::daemon
