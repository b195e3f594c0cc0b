#include "notify/smtp_transport.hpp"
#include "notify/transport_thread.hpp"

#include "notify/curl_error.hpp"
#include "notify/header_text.hpp"

#include "mail_reader.hpp"
#include "notify_fixture.hpp"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace casacal::notify;
using namespace casacal::notify::testing;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

/// A TCP port that was free a moment ago.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// tests/notify/smtp_sink.py (aiosmtpd) on a port of its choosing, for one
/// test: none that another test could take between a look and the bind.
class smtp_sink {
public:
  /// `option`: "--auth-echo" (see the script), or none.
  explicit smtp_sink(const char* option = nullptr) {
      const auto script = std::string(CASACAL_SOURCE_DIR) + "/tests/notify/smtp_sink.py";
      const auto folder = scratch_.path().string() + "/sink";
      pid_ = ::fork();
      if (pid_ == 0) {
          ::execl("/usr/bin/python3", "python3", script.c_str(), "0", folder.c_str(), option,
                  static_cast<char*>(nullptr));
          ::_exit(127);
      }
      const auto deadline = std::chrono::steady_clock::now() + 15s;
      while (!std::filesystem::exists(scratch_.path() / "sink" / "ready")) {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
              pid_ = -1;
              throw std::runtime_error("the SMTP sink exited before listening");
          }
          if (std::chrono::steady_clock::now() > deadline) {
              ::kill(pid_, SIGTERM); // a throwing constructor has no destructor
              ::waitpid(pid_, nullptr, 0);
              throw std::runtime_error("the SMTP sink did not start within 15 s");
          }
          std::this_thread::sleep_for(20ms);
      }
      port_ = std::stoi(read_file(scratch_.path() / "sink" / "ready"));
  }
    ~smtp_sink() {
        if (pid_ < 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    smtp_sink(const smtp_sink&) = delete;
    smtp_sink& operator=(const smtp_sink&) = delete;

    std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_) + "/casaco.example"; }
    std::filesystem::path folder() const { return scratch_.path() / "sink"; }
    int connections() const { return std::stoi(read_file(folder() / "connections")); }

private:
    scratch_dir scratch_;
    int port_ = 0;
    pid_t pid_ = -1;
};

smtp_settings plain(const std::string& url) {
    smtp_settings s;
    s.url = url;
    s.starttls = tls_mode::off;
    s.connect_timeout = 5s;
    s.response_timeout = 10s;
    return s;
}

message to(const std::string& address) {
    auto m = sample_message();
    m.to = {"Camille", address};
    return m;
}

send_result send_one(boost::asio::io_context& io, transport& t, message m) {
    std::optional<send_result> result;
    t.send(std::move(m), [&](const send_result& r) { result = r; });
    REQUIRE(run_until(io, [&] { return result.has_value(); }));
    return *result;
}

/// A transport with one connection slot to its own sink, given three
/// messages for `address`: the first has started, two wait in the queue.
/// Nothing has run yet: a poll here could already finish the first
/// transfer when the machine is busy and the sink quick.
struct one_slot_three_sent {
    smtp_sink sink;
    boost::asio::io_context io;
    smtp_transport transport;
    std::vector<send_result> results;

    explicit one_slot_three_sent(const std::string& address) : transport(io, one_slot(sink.url())) {
        for (int i = 0; i < 3; ++i)
            transport.send(to(address), [this](const send_result& r) { results.push_back(r); });
        REQUIRE(transport.in_flight() == 1);
    }

    static smtp_settings one_slot(const std::string& url) {
        auto s = plain(url);
        s.max_in_flight = 1;
        return s;
    }
};

} // namespace

TEST_CASE("an accepted message reaches the server whole", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    smtp_transport transport(io, plain(sink.url()));
    const auto r = send_one(io, transport, to("camille@example.org"));
    INFO(r.error);
    CHECK(r.outcome == outcome::accepted);
    CHECK(r.smtp_code == 250);
    CHECK(r.reply == "250 2.0.0 Ok: queued as Q0001");
    CHECK_FALSE(r.code);
    CHECK(read_file(sink.folder() / "0001.rcpt") == "camille@example.org");
    const auto top = parse_entity(read_file(sink.folder() / "0001.eml"));
    CHECK(decode_words(unfold(top.header("Subject"))) == sample_message().subject);
    CHECK(top.header("Message-ID") ==
          "<reminder.casapero.20261203T1830.p1d.camille@casaco.example>");
    CHECK(decoded_body(split_multipart(top).at(1)) == k_ics);
}

