#include "daemon/server.hpp"

#include "daemon/logging.hpp"
#include "daemon/session.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>

namespace casacal::daemon {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

server::server(asio::io_context& io, session_hooks hooks, server_options options)
    : io_(io), acceptor_(io), backoff_(io), hooks_(std::move(hooks)), options_(options) {}

void server::listen(const std::string& address, std::uint16_t port) {
    error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) throw std::system_error(ec, "http.listen: invalid address \"" + address + "\"");
    const tcp::endpoint endpoint(ip, port);
    const std::string where =
        (ip.is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::system_error(ec, "cannot listen on " + where);
    do_accept();
}

tcp::endpoint server::local_endpoint() const {
    return acceptor_.local_endpoint();
}

void server::do_accept() {
    acceptor_.async_accept(io_, [this](const error_code& ec, tcp::socket socket) {
        on_accept(ec, std::move(socket));
    });
}

void server::on_accept(const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (ec) {
        // EMFILE and friends: retrying at once would spin, so pause a little.
        if (auto line = accept_failures_.admit("accept failed: " + ec.message(),
                                               std::chrono::steady_clock::now()))
            log_warning(*line);
        backoff_.expires_after(std::chrono::milliseconds(100));
        backoff_.async_wait([this](const error_code& wait_ec) {
            if (!wait_ec && !stopped_) do_accept();
        });
        return;
    }
    if (connections_.size() >= options_.max_connections) {
        error_code ignored;
        socket.close(ignored);
        ++turned_away_;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_said_ >= std::chrono::minutes(1)) {
            log_warning("connection limit reached (" + std::to_string(options_.max_connections) +
                        " open): " + std::to_string(turned_away_) +
                        " new connection(s) closed unanswered");
            last_said_ = now;
            turned_away_ = 0;
        }
    } else {
        std::make_shared<session>(std::move(socket), connections_, hooks_, options_.limits)
            ->start();
    }
    do_accept();
}

void server::stop() {
    stopped_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
    connections_.shutdown_all();
}

} // namespace casacal::daemon
