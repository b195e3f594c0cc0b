#include "config/events_file.hpp"
#include "config/main_file.hpp"
#include "config/members_file.hpp"
#include "config/parallel.hpp"
#include "config/site.hpp"
#include "config/source_file.hpp"

#include <algorithm>
#include <exception>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include <sys/stat.h>

namespace casacal::config {
namespace {

duration default_duration(std::string_view text, const position& where) {
    duration d = *parse_duration(text);
    d.where = where;
    return d;
}

void apply_defaults(site& s) {
    const position nowhere{s.main_file.string(), 0, 0};
    s.site.timezone_at = {s.main_file.string(), 1, 1};
    s.site.events_dir = resolve(s.base_dir, "events.d");
    s.site.members_file = resolve(s.base_dir, "members.toml");
    s.storage.database = resolve(s.base_dir, "casacal.db");
    s.smtp.pickup_dir = resolve(s.base_dir, "outbox");
    s.reminders.offsets = {default_duration("P1D", nowhere), default_duration("PT2H", nowhere)};
    s.reminders.grace = default_duration("PT30M", nowhere);
    s.feeds.keep_past = default_duration("P90D", nowhere);
}

// *.toml files of the folder, by name; dot files (editor leftovers) skipped.
// A folder named *.toml is listed too, and reported as unreadable. Other
// folders (not read) go to `folders`.
std::vector<std::filesystem::path> event_files(const std::filesystem::path& dir,
                                               std::vector<std::string>& folders,
                                               std::error_code& ec) {
    std::vector<std::filesystem::path> files;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) return files;
    for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
        const std::filesystem::path name = it->path().filename();
        if (name.string().starts_with('.')) continue;
        if (name.extension() == ".toml") {
            files.push_back(name);
        } else {
            std::error_code ignored;
            if (it->is_directory(ignored)) folders.push_back(name.string());
        }
    }
    if (ec) return {};
    std::sort(files.begin(), files.end());
    std::sort(folders.begin(), folders.end());
    return files;
}

std::optional<file_stamp> stamp_of(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return std::nullopt;
    file_stamp f;
    f.size = static_cast<std::uintmax_t>(st.st_size);
    f.mtime_ns = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    f.ctime_ns = std::int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
    f.inode = st.st_ino;
    f.device = st.st_dev;
    return f;
}

bool same_category_keys(const std::vector<category>& a, const std::vector<category>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const category& x, const category& y) { return x.key == y.key; });
}

/// The source of `name` in `previous` when it can stand for the file now.
const events_source* reusable(const site* previous, const site& s, const std::string& name,
                              const std::optional<file_stamp>& stamp) {
    if (!previous || !stamp || previous->site.events_dir != s.site.events_dir ||
        !same_category_keys(previous->categories, s.categories))
        return nullptr;
    const auto it = std::lower_bound(
        previous->sources.begin(), previous->sources.end(), name,
        [](const events_source& src, const std::string& n) { return src.name < n; });
    if (it == previous->sources.end() || it->name != name || it->stamp != stamp) return nullptr;
    return &*it;
}

void read_events(const file_references& refs, site& s, diagnostics& out, const site* previous) {
    std::error_code ec;
    std::vector<std::string> folders;
    const auto files = event_files(s.site.events_dir, folders, ec);
    if (ec) {
        out.error(refs.events_at, "cannot read events folder '" + s.site.events_dir.string() +
                                      "': " + ec.message());
        return;
    }
    for (const std::string& folder : folders)
        out.warning(refs.events_at, "'" + (s.site.events_dir / folder).string() +
                                        "' is a folder: only the *.toml files directly in '" +
                                        s.site.events_dir.string() + "' are read");
    // Each file stands alone: files are read, parsed and turned into events
    // (or, unchanged since `previous`, copied from it) on up to
    // hardware_concurrency threads, each into its own vector and diagnostics,
    // then joined in file order, so events and diagnostics come out as a
    // serial load gives.
    struct loaded {
        std::optional<file_stamp> stamp;
        const events_source* reused = nullptr;
        std::vector<event_def> events;
        diagnostics problems;
        std::exception_ptr failure; ///< rethrown in file order, as a serial load throws
    };
    std::vector<loaded> loaded_files(files.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
        loaded& f = loaded_files[i];
        f.stamp = stamp_of(s.site.events_dir / files[i]);
        f.reused = reusable(previous, s, files[i].string(), f.stamp);
    }
    const auto load_one = [&](std::size_t i) {
        loaded& f = loaded_files[i];
        try {
            if (f.reused) {
                const auto from =
                    previous->events.begin() + static_cast<std::ptrdiff_t>(f.reused->first);
                f.events.assign(from, from + static_cast<std::ptrdiff_t>(f.reused->count));
                f.problems = f.reused->problems;
                return;
            }
            const source_path shown = (s.site.events_dir / files[i]).string();
            if (auto root = load_source(s.site.events_dir / files[i], shown, f.problems))
                read_events_file(*root, shown, s.categories, f.events, f.problems);
        } catch (...) {
            f.failure = std::current_exception();
        }
    };
    parallel_for(files.size(), std::max(1u, std::thread::hardware_concurrency()), load_one);
    std::size_t total = 0;
    for (const loaded& f : loaded_files)
        total += f.events.size();
    s.events.reserve(total);
    for (std::size_t i = 0; i < files.size(); ++i) {
        loaded& f = loaded_files[i];
        out.append(f.problems);
        if (f.failure) std::rethrow_exception(f.failure);
        events_source src;
        src.name = files[i].string();
        src.stamp = f.stamp;
        src.first = s.events.size();
        src.count = f.events.size();
        src.problems = std::move(f.problems);
        if (f.reused) src.previous_first = f.reused->first;
        std::move(f.events.begin(), f.events.end(), std::back_inserter(s.events));
        f.events = {};
        s.sources.push_back(std::move(src));
    }
}