// What libcurl 7.88 reports, measured against aiosmtpd:
//   550 to MAIL FROM        -> CURLE_SEND_ERROR (55) "MAIL failed: 550"
//   451 to RCPT TO          -> CURLE_SEND_ERROR (55) "RCPT failed: 451"
//   550 to RCPT TO          -> CURLE_SEND_ERROR (55) "RCPT failed: 550"
//   451 after the data      -> CURLE_WEIRD_SERVER_REPLY (8)
//   554 after the data      -> CURLE_WEIRD_SERVER_REPLY (8)
//   nobody listening        -> CURLE_COULDNT_CONNECT (7), no reply
TEST_CASE("server replies decide between transient and permanent", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    smtp_transport transport(io, plain(sink.url()));

    SECTION("451 to RCPT is transient") {
        const auto r = send_one(io, transport, to("rcpt451@example.org"));
        CHECK(r.outcome == outcome::transient);
        CHECK(r.smtp_code == 451);
        CHECK(r.reply == "451 4.3.0 Mailbox busy, try later");
        CHECK(r.code == make_error_code(CURLE_SEND_ERROR));
        CHECK(r.error == "RCPT failed: 451");
    }
    SECTION("550 to RCPT is permanent") {
        const auto r = send_one(io, transport, to("rcpt550@example.org"));
        CHECK(r.outcome == outcome::permanent);
        CHECK(r.smtp_code == 550);
        CHECK(r.reply == "550 5.1.1 No such user here");
        CHECK(r.code == make_error_code(CURLE_SEND_ERROR));
    }
    SECTION("451 after the data is transient") {
        const auto r = send_one(io, transport, to("data451@example.org"));
        CHECK(r.outcome == outcome::transient);
        CHECK(r.smtp_code == 451);
        CHECK(r.reply == "451 4.3.0 Queue full, try later");
        CHECK(r.code == make_error_code(CURLE_WEIRD_SERVER_REPLY));
    }
    SECTION("554 after the data is permanent") {
        const auto r = send_one(io, transport, to("data554@example.org"));
        CHECK(r.outcome == outcome::permanent);
        CHECK(r.smtp_code == 554);
        CHECK(r.reply == "554 5.7.1 Message refused");
        CHECK(r.code == make_error_code(CURLE_WEIRD_SERVER_REPLY));
    }
    SECTION("550 to MAIL FROM is transient: the site's sender, not the recipient, was refused") {
        auto refused_sender = plain(sink.url());
        refused_sender.envelope_from = "mail550@casaco.example";
        smtp_transport other(io, refused_sender);
        const auto r = send_one(io, other, to("camille@example.org"));
        CHECK(r.outcome == outcome::transient);
        CHECK(r.smtp_code == 550);
        CHECK(r.reply == "550 5.7.1 Sender refused");
        CHECK(r.code == make_error_code(CURLE_SEND_ERROR));
        CHECK(r.error == "MAIL failed: 550");
    }
    SECTION("the next message after a failure is still accepted") {
        CHECK(send_one(io, transport, to("rcpt550@example.org")).outcome == outcome::permanent);
        CHECK(send_one(io, transport, to("camille@example.org")).outcome == outcome::accepted);
    }
}

TEST_CASE("a refused connection is transient", "[notify]") {
    boost::asio::io_context io;
    smtp_transport transport(io, plain("smtp://127.0.0.1:" + std::to_string(free_port())));
    const auto r = send_one(io, transport, to("camille@example.org"));
    CHECK(r.outcome == outcome::transient);
    CHECK(r.smtp_code == 0);
    CHECK(r.reply.empty());
    CHECK(r.code == make_error_code(CURLE_COULDNT_CONNECT));
    CHECK_FALSE(r.error.empty());
}

