#include "notify/pickup_transport.hpp"

#include "notify/pickup_receiver.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>

namespace casacal::notify {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

std::filesystem::path private_socket_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "casacal-pickup-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) // mode 0700: nobody else can reach the socket
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    return pattern;
}

} // namespace

pickup_transport::pickup_transport(asio::io_context& io, std::filesystem::path dir,
                                   int max_per_minute, std::size_t max_in_flight)
    : dir_(std::move(dir)), acceptor_(receiver_io_) {
    std::filesystem::create_directories(dir_);
    socket_dir_ = private_socket_dir();
    const auto socket_path = socket_dir_ / "smtp.sock";
    try {
        acceptor_.open(stream());
        acceptor_.bind(stream::endpoint(socket_path.string()));
        acceptor_.listen();
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(socket_dir_, ignored);
        throw;
    }
    do_accept();
    receiver_thread_ = std::thread([this] { receiver_io_.run(); });

    smtp_settings s;
    s.url = "smtp://pickup.invalid/localhost";
    s.unix_socket = socket_path.string();
    s.starttls = tls_mode::off;
    s.max_in_flight = max_in_flight;
    s.max_per_minute = max_per_minute;
    s.connect_timeout = std::chrono::seconds(5);
    s.response_timeout = std::chrono::seconds(30);
    try {
        smtp_ = std::make_unique<smtp_transport>(io, std::move(s));
    } catch (...) {
        close_receivers();
        std::error_code ignored;
        std::filesystem::remove_all(socket_dir_, ignored);
        throw;
    }
}

pickup_transport::~pickup_transport() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(socket_dir_, ignored);
}

// Receiver thread: the handler runs only while receiver_thread_ runs, and
// the thread is joined before `this` goes away.
void pickup_transport::do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, stream::socket socket) {
        if (ec == asio::error::operation_aborted)
            return;
        if (!ec) {
            auto receiver = std::make_shared<pickup_receiver>(std::move(socket), dir_);
            receiver->start();
            std::erase_if(receivers_, [](const auto& weak) { return weak.expired(); });
            receivers_.push_back(receiver);
        }
        do_accept();
    });
}

void pickup_transport::close_receivers() noexcept {
    receiver_io_.stop();
    if (receiver_thread_.joinable())
        receiver_thread_.join();
    // The receiver thread is gone: its objects are ours to touch now.
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& weak : receivers_)
        if (auto receiver = weak.lock())
            receiver->close();
    receivers_.clear();
}

void pickup_transport::send(message msg, send_handler handler) {
    smtp_->send(std::move(msg), std::move(handler));
}

void pickup_transport::drain(std::chrono::steady_clock::time_point deadline,
                             std::function<void()> done) {
    smtp_->drain(deadline, std::move(done));
}

void pickup_transport::hold(bool held) noexcept { smtp_->hold(held); }

void pickup_transport::stop() noexcept {
    // Receivers first: curl then finds its connections closed instead of
    // waiting, at cleanup, for a reply to QUIT that nobody would send.
    close_receivers();
    smtp_->stop();
}

std::size_t pickup_transport::queued() const noexcept { return smtp_->queued(); }

std::size_t pickup_transport::in_flight() const noexcept { return smtp_->in_flight(); }

} // namespace casacal::notify
