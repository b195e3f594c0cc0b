#pragma once
// The reminders feature inside `casacal serve`: the mail transport (SMTP in
// its own thread, or the pickup folder), the outbox dispatcher, replanning
// after each reload and every hour, the unsubscribe and subscribe routes,
// and the reminder lines of /healthz and /metrics.
//
// io thread only. Construct before service::run(); it outlives it.

#include "daemon/service.hpp"

#include <memory>

namespace casacal::daemon {

class reminders {
  public:
    /// Registers itself with `svc` (service::extend).
    explicit reminders(service& svc);
    ~reminders();
    reminders(const reminders&) = delete;
    reminders& operator=(const reminders&) = delete;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace casacal::daemon
