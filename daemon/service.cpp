#include "daemon/service.hpp"
#include "daemon/memory.hpp"

#include "calendar/zone.hpp"

#include "daemon/agenda_range.hpp"
#include "daemon/http_date.hpp"
#include "daemon/logging.hpp"
#include "daemon/rebuilder.hpp"
#include "daemon/reload.hpp"
#include "daemon/server.hpp"
#include "daemon/site_build.hpp"
#include "daemon/start_settings.hpp"
#include "daemon/startup_error.hpp"
#include "daemon/systemd_notifier.hpp"
#include "store/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <utility>

namespace casacal::daemon {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

/// How long a statement of the io thread waits for a lock held elsewhere.
constexpr std::chrono::milliseconds k_io_busy_timeout(250);

/// How long SIGTERM waits for in-flight responses before closing them.
constexpr auto k_stop_grace = std::chrono::seconds(10);

std::int64_t unix_now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

// Room for max_connections sockets plus the database, inotify and SMTP.
void raise_file_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

constexpr std::chrono::seconds k_first_retry{2}, k_last_retry{60};

/// How often `serve` looks whether its database file is still the one it
/// opened (see database_claim::lost).
constexpr std::chrono::seconds k_claim_check{10};

std::string serving_status(const snapshot& s) {
    return "serving generation " + std::to_string(s.generation) + ", " +
           std::to_string(s.event_count) + " events";
}

/// Two daemons on one database would each send the reminders the other is
/// sending (each takes the other's leases for a crash's): `serve` holds an
/// exclusive flock(2) on the database file while it runs, as Postfix holds
/// master.lock. flock locks are apart from SQLite's POSIX locks; this
/// descriptor must be closed after every connection to the file (closing
/// one drops the process' POSIX locks on it), so it is the service's first
/// member, destroyed last.
class database_claim {
  public:
    database_claim() = default;
    database_claim(const database_claim&) = delete;
    database_claim& operator=(const database_claim&) = delete;
    ~database_claim() {
        if (fd_ >= 0) ::close(fd_);
    }

    /// Before the database is opened, so that a daemon refused writes
    /// nothing to it. The file is made empty when missing (SQLite takes an
    /// empty file as a new database); a folder that is not there is left
    /// for SQLite to report.
    void claim(const std::string& path) {
        if (fd_ >= 0 || path.empty() || path == ":memory:") return;
        // Not blocking on a named pipe; what is no regular file is left for
        // the database to refuse.
        fd_ = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
        if (fd_ < 0) return;
        if (struct stat st{}; ::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
        if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
            path_ = path;
            return;
        }
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK)
            throw std::runtime_error(path + ": in use by another casacal serve (two daemons on "
                                            "one database would send the same reminders twice)");
        throw std::runtime_error(path + ": cannot lock: " + std::strerror(err));
    }

    /// Empty while the claimed file is still at its path; else what
    /// happened to it. Deleted or replaced under a running daemon, it takes
    /// what the daemon records with it (the daemon writes on into the old
    /// file), and its lock: a second serve could start on the new file.
    std::string lost() const {
        if (fd_ < 0) return {};
        struct stat held {
        }, named{};
        if (::fstat(fd_, &held) != 0) return {};
        if (::stat(path_.c_str(), &named) != 0) {
            if (errno != ENOENT) return {};
            return path_ + ": the database file was deleted while casacal ran";
        }
        if (named.st_dev != held.st_dev || named.st_ino != held.st_ino)
            return path_ + ": the database file was replaced while casacal ran";
        // Opened, a database in WAL mode has its header page written: a
        // file of no bytes was emptied under the daemon (`: > casacal.db`),
        // and with it every reminder recorded.
        if (held.st_size == 0) return path_ + ": the database file was emptied while casacal ran";
        return {};
    }

  private:
    int fd_ = -1;
    std::string path_;
};

} // namespace

struct service::impl {
    database_claim claim;
    std::filesystem::path main_file;
    asio::io_context io{1};
    std::optional<store::database> io_db; ///< the io thread's connection
    std::shared_ptr<const snapshot> current;
    std::vector<std::pair<std::string, std::string>> settings_in_use; ///< start_settings at start
    health_state health;
    daemon::metrics metrics;
    service_extensions ext;
    session_hooks hooks;
    /// Any client can make requests refused at will: their lines are limited.
    log_limit refusals{"refused requests", 60};
    systemd_notifier notifier{io};
    std::unique_ptr<server> http;
    std::unique_ptr<reload_triggers> triggers;
    std::unique_ptr<rebuilder> worker;
    asio::signal_set stop_signals{io, SIGTERM, SIGINT};
    /// Signals other daemons give a meaning to (nginx reopens its logs on
    /// SIGUSR1): casacal has none for them, and they must not end it.
    asio::signal_set ignored_signals{io, SIGUSR1, SIGUSR2};
    asio::steady_timer stop_timer{io};
    /// A reload the database refused (locked, full disk) is tried again by
    /// itself: nothing else may come to trigger it.
    asio::steady_timer retry_timer{io};
    std::chrono::seconds retry_delay = k_first_retry;
    asio::steady_timer claim_timer{io};
    /// What claim.lost() found, kept: nothing brings the old file back.
    std::string database_lost;
    std::chrono::steady_clock::time_point stop_deadline;
    bool stopping = false;

