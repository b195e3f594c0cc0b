#pragma once
// Sends messages over SMTP with libcurl's multi "socket" interface, driven by
// an Asio io_context: curl tells us which sockets to watch and when to wake
// it up; Asio waits; no thread per message, connections are reused.
//
// Thread affinity: every member function, and every handler, runs on the
// one thread that calls io_context::run(). The io_context must outlive the
// transport. After stop() or destruction no handler is called.

#include "notify/transport.hpp"

#include <boost/asio/io_context.hpp>
#include <curl/curl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace casacal::notify {

/// The [smtp] starttls setting.
enum class tls_mode {
    required,      ///< CURLUSESSL_ALL: STARTTLS or fail
    opportunistic, ///< CURLUSESSL_TRY: STARTTLS when offered
    off,           ///< CURLUSESSL_NONE
};

/// "required", "opportunistic" or "off"; nullopt for anything else.
std::optional<tls_mode> parse_tls_mode(std::string_view text);

/// Everything an smtp_transport needs; the caller has read the password file.
struct smtp_settings {
    std::string url;       ///< smtp://host[:port][/ehlo-name] or smtps://...
    tls_mode starttls = tls_mode::required; ///< smtp:// only; smtps:// is TLS from the start
    std::string username;  ///< empty: no AUTH
    std::string password;  ///< never logged, never in an error text
    std::string envelope_from; ///< MAIL FROM; empty: each message's From address
    std::size_t max_in_flight = 10; ///< concurrent transactions = connections kept open
    int max_per_minute = 0;         ///< transactions started per `rate_period`; 0: no limit
    std::chrono::milliseconds rate_period{std::chrono::minutes(1)};
    // RFC 5321 §4.5.3.2 (Postfix's defaults): 5 minutes for the greeting
    // and each command, 10 for the reply to the end of the data. Giving up
    // there sooner would send again a message the server may have taken.
    /// TCP, TLS and the SMTP handshake (greeting, EHLO, STARTTLS, AUTH)
    std::chrono::milliseconds connect_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds response_timeout{std::chrono::minutes(10)}; ///< per server reply
    std::chrono::milliseconds transfer_timeout{std::chrono::minutes(20)}; ///< whole transaction
    std::string ca_file; ///< PEM bundle to verify the server with; empty: the system store

    /// When set, curl connects to this Unix socket instead of the URL's
    /// host (no DNS, no TCP); the URL then only names the server.
    std::string unix_socket;
};

/// A server's text as it may be stored and shown: valid UTF-8 kept, control
/// characters (C0, DEL, C1, U+2028/2029, bidirectional controls) and bytes
/// that are not UTF-8 replaced by '?' (a reply is input from the network;
/// it reaches terminals, JSON and logs).
std::string printable(std::string_view text);

/// What a server may quote of the password, longest first: the tokens
/// AUTH PLAIN and AUTH LOGIN send it in (base64), the base64 runs that
/// encode it alone at each alignment (in a token made otherwise), and the
/// password.
/// Empty without a password.
std::vector<std::string> secret_forms(const std::string& username, const std::string& password);

/// `text` with every one of `forms` replaced by "***".
std::string scrub(std::string text, const std::vector<std::string>& forms);

/// The SMTP transport. See the file comment for threading and lifetime.
///
/// Results: CURLE_OK is accepted; otherwise the last reply decides: 4xx is
/// transient; 5xx in answer to RCPT TO, DATA or the end of the data is
/// permanent; 5xx earlier (greeting, EHLO, STARTTLS, AUTH, MAIL FROM) is a
/// problem of ours or of the server's, not of this recipient, so transient;
/// no reply at all (refused, timeout, TLS, DNS) is transient.
class smtp_transport final : public transport {
public:
    /// Throws std::invalid_argument for a URL that is not smtp:// or
    /// smtps://, std::system_error when curl cannot be set up.
    smtp_transport(boost::asio::io_context& io, smtp_settings settings);
    ~smtp_transport() override;

    void send(message msg, send_handler handler) override;
    void drain(std::chrono::steady_clock::time_point deadline,
               std::function<void()> done) override;
    void hold(bool held) noexcept override;
    void stop() noexcept override;
    /// Shuts down (shutdown(2)) every connection socket: libcurl, blocked on
    /// a reply or about to send QUIT, finds the connection closed.
    std::function<void()> cutter() const override;
    std::size_t queued() const noexcept override;
    std::size_t in_flight() const noexcept override;

private:
    struct core;
    std::shared_ptr<core> core_;
};

} // namespace casacal::notify
