#pragma once
// libical keeps a process-wide time-zone cache that it fills lazily, so the
// calendar module may run on one thread at a time. The rebuild worker and
// the io thread (the /api/events expansion) both hold this lock around each
// calendar call; each call is short, so the io thread waits at most one.

#include <mutex>

namespace casacal::daemon {

/// Held around every casacal::calendar call made by the daemon.
std::mutex& calendar_mutex();

} // namespace casacal::daemon