TEST_CASE("the password never shows in a result", "[notify][slow]") {
    smtp_sink sink; // offers no AUTH: curl 7.88 then sends none and goes on
    boost::asio::io_context io;
    auto s = plain(sink.url());
    s.username = "agenda";
    s.password = "s3cret-Pa55";
    smtp_transport transport(io, s);
    for (const auto* address : {"camille@example.org", "rcpt550@example.org"}) {
        const auto r = send_one(io, transport, to(address));
        CHECK(r.error.find("s3cret") == std::string::npos);
        CHECK(r.reply.find("s3cret") == std::string::npos);
    }
    const auto r = send_one(io, transport, to("data451@example.org"));
    CHECK(r.error.find("s3cret") == std::string::npos);
    CHECK(r.reply.find("s3cret") == std::string::npos);

    // nor when the server's reply quotes it
    s.password = "No such user";
    smtp_transport quoting(io, s);
    const auto q = send_one(io, quoting, to("rcpt550@example.org"));
    CHECK(q.reply == "550 5.1.1 *** here");
    CHECK(q.reason().find("No such user") == std::string::npos);
}

TEST_CASE("a refused login quoting the credentials in base64 shows none of them",
          "[notify][slow]") {
    smtp_sink sink("--auth-echo");
    boost::asio::io_context io;
    auto s = plain(sink.url());
    s.username = "agenda";
    s.password = "s3cr3t-PA55";
    smtp_transport transport(io, s);
    const auto r = send_one(io, transport, to("camille@example.org"));
    CHECK(r.outcome == outcome::transient); // the server's fault, not the recipient's
    CHECK(r.reply == "535 5.7.8 Authentication failed for ***");
    CHECK(r.reason().find("AGFnZW5kYQBzM2NyM3QtUEE1NQ") == std::string::npos);

    // A username without a password (an empty password_file): no AUTH at
    // all, where an empty password would be refused every time.
    s.password.clear();
    smtp_transport anonymous(io, s);
    CHECK(send_one(io, anonymous, to("camille@example.org")).outcome == outcome::accepted);
}

TEST_CASE("the password's forms are masked wherever a reply quotes them", "[notify]") {
    const auto forms = secret_forms("agenda", "s3cr3t-PA55");
    // AUTH LOGIN's token and AUTH PLAIN's
    CHECK(scrub("535 czNjcjN0LVBBNTU= no", forms) == "535 *** no");
    CHECK(scrub("535 AGFnZW5kYQBzM2NyM3QtUEE1NQ== no", forms) == "535 *** no");
    // in a token made otherwise, at every alignment, the characters that
    // encode the password alone
    for (const std::string prefix : {"", "x", "xy"}) {
        const std::string token = base64(prefix + "s3cr3t-PA55" + "tail");
        const std::string shown = scrub("535 " + token, forms);
        INFO(token << " -> " << shown);
        CHECK(shown.find("***") != std::string::npos);
        CHECK(shown.size() < token.size());
    }
    CHECK(scrub("250 s3cr3t-PA55", forms) == "250 ***");
    CHECK(secret_forms("agenda", "").empty());
}

TEST_CASE("messages in flight share a few reused connections", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    auto s = plain(sink.url());
    s.max_in_flight = 2;
    smtp_transport transport(io, s);
    std::vector<send_result> results;
    std::size_t most_in_flight = 0;
    for (int i = 0; i < 6; ++i)
        transport.send(to("slow" + std::to_string(i) + "@example.org"),
                       [&](const send_result& r) { results.push_back(r); });
    CHECK(transport.queued() + transport.in_flight() == 6);
    REQUIRE(run_until(io, [&] {
        most_in_flight = std::max(most_in_flight, transport.in_flight());
        return results.size() == 6;
    }));
    for (const auto& r : results)
        CHECK(r.outcome == outcome::accepted);
    CHECK(most_in_flight == 2);
    CHECK(sink.connections() == 2);
}

TEST_CASE("max_per_minute holds messages back until a token returns", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    auto s = plain(sink.url());
    s.max_per_minute = 2;
    s.rate_period = 1s; // the same rule, on a shorter clock
    smtp_transport transport(io, s);
    std::vector<std::chrono::steady_clock::duration> done_at;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i)
        transport.send(to("camille@example.org"), [&](const send_result& r) {
            CHECK(r.outcome == outcome::accepted);
            done_at.push_back(std::chrono::steady_clock::now() - start);
        });
    REQUIRE(run_until(io, [&] { return done_at.size() == 5; }));
    // Starts at about 0, 0, 1, 1, 2 seconds.
    CHECK(done_at[1] < 1s);
    CHECK(done_at[2] >= 1s);
    CHECK(done_at[4] >= 2s);
    CHECK(done_at[4] < 8s);
}

