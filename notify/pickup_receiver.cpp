#include "notify/pickup_receiver.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace casacal::notify {

namespace asio = boost::asio;

namespace {

constexpr std::size_t k_max_line = 4096;
constexpr std::size_t k_max_message = 64 * 1024 * 1024;

bool verb_is(std::string_view line, std::string_view verb) {
    if (line.size() < verb.size())
        return false;
    for (std::size_t i = 0; i < verb.size(); ++i) {
        auto c = line[i];
        if (c >= 'a' && c <= 'z')
            c = char(c - 'a' + 'A');
        if (c != verb[i])
            return false;
    }
    return line.size() == verb.size() || line[verb.size()] == ' ' || line[verb.size()] == ':';
}

/// The Message-ID from the header block, reduced to characters safe in a
/// file name.
std::string message_id_for_filename(std::string_view bytes) {
    const auto header_end = bytes.find("\r\n\r\n");
    const auto headers = bytes.substr(0, header_end);
    std::size_t start = 0;
    while (start < headers.size()) {
        auto end = headers.find("\r\n", start);
        if (end == std::string_view::npos)
            end = headers.size();
        const auto line = headers.substr(start, end - start);
        if (line.size() > 11 && verb_is(line.substr(0, 10), "MESSAGE-ID") && line[10] == ':') {
            auto id = line.substr(11);
            if (const auto open = id.find('<'); open != std::string_view::npos)
                id = id.substr(open + 1);
            if (const auto close = id.find('>'); close != std::string_view::npos)
                id = id.substr(0, close);
            std::string safe;
            for (const char c : id.substr(0, 120)) {
                const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
                                c == '@' || c == '+';
                safe += ok ? c : '_';
            }
            if (!safe.empty() && safe.front() != '.')
                return safe;
        }
        start = end + 2;
    }
    return "no-message-id";
}

std::string utc_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const auto seconds = std::chrono::system_clock::to_time_t(now);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            now.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%04d%02d%02dT%02d%02d%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(micros));
    return buffer;
}

std::error_code last_errno() { return {errno, std::generic_category()}; }

/// Undoes SMTP transparency (RFC 5321 4.5.2): a line starting with '.' had
/// one more '.' added by the client.
std::string unstuff(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    bool line_start = true;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (line_start && raw[i] == '.') {
            line_start = false;
            continue;
        }
        out += raw[i];
        line_start = raw[i] == '\n' && i > 0 && raw[i - 1] == '\r';
    }
    return out;
}

} // namespace

std::string write_eml(const std::filesystem::path& dir, std::string_view bytes,
                      std::error_code& ec) {
    ec.clear();
    auto temp = (dir / ".incoming-XXXXXX").string();
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) {
        ec = last_errno();
        return {};
    }
    auto fail = [&] {
        ec = last_errno();
        ::close(fd);
        ::unlink(temp.c_str());
        return std::string();
    };
    for (std::size_t done = 0; done < bytes.size();) {
        const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail();
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, 0640) != 0 || ::fsync(fd) != 0)
        return fail();
    if (::close(fd) != 0) {
        ec = last_errno();
        ::unlink(temp.c_str());
        return {};
    }
    const auto name = utc_timestamp() + "-" + message_id_for_filename(bytes) + ".eml";
    if (::rename(temp.c_str(), (dir / name).c_str()) != 0) {
        ec = last_errno();
        ::unlink(temp.c_str());
        return {};
    }
    // The rename is durable only once the folder itself is synced.
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
        ec = last_errno();
        if (dir_fd >= 0)
            ::close(dir_fd);
        return {};
    }
    ::close(dir_fd);
    return name;
}

pickup_receiver::pickup_receiver(asio::local::stream_protocol::socket socket,
                                 std::filesystem::path dir)
    : socket_(std::move(socket)), dir_(std::move(dir)) {}

void pickup_receiver::start() { do_write("220 pickup.invalid ESMTP casacal pickup\r\n"); }

void pickup_receiver::close() noexcept {
    mode_ = mode::closing;
    boost::system::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
}

void pickup_receiver::do_read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        std::size_t n) { self->on_read(ec, n); });
}

void pickup_receiver::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (ec || mode_ == mode::closing)
        return close(); // end of file from curl, or we are stopping
    in_.append(chunk_, n);
    process();
}

void pickup_receiver::process() {
    if (mode_ == mode::data) {
        std::size_t end = std::string::npos;
        std::size_t consumed = 0;
        if (in_.starts_with(".\r\n")) {
            end = 0;
            consumed = 3;
        } else if (const auto at = in_.find("\r\n.\r\n"); at != std::string::npos) {
            end = at + 2;
            consumed = at + 5;
        }
        if (end == std::string::npos) {
            if (in_.size() > k_max_message) {
                mode_ = mode::closing;
                return do_write("552 5.3.4 message too big\r\n");
            }
            return do_read();
        }
        auto reply = on_data(std::string_view(in_).substr(0, end));
        in_.erase(0, consumed);
        mode_ = mode::command;
        return do_write(std::move(reply));
    }
    const auto eol = in_.find("\r\n");
    if (eol == std::string::npos) {
        if (in_.size() > k_max_line) {
            mode_ = mode::closing;
            return do_write("500 5.5.6 line too long\r\n");
        }
        return do_read();
    }
    const auto line = in_.substr(0, eol);
    in_.erase(0, eol + 2);
    do_write(on_command(line));
}

std::string pickup_receiver::on_command(std::string_view line) {
    if (verb_is(line, "EHLO") || verb_is(line, "HELO")) {
        have_sender_ = have_recipient_ = false;
        return "250 pickup.invalid\r\n";
    }
    if (verb_is(line, "MAIL")) {
        have_sender_ = true;
        have_recipient_ = false;
        return "250 2.1.0 Ok\r\n";
    }
    if (verb_is(line, "RCPT")) {
        if (!have_sender_)
            return "503 5.5.1 MAIL first\r\n";
        have_recipient_ = true;
        return "250 2.1.5 Ok\r\n";
    }
    if (verb_is(line, "DATA")) {
        if (!have_recipient_)
            return "503 5.5.1 RCPT first\r\n";
        mode_ = mode::data;
        return "354 End data with <CR><LF>.<CR><LF>\r\n";
    }
    if (verb_is(line, "RSET")) {
        have_sender_ = have_recipient_ = false;
        return "250 2.0.0 Ok\r\n";
    }
    if (verb_is(line, "NOOP"))
        return "250 2.0.0 Ok\r\n";
    if (verb_is(line, "QUIT")) {
        mode_ = mode::closing;
        return "221 2.0.0 Bye\r\n";
    }
    return "502 5.5.2 Command not implemented\r\n";
}

std::string pickup_receiver::on_data(std::string_view raw) {
    have_sender_ = have_recipient_ = false;
    std::error_code ec;
    const auto name = write_eml(dir_, unstuff(raw), ec);
    if (ec)
        return "451 4.3.0 cannot write to the pickup folder: " + ec.message() + "\r\n";
    return "250 2.0.0 written " + name + "\r\n";
}

void pickup_receiver::do_write(std::string reply) {
    out_ = std::move(reply);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t) { self->on_write(ec); });
}

void pickup_receiver::on_write(const boost::system::error_code& ec) {
    if (ec || mode_ == mode::closing)
        return close();
    process();
}

} // namespace casacal::notify
