#pragma once
// The server end of the pickup transport: a minimal SMTP receiver for one
// connection (a socketpair whose other end belongs to curl) that writes each
// message it receives, exactly as an SMTP server would get it, into a
// folder as an .eml file. It speaks just enough SMTP for libcurl:
// greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; 502 otherwise.
//
// io thread only. Keeps itself alive (shared_from_this) while a read or
// write is pending; ends when the peer closes or after QUIT.

#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace casacal::notify {

/// Writes `bytes` into `dir` atomically: a temporary file in `dir`, fsync,
/// rename to `<UTC timestamp>-<Message-ID, filename-safe>.eml`, fsync of the
/// folder. Returns the new file's name (without the folder), or sets `ec`.
std::string write_eml(const std::filesystem::path& dir, std::string_view bytes,
                      std::error_code& ec);

/// One SMTP conversation on `socket`.
class pickup_receiver : public std::enable_shared_from_this<pickup_receiver> {
public:
    pickup_receiver(boost::asio::local::stream_protocol::socket socket, std::filesystem::path dir);
    pickup_receiver(const pickup_receiver&) = delete;
    pickup_receiver& operator=(const pickup_receiver&) = delete;

    /// Sends the greeting and starts reading commands.
    void start();

    /// Closes the connection; pending operations end with operation_aborted.
    void close() noexcept;

private:
    enum class mode { command, data, closing };

    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void process();
    std::string on_command(std::string_view line);
    std::string on_data(std::string_view raw);
    void do_write(std::string reply);
    void on_write(const boost::system::error_code& ec);

    boost::asio::local::stream_protocol::socket socket_;
    std::filesystem::path dir_;
    std::string in_;
    std::string out_;
    char chunk_[16384];
    mode mode_ = mode::command;
    bool have_sender_ = false;
    bool have_recipient_ = false;
};

} // namespace casacal::notify
