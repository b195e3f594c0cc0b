#include "daemon/session.hpp"

#include "config/text.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>
#include <cerrno>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>

namespace casacal::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using beast::error_code;

namespace {

/// RFC 9112 §3.2's Host value: uri-host [":" port] (RFC 3986), or empty.
bool valid_host(std::string_view host) {
    std::string_view name = host, port;
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        if (close == std::string_view::npos) return false;
        for (const char c : host.substr(1, close - 1))
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.' && c != 'v' &&
                c != 'V')
                return false;
        const std::string_view rest = host.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return false;
        name = {};
        port = rest.empty() ? rest : rest.substr(1);
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon + 1);
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (std::isalnum(c) || std::string_view("-._~!$&'()*+,;=").find(char(c)) != std::string_view::npos)
            continue;
        if (c == '%' && i + 2 < name.size() && std::isxdigit(static_cast<unsigned char>(name[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(name[i + 2]))) {
            i += 2;
            continue;
        }
        return false;
    }
    if (port.size() > 5) return false;
    for (const char c : port)
        if (c < '0' || c > '9') return false;
    return port.empty() || std::stoi(std::string(port)) <= 65535;
}

constexpr std::size_t k_buffer_limit = 64 * 1024;
constexpr auto k_linger = std::chrono::seconds(2);

/// Every value of a header field that may be repeated, joined by ", ".
std::optional<std::string> joined(const http::fields& f, http::field name) {
    auto [first, last] = f.equal_range(name);
    if (first == last) return std::nullopt;
    std::string out;
    for (auto it = first; it != last; ++it) {
        if (!out.empty()) out += ", ";
        out += it->value();
    }
    return out;
}

bool no_body_status(unsigned status) {
    return status == 204 || status == 304 || (status >= 100 && status < 200);
}

} // namespace

session::session(asio::ip::tcp::socket socket, connection_manager& manager,
                 const session_hooks& hooks, const session_limits& limits)
    : stream_(std::move(socket)), buffer_(k_buffer_limit), file_deadline_(stream_.get_executor()),
      manager_(manager), hooks_(hooks), limits_(limits) {
    manager_.add(this);
}

session::~session() {
    manager_.remove(this);
}

void session::start() {
    // A response whose body goes with sendfile(2) leaves in two writes: the
    // tail of the second must not wait for the client to acknowledge the
    // first (Nagle's algorithm against a delayed ACK: 40 ms).
    error_code ignored;
    stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    // A new connection owes its first request header within header_timeout.
    stream_.expires_after(limits_.header_timeout);
    do_await_request_line();
}

void session::shutdown() {
    stopping_ = true;
    if (!writing_) close();
}

void session::close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
}

void session::do_wait_request() {
    // Between requests the client may stay silent for idle_timeout; the
    // header deadline starts with the first byte of the next request.
    if (buffer_.size() > 0) {
        stream_.expires_after(limits_.header_timeout);
        return do_await_request_line();
    }
    stream_.expires_after(limits_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                self->on_wait_request(ec, n);
                            });
}

void session::on_wait_request(const error_code& ec, std::size_t n) {
    if (ec) return close(); // end of stream, idle timeout, or stopping
    buffer_.commit(n);
    stream_.expires_after(limits_.header_timeout);
    do_await_request_line();
}

void session::do_await_request_line() {
    if (stopping_) return close();
    // RFC 9112 §2.2: empty lines before a request line are ignored. More
    // of them are read under the same header deadline, which the stream
    // keeps until it is set again.
    for (;;) {
        const auto* data = static_cast<const char*>(buffer_.data().data());
        const std::size_t size = buffer_.size();
        if (size >= 2 && data[0] == '\r' && data[1] == '\n')
            buffer_.consume(2);
        else if (size >= 1 && data[0] == '\n')
            buffer_.consume(1);
        else if (size == 0 || (size == 1 && data[0] == '\r'))
            return stream_.async_read_some(
                buffer_.prepare(4096),
                [self = shared_from_this()](const error_code& ec, std::size_t n) {
                    if (ec || self->closed_) return self->close();
                    self->buffer_.commit(n);
                    self->do_await_request_line();
                });
        else
            break;
    }
    header_scanned_ = 0;
    do_await_header();
}

void session::do_await_header() {
    // Beast ends a header only at CRLF CRLF: one that ends in a bare LF
    // would wait for the header deadline, unanswered. RFC 9112 §2.2 lets a
    // server refuse a bare LF; it is refused as soon as it arrives.
    const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    for (std::size_t i = header_scanned_; i < data.size(); ++i) {
        if (data[i] != '\n') continue;
        if (i == 0 || data[i - 1] != '\r')
            return refuse(400, "bad request: a line ends in a bare LF");
        if (i >= 3 && data.compare(i - 3, 4, "\r\n\r\n") == 0) return do_read_header();
    }
    // A CR at the end may be followed by its LF: looked at again.
    header_scanned_ = data.empty() || data.back() != '\r' ? data.size() : data.size() - 1;
    if (data.size() > limits_.header_limit) return do_read_header(); // Beast answers 431
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                if (ec || self->closed_) return self->close();
                                self->buffer_.commit(n);
                                self->do_await_header();
                            });
}