TEST_CASE("drain lets the transfer in flight finish and gives back the queue", "[notify][slow]") {
    one_slot_three_sent f("slow@example.org");
    auto& [sink, io, transport, results] = f;
    bool drained = false;
    transport.drain(std::chrono::steady_clock::now() + 10s, [&] { drained = true; });
    REQUIRE(run_until(io, [&] { return drained; }));
    REQUIRE(results.size() == 3);
    const auto accepted = std::count_if(results.begin(), results.end(), [](const auto& r) {
        return r.outcome == outcome::accepted;
    });
    CHECK(accepted == 1);
    for (const auto& r : results) {
        // The queued ones never left: the outbox takes them back as they were.
        CHECK(r.never_started == (r.outcome != outcome::accepted));
        if (r.outcome != outcome::accepted)
            CHECK(r.error == "not attempted: the transport is stopping");
    }
    bool late = false;
    transport.send(to("camille@example.org"), [&](const send_result& r) {
        late = true;
        CHECK(r.outcome == outcome::transient);
    });
    CHECK(run_until(io, [&] { return late; }));
}

TEST_CASE("a server that stops replying is given up after the reply timeout", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    auto settings = plain(sink.url());
    settings.response_timeout = 1s; // the transaction's own limit stays at 20 min
    smtp_transport transport(io, settings);
    std::optional<send_result> result;
    const auto started = std::chrono::steady_clock::now();
    transport.send(to("rcptstall@example.org"), [&](const send_result& r) { result = r; });
    REQUIRE(run_until(
        io, [&] { return result.has_value(); }, 8s));
    CHECK(std::chrono::steady_clock::now() - started < 4s); // the timeout, and a second or two
    CHECK(result->outcome == outcome::transient);
    CHECK(result->code == make_error_code(CURLE_OPERATION_TIMEDOUT));
}

TEST_CASE("a connection whose server owes a reply is not used again", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    auto settings = plain(sink.url());
    settings.max_in_flight = 1;
    settings.response_timeout = 1s;
    smtp_transport transport(io, settings);
    // The server never answers the data: the reply times out.
    const send_result stalled = send_one(io, transport, to("stall@example.org"));
    CHECK(stalled.outcome == outcome::transient);
    // On that connection the next MAIL FROM would wait behind the data the
    // server still sits on: the next message goes on a new one.
    const send_result next = send_one(io, transport, to("camille@example.org"));
    CHECK(next.outcome == outcome::accepted);
    CHECK(sink.connections() == 2);
}

TEST_CASE("a stalled server holds neither a drain past its deadline nor the stop after it",
          "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    auto settings = plain(sink.url());
    settings.response_timeout = 60s; // what the daemon gives a server, roughly
    auto transport = std::make_unique<transport_thread>(
        io, [&](boost::asio::io_context& inner) {
            return std::make_unique<smtp_transport>(inner, settings);
        });
    REQUIRE(transport->cutter());
    std::optional<send_result> result;
    transport->send(to("stall@example.org"), [&](const send_result& r) { result = r; });
    // The message went; the server sits on it, and libcurl waits in its thread.
    CHECK_FALSE(run_until(io, [&] { return result.has_value(); }, 1500ms));
    bool drained = false;
    const auto started = std::chrono::steady_clock::now();
    transport->drain(started + 300ms, [&] { drained = true; });
    REQUIRE(run_until(io, [&] { return drained; }, 5s));
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    REQUIRE(result);
    CHECK(result->outcome == outcome::transient);
    // No QUIT waited for on the cut connection when curl closes it.
    const auto before = std::chrono::steady_clock::now();
    transport.reset();
    CHECK(std::chrono::steady_clock::now() - before < 3s);
}

