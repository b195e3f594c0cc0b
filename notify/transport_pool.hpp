#pragma once
// Several transports used as one: each message goes to the member with the
// fewest messages pending. With libcurl 7.88 an SMTP transport's thread
// waits for each end-of-DATA reply in turn (see transport_thread.hpp), so
// a few SMTP threads, each with its share of the connections, keep a burst
// flowing. io thread only, like every transport.

#include "notify/transport.hpp"

#include <memory>
#include <vector>

namespace casacal::notify {

class transport_pool final : public transport {
public:
    explicit transport_pool(std::vector<std::unique_ptr<transport>> members);

    void send(message msg, send_handler handler) override;
    void drain(std::chrono::steady_clock::time_point deadline,
               std::function<void()> done) override;
    void hold(bool held) noexcept override;
    void stop() noexcept override;
    std::size_t queued() const noexcept override;
    std::size_t in_flight() const noexcept override;

private:
    std::vector<std::unique_ptr<transport>> members_;
};

} // namespace casacal::notify
