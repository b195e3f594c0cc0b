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

    /// Results waiting for the owner's thread. They cross over in batches
    /// (one posted handler for all that arrived meanwhile), so the owner
    /// sees a burst's results in one turn of its loop and can record them
    /// in one commit.
    std::mutex lock;
    std::vector<std::pair<send_handler, send_result>> done;
    bool delivery_posted = false;
};

transport_thread::transport_thread(boost::asio::io_context& owner, const factory& make)
    : owner_(owner), work_(inner_io_.get_executor()), shared_(std::make_shared<shared>()),
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
        if (!s->open) return;
        // Called once: the handler moves on rather than being copied.
        inner_->send(std::move(msg), [this, s, handler = std::move(handler)](
                                         const send_result& r) mutable {
            s->inner_in_flight = inner_->in_flight();
            std::lock_guard guard(s->lock);
            s->done.emplace_back(std::move(handler), r);
            if (s->delivery_posted) return;
            s->delivery_posted = true;
            boost::asio::post(owner_, [s] {
                std::vector<std::pair<send_handler, send_result>> batch;
                {
                    std::lock_guard guard(s->lock);
                    batch.swap(s->done);
                    s->delivery_posted = false;
                }
                for (auto& [handler, result] : batch) {
                    --s->pending;
                    if (s->open) handler(result);
                }
            });
        });
        s->inner_in_flight = inner_->in_flight();
    });
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