/// A server of one connection that takes the data slowly for its first
/// second (a small receive buffer, a kilobyte every 10 ms), then as fast as
/// it comes, and tells whether the data's end (CRLF . CRLF) ever came.
class slow_reader {
  public:
    slow_reader() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int small = 4096;
        ::setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listener_, 1) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~slow_reader() {
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
    }
    slow_reader(const slow_reader&) = delete;
    slow_reader& operator=(const slow_reader&) = delete;

    std::string url() const {
        return "smtp://127.0.0.1:" + std::to_string(port_) + "/casaco.example";
    }
    /// Waits until the client closed the connection; whether the end came.
    bool data_ended() {
        std::unique_lock lock(mutex_);
        done_.wait_for(lock, 20s, [&] { return closed_; });
        return ended_;
    }

  private:
    void serve() {
        const int c = ::accept(listener_, nullptr, nullptr);
        if (c < 0) return;
        const auto say = [c](std::string_view line) {
            ::send(c, line.data(), line.size(), MSG_NOSIGNAL);
        };
        say("220 slow.test ESMTP\r\n");
        const auto slow_until = std::chrono::steady_clock::now() + 1s;
        std::string in;
        bool data = false, ended = false;
        char buffer[1024];
        for (;;) {
            const auto n = ::recv(c, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            in.append(buffer, static_cast<std::size_t>(n));
            for (std::size_t eol; !data && (eol = in.find("\r\n")) != std::string::npos;) {
                const std::string line = in.substr(0, eol);
                in.erase(0, eol + 2);
                if (line.starts_with("DATA")) {
                    say("354 go on\r\n");
                    data = true;
                } else {
                    say(line.starts_with("QUIT") ? "221 bye\r\n" : "250 ok\r\n");
                }
            }
            if (data) {
                if (in.find("\r\n.\r\n") != std::string::npos) {
                    ended = true;
                    say("250 queued\r\n");
                    data = false;
                }
                if (in.size() > 4) in.erase(0, in.size() - 4);
                if (std::chrono::steady_clock::now() < slow_until)
                    std::this_thread::sleep_for(10ms);
            }
        }
        ::close(c);
        std::lock_guard lock(mutex_);
        ended_ = ended;
        closed_ = true;
        done_.notify_all();
    }

    int listener_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable done_;
    bool ended_ = false;
    bool closed_ = false;
};

/// Sends `m`, checks it is still under way 300 ms later, then drains with a
/// deadline 200 ms ahead; the result the drain gave (none if it gave none).
std::optional<send_result> cut_at_drain(boost::asio::io_context& io, smtp_transport& transport,
                                        message m) {
    std::optional<send_result> result;
    transport.send(std::move(m), [&](const send_result& r) { result = r; });
    CHECK_FALSE(run_until(
        io, [&] { return result.has_value(); }, 300ms));
    bool drained = false;
    transport.drain(std::chrono::steady_clock::now() + 200ms, [&] { drained = true; });
    REQUIRE(run_until(
        io, [&] { return drained; }, 5s));
    return result;
}

