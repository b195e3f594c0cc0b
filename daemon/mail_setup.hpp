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
std::unique_ptr<notify::transport> make_transport(boost::asio::io_context& io,
                                                  const config::site& site);

/// "smtp://host:port" or "pickup <folder>", for logs and /healthz.
std::string transport_name(const config::site& site);

} // namespace casacal::daemon
