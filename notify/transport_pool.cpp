#include "notify/transport_pool.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <memory>
#include <utility>

namespace casacal::notify {

transport_pool::transport_pool(boost::asio::io_context& io,
                               std::vector<std::unique_ptr<transport>> members, std::size_t slots)
    : io_(io), members_(std::move(members)), given_(members_.size()),
      slots_(std::max<std::size_t>(slots, 1)) {}

transport_pool::~transport_pool() {
    *alive_ = false;
}

void transport_pool::send(message msg, send_handler handler) {
    if (closed_) {
        boost::asio::post(io_, [alive = alive_, handler = std::move(handler)] {
            if (*alive) handler(not_started());
        });
        return;
    }
    waiting_.push_back({std::move(msg), std::move(handler)});
    pump();
}

void transport_pool::pump() {
    while (!held_ && !closed_ && !waiting_.empty()) {
        // The first member with a free slot: under a light load the same
        // few connections stay warm.
        std::size_t m = 0;
        while (m < members_.size() && given_[m] >= slots_)
            ++m;
        if (m == members_.size()) return;
        waiting w = std::move(waiting_.front());
        waiting_.pop_front();
        ++given_[m];
        members_[m]->send(std::move(w.msg), [this, alive = alive_, m,
                                             handler = std::move(w.handler)](const send_result& r) {
            if (!*alive) return;
            --given_[m];
            handler(r); // may send more: the slot is free for it
            pump();
        });
    }
}

void transport_pool::drain(std::chrono::steady_clock::time_point deadline,
                           std::function<void()> done) {
    closed_ = true;
    // What no member has started goes back as it was, at once.
    for (auto& w : std::exchange(waiting_, {}))
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
    held_ = held;
    for (auto& m : members_)
        m->hold(held);
    if (!held) pump();
}

void transport_pool::stop() noexcept {
    closed_ = true;
    *alive_ = false;
    waiting_.clear();
    for (auto& m : members_)
        m->stop();
}

std::size_t transport_pool::queued() const noexcept {
    std::size_t n = waiting_.size();
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
