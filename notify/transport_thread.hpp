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
#include <mutex>
#include <thread>
#include <vector>

namespace casacal::notify {

/// Where an idle transport_thread takes its next message from: called on
/// that thread once the owner has recorded the thread's last outcome, so
/// that the thread goes on without the owner handing it a message
/// (transport_pool's queue).
class job_source {
  public:
    virtual ~job_source() = default;
    /// The next message for member `who`, or false when there is none for
    /// now: `who` then counts as idle until the owner wakes it.
    virtual bool take(std::size_t who, message& msg, send_handler& handler) = 0;
};

/// Results crossing from transport threads to their owner's thread. They
/// cross in batches (one posted handler for all that arrived meanwhile), so
/// the owner sees a burst's results in one turn of its loop and can record
/// them in one commit. The threads of a pool share one.
class result_relay {
  public:
    explicit result_relay(boost::asio::io_context& owner) : owner_(owner) {}
    /// Any thread: runs `done` on the owner's thread, after those before it.
    void relay(std::function<void()> done);

  private:
    boost::asio::io_context& owner_;
    std::shared_ptr<std::mutex> lock_ = std::make_shared<std::mutex>();
    std::shared_ptr<std::vector<std::function<void()>>> waiting_ =
        std::make_shared<std::vector<std::function<void()>>>();
    std::shared_ptr<bool> posted_ = std::make_shared<bool>(false);
};

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

    /// From now on this thread takes its messages from `source` as member
    /// `who`, one at a time, and hands its results to `results`; after
    /// each, it waits for recorded() before it takes the next. Owner's
    /// thread, before the first send or wake.
    void pull_from(std::shared_ptr<job_source> source, std::size_t who,
                   std::shared_ptr<result_relay> results);
    /// Asks the thread to take a message from its source. Owner's thread.
    void wake();
    /// The last outcome handed back is recorded: the thread takes the next
    /// message, if it was waiting for that.
    void recorded() noexcept override;

  private:
    /// Inner thread: hands `msg` to the inner transport, its result to the
    /// owner's thread.
    void start(message msg, send_handler handler);
    /// Inner thread: the next message from the source, if idle.
    void pull();

    struct shared;
    boost::asio::io_context& owner_;
    boost::asio::io_context inner_io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::unique_ptr<transport> inner_;
    std::shared_ptr<shared> shared_;
    std::shared_ptr<result_relay> results_;
    std::shared_ptr<job_source> source_; ///< set before the first wake, read by the inner thread
    std::size_t who_ = 0;
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