// Events and programmes share one id space across all files: ids become
// UIDs and URLs. A session's UID is its programme's id, a dash and its
// number, so an event id may not be one of those either.
void check_ids(const std::vector<event_def>& events, diagnostics& out) {
    std::map<std::string, position, std::less<>> first;
    std::map<std::string_view, const event_def*, std::less<>> plain; ///< events, not programmes
    for (const event_def& e : events) {
        if (e.id.empty()) continue;
        const auto [it, inserted] = first.emplace(e.id, e.id_at);
        if (!inserted) {
            out.error(e.id_at,
                      "duplicate id '" + e.id + "' (first defined at " + it->second.text() + ")");
        }
        if (!e.programme) plain.emplace(e.id, &e);
    }
    for (const event_def& p : events) {
        if (!p.programme || p.id.empty()) continue;
        for (std::size_t n = 1; n <= p.sessions.size(); ++n) {
            const std::string uid = p.id + "-" + std::to_string(n);
            const auto it = plain.find(uid);
            if (it == plain.end()) continue;
            out.error(it->second->id_at, "id '" + uid + "' is the UID of session " +
                                             std::to_string(n) + " of programme '" + p.id +
                                             "' (defined at " + p.id_at.text() + ")");
        }
    }
}

void read_members(const file_references& refs, site& s, diagnostics& out) {
    std::error_code ec;
    if (!refs.members_given && !std::filesystem::exists(s.site.members_file, ec)) return;
    const source_path shown = s.site.members_file.string();
    std::string error;
    const auto content = read_source(s.site.members_file, &error);
    if (!content) {
        // An unreadable members file is the fault of the line that names it.
        out.error(refs.members_at, "cannot read members file '" + shown.str() + "': " + error);
        return;
    }
    if (auto root = parse_source(*content, shown, out)) {
        read_members_file(*root, shown, s.categories, s.members, out);
    }
}

void load_into(const std::filesystem::path& main_file, const site* previous,
               load_result& result) {
    site& s = result.site;
    diagnostics& out = result.problems;
    s.main_file = main_file.lexically_normal();
    s.base_dir = s.main_file.parent_path();
    if (s.base_dir.empty()) s.base_dir = ".";
    apply_defaults(s);
    s.main_stamp = stamp_of(s.main_file);
    const auto root = load_source(s.main_file, s.main_file.string(), out);
    if (!root) return; // without the main file there is no telling where the rest is
    const file_references refs = read_main_file(*root, s, out);
    s.site.events_at = refs.events_at;
    s.site.members_at = refs.members_at;
    read_events(refs, s, out, previous);
    check_ids(s.events, out);
    read_members(refs, s, out);
}

} // namespace

const category* site::find_category(std::string_view key) const {
    const auto it =
        std::lower_bound(categories.begin(), categories.end(), key,
                         [](const category& c, std::string_view k) { return c.key < k; });
    return it != categories.end() && it->key == key ? &*it : nullptr;
}

load_result load(const std::filesystem::path& main_file, const site* previous) {
    load_result result;
    try {
        load_into(main_file, previous, result);
    } catch (const std::exception& e) {
        result.problems.error({main_file.string(), 1, 1},
                              std::string("cannot load the configuration: ") + e.what());
    }
    return result;
}

} // namespace casacal::config
