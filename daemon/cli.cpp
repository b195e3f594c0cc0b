#include "daemon/cli.hpp"

#include "calendar/zone.hpp"

#include "daemon/agenda_range.hpp"
#include "daemon/http_date.hpp"
#include "daemon/logging.hpp"
#include "daemon/memory.hpp"
#include "daemon/reminders.hpp"
#include "daemon/service.hpp"
#include "daemon/site_build.hpp"
#include "daemon/startup_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>
#include <type_traits>

namespace casacal::daemon {

namespace {

struct command_name {
    std::string_view name;
    command cmd;
};

constexpr command_name k_commands[] = {
    {"serve", command::serve},         {"check", command::check},
    {"export", command::export_feed},  {"agenda", command::agenda},
    {"reminders", command::reminders}, {"send-test", command::send_test},
};

std::string_view name_of(command c) {
    for (const auto& n : k_commands)
        if (n.cmd == c) return n.name;
    return "casacal";
}

/// Matches `--name VALUE`, `--name=VALUE` or (for a short option) `-n VALUE`.
/// Returns false when `args[i]` is not this option; sets `error` when it
/// is but its value is missing.
bool take_value(const std::vector<std::string>& args, std::size_t& i, std::string_view long_name,
                std::string_view short_name, std::optional<std::string>& value,
                std::string& error) {
    const std::string& a = args[i];
    if (a == long_name || (!short_name.empty() && a == short_name)) {
        if (i + 1 >= args.size()) {
            error = "option " + a + " needs a value";
            return true;
        }
        value = args[++i];
        return true;
    }
    if (a.size() > long_name.size() && a.compare(0, long_name.size(), long_name) == 0 &&
        a[long_name.size()] == '=') {
        value = a.substr(long_name.size() + 1);
        return true;
    }
    // "-cFILE", as getopt reads a short option with its value attached.
    if (!short_name.empty() && a.size() > short_name.size() && a.starts_with(short_name)) {
        value = a.substr(short_name.size());
        return true;
    }
    return false;
}

/// Hands what a one-shot command built to the end of the process: the
/// kernel takes the memory back at once, where freeing 10,000 series piece
/// by piece costs several milliseconds of an export (compilers skip it for
/// the same reason). The list stays reachable, so it is no leak.
template <class T> void keep_until_exit(T&& value) {
    static auto* const kept = new std::vector<std::shared_ptr<const void>>;
    kept->push_back(std::make_shared<std::remove_cvref_t<T>>(std::forward<T>(value)));
}

int check_command(const cli_options& o, std::ostream& out, std::ostream& err) {
    tune_memory_for_command();
    site_check checked = check_site(o.config);
    for (const auto& d : checked.problems.sorted())
        err << one_line(d.format()) << '\n';
    if (checked.problems.has_errors()) return exit_invalid;
    out << o.config.string() << ": ok\n";
    return exit_ok;
}

/// The site's model, or the errors on `err` and null.
std::shared_ptr<const calendar::model> load_model(const cli_options& o, std::ostream& err) {
    site_check checked = check_site(o.config);
    if (!checked.calendar) {
        for (const auto& d : checked.problems.sorted())
            if (d.level == config::severity::error) err << one_line(d.format()) << '\n';
    }
    return checked.calendar;
}

/// Replaces the regular file `target` (or makes it) with `bytes` at once:
/// they are written to a new file of a unique name beside it (O_EXCL, so
/// no file or link already there is followed or taken), synced, given the
/// replaced file's mode and owner (as far as this process may), then
/// renamed over it. Returns "" or the failure, naming the file.
std::string replace_file(const std::filesystem::path& target, std::string_view bytes) {
    std::string temp = target.string() + ".XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) return target.string() + ": cannot write: " + std::strerror(errno);
    struct stat old {};
    if (::stat(target.c_str(), &old) == 0) {
        if (::fchown(fd, old.st_uid, old.st_gid) != 0) {
            // Not allowed to give it another owner: it keeps this process's.
        }
        ::fchmod(fd, old.st_mode & 07777);
    } else {
        const mode_t mask = ::umask(0);
        ::umask(mask);
        ::fchmod(fd, 0666 & ~mask); // as a file made by open(2) would be
    }
    std::string error;
    for (std::size_t at = 0; error.empty() && at < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            error = std::strerror(n < 0 ? errno : ENOSPC);
        else
            at += static_cast<std::size_t>(n);
    }
    if (error.empty() && ::fsync(fd) != 0) error = std::strerror(errno);
    if (::close(fd) != 0 && error.empty()) error = std::strerror(errno);
    if (!error.empty()) {
        ::unlink(temp.c_str());
        return target.string() + ": cannot write: " + error;
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        error = target.string() + ": " + std::strerror(errno);
        ::unlink(temp.c_str());
    }
    return error;
}

int export_command(const cli_options& o, std::ostream& out, std::ostream& err) {
    tune_memory_for_command();
    std::optional<store::database> db;
    std::string path = "/calendar.ics";
    if (o.category) {
        path = "/calendar/";
        path += *o.category;
        path += ".ics";
    }
    build_outcome outcome = build_site(o.config, db, static_cast<std::int64_t>(std::time(nullptr)),
                                       1, build_for::export_only, path);
    if (!outcome.failure.empty()) throw startup_error(exit_runtime, "database: " + outcome.failure);
    if (!outcome.ok()) {
        for (const auto& d : outcome.problems.sorted())
            if (d.level == config::severity::error) err << one_line(d.format()) << '\n';
        return exit_invalid;
    }
    const feed_entity* feed = outcome.built->feeds.find(path);
    if (!feed) {
        err << "casacal: unknown category \"" << o.category.value_or("") << "\"\n";
        return exit_invalid;
    }
    const std::string_view body = feed->body.get();
    keep_until_exit(std::move(outcome.built));
    if (!o.output || *o.output == "-") {
        out.write(body.data(), static_cast<std::streamsize>(body.size()));
        out.flush();
        return exit_ok; // main_program reports output that was not written
    }
    // The feed into `file_path`; the system's reason when it could not all
    // be written, empty otherwise.
    const auto write_body = [&](const std::filesystem::path& file_path) -> std::string {
        errno = 0;
        std::FILE* file = std::fopen(file_path.c_str(), "wb");
        if (!file) return std::strerror(errno);
        const bool written = std::fwrite(body.data(), 1, body.size(), file) == body.size();
        const int write_error = errno;
        const bool closed = std::fclose(file) == 0;
        if (written && closed) return {};
        return std::strerror(written ? errno : write_error);
    };
    std::filesystem::path target = *o.output;
    std::error_code ec;
    const auto kind = std::filesystem::status(target, ec); // not_found when missing
    if (std::filesystem::exists(kind) && !std::filesystem::is_regular_file(kind)) {
        // A device, pipe or terminal (/dev/null, /dev/stdout) is written in
        // place: a rename would put a regular file where it was.
        if (const std::string error = write_body(target); !error.empty())
            throw startup_error(exit_runtime, target.string() + ": cannot write: " + error);
        return exit_ok;
    }
    // A symbolic link stays: the file it names is replaced.
    if (std::filesystem::is_symlink(std::filesystem::symlink_status(target, ec))) {
        target = std::filesystem::canonical(target, ec);
        if (ec) throw startup_error(exit_runtime, *o.output + ": " + ec.message());
    }
    if (const std::string error = replace_file(target, body); !error.empty())
        throw startup_error(exit_runtime, error);
    return exit_ok;
}

std::string two(int v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d", v);
    return buf;
}

std::string date_text(const config::civil& c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", c.year, c.month, c.day);
    return buf;
}

/// "18:30", with the UTC offset when that wall clock happens twice in
/// `zone` (02:30 on the last Sunday of October reads as either hour).
std::string clock_text(const config::civil& c, int offset, calendar::zone_ptr zone) {
    // Appends rather than operator+ chains: GCC 12 warns falsely (-Wrestrict) on those.
    std::string text = two(c.hour);
    text += ':';
    text += two(c.minute);
    if (zone && calendar::to_utc(zone, c).kind == calendar::fold::overlap)
        text += calendar::offset_text(offset);
    return text;
}

/// One line of `casacal agenda`: times on the site's wall clock, as the
/// agenda page shows them, whatever the event's own zone.
std::string agenda_line(calendar::occurrence o, const config::site& site,
                        calendar::zone_ptr site_zone) {
    o = calendar::in_site_zone(std::move(o), site);
    std::string line = date_text(o.start_local);
    if (o.all_day) {
        // end_local is exclusive: the last day is the one before it.
        const config::civil last = calendar::add_days(calendar::date_of(o.end_local), -1);
        const std::string last_text = date_text(last);
        if (last_text == date_text(o.start_local)) {
            line += " all day";
        } else {
            line += "–";
            line += last_text;
        }
    } else {
        line += ' ';
        line += clock_text(o.start_local, o.start_offset, site_zone);
        line += "–";
        if (calendar::date_of(o.end_local) != calendar::date_of(o.start_local)) {
            line += date_text(o.end_local);
            line += ' ';
        }
        line += clock_text(o.end_local, o.end_offset, site_zone);
    }
    line += "  " + o.title;
    if (!o.location.empty()) line += "  (" + o.location + ")";
    if (o.status == config::status::cancelled) line += "  [cancelled]";
    if (o.status == config::status::tentative) line += "  [tentative]";
    return line;
}

int agenda_command(const cli_options& o, std::ostream& out, std::ostream& err) {
    tune_memory_for_command();
    auto model = load_model(o, err);
    if (!model) return exit_invalid;
    keep_until_exit(model);
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    agenda_range range = resolve_agenda_range(*model, o.from, o.to, now);
    if (!range.error.empty()) {
        err << "casacal: agenda: " << range.error << "\nTry 'casacal agenda --help'.\n";
        return exit_usage;
    }
    auto occurrences = calendar::expand(*model, range.from, range.to, {},
                                        std::max(1u, std::thread::hardware_concurrency()),
                                        calendar::keep_past_cutoff(*model, now));
    if (o.json) {
        const std::string doc = calendar::agenda_json(occurrences);
        out << doc;
        if (!doc.ends_with('\n')) out << '\n';
    } else {
        const config::site& site = calendar::site_of(*model);
        const calendar::zone_ptr zone = calendar::find_zone(site.site.timezone);
        for (const auto& occ : occurrences)
            out << agenda_line(occ, site, zone) << '\n';
    }
    keep_until_exit(std::move(occurrences));
    return exit_ok; // main_program reports output that was not written
}

} // namespace

parse_result parse_arguments(const std::vector<std::string>& args) {
    parse_result result;
    cli_options o;
    std::optional<command> cmd;
    bool help = false, version = false;
    std::optional<std::string> config;
    std::string& error = result.error;

    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (take_value(args, i, "--config", "-c", config, error)) {
            if (!error.empty()) return result;
            continue;
        }
        if (a == "--help" || a == "-h") {
            help = true;
            continue;
        }
        if (a == "--version" || a == "-V") {
            version = true;
            continue;
        }
        if (!cmd) {
            if (!a.empty() && a[0] == '-') {
                error = "unknown option " + a;
                return result;
            }
            for (const auto& n : k_commands)
                if (a == n.name) cmd = n.cmd;
            result.command_given = cmd;
            if (!cmd) {
                error = "unknown command \"" + a + "\"";
                return result;
            }
            continue;
        }
        const command c = *cmd;
        bool taken = false;
        if (c == command::export_feed) {
            taken = take_value(args, i, "--category", "", o.category, error) ||
                    take_value(args, i, "--output", "-o", o.output, error);
        } else if (c == command::agenda) {
            taken = take_value(args, i, "--from", "", o.from, error) ||
                    take_value(args, i, "--to", "", o.to, error);
            if (!taken && a == "--json") taken = o.json = true;
        } else if (c == command::reminders) {
            if (a == "--json") taken = o.json = true;
        } else if (c == command::send_test) {
            taken = take_value(args, i, "--to", "", o.to_address, error);
        }
        if (!error.empty()) return result;
        if (!taken) {
            error =
                std::string(name_of(c)) +
                (a.size() > 1 && a[0] == '-' ? ": unknown option \"" : ": unexpected argument \"") +
                a + "\"";
            return result;
        }
    }

