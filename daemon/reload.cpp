#include "daemon/reload.hpp"

#include "daemon/logging.hpp"

#include <sys/inotify.h>

#include <csignal>
#include <cstring>

namespace casacal::daemon {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::uint32_t k_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                 IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF;

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Whether `name` in the events folder is an event file: `*.toml`, not a
/// dot file (editors' temporary files, ".#x.toml", start with a dot or do
/// not end in .toml).
bool event_file_name(const std::string& name) {
    return ends_with(name, ".toml") && name[0] != '.';
}

} // namespace

reload_triggers::reload_triggers(asio::io_context& io, handler on_reload,
                                 std::chrono::milliseconds debounce)
    : hup_(io, SIGHUP), inotify_(io), debounce_timer_(io), schedule_timer_(io),
      on_reload_(std::move(on_reload)), debounce_(debounce) {
    const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        log_warning(std::string("inotify unavailable, reload with SIGHUP: ") +
                    std::strerror(errno));
    else
        inotify_.assign(fd);
    do_wait_signal();
    do_read();
}

reload_triggers::~reload_triggers() = default;

void reload_triggers::do_wait_signal() {
    hup_.async_wait([this](const error_code& ec, int) {
        if (ec) return; // operation_aborted: stopping
        on_reload_("SIGHUP");
        do_wait_signal();
    });
}

int reload_triggers::add_watch(std::map<int, rule>& into, const std::filesystem::path& dir,
                               const std::string* name) {
    const int wd = inotify_add_watch(inotify_.native_handle(), dir.c_str(), k_mask);
    if (wd < 0) {
        log_warning("cannot watch " + dir.string() + ": " + std::strerror(errno));
        return wd;
    }
    rule& r = into[wd];
    r.dir = dir;
    if (name)
        r.names.insert(*name);
    else
        r.any_toml = true;
    return wd;
}

void reload_triggers::watch(const std::filesystem::path& main_file,
                            const std::filesystem::path& events_dir,
                            const std::filesystem::path& members_file) {
    if (!inotify_.is_open()) return;
    // A folder watched already keeps its watch (inotify gives the same
    // descriptor back), so that the events the kernel queued under it are
    // still read: removing every watch first lost an edit made meanwhile.
    std::map<int, rule> now;
    const std::string main_name = main_file.filename().string();
    const std::string members_name = members_file.filename().string();
    auto folder = [](const std::filesystem::path& file) {
        return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    };
    add_watch(now, folder(main_file), &main_name);
    add_watch(now, folder(members_file), &members_name);
    const int events_wd = add_watch(now, events_dir, nullptr);
    // The events folder itself coming back (moved away and back, or made
    // again) is seen from its parent: its own watch left with it.
    const std::filesystem::path events = events_dir.lexically_normal();
    const std::string events_name =
        (events.has_filename() ? events : events.parent_path()).filename().string();
    add_watch(now, folder(events.has_filename() ? events : events.parent_path()), &events_name);
    // A site file that is a symbolic link changes where its target lives:
    // that folder is watched for the target's name as well.
    const auto follow = [&](const std::filesystem::path& file) {
        std::error_code ec;
        if (!std::filesystem::is_symlink(file, ec)) return;
        const std::filesystem::path target = std::filesystem::canonical(file, ec);
        if (ec) return; // dangling: the link's own folder sees it replaced
        const std::string name = target.filename().string();
        add_watch(now, target.parent_path(), &name);
    };
    follow(main_file);
    follow(members_file);
    std::error_code ec;
    for (std::filesystem::directory_iterator it(events_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (event_file_name(name)) follow(it->path());
    }
    for (const auto& [wd, r] : watches_)
        if (!now.count(wd)) inotify_rm_watch(inotify_.native_handle(), wd);
    watches_ = std::move(now);
    // Another folder than the one watched before (replaced, or a symbolic
    // link turned to another): files written into it before its watch
    // began went unseen, and the build may have read it before they came.
    // One more reload reads it under its watch.
    if (events_wd < 0) return; // gone for now: its parent's watch sees it come back
    if (events_wd_ >= 0 && events_wd != events_wd_) changed(events_dir.string() + " replaced");
    events_wd_ = events_wd;
}

void reload_triggers::do_read() {
    if (!inotify_.is_open()) return;
    inotify_.async_read_some(asio::buffer(buffer_),
                             [this](const error_code& ec, std::size_t n) { on_read(ec, n); });
}

void reload_triggers::on_read(const error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (ec) {
        log_warning("inotify read failed, reload with SIGHUP: " + ec.message());
        return;
    }
    std::size_t at = 0;
    while (at + sizeof(inotify_event) <= n) {
        inotify_event ev;
        std::memcpy(&ev, buffer_.data() + at, sizeof ev);
        std::string name;
        if (ev.len > 0) {
            const char* p = buffer_.data() + at + sizeof(inotify_event);
            name.assign(p, strnlen(p, ev.len));
        }
        at += sizeof(inotify_event) + ev.len;
        auto it = watches_.find(ev.wd);
        if (it == watches_.end() || (ev.mask & IN_IGNORED)) continue;
        const rule& r = it->second;
        if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
            changed(r.dir.string() + " moved or deleted");
            continue;
        }
        // Editors' temporary files (".#x.toml", "x.toml~", "x.toml.swp") are
        // no event files; the site's own files are named exactly.
        const bool relevant = r.names.count(name) > 0 || (r.any_toml && event_file_name(name));
        if (relevant) changed((r.dir / name).string() + " changed");
    }
    do_read();
}

void reload_triggers::changed(std::string what) {
    pending_reason_ = std::move(what);
    // Each change waits for the files to settle, however long they keep
    // changing: a slow copy (scp, a network folder) read half-way would
    // publish half a site and tell members of cancellations.
    debounce_timer_.expires_after(debounce_);
    debounce_timer_.async_wait([this](const error_code& ec) {
        if (ec) return; // re-armed by a later change, or stopping
        on_reload_(pending_reason_);
    });
}

void reload_triggers::schedule(std::chrono::system_clock::time_point when) {
    schedule_timer_.expires_at(when);
    schedule_timer_.async_wait([this](const error_code& ec) {
        if (!ec) on_reload_("midnight");
    });
}

void reload_triggers::cancel() {
    stopped_ = true;
    error_code ignored;
    hup_.cancel(ignored);
    debounce_timer_.cancel();
    schedule_timer_.cancel();
    if (inotify_.is_open()) inotify_.close(ignored);
}

} // namespace casacal::daemon
