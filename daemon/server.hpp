#pragma once
// The HTTP server: accepts connections on one address and hands each to a
// session.
//
// Threads: the daemon has one io_context and one thread calling run().
// Sessions, timers, the reminders' curl multi handle and the io thread's
// SQLite connection all live on it: an implicit strand, so nothing here
// takes a lock. Only the rebuild worker (see rebuilder.hpp) runs elsewhere,
// and it talks to the io thread by posting immutable snapshots.

#include "daemon/connection_manager.hpp"
#include "daemon/logging.hpp"
#include "daemon/session_options.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <string>

namespace casacal::daemon {

struct server_options {
    std::size_t max_connections = 1024; ///< further connections are closed at once
    session_limits limits;
};

/// Io thread only. The hooks must outlive the server.
class server {
  public:
    server(boost::asio::io_context& io, session_hooks hooks, server_options options = {});
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens on `address` ("127.0.0.1", "::1", no brackets) and
    /// `port` (0: any). Throws std::system_error naming the address.
    void listen(const std::string& address, std::uint16_t port);
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Stops accepting and lets every session finish its current response.
    void stop();
    /// Closes every connection now (the end of a bounded graceful stop).
    void close_all() { connections_.close_all(); }
    std::size_t connections() const { return connections_.size(); }

  private:
    void do_accept();
    void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer backoff_; ///< pauses accepting after an accept error
    session_hooks hooks_;
    server_options options_;
    connection_manager connections_;
    bool stopped_ = false;
    /// Connections closed at once as the limit was reached, since the last
    /// line that said so (at most one a minute, as nginx says its
    /// "worker_connections are not enough").
    std::size_t turned_away_ = 0;
    std::chrono::steady_clock::time_point last_said_{};
    /// Out of descriptors, accept fails ten times a second until some close.
    log_limit accept_failures_{"failed accepts", 6};
};

} // namespace casacal::daemon