    if (config) {
        if (config->empty()) {
            error = "option -c needs a file";
            return result;
        }
        o.config = *config;
    }
    if (o.output && o.output->empty()) {
        error = "option -o needs a file (or - for standard output)";
        return result;
    }
    if (help) {
        o.cmd = command::help;
        o.help_for = cmd;
    } else if (version) {
        o.cmd = command::version;
    } else if (!cmd) {
        error = "no command given";
        return result;
    } else {
        o.cmd = *cmd;
    }
    if (o.cmd == command::send_test && !o.to_address) {
        error = "send-test: --to ADDR is required";
        return result;
    }
    if (o.cmd == command::agenda) {
        if (o.from && !parse_date(*o.from)) {
            error = "agenda: --from expects a date YYYY-MM-DD";
            return result;
        }
        if (o.to && !parse_date(*o.to)) {
            error = "agenda: --to expects a date YYYY-MM-DD";
            return result;
        }
    }
    result.options = std::move(o);
    return result;
}

std::string usage(std::optional<command> cmd) {
    if (!cmd) {
        return "usage: casacal [-c FILE] COMMAND [OPTIONS]\n"
               "\n"
               "commands:\n"
               "  serve                         run the daemon in the foreground\n"
               "  check                         validate the site; print every problem\n"
               "  export [--category C] [-o OUT]  write a feed, as serve publishes it\n"
               "  agenda [--from D] [--to D] [--json]  list occurrences (default: the next 30 "
               "days)\n"
               "  reminders [--json]            list reminders from the database\n"
               "  send-test --to ADDR           send one test email\n"
               "\n"
               "options:\n"
               "  -c, --config FILE  main configuration file (default /etc/casacal/casacal.toml)\n"
               "  -h, --help         this help, or a command's: casacal COMMAND --help\n"
               "  -V, --version      print the version\n"
               "\n"
               "exit codes: 0 success, 1 invalid input or config, 2 usage error, 3 runtime "
               "failure\n";
    }
    switch (*cmd) {
    case command::serve:
        return "usage: casacal serve [-c FILE]\n"
               "Serve the feeds, the API and the pages; reload on SIGHUP and on changes\n"
               "to the site's files; stop on SIGTERM.\n";
    case command::check:
        return "usage: casacal check [-c FILE]\n"
               "Validate every file of the site. Print each problem as\n"
               "path:line:column: error: message on stderr; exit 0 when valid, 1 when not.\n";
    case command::export_feed:
        return "usage: casacal export [-c FILE] [--category C] [-o OUT]\n"
               "Write /calendar.ics (or /calendar/C.ics) to stdout or OUT, byte-identical\n"
               "to what serve publishes.\n";
    case command::agenda:
        return "usage: casacal agenda [-c FILE] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]\n"
               "List occurrences starting in [from, to) in the site's time zone (default:\n"
               "today and the next 30 days), at most 731 days ending at most ten years\n"
               "from today; --json prints the /api/events document.\n";
    case command::reminders:
        return "usage: casacal reminders [-c FILE] [--json]\n"
               "List the reminders recorded in the database.\n";
    case command::send_test:
        return "usage: casacal send-test [-c FILE] --to ADDR\n"
               "Send one test email through the configured transport and report the reply.\n";
    case command::version:
    case command::help:
        break;
    }
    return usage(std::nullopt);
}

