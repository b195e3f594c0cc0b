#include "daemon/server.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace casacal::daemon;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

/// A server on 127.0.0.1 with an ephemeral port, its io thread running.
class loopback_server {
  public:
    explicit loopback_server(session_limits limits) {
        hooks_.handle = [](const request& req) {
            response r;
            r.status = req.target == "/missing" ? 404 : 200;
            r.set("Content-Type", "text/plain");
            r.body = "target " + req.target + "\n" + (req.body.empty() ? "" : "body " + req.body + "\n");
            r.head = req.method == "HEAD";
            return r;
        };
        hooks_.rejected = [](unsigned, const std::string&) {};
        hooks_.now = [] { return std::int64_t{0}; };
        server_options options;
        options.limits = limits;
        options.max_connections = 4;
        server_ = std::make_unique<server>(io_, hooks_, options);
        server_->listen("127.0.0.1", 0);
        port_ = server_->local_endpoint().port();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~loopback_server() {
        asio::post(io_, [this] {
            server_->stop();
            server_->close_all();
        });
        thread_.join();
    }

    /// Sends `bytes`, then reads until the server closes (or 5 s pass).
    std::string exchange(const std::string& bytes, bool half_close = true) const {
        asio::io_context client;
        tcp::socket s(client);
        s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
        timeval tv{5, 0};
        setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        asio::write(s, asio::buffer(bytes));
        if (half_close) s.shutdown(tcp::socket::shutdown_send);
        std::string out;
        boost::system::error_code ec;
        char buf[4096];
        for (;;) {
            std::size_t n = s.read_some(asio::buffer(buf), ec);
            if (ec) break;
            out.append(buf, n);
        }
        return out;
    }

    std::uint16_t port() const { return port_; }

  private:
    asio::io_context io_;
    session_hooks hooks_;
    std::unique_ptr<server> server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

session_limits fast_limits() {
    session_limits l;
    l.header_timeout = std::chrono::milliseconds(400);
    l.idle_timeout = std::chrono::milliseconds(400);
    l.write_timeout = std::chrono::milliseconds(1000);
    return l;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + 1))
        ++n;
    return n;
}

} // namespace

TEST_CASE("a session answers, keeps alive and pipelines", "[daemon]") {
    loopback_server srv(fast_limits());
    std::string reply =
        srv.exchange("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                     "HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(count(reply, "HTTP/1.1 ") == 3);
    CHECK(reply.find("target /a\n") != std::string::npos);
    CHECK(reply.find("target /b\n") == std::string::npos); // HEAD: no body
    CHECK(reply.find("Content-Length: 10\r\n") != std::string::npos);
    CHECK(reply.find("HTTP/1.1 404 Not Found\r\n") != std::string::npos);
    CHECK(reply.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("HTTP/1.0 closes after one response", "[daemon]") {
    loopback_server srv(fast_limits());
    std::string reply = srv.exchange("GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    // Answered in the highest version spoken (RFC 9112 §2.3), closing.
    CHECK(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(count(reply, "HTTP/1.1 ") == 1);
    CHECK(reply.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("a header over 8 KiB gets 431", "[daemon]") {
    loopback_server srv(fast_limits());
    std::string reply =
        srv.exchange("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 431 ", 0) == 0);
    CHECK(reply.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("a body is read for a small POST only; anything else gets 413", "[daemon]") {
    loopback_server srv(fast_limits());
    std::string reply =
        srv.exchange("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(reply.rfind("HTTP/1.1 200 ", 0) == 0);
    CHECK(reply.find("body hello\n") != std::string::npos);
    reply = srv.exchange(
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    CHECK(reply.find("body hello\n") != std::string::npos);
    reply = srv.exchange("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                         std::string(5000, 'x'));
    CHECK(reply.rfind("HTTP/1.1 413 ", 0) == 0);
    reply = srv.exchange("GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(reply.rfind("HTTP/1.1 413 ", 0) == 0);
    reply = srv.exchange("PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(reply.rfind("HTTP/1.1 413 ", 0) == 0);
}

TEST_CASE("a malformed request gets 400", "[daemon]") {
    loopback_server srv(fast_limits());
    CHECK(srv.exchange("HELLO\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(srv.exchange("GET / HTTP/1.1\r\nBad Header\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(srv.exchange("GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(srv.exchange("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").rfind("HTTP/1.1 400 ", 0) ==
          0);
}

TEST_CASE("a client that stalls inside its header is dropped", "[daemon]") {
    loopback_server srv(fast_limits());
    const auto start = std::chrono::steady_clock::now();
    std::string reply = srv.exchange("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", false);
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(reply.empty());
    CHECK(waited >= std::chrono::milliseconds(300));
    CHECK(waited < std::chrono::seconds(3));
}

TEST_CASE("connections past the limit are closed at once, and a line says so", "[daemon]") {
    // stderr into a file for the length of the test: the server logs there.
    char name[] = "/tmp/casacal-log-XXXXXX";
    const int file = ::mkstemp(name);
    REQUIRE(file >= 0);
    ::unlink(name);
    const int saved = ::dup(2);
    ::dup2(file, 2);
    std::string reply;
    {
        loopback_server srv(session_limits{});
        asio::io_context client;
        std::vector<tcp::socket> held;
        for (int i = 0; i < 4; ++i) {
            held.emplace_back(client);
            held.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port()));
        }
        // The server counts the four before it takes the fifth.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        try {
            reply = srv.exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        } catch (const boost::system::system_error&) {
            // closed before the request was written: no answer either
        }
    }
    ::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::string logged(4096, '\0');
    logged.resize(static_cast<std::size_t>(
        std::max<ssize_t>(0, ::pread(file, logged.data(), logged.size(), 0))));
    ::close(file);
    CHECK(reply.empty());
    CHECK(logged.find("connection limit reached (4 open): 1 new connection(s) closed unanswered") !=
          std::string::npos);
}
