#pragma once
// One HTTP/1.x connection: reads request headers (bodies only for POST, up
// to a small limit; any other body is refused with 413), answers through
// the routes, keeps the connection alive, supports pipelining. Io thread only. Includes Beast: include this
// header only where sessions are created.

#include "daemon/connection_manager.hpp"
#include "daemon/session_options.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <optional>

namespace casacal::daemon {

/// Owned by its pending asynchronous operations (shared_from_this); the
/// manager and hooks must outlive every session.
class session : public std::enable_shared_from_this<session> {
  public:
    session(boost::asio::ip::tcp::socket socket, connection_manager& manager,
            const session_hooks& hooks, const session_limits& limits);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void start();
    /// Closes now if waiting for a request, else after the current response.
    void shutdown();
    /// Closes now.
    void close();

  private:
    void do_wait_request();
    void on_wait_request(const boost::beast::error_code& ec, std::size_t n);
    void do_await_request_line();
    /// Reads until the buffer holds a whole header (or more than the limit),
    /// refusing a bare LF at once, then do_read_header().
    void do_await_header();
    void do_read_header();
    void on_read_header(const boost::beast::error_code& ec, std::size_t n);
    void on_bad_version();
    void do_read_body();
    void on_read_body(const boost::beast::error_code& ec, std::size_t n);
    void dispatch();
    void refuse(unsigned status, const std::string& reason);
    void do_write(response r, bool keep_alive, unsigned version);
    /// The body from `file`, from `offset` on, with sendfile(2).
    void send_file(int file, std::size_t offset, bool keep_alive);
    void cork(bool on); ///< TCP_CORK: hold partial segments until uncorked
    void on_write(const boost::beast::error_code& ec, bool keep_alive);
    void do_close();
    void do_drain();

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    response pending_; ///< owns the bytes res_ points at while writing
    boost::beast::http::response<boost::beast::http::span_body<const char>> res_;
    /// The headers of a response whose body goes with sendfile(2).
    std::optional<
        boost::beast::http::response_serializer<boost::beast::http::span_body<const char>>>
        header_writer_;
    /// The write timeout of a body sent with sendfile(2), which stream_'s
    /// own timer does not see.
    boost::asio::steady_timer file_deadline_;
    connection_manager& manager_;
    const session_hooks& hooks_;
    const session_limits& limits_;
    bool writing_ = false;
    bool stopping_ = false;
    bool closed_ = false;
    std::size_t header_scanned_ = 0; ///< bytes of the buffer do_await_header has looked at
    std::array<char, 4096> drain_{};
};

} // namespace casacal::daemon
