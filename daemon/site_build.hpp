#pragma once
// The one pipeline from the site's files to served bytes, shared by
// `casacal serve` (every reload) and `casacal export`, so both give the
// same bytes: config::load → calendar::build → fingerprints → revisions →
// render_feeds → per feed ETag, gzip and Last-Modified (feed_states).

#include "daemon/snapshot.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace casacal::daemon {

/// The site's files read and validated: config::load's problems and, on
/// whatever could be read, calendar::build's, so that one pass reports every
/// problem. `calendar` is null when there is any error.
/// The site itself is `calendar::site_of(*calendar)`: it is moved into the
/// model, not copied.
struct site_check {
    std::shared_ptr<const calendar::model> calendar;
    config::diagnostics problems;
};

/// Reads and validates the site at `main_file`. Never throws for bad input.
/// `previous` (the model of an earlier build of the same site) spares
/// parsing the events files that did not change and building their events
/// again (see config::load and calendar::build).
site_check check_site(const std::filesystem::path& main_file,
                      const calendar::model* previous = nullptr);

/// The result of one build: a snapshot when the site is valid, and every
/// diagnostic found either way.
struct build_outcome {
    std::shared_ptr<const snapshot> built; ///< null when `problems` has errors
    config::diagnostics problems;
    std::string failure; ///< a non-config failure (database), "" when none

    bool ok() const { return built != nullptr; }
};

/// What a build is for: `serving` adds what HTTP needs (ETags, gzip bodies,
/// Last-Modified from feed_states); `export_only` gives the same feed bytes
/// without that work.
enum class build_for { serving, export_only };

/// Builds generation `generation` of the site at `main_file` as of `now`.
/// `db` is the calling thread's connection: opened on first use at the
/// site's storage.database (read-write, migrated), kept for later builds.
/// With `only` set, the snapshot holds that feed route alone (none when the
/// site has no such feed), rendered alone with the same bytes. `previous`,
/// the last good snapshot of the same site, spares work as for check_site,
/// and the fingerprinting and rendering of the series it copied (whose
/// revision stayed). `before_open`, when set, is called with the database's
/// path before `db` is first opened (serve locks it there: a refused second
/// daemon writes nothing). `database`, when not empty, is the database
/// used whatever the site's storage.database now says (serve's, fixed at
/// its start: a change waits for a restart). Never throws: database
/// failures, and what `before_open` throws, land in `failure`.
build_outcome build_site(const std::filesystem::path& main_file, std::optional<store::database>& db,
                         std::int64_t now, std::uint64_t generation,
                         build_for purpose = build_for::serving, std::string_view only = {},
                         const snapshot* previous = nullptr,
                         const std::function<void(const std::string&)>& before_open = {},
                         std::string_view database = {});

/// gzip (RFC 1952) of `bytes`: deflate at zlib's default level, no name, mtime 0, so the
/// output depends on the input alone.
std::string gzip_compress(std::string_view bytes);

/// The strong ETag (quoted) of bytes whose SHA-256 is `digest_hex`.
std::string quoted_etag(std::string_view digest_hex, std::string_view suffix = {});

/// The strong ETag (quoted) of exactly these bytes.
std::string etag_of(std::string_view bytes, std::string_view suffix = {});

} // namespace casacal::daemon