int run_command(const cli_options& o, std::ostream& out, std::ostream& err) {
    switch (o.cmd) {
    case command::help:
        out << usage(o.help_for);
        return exit_ok;
    case command::version:
        out << "casacal " CASACAL_VERSION "\n";
        return exit_ok;
    case command::check:
        return check_command(o, out, err);
    case command::export_feed:
        return export_command(o, out, err);
    case command::agenda:
        return agenda_command(o, out, err);
    case command::reminders:
    case command::send_test:
        return run_reminders_command(o, out, err);
    case command::serve: {
        service daemon(o.config);
        reminders mail(daemon);
        return daemon.run();
    }
    }
    return exit_usage;
}

/// Opens /dev/null on standard descriptors that are closed, as daemons do:
/// otherwise the next file or socket opened takes the number, and what is
/// written to stderr lands in it. A one-shot command keeps a closed stdout
/// closed (`with_stdout` false), so that output that cannot arrive fails.
void open_closed_standard_descriptors(bool with_stdout) {
    for (const int fd : {0, 1, 2}) {
        if ((fd == 1 && !with_stdout) || ::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (opened >= 0 && opened != fd) {
            ::dup2(opened, fd);
            ::close(opened);
        }
    }
}

int main_program(int argc, char** argv) {
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    parse_result parsed = parse_arguments(args);
    if (!parsed.options) {
        const std::string help =
            parsed.command_given
                ? "casacal " + std::string(name_of(*parsed.command_given)) + " --help"
                : "casacal --help";
        std::cerr << "casacal: " << parsed.error << "\n"
                  << "Try '" << help << "'.\n";
        return exit_usage;
    }
    open_closed_standard_descriptors(parsed.options->cmd == command::serve);
    try {
        const int code = run_command(*parsed.options, std::cout, std::cerr);
        // Output that never arrived (a full disk, a closed pipe) is a
        // failure, whatever the command thought of its work.
        if (code == exit_ok && !std::cout.flush()) {
            log_error("casacal: cannot write to standard output");
            return exit_runtime;
        }
        return code;
    } catch (const startup_error& e) {
        log_error(std::string("casacal: ") + e.what());
        return e.code();
    } catch (const std::exception& e) {
        log_error(std::string("casacal: ") + e.what());
        return exit_runtime;
    }
}

} // namespace casacal::daemon
