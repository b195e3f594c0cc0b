#include "daemon/mail_setup.hpp"

#include "config/source_file.hpp"
#include "daemon/startup_error.hpp"
#include "notify/pickup_transport.hpp"
#include "notify/smtp_transport.hpp"
#include "notify/transport_pool.hpp"
#include "notify/transport_thread.hpp"

#include <algorithm>

namespace casacal::daemon {

notify::mailbox from_mailbox(const config::site& site) {
    notify::mailbox m;
    if (!config::parse_mailbox(site.smtp.from, &m.display, &m.address)) m.address = site.smtp.from;
    if (m.display.empty()) m.display = site.site.name;
    return m;
}

std::string transport_name(const config::site& site) {
    if (site.smtp.url.empty()) return "pickup " + site.smtp.pickup_dir.string();
    return site.smtp.url;
}

namespace {

std::string read_password(const std::filesystem::path& file) {
    if (file.empty()) return {};
    std::string error;
    auto content = config::read_source(file, &error);
    if (!content)
        throw startup_error(exit_runtime,
                            "cannot read [smtp] password_file '" + file.string() + "': " + error);
    return std::string(config::password_in(*content));
}

} // namespace

std::unique_ptr<notify::transport> make_transport(boost::asio::io_context& io,
                                                  const config::site& site, bool person_waiting) {
    try {
        // max_per_minute is kept above the transport, for all of it at once
        // (notify/send_rate.hpp).
        if (site.smtp.url.empty())
            return std::make_unique<notify::pickup_transport>(io, site.smtp.pickup_dir);
        notify::smtp_settings s;
        s.url = site.smtp.url;
        s.starttls = notify::parse_tls_mode(site.smtp.starttls).value_or(notify::tls_mode::required);
        s.username = site.smtp.username;
        s.password = read_password(site.smtp.password_file);
        s.envelope_from = from_mailbox(site).address;
        if (person_waiting) {
            // send-test: somebody waits at the terminal for the server's
            // answer, not for RFC 5321's queue-runner patience.
            s.connect_timeout = std::chrono::seconds(30);
            s.response_timeout = std::chrono::seconds(60);
            s.transfer_timeout = std::chrono::minutes(2);
        }
        // Ten connections, each on an SMTP thread of its own, taking one
        // message at a time from a shared queue (see transport_pool.hpp).
        constexpr int connections = 10;
        std::vector<std::unique_ptr<notify::transport_thread>> members;
        for (int i = 0; i < connections; ++i) {
            notify::smtp_settings one = s;
            one.max_in_flight = 1;
            members.push_back(std::make_unique<notify::transport_thread>(
                io, [one](boost::asio::io_context& inner) {
                    return std::make_unique<notify::smtp_transport>(inner, one);
                }));
        }
        return std::make_unique<notify::transport_pool>(io, std::move(members));
    } catch (const startup_error&) {
        throw;
    } catch (const std::exception& e) {
        throw startup_error(exit_runtime, "cannot start the mail transport (" +
                                              transport_name(site) + "): " + e.what());
    }
}

} // namespace casacal::daemon
