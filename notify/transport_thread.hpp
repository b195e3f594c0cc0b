#pragma once
// A transport run on a thread of its own. libcurl 7.88 waits for the SMTP
// server's reply to the end of DATA inside curl_multi_socket_action (curl
// issue #8555), so an smtp_transport on the daemon's io thread would stall
// HTTP serving for as long as the server takes to answer. This decorator
// gives the inner transport its own io_context and thread; messages are
// posted there and results posted back, so callers keep the single-thread
// interface of `transport`.
//
// Public interface: the owner's io thread only. Handlers run there.

#include "notify/transport.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace casacal::notify {

class transport_thread final : public transport {
public:
    /// Builds the inner transport with `make` for the new thread's io_context
    /// (called here, before that thread starts).
    /// Rethrows what `make` throws.
    using factory = std::function<std::unique_ptr<transport>(boost::asio::io_context&)>;
    transport_thread(boost::asio::io_context& owner, const factory& make);
    ~transport_thread() override;

    void send(message msg, send_handler handler) override;
    void drain(std::chrono::steady_clock::time_point deadline,
               std::function<void()> done) override;
    void hold(bool held) noexcept override;
    void stop() noexcept override;
    std::size_t queued() const noexcept override;
    std::size_t in_flight() const noexcept override;
    std::function<void()> cutter() const override { return cut_; }

private:
    struct shared;
    boost::asio::io_context& owner_;
    boost::asio::io_context inner_io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::unique_ptr<transport> inner_;
    std::shared_ptr<shared> shared_;
    /// The inner transport's cutter. Its thread may sit in libcurl, which
    /// waits for a reply to the end of DATA (and to QUIT, when it closes a
    /// connection) for up to the response timeout: a drain past its deadline
    /// and a stop that takes more than a second cut the connections from
    /// here, so SIGTERM stays bounded however the server behaves.
    std::function<void()> cut_;
    /// Armed by drain() on the owner's loop; shared with the handler that
    /// cancels it once drained, so that it never holds the loop's run() for
    /// the length of the drain.
    std::shared_ptr<boost::asio::steady_timer> cut_timer_;
    std::thread thread_;
};

} // namespace casacal::notify
