#pragma once
// The transport used when [smtp] has no url: each message becomes an .eml
// file in a folder. It goes through the very same libcurl SMTP code as
// smtp_transport (curl_mime has no way to serialise to memory): curl talks
// SMTP to an in-process pickup_receiver, so the file holds exactly the
// bytes an SMTP server would receive.
//
// The receiver listens on a Unix socket in a private (0700) folder under
// the temporary directory, reached with CURLOPT_UNIX_SOCKET_PATH, and runs
// on its own small thread and io_context: libcurl 7.88 waits for the reply
// to the end of DATA inside curl_multi_socket_action (curl issue #8555), so
// a receiver on the caller's thread could never send that reply. A
// socketpair handed to curl through CURLOPT_OPENSOCKETFUNCTION +
// CURL_SOCKOPT_ALREADY_CONNECTED would need no path, but libcurl 7.88
// (Debian 12) calls connect() on such a socket anyway and fails (curl
// issue #10626, fixed in 8.0.0).
//
// The public interface is io thread only (the caller's io_context, which
// must outlive the transport); the receiver thread never touches it. After
// stop() or destruction no handler is called.

#include "notify/smtp_transport.hpp"
#include "notify/transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

namespace casacal::notify {

class pickup_receiver;

class pickup_transport final : public transport {
public:
    /// Creates `dir` if needed and starts listening. Throws
    /// std::filesystem::filesystem_error or std::system_error when it cannot.
    /// `max_in_flight` messages are written concurrently, and at most
    /// `max_per_minute` are started per rolling minute (0: no limit), as
    /// [smtp] max_per_minute says for the messages a relay would get.
    pickup_transport(boost::asio::io_context& io, std::filesystem::path dir,
                     int max_per_minute = 0, std::size_t max_in_flight = 2);
    ~pickup_transport() override;

    /// On success the result's reply is "250 2.0.0 written <file name>".
    void send(message msg, send_handler handler) override;
    void drain(std::chrono::steady_clock::time_point deadline,
               std::function<void()> done) override;
    void hold(bool held) noexcept override;
    void stop() noexcept override;
    std::size_t queued() const noexcept override;
    std::size_t in_flight() const noexcept override;

    const std::filesystem::path& dir() const noexcept { return dir_; }

private:
    void do_accept();
    void close_receivers() noexcept;

    std::filesystem::path dir_;
    std::filesystem::path socket_dir_;
    boost::asio::io_context receiver_io_; ///< run by receiver_thread_ only
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::vector<std::weak_ptr<pickup_receiver>> receivers_; ///< receiver thread only
    std::thread receiver_thread_;
    std::unique_ptr<smtp_transport> smtp_;
};

} // namespace casacal::notify