void session::do_read_header() {
    parser_.emplace();
    parser_->header_limit(limits_.header_limit);
    // Beast checks a Content-Length against this limit as soon as it reads it.
    parser_->body_limit(limits_.post_body_limit);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                self->on_read_header(ec, n);
                            });
}

void session::on_read_header(const error_code& ec, std::size_t n) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::eof || closed_)
        return close();
    if (ec == http::error::body_limit) return refuse(413, "request body not accepted");
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        return refuse(431, "request header fields too large");
    if (ec && ec.category() != http::make_error_code(http::error::bad_target).category())
        return close(); // the socket failed (reset...): nobody to answer
    if (ec == http::error::bad_version) return on_bad_version();
    if (ec) return refuse(400, "bad request");
    // Beast enforces its limit only on a header still incomplete in the
    // buffer; `n`, the bytes it took, holds a whole one to the same bound.
    if (n > limits_.header_limit) return refuse(431, "request header fields too large");

    auto& msg = parser_->get();
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one before.
    const auto hosts = msg.count(http::field::host);
    if (hosts > 1 || (hosts == 0 && msg.version() >= 11) ||
        (hosts == 1 && !valid_host(std::string_view(msg[http::field::host].data(),
                                                     msg[http::field::host].size()))))
        return refuse(400, "bad request: Host header");
    // RFC 9112 §3.2.2, RFC 9110 §4.2.1: the authority of an absolute-form
    // target stands for Host, and is held to the same form (no user part,
    // no empty host).
    const std::string_view target(msg.target().data(), msg.target().size());
    for (const std::string_view scheme : {"http://", "https://"})
        if (target.size() >= scheme.size() &&
            config::ascii_iequal(target.substr(0, scheme.size()), scheme)) {
            const std::string_view rest = target.substr(scheme.size());
            const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
            if (authority.empty() || !valid_host(authority))
                return refuse(400, "bad request: the target's host");
        }

    // RFC 9112 §6.1, §6.3: a body's length is known from Transfer-Encoding
    // only when its last coding is chunked, and HTTP/1.0 has none. Beast
    // reads such a request as bodiless and the bytes after it as the next
    // request (a way to smuggle one past a proxy): 400, and the connection
    // closes. A coding other than chunked is not implemented (§6.1: 501).
    if (const auto codings = joined(msg, http::field::transfer_encoding)) {
        if (msg.version() < 11 || !parser_->chunked())
            return refuse(400, "bad request: Transfer-Encoding");
        if (!beast::iequals(*codings, "chunked"))
            return refuse(501, "transfer coding not implemented");
    }

    if (parser_->is_done()) return dispatch();
    // Only the subscription forms carry a body, and a small one; the header
    // deadline still runs, so a slow body cannot hold the connection.
    if (msg.method() != http::verb::post) return refuse(413, "request body not accepted");
    // RFC 9110 §10.1.1: a client that waits for it is told to send the body.
    const auto expect = msg.find(http::field::expect);
    if (expect != msg.end() && msg.version() >= 11 &&
        beast::iequals(expect->value(), "100-continue")) {
        static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
        return asio::async_write(stream_, asio::buffer(go_on.data(), go_on.size()),
                                 [self = shared_from_this()](const error_code& ec, std::size_t) {
                                     if (ec || self->closed_) return self->close();
                                     self->do_read_body();
                                 });
    }
    do_read_body();
}

void session::on_bad_version() {
    // Beast reads HTTP/1.0 and 1.1 alone; the request line is still in the
    // buffer. RFC 9112 §2.3: a later 1.x is read as 1.1, the highest minor
    // version casacal speaks; RFC 9110 §15.6.6: another major version, 505.
    const std::string_view head(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const auto eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    constexpr std::string_view http = " HTTP/";
    const bool versioned = eol != std::string_view::npos && line.size() > http.size() + 3 &&
                           line.substr(line.size() - 9, 6) == http &&
                           std::isdigit(static_cast<unsigned char>(line[line.size() - 3])) &&
                           line[line.size() - 2] == '.' &&
                           std::isdigit(static_cast<unsigned char>(line.back()));
    if (!versioned) return refuse(400, "bad request");
    if (line[line.size() - 3] != '1') return refuse(505, "HTTP version not supported");
    // 1.0 and 1.1 failed for another reason: reading them again would too.
    if (line.back() <= '1') return refuse(400, "bad request");
    static_cast<char*>(buffer_.data().data())[line.size() - 1] = '1';
    do_read_header();
}

void session::do_read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const error_code& ec, std::size_t n) {
                         self->on_read_body(ec, n);
                     });
}

void session::on_read_body(const error_code& ec, std::size_t) {
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted || closed_)
        return close();
    if (ec == http::error::body_limit) return refuse(413, "request body too large");
    if (ec) return refuse(400, "bad request body");
    dispatch();
}

