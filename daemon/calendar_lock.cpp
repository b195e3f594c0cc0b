#include "daemon/calendar_lock.hpp"

namespace casacal::daemon {

std::mutex& calendar_mutex() {
    static std::mutex m;
    return m;
}

} // namespace casacal::daemon