TEST_CASE("a message cut at the drain deadline never reaches its end", "[notify][slow]") {
    slow_reader server;
    boost::asio::io_context io;
    smtp_transport transport(io, plain(server.url()));
    auto m = to("camille@example.org");
    m.text.clear();
    for (int i = 0; i < 200'000; ++i)
        m.text += "Une ligne de la description, longue de quarante octets.\n";
    // Under way: the server reads a kilobyte every 10 ms of 11 MB.
    const std::optional<send_result> result = cut_at_drain(io, transport, std::move(m));
    REQUIRE(result);
    CHECK(result->outcome == outcome::transient);
    CHECK(result->error == "aborted at shutdown; the server may or may not have it");
    // Ended with a "." the server would have taken the message cut short.
    CHECK_FALSE(server.data_ended());
}

TEST_CASE("a transfer cut before its message went says the server does not have it",
          "[notify][slow]") {
    smtp_sink sink; // never answers RCPT TO for this address
    boost::asio::io_context io;
    smtp_transport transport(io, plain(sink.url()));
    const std::optional<send_result> result =
        cut_at_drain(io, transport, to("rcptstall@example.org"));
    REQUIRE(result);
    CHECK(result->outcome == outcome::transient);
    CHECK(result->error == "aborted at shutdown, before the message was sent");
}

TEST_CASE("stop cuts what a stalled server keeps waiting, after a second", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    auto settings = plain(sink.url());
    settings.response_timeout = 60s;
    transport_thread transport(io, [&](boost::asio::io_context& inner) {
        return std::make_unique<smtp_transport>(inner, settings);
    });
    bool called = false;
    transport.send(to("stall@example.org"), [&](const send_result&) { called = true; });
    CHECK_FALSE(run_until(io, [&] { return called; }, 1500ms));
    const auto before = std::chrono::steady_clock::now();
    transport.stop();
    const auto took = std::chrono::steady_clock::now() - before;
    CHECK(took >= 1s);
    CHECK(took < 3s);
}

TEST_CASE("a held transport finishes what it started and starts nothing more", "[notify][slow]") {
    one_slot_three_sent f("camille@example.org");
    auto& [sink, io, transport, results] = f;
    transport.hold(true);
    REQUIRE(run_until(io, [&] { return results.size() == 1; }));
    CHECK(results[0].outcome == outcome::accepted);
    // Held, the two others wait, however long.
    CHECK_FALSE(run_until(io, [&] { return results.size() > 1; }, 1s));
    CHECK(transport.in_flight() == 0);
    CHECK(transport.queued() == 2);
    transport.send(to("lea@example.org"), [&](const send_result& r) { results.push_back(r); });
    CHECK_FALSE(run_until(io, [&] { return results.size() > 1; }, 300ms));
    CHECK(transport.queued() == 3);

    transport.hold(false);
    REQUIRE(run_until(io, [&] { return results.size() == 4; }));
    for (const auto& r : results)
        CHECK(r.outcome == outcome::accepted);
}

TEST_CASE("no SMTP handler runs after the transport is destroyed", "[notify][slow]") {
    smtp_sink sink;
    boost::asio::io_context io;
    bool called = false;
    {
        smtp_transport transport(io, plain(sink.url()));
        // A server that never answers the data: however long the poll
        // runs, the transfer is still in flight when the transport goes.
        transport.send(to("stall@example.org"), [&](const send_result&) { called = true; });
        io.restart();
        io.poll(); // connecting, or further
        REQUIRE(transport.in_flight() == 1);
    }
    io.restart();
    io.run_for(1s);
    CHECK_FALSE(called);
}

TEST_CASE("settings are checked at construction", "[notify]") {
    boost::asio::io_context io;
    CHECK_THROWS_AS(smtp_transport(io, plain("http://127.0.0.1:25")), std::invalid_argument);
    CHECK(parse_tls_mode("required") == tls_mode::required);
    CHECK(parse_tls_mode("opportunistic") == tls_mode::opportunistic);
    CHECK(parse_tls_mode("off") == tls_mode::off);
    CHECK_FALSE(parse_tls_mode("yes"));
}

TEST_CASE("curl codes are error_codes with curl's messages", "[notify]") {
    const auto ec = make_error_code(CURLE_COULDNT_CONNECT);
    CHECK(ec.category().name() == std::string("curl"));
    CHECK(ec.message() == "Couldn't connect to server");
    CHECK(ec == std::errc::connection_refused);
    CHECK_FALSE(make_error_code(CURLE_OK));
    const auto mc = make_error_code(CURLM_BAD_SOCKET);
    CHECK(mc.category().name() == std::string("curl-multi"));
    CHECK(mc.message() == curl_multi_strerror(CURLM_BAD_SOCKET));
}

TEST_CASE("server text is kept printable UTF-8", "[notify]") {
    CHECK(printable("250 2.0.0 Ok: queued") == "250 2.0.0 Ok: queued");
    CHECK(printable("451 réessayez 👍") == "451 réessayez 👍");
    CHECK(printable("xyz garbage \xff") == "xyz garbage ?");
    CHECK(printable("451 \x1b]0;pwned\x07\x1b[31m\0x"s) == "451 ?]0;pwned??[31m?x");
    CHECK(printable("550 \xc2\x9b"
                    "31m \xc2\x85 \xe2\x80\xa8 \xe2\x80\xae \xe2\x81\xa6") ==
          "550 ?31m ? ? ? ?"); // C1, U+2028, RLO, LRI
    CHECK(printable("\xc2\xa0\xe2\x80\xa7\xe2\x80\xaf") == "\xc2\xa0\xe2\x80\xa7\xe2\x80\xaf");
    CHECK(printable("\xc3") == "?");             // cut short
    CHECK(printable("\xc0\xaf") == "??");        // overlong
    CHECK(printable("\xed\xa0\x80") == "???");   // a surrogate
    CHECK(printable("\xf4\x90\x80\x80") == "????"); // past U+10FFFF
}