void session::dispatch() {
    auto& msg = parser_->get();
    request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.if_none_match = joined(msg, http::field::if_none_match);
    if (auto it = msg.find(http::field::if_modified_since); it != msg.end())
        req.if_modified_since = std::string(it->value());
    req.if_match = joined(msg, http::field::if_match);
    if (auto it = msg.find(http::field::if_unmodified_since); it != msg.end())
        req.if_unmodified_since = std::string(it->value());
    req.accept_encoding = joined(msg, http::field::accept_encoding).value_or("");
    if (auto it = msg.find(http::field::content_type); it != msg.end())
        req.content_type = std::string(it->value());
    req.body = std::move(msg.body());
    response r = hooks_.handle(req);
    do_write(std::move(r), msg.keep_alive() && !stopping_, msg.version());
}

void session::refuse(unsigned status, const std::string& reason) {
    if (hooks_.rejected) hooks_.rejected(status, reason);
    // The stream is out of sync after a malformed request: answer, then close.
    response r = error_response(status, reason, hooks_.now ? hooks_.now() : 0);
    do_write(std::move(r), false, 11);
}

void session::do_write(response r, bool keep_alive, unsigned version) {
    pending_ = std::move(r);
    res_ = {};
    // RFC 9112 §2.3: the highest version casacal speaks, whatever the
    // request's; a 1.0 client is told in words that the connection stays.
    res_.version(11);
    res_.result(pending_.status);
    for (const auto& [name, value] : pending_.headers)
        res_.insert(name, value);
    const std::string_view payload = pending_.payload();
    const bool with_body = !no_body_status(pending_.status) && !pending_.head;
    if (!no_body_status(pending_.status)) res_.content_length(payload.size());
    const int file = with_body ? pending_.payload_file() : -1;
    if (with_body && file < 0)
        res_.body() = http::span_body<const char>::value_type(payload.data(), payload.size());
    res_.keep_alive(keep_alive);
    if (keep_alive && version == 10) res_.set(http::field::connection, "keep-alive");
    writing_ = true;
    stream_.expires_after(limits_.write_timeout);
    if (file < 0) {
        http::async_write(
            stream_, res_,
            [self = shared_from_this(), keep_alive](const error_code& ec, std::size_t) {
                self->on_write(ec, keep_alive);
            });
        return;
    }
    // A large feed: Beast writes the headers, then the kernel gives the
    // socket the pages of the feed's memory file, where a write would copy
    // them (docs/performance.md).
    file_deadline_.expires_after(limits_.write_timeout);
    file_deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
        // Too slow a reader: the send fails, and on_write follows. (A timer
        // that expired as the write ended finds it over.)
        if (!ec && self->writing_) self->close();
    });
    // Corked until the body is all given: the headers leave with its first
    // bytes, not in a packet of their own (one wakeup less for the client).
    cork(true);
    header_writer_.emplace(res_);
    http::async_write_header(
        stream_, *header_writer_,
        [self = shared_from_this(), file, keep_alive](const error_code& ec, std::size_t) {
            if (ec) return self->on_write(ec, keep_alive);
            self->send_file(file, 0, keep_alive);
        });
}

void session::cork(bool on) {
    const int value = on ? 1 : 0;
    ::setsockopt(stream_.socket().native_handle(), IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

void session::send_file(int file, std::size_t offset, bool keep_alive) {
    auto& socket = stream_.socket();
    const std::size_t size = pending_.payload().size();
    error_code ec;
    if (!socket.native_non_blocking()) socket.native_non_blocking(true, ec);
    while (!ec && offset < size) {
        off_t at = static_cast<off_t>(offset);
        const ssize_t n = ::sendfile(socket.native_handle(), file, &at, size - offset);
        if (n > 0) {
            offset += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            socket.async_wait(
                asio::socket_base::wait_write,
                [self = shared_from_this(), file, offset, keep_alive](const error_code& ec) {
                    if (ec) return self->on_write(ec, keep_alive);
                    self->send_file(file, offset, keep_alive);
                });
            return;
        } else { // 0: the file ended early, which a sealed one cannot
            ec = n < 0 ? error_code(errno, boost::system::system_category())
                       : error_code(asio::error::eof);
        }
    }
    cork(false); // what is left goes now
    on_write(ec, keep_alive);
}

void session::on_write(const error_code& ec, bool keep_alive) {
    writing_ = false;
    file_deadline_.cancel();
    header_writer_.reset();
    pending_ = {};
    res_ = {};
    if (ec) return close();
    if (!keep_alive || stopping_) return do_close();
    do_wait_request();
}

void session::do_close() {
    // Half-close and read what the client still sends, briefly, so that
    // unread request bytes do not turn our close into a reset that could
    // destroy the response before the client reads it.
    error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    stream_.expires_after(k_linger);
    do_drain();
}

void session::do_drain() {
    if (closed_) return;
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](const error_code& ec, std::size_t) {
                                if (ec) return self->close();
                                self->do_drain();
                            });
}

} // namespace casacal::daemon
