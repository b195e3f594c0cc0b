#pragma once
// What `serve` and `send-test` share: the transport and the From mailbox
// that the site's [smtp] section asks for.

#include "config/site.hpp"
#include "notify/message.hpp"
#include "notify/transport.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace casacal::daemon {

/// The [smtp] from address as a mailbox ("Casaco <agenda@casaco.example>").
notify::mailbox from_mailbox(const config::site& site);

/// SMTP on its own thread when [smtp] url is set, else the pickup folder.
/// Throws startup_error (exit 3) when the password file cannot be read or
/// the transport cannot start; the message never contains the password.
/// `person_waiting` (send-test) shortens RFC 5321's timeouts to 30 s to
/// connect, 60 s a reply.
std::unique_ptr<notify::transport>
make_transport(boost::asio::io_context& io, const config::site& site, bool person_waiting = false);

/// "smtp://host:port" or "pickup <folder>", for logs and /healthz.
std::string transport_name(const config::site& site);

} // namespace casacal::daemon