    // Absolute, so that the watched folders do not depend on the working directory.
    explicit impl(std::filesystem::path file)
        : main_file(std::filesystem::absolute(file).lexically_normal()) {}

    response handle(const request& req) {
        route_context ctx;
        ctx.current = current;
        ctx.health = &health;
        ctx.counters = &metrics;
        ctx.now = unix_now();
        ctx.extra = &ext.routes;
        if (ext.health) ext.health(health);
        response r = daemon::handle(req, ctx);
        metrics.count_request(r.route, r.status);
        if (r.status >= 500)
            log_error(req.method + " " + redact_target(req.target) + " " +
                      std::to_string(r.status) + (r.problem.empty() ? "" : ": " + r.problem));
        return r;
    }

    void first_build() {
        const std::int64_t now = unix_now();
        build_outcome outcome =
            build_site(main_file, io_db, now, 1, build_for::serving, {}, nullptr,
                       [this](const std::string& path) { claim.claim(path); });
        for (const auto& d : outcome.problems.sorted())
            log(d.level == config::severity::error ? log_level::error : log_level::warning,
                d.format());
        if (!outcome.failure.empty())
            throw startup_error(exit_runtime, "database: " + outcome.failure);
        if (!outcome.ok()) {
            std::size_t errors = 0;
            for (const auto& d : outcome.problems.items())
                errors += d.level == config::severity::error;
            throw startup_error(exit_invalid, main_file.string() + ": " + std::to_string(errors) +
                                                  " error(s) in the site's files, not starting");
        }
        current = outcome.built;
        outcome = {};
        // The io thread's commits (planning, deliveries) never wait for a
        // checkpoint of the log.
        try {
            io_db->checkpoint_in_background();
        } catch (const store::error& e) {
            log_warning(std::string(e.what()) + "; checkpoints stay in the commits");
        }
        release_free_memory(); // the build's scratch memory, before serving starts
        health.last_reload = now;
        if (calendar::site_of(*current->calendar).smtp.url.empty()) health.smtp = "pickup";
    }

    /// Every k_claim_check: the database file still the one opened? Once it
    /// is not, /healthz says so (degraded) until a restart.
    void check_claim() {
        claim_timer.expires_after(k_claim_check);
        claim_timer.async_wait([this](const error_code& ec) {
            if (ec || stopping) return;
            if (database_lost.empty()) {
                database_lost = claim.lost();
                if (!database_lost.empty()) {
                    database_lost += "; what casacal records now is lost when it stops: restore "
                                     "the file from a backup, or restart casacal to start anew";
                    log_error(database_lost);
                }
            }
            if (!database_lost.empty()) health.database = database_lost;
            check_claim();
        });
    }

    void watch_site() {
        const config::site& site = calendar::site_of(*current->calendar);
        triggers->watch(site.main_file, site.site.events_dir, site.site.members_file);
        const config::civil tomorrow =
            calendar::add_days(calendar::date_of(local_today(*current->calendar, unix_now())), 1);
        const std::int64_t next = calendar::site_midnight(*current->calendar, tomorrow);
        // One second late, so that the rebuild's "now" is surely the new day.
        triggers->schedule(
            std::chrono::system_clock::from_time_t(static_cast<std::time_t>(next + 1)));
    }

    void reload(const std::string& reason) {
        if (stopping) return;
        log_info("reloading: " + reason);
        notifier.reloading();
        worker->request();
    }

    void reloaded(build_outcome outcome) {
        if (stopping) return;
        health.last_reload = unix_now();
        metrics.count_reload(outcome.ok());
        if (outcome.ok()) {
            // The old snapshot is freed on the worker: tens of thousands of
            // strings are no work for the thread that serves.
            std::shared_ptr<const snapshot> old = std::exchange(current, outcome.built);
            health.last_reload_ok = true;
            health.errors.clear();
            health.database = database_lost.empty() ? "ok" : database_lost;
            for (const auto& w : current->warnings)
                log_warning(w);
            health.restart_needed = settings_awaiting_restart(
                settings_in_use, start_settings(calendar::site_of(*current->calendar)));
            for (const auto& w : health.restart_needed)
                log_warning(w);
            log_info("generation " + std::to_string(current->generation) +
                     " loaded: " + std::to_string(current->event_count) + " events, " +
                     std::to_string(current->feeds.size()) + " feeds");
            notifier.ready(serving_status(*current));
            retry_delay = k_first_retry;
            retry_timer.cancel();
            watch_site();
            if (ext.reloaded) ext.reloaded(current);
            worker->dispose(std::move(old));
            return;
        }
        health.last_reload_ok = false;
        health.errors.clear();
        for (const auto& d : outcome.problems.sorted()) {
            if (d.level == config::severity::error) {
                health.errors.push_back(d.format());
                log_error(d.format());
            }
        }
        if (!outcome.failure.empty()) {
            health.database = outcome.failure;
            health.errors.push_back("database: " + outcome.failure);
            log_error("reload failed: database: " + outcome.failure + "; trying again in " +
                      std::to_string(retry_delay.count()) + " s");
            retry_timer.expires_after(retry_delay);
            retry_timer.async_wait([this](const error_code& ec) {
                if (!ec) reload("trying again after a database error");
            });
            retry_delay = std::min(retry_delay * 2, k_last_retry);
        }
        watch_site(); // a folder replaced by the refused edit is watched all the same
        const std::string errors = std::to_string(health.errors.size()) +
                                   (health.errors.size() == 1 ? " error" : " errors");
        log_warning("reload rejected, still serving generation " +
                    std::to_string(current->generation) + " (" + errors + ")");
        notifier.ready(
            "degraded: " + (outcome.failure.empty() ? errors + " in config" : "database error") +
            ", serving generation " + std::to_string(current->generation));
    }

