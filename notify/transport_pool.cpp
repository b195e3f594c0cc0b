#include "notify/transport_pool.hpp"

#include <boost/asio/post.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <utility>

namespace casacal::notify {

/// The messages no member has taken yet, and which members wait for one.
class transport_pool::queue final : public job_source {
  public:
    struct waiting {
        message msg;
        send_handler handler;
    };

    explicit queue(std::size_t members) : idle_(members, true) {}

    bool take(std::size_t who, message& msg, send_handler& handler) override {
        std::lock_guard guard(lock_);
        if (held_ || closed_ || waiting_.empty()) {
            idle_[who] = true;
            return false;
        }
        msg = std::move(waiting_.front().msg);
        handler = std::move(waiting_.front().handler);
        waiting_.pop_front();
        idle_[who] = false;
        return true;
    }

    /// Queues a message; the members to wake for it (none while held or when
    /// every member is busy: the first one done takes it).
    std::vector<std::size_t> add(message msg, send_handler handler) {
        std::lock_guard guard(lock_);
        waiting_.push_back({std::move(msg), std::move(handler)});
        return idle_members();
    }

    /// Holds the queue or lets it go again; the members to wake.
    std::vector<std::size_t> hold(bool held) {
        std::lock_guard guard(lock_);
        held_ = held;
        return idle_members();
    }

    /// Nothing more is taken; what waited is returned.
    std::deque<waiting> close() {
        std::lock_guard guard(lock_);
        closed_ = true;
        return std::exchange(waiting_, {});
    }

    std::size_t size() const {
        std::lock_guard guard(lock_);
        return waiting_.size();
    }

  private:
    /// As many idle members as there are messages waiting, marked busy: the
    /// first ones, so that under a light load the same connections stay warm.
    std::vector<std::size_t> idle_members() {
        std::vector<std::size_t> woken;
        if (held_ || closed_) return woken;
        for (std::size_t m = 0; m < idle_.size() && woken.size() < waiting_.size(); ++m)
            if (idle_[m]) {
                idle_[m] = false;
                woken.push_back(m);
            }
        return woken;
    }

    mutable std::mutex lock_;
    std::deque<waiting> waiting_;
    std::vector<bool> idle_; ///< by member: found nothing to take, not woken since
    bool held_ = false;
    bool closed_ = false;
};

transport_pool::transport_pool(boost::asio::io_context& io,
                               std::vector<std::unique_ptr<transport_thread>> members)
    : io_(io), queue_(std::make_shared<queue>(members.size())), members_(std::move(members)) {
    auto results = std::make_shared<result_relay>(io);
    for (std::size_t m = 0; m < members_.size(); ++m)
        members_[m]->pull_from(queue_, m, results);
}

transport_pool::~transport_pool() {
    *alive_ = false;
    queue_->close();
}

void transport_pool::send(message msg, send_handler handler) {
    if (closed_) {
        boost::asio::post(io_, [alive = alive_, handler = std::move(handler)] {
            if (*alive) handler(not_started());
        });
        return;
    }
    wake(queue_->add(std::move(msg), std::move(handler)));
}

void transport_pool::wake(const std::vector<std::size_t>& members) {
    for (std::size_t m : members)
        members_[m]->wake();
}

void transport_pool::drain(std::chrono::steady_clock::time_point deadline,
                           std::function<void()> done) {
    closed_ = true;
    // What no member has taken goes back as it was, at once.
    for (auto& w : queue_->close())
        boost::asio::post(io_, [alive = alive_, handler = std::move(w.handler)] {
            if (*alive) handler(not_started());
        });
    // `done` once, after the last member drained.
    auto left = std::make_shared<std::size_t>(members_.size());
    auto finished = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& m : members_)
        m->drain(deadline, [left, finished] {
            if (--*left == 0 && *finished) (*finished)();
        });
}

void transport_pool::hold(bool held) noexcept {
    try {
        for (auto& m : members_)
            m->hold(held);
        wake(queue_->hold(held));
    } catch (...) { // out of memory: the queue keeps its state, members wake later
    }
}

void transport_pool::stop() noexcept {
    closed_ = true;
    *alive_ = false;
    queue_->close(); // handlers dropped: none is called after stop
    for (auto& m : members_)
        m->stop();
}

void transport_pool::recorded() noexcept {
    for (auto& m : members_)
        m->recorded();
}

std::size_t transport_pool::queued() const noexcept {
    std::size_t n = queue_->size();
    for (const auto& m : members_)
        n += m->queued();
    return n;
}

std::size_t transport_pool::in_flight() const noexcept {
    std::size_t n = 0;
    for (const auto& m : members_)
        n += m->in_flight();
    return n;
}

} // namespace casacal::notify
