// `casacal reminders [--json]` and `casacal send-test --to ADDR`.

#include "daemon/cli.hpp"

#include "calendar/zone.hpp"
#include "daemon/logging.hpp"
#include "daemon/mail_setup.hpp"
#include "daemon/startup_error.hpp"
#include "notify/dispatcher.hpp"
#include "notify/smtp_transport.hpp"
#include "store/database.hpp"
#include "store/outbox.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <ostream>

namespace casacal::daemon {
namespace {

/// The site's files, or nothing (exit 1) with their errors. With
/// `main_file_only`, errors in the other files are printed but do not
/// stop: the main file alone says where the database is (listing what a
/// daemon still serving its last good site has planned is what an operator
/// needs while the files are broken).
std::optional<config::site> load_site(const cli_options& o, std::ostream& err,
                                      bool main_file_only = false) {
    auto loaded = config::load(o.config);
    // calendar::build, which these commands skip, is what knows the zones:
    // an unknown site zone is a mistake of the main file here too.
    const std::string& zone = loaded.site.site.timezone;
    if (!zone.empty() && !calendar::find_zone(zone))
        loaded.problems.error(loaded.site.site.timezone_at, "unknown time zone '" + zone + "'");
    if (!loaded.problems.has_errors()) return std::move(loaded.site);
    // A missing members file or events folder is reported on the line that
    // names it: a problem of those files all the same.
    const auto names_a_file = [&](const config::position& p) {
        return p == loaded.site.site.events_at || p == loaded.site.site.members_at;
    };
    bool main_file_wrong = false;
    for (const auto& d : loaded.problems.sorted()) {
        if (d.level != config::severity::error) continue;
        err << one_line(d.format()) << '\n';
        main_file_wrong = main_file_wrong || loaded.site.main_file.empty() ||
                          (std::filesystem::path(d.where.path.str()).lexically_normal() ==
                               std::filesystem::path(o.config).lexically_normal() &&
                           !names_a_file(d.where));
    }
    if (!main_file_only || main_file_wrong) return std::nullopt;
    err << "casacal: " << (o.cmd == command::send_test ? "send-test" : "reminders")
        << ": going on, as the main file is valid; `casacal check` lists every problem\n";
    return std::move(loaded.site);
}

/// RFC 3339 in the site's zone: "2026-12-02T18:30:00+01:00".
std::string local_time(calendar::unix_time t, calendar::zone_ptr zone) {
    if (!zone) return calendar::iso_text(calendar::civil_of(t)) + "Z";
    int offset = 0;
    auto local = calendar::to_local(zone, t, &offset);
    return calendar::rfc3339_text(local, offset);
}

int list_reminders(const cli_options& o, std::ostream& out, std::ostream& err) {
    auto site = load_site(o, err, true);
    if (!site) return exit_invalid;
    std::vector<store::outbox_row> rows;
    // No database yet: nothing was ever planned, an empty list; but a
    // folder that is not there is a mistake in the path (serve could not
    // create the file either), and both are said.
    const auto& path = site->storage.database;
    if (!std::filesystem::exists(path)) {
        const auto folder =
            path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
        if (!std::filesystem::is_directory(folder))
            throw startup_error(exit_runtime, "database: " + path.string() + ": its folder " +
                                                  folder.string() + " does not exist");
        err << "casacal: reminders: no database at " << path.string()
            << " yet (`casacal serve` makes it): nothing planned\n";
    } else {
        try {
            auto db =
                store::database::open(site->storage.database.string(), store::open_mode::read_only);
            rows = store::outbox(db).list();
        } catch (const std::exception& e) {
            throw startup_error(exit_runtime, e.what());
        }
    }
    auto zone = calendar::find_zone(site->site.timezone);
    if (o.json) {
        // "reminders" holds exactly the fields product.md names; the update
        // and cancellation notices, which are no reminders, come apart
        // ("notices", when there are any), with their kind.
        auto list = nlohmann::json::array();
        auto notices = nlohmann::json::array();
        for (const auto& r : rows) {
            if (r.kind == store::message_kind::test) continue;
            nlohmann::json row = {{"event", r.event_id},
                                  {"uid", r.uid},
                                  {"occurrence", r.occurrence},
                                  {"offset", r.offset},
                                  {"recipient", r.recipient},
                                  {"state", std::string(store::to_string(r.state))},
                                  {"due", local_time(r.due, zone)},
                                  {"attempts", r.attempts},
                                  {"last_error", r.last_error.empty()
                                                     ? nlohmann::json(nullptr)
                                                     : nlohmann::json(r.last_error)},
                                  {"message_id", "<" + r.message_id + ">"}};
            if (r.kind == store::message_kind::reminder) {
                list.push_back(std::move(row));
            } else {
                row["kind"] = std::string(store::to_string(r.kind));
                notices.push_back(std::move(row));
            }
        }
        nlohmann::json doc{{"reminders", list}};
        if (!notices.empty()) doc["notices"] = std::move(notices);
        out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        return exit_ok; // main_program reports output that was not written
    }
    for (const auto& r : rows) {
        out << '#' << r.id << "  " << local_time(r.due, zone).substr(0, 19) << "  "
            << store::to_string(r.state);
        out << std::string(10 - std::min<std::size_t>(9, store::to_string(r.state).size()), ' ');
        // The database may have been edited by hand: nothing it holds writes
        // a control character to the terminal.
        out << notify::printable(r.event_id) << "  " << notify::printable(r.occurrence) << "  "
            << notify::printable(r.offset) << "  " << notify::printable(r.recipient);
        if (r.kind != store::message_kind::reminder) out << "  (" << store::to_string(r.kind) << ")";
        if (r.state == store::delivery_state::deferred)
            out << "  next attempt " << local_time(r.next_attempt, zone).substr(0, 19);
        if (!r.last_error.empty()) out << "  — " << notify::printable(r.last_error);
        out << '\n';
    }
    return exit_ok; // main_program reports output that was not written
}

int send_test(const cli_options& o, std::ostream& out, std::ostream& err) {
    // The transport is the main file's: an events file being fixed does
    // not keep the mail server from being tried (its errors are shown).
    auto site = load_site(o, err, true);
    if (!site) return exit_invalid;
    std::string display, address;
    if (!config::parse_mailbox(*o.to_address, &display, &address)) {
        err << "casacal: send-test: invalid address '" << notify::printable(*o.to_address)
            << "'\nTry 'casacal send-test --help'.\n";
        return exit_usage;
    }
    boost::asio::io_context io;
    auto transport = make_transport(io, *site, true);
    const bool en = site->site.locale == "en";
    notify::message m;
    m.from = from_mailbox(*site);
    m.to = {display, address};
    m.subject = en ? site->site.name + ": test message" : site->site.name + " : message de test";
    m.date = static_cast<std::int64_t>(std::time(nullptr));
    m.message_id = notify::new_token() + "@" + site->site.domain;
    m.list_id_domain = site->site.domain;
    m.text = en ? "This message checks that casacal can send email through " +
                      transport_name(*site) + ".\n"
                : "Ce message vérifie que casacal peut envoyer des emails via " +
                      transport_name(*site) + ".\n";
    std::optional<notify::send_result> result;
    // The SMTP transport works on a thread of its own: keep run() waiting for its answer.
    auto work = boost::asio::make_work_guard(io);
    transport->send(std::move(m), [&](const notify::send_result& r) {
        result = r;
        work.reset();
    });
    io.run();
    transport->stop();
    if (!result) {
        err << "casacal send-test: no answer from " << transport_name(*site) << '\n';
        return exit_runtime;
    }
    if (result->outcome == notify::outcome::accepted) {
        out << result->reply << '\n';
        return exit_ok;
    }
    // The words of the outcome, not its name: a 535 to AUTH is "transient"
    // for the outbox (the fault is not the recipient's), which reads wrong here.
    err << "casacal send-test: "
        << (result->outcome == notify::outcome::permanent
                ? "refused for this address (a reminder to it would fail): "
                : "not sent (a reminder would be tried again later): ")
        << result->reason() << '\n';
    return exit_runtime;
}

} // namespace

int run_reminders_command(const cli_options& o, std::ostream& out, std::ostream& err) {
    if (o.cmd == command::send_test) return send_test(o, out, err);
    return list_reminders(o, out, err);
}

} // namespace casacal::daemon
