#include "notify/transport_thread.hpp"

#include <boost/asio/post.hpp>

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
    : owner_(owner), work_(inner_io_.get_executor()), shared_(std::make_shared<shared>()) {
    inner_ = make(inner_io_);
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
    boost::asio::post(inner_io_, [this, s = shared_, deadline, done = std::move(done)]() mutable {
        inner_->drain(deadline, [this, s, done = std::move(done)] {
            boost::asio::post(owner_, [done] { done(); });
        });
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
    // The inner transport is destroyed on its own thread, then the thread ends.
    boost::asio::post(inner_io_, [this] {
        inner_->stop();
        inner_.reset();
        work_.reset();
        inner_io_.stop();
    });
    thread_.join();
}

std::size_t transport_thread::queued() const noexcept {
    auto pending = shared_->pending.load();
    auto flying = shared_->inner_in_flight.load();
    return pending > flying ? pending - flying : 0;
}

std::size_t transport_thread::in_flight() const noexcept { return shared_->inner_in_flight.load(); }

} // namespace casacal::notify
