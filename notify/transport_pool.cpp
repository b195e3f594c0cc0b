#include "notify/transport_pool.hpp"

#include <algorithm>
#include <memory>

namespace casacal::notify {

transport_pool::transport_pool(std::vector<std::unique_ptr<transport>> members)
    : members_(std::move(members)) {}

void transport_pool::send(message msg, send_handler handler) {
    auto least = std::min_element(members_.begin(), members_.end(), [](const auto& a, const auto& b) {
        return a->queued() + a->in_flight() < b->queued() + b->in_flight();
    });
    (*least)->send(std::move(msg), std::move(handler));
}

void transport_pool::drain(std::chrono::steady_clock::time_point deadline,
                           std::function<void()> done) {
    // `done` once, after the last member drained.
    auto left = std::make_shared<std::size_t>(members_.size());
    auto finished = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& m : members_)
        m->drain(deadline, [left, finished] {
            if (--*left == 0 && *finished) (*finished)();
        });
}

void transport_pool::hold(bool held) noexcept {
    for (auto& m : members_)
        m->hold(held);
}

void transport_pool::stop() noexcept {
    for (auto& m : members_)
        m->stop();
}

std::size_t transport_pool::queued() const noexcept {
    std::size_t n = 0;
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
