#pragma once
// Several SMTP threads used as one transport. With libcurl 7.88 an SMTP
// transport's thread waits for each end-of-DATA reply in turn (see
// transport_thread.hpp): a server that stalls on one message holds every
// transfer of that thread. So each member (a thread with one connection)
// has at most one message at a time, and the rest wait in a queue that the
// members take from themselves: a stalled connection holds its own message
// only. A member takes its next message once the outcome of its last one is
// recorded (recorded()), so that a crash repeats at most one message per
// connection. io thread only, like every transport; the queue is what the
// threads share.

#include "notify/transport.hpp"
#include "notify/transport_thread.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <vector>

namespace casacal::notify {

class transport_pool final : public transport {
public:
  transport_pool(boost::asio::io_context& io,
                 std::vector<std::unique_ptr<transport_thread>> members);
  ~transport_pool() override;

  void send(message msg, send_handler handler) override;
  void drain(std::chrono::steady_clock::time_point deadline, std::function<void()> done) override;
  void hold(bool held) noexcept override;
  void stop() noexcept override;
  void recorded() noexcept override;
  std::size_t queued() const noexcept override;
  std::size_t in_flight() const noexcept override;

private:
  class queue;
  /// Wakes the idle members the queue names.
  void wake(const std::vector<std::size_t>& members);

  boost::asio::io_context& io_;
  std::shared_ptr<queue> queue_;
  std::vector<std::unique_ptr<transport_thread>> members_;
  bool closed_ = false; ///< draining or stopped: nothing more is taken
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace casacal::notify