    void wait_stop_signal() {
        stop_signals.async_wait([this](const error_code& ec, int signo) {
            if (ec) return;
            log_info(std::string("stopping on ") + (signo == SIGINT ? "SIGINT" : "SIGTERM"));
            stop();
        });
    }

    void wait_ignored_signal() {
        ignored_signals.async_wait([this](const error_code& ec, int signo) {
            if (ec) return;
            log(log_level::notice, std::string("ignoring ") +
                                       (signo == SIGUSR1 ? "SIGUSR1" : "SIGUSR2") +
                                       " (SIGHUP reloads, SIGTERM stops)");
            wait_ignored_signal();
        });
    }

    void stop() {
        stopping = true;
        ignored_signals.cancel();
        notifier.stopping();
        notifier.cancel();
        triggers->cancel();
        retry_timer.cancel();
        claim_timer.cancel();
        worker->stop();
        http->stop();
        if (ext.stopping) ext.stopping();
        stop_deadline = std::chrono::steady_clock::now() + k_stop_grace;
        poll_stop();
    }

    // In-flight responses finish on their own; past the deadline the rest
    // is closed so that run() returns.
    void poll_stop() {
        if (http->connections() == 0) return;
        if (std::chrono::steady_clock::now() >= stop_deadline) {
            log_warning("closing " + std::to_string(http->connections()) +
                        " connections still open");
            http->close_all();
            return;
        }
        stop_timer.expires_after(std::chrono::milliseconds(100));
        stop_timer.async_wait([this](const error_code& ec) {
            if (!ec) poll_stop();
        });
    }

    int run() {
        // A log reader that went away (stderr into a closed pipe) or a
        // socket closed under libcurl (CURLOPT_NOSIGNAL leaves SIGPIPE to
        // the program) gives EPIPE to that write, not the end of the daemon.
        std::signal(SIGPIPE, SIG_IGN);
        raise_file_limit();
        tune_memory_for_daemon();
        // SIGHUP is caught from here on, so that one sent while the site is
        // read (a second, or a database upgrade's time) does not end the
        // daemon: it reloads once serving has begun.
        triggers =
            std::make_unique<reload_triggers>(io, [this](const std::string& why) { reload(why); });
        first_build();
        hooks.handle = [this](const request& req) { return handle(req); };
        hooks.rejected = [this](unsigned status, const std::string& reason) {
            metrics.count_request("other", status);
            if (auto line = refusals.admit("refused request: " + std::to_string(status) + " " +
                                               reason,
                                           std::chrono::steady_clock::now()))
                log(log_level::notice, *line);
        };
        hooks.now = unix_now;
        http = std::make_unique<server>(io, hooks);
        const config::site& site = calendar::site_of(*current->calendar);
        settings_in_use = start_settings(site);
        try {
            http->listen(site.http.address, site.http.port);
        } catch (const std::system_error& e) {
            throw startup_error(exit_runtime, e.what());
        }
        worker = std::make_unique<rebuilder>(
            io, main_file, site.storage.database.string(),
            [this](build_outcome o) { reloaded(std::move(o)); }, unix_now);
        worker->set_generation(current->generation);
        worker->set_previous(current);
        watch_site();
        check_claim();
        wait_stop_signal();
        wait_ignored_signal();
        if (ext.started) ext.started(io, *io_db, current);
        // From here every request waits with the io thread's statements: a
        // lock held elsewhere (an operator's sqlite3 shell) costs a quarter
        // of a second and a 503, not five seconds of every connection.
        io_db->set_busy_timeout(k_io_busy_timeout);
        log_info("listening on " + site.http.listen + ", " + serving_status(*current));
        notifier.ready(serving_status(*current));
        io.run();
        // The worker may still be building: join it before anything it uses goes away.
        worker.reset();
        log_info("stopped");
        return exit_ok;
    }
};

service::service(std::filesystem::path main_file)
    : impl_(std::make_unique<impl>(std::move(main_file))) {}
service::~service() = default;

int service::run() {
    return impl_->run();
}
void service::extend(service_extensions extensions) {
    impl_->ext = std::move(extensions);
}
daemon::metrics& service::counters() {
    return impl_->metrics;
}
health_state& service::health() {
    return impl_->health;
}

} // namespace casacal::daemon
