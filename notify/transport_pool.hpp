#pragma once
// Several transports used as one. With libcurl 7.88 an SMTP transport's
// thread waits for each end-of-DATA reply in turn (see
// transport_thread.hpp): a server that stalls on one message holds every
// transfer of that thread. So each member (a thread with one connection)
// is given at most `slots` messages at a time, and the rest wait here for
// the first member free: a stalled connection holds its own message, and
// the others go on. io thread only, like every transport.

#include "notify/transport.hpp"

#include <boost/asio/io_context.hpp>

#include <deque>
#include <memory>
#include <vector>

namespace casacal::notify {

class transport_pool final : public transport {
public:
  transport_pool(boost::asio::io_context& io, std::vector<std::unique_ptr<transport>> members,
                 std::size_t slots = 1);
  ~transport_pool() override;

  void send(message msg, send_handler handler) override;
  void drain(std::chrono::steady_clock::time_point deadline, std::function<void()> done) override;
  void hold(bool held) noexcept override;
  void stop() noexcept override;
  std::size_t queued() const noexcept override;
  std::size_t in_flight() const noexcept override;

private:
  struct waiting {
      message msg;
      send_handler handler;
  };
  /// Hands waiting messages to members with a free slot.
  void pump();

  boost::asio::io_context& io_;
  std::vector<std::unique_ptr<transport>> members_;
  std::vector<std::size_t> given_; ///< by member: messages handed and not yet answered
  std::size_t slots_;
  std::deque<waiting> waiting_;
  bool held_ = false;
  bool closed_ = false; ///< draining or stopped: nothing more is handed over
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace casacal::notify
