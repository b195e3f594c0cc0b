#include "notify/transport_thread.hpp"

#include <boost/asio/post.hpp>

#include <future>
#include <mutex>
#include <utility>
#include <vector>

namespace casacal::notify {

/// What both threads read: whether the owner still wants results, and the
/// counters behind queued()/in_flight().
struct transport_thread::shared {
    std::atomic<bool> open{true};
    std::atomic<std::size_t> pending{0}; ///< handed over, result not yet delivered
    std::atomic<std::size_t> inner_in_flight{0};
    /// Owner's thread only: an outcome was handed back since the last
    /// recorded(), so the thread waits before taking the next message.
    bool unrecorded = false;
};

void result_relay::relay(std::function<void()> done) {
    std::lock_guard guard(*lock_);
    waiting_->push_back(std::move(done));
    if (*posted_) return;
    *posted_ = true;
    // The batch's parts outlive the relay until the owner's loop runs it.
    boost::asio::post(owner_, [lock = lock_, waiting = waiting_, posted = posted_] {
        std::vector<std::function<void()>> batch;
        {
            std::lock_guard guard(*lock);
            batch.swap(*waiting);
            *posted = false;
        }
        for (auto& done : batch)
            done();
    });
}

transport_thread::transport_thread(boost::asio::io_context& owner, const factory& make)
    : owner_(owner), work_(inner_io_.get_executor()), shared_(std::make_shared<shared>()),
      results_(std::make_shared<result_relay>(owner)),
      cut_timer_(std::make_shared<boost::asio::steady_timer>(owner)) {
    inner_ = make(inner_io_);
    cut_ = inner_->cutter();
    thread_ = std::thread([this] { inner_io_.run(); });
}

transport_thread::~transport_thread() { stop(); }

void transport_thread::send(message msg, send_handler handler) {
    ++shared_->pending;
    boost::asio::post(inner_io_, [this, s = shared_, msg = std::move(msg),
                                  handler = std::move(handler)]() mutable {
        if (s->open) start(std::move(msg), std::move(handler));
    });
}

void transport_thread::pull_from(std::shared_ptr<job_source> source, std::size_t who,
                                 std::shared_ptr<result_relay> results) {
    source_ = std::move(source);
    who_ = who;
    results_ = std::move(results);
}

void transport_thread::wake() {
    boost::asio::post(inner_io_, [this, s = shared_] {
        if (s->open) pull();
    });
}

void transport_thread::recorded() noexcept {
    if (!source_ || !shared_->unrecorded) return;
    shared_->unrecorded = false;
    try {
        wake();
    } catch (...) { // out of memory: the next recorded() wakes it
        shared_->unrecorded = true;
    }
}

void transport_thread::pull() {
    if (!source_ || !inner_ || inner_->in_flight() + inner_->queued() > 0) return;
    message msg;
    send_handler handler;
    if (!source_->take(who_, msg, handler)) return;
    ++shared_->pending;
    start(std::move(msg), std::move(handler));
}

void transport_thread::start(message msg, send_handler handler) {
    // Called once: the handler moves on rather than being copied.
    inner_->send(std::move(msg),
                 [this, s = shared_, handler = std::move(handler)](const send_result& r) mutable {
                     s->inner_in_flight = inner_->in_flight();
                     // Pulling, the next message waits for recorded().
                     results_->relay(
                         [s, pulling = source_ != nullptr, handler = std::move(handler), r] {
                             --s->pending;
                             if (pulling) s->unrecorded = true;
                             if (s->open) handler(r);
                         });
                 });
    shared_->inner_in_flight = inner_->in_flight();
}

void transport_thread::drain(std::chrono::steady_clock::time_point deadline,
                             std::function<void()> done) {
    auto drained = std::make_shared<bool>(false);
    std::weak_ptr<boost::asio::steady_timer> timer = cut_timer_;
    boost::asio::post(inner_io_, [this, s = shared_, deadline, drained, timer,
                                  done = std::move(done)]() mutable {
        inner_->drain(deadline, [this, s, drained, timer, done = std::move(done)] {
            boost::asio::post(owner_, [drained, timer, done] {
                *drained = true;
                if (auto t = timer.lock()) t->cancel();
                done();
            });
        });
    });
    if (!cut_) return;
    // The inner deadline fires on the inner thread, which libcurl may hold.
    cut_timer_->expires_at(deadline + std::chrono::milliseconds(100));
    cut_timer_->async_wait([cut = cut_, drained](const boost::system::error_code& ec) {
        if (!ec && !*drained) cut();
    });
}

void transport_thread::hold(bool held) noexcept {
    if (!thread_.joinable()) return;
    try {
        boost::asio::post(inner_io_, [this, s = shared_, held] {
            if (s->open && inner_) inner_->hold(held);
        });
    } catch (...) { // out of memory: the transport keeps its current state
    }
}

void transport_thread::stop() noexcept {
    if (!thread_.joinable()) return;
    shared_->open = false;
    cut_timer_->cancel();
    // The inner transport is destroyed on its own thread, then the thread ends.
    auto finished = std::make_shared<std::promise<void>>();
    auto ended = finished->get_future();
    boost::asio::post(inner_io_, [this, finished] {
        inner_->stop();
        inner_.reset();
        work_.reset();
        inner_io_.stop();
        finished->set_value();
    });
    // A second is plenty for QUIT on a live connection.
    if (cut_ && ended.wait_for(std::chrono::seconds(1)) != std::future_status::ready) cut_();
    thread_.join();
}

std::size_t transport_thread::queued() const noexcept {
    auto pending = shared_->pending.load();
    auto flying = shared_->inner_in_flight.load();
    return pending > flying ? pending - flying : 0;
}

std::size_t transport_thread::in_flight() const noexcept { return shared_->inner_in_flight.load(); }

} // namespace casacal::notify
