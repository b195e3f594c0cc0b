#include "daemon/connection_manager.hpp"

#include "daemon/session.hpp"

#include <vector>

namespace casacal::daemon {

void connection_manager::shutdown_all() {
    // A copy: closing a socket never destroys a session synchronously, but
    // keep iteration independent of the set anyway.
    std::vector<session*> all(sessions_.begin(), sessions_.end());
    for (session* s : all)
        s->shutdown();
}

void connection_manager::close_all() {
    std::vector<session*> all(sessions_.begin(), sessions_.end());
    for (session* s : all)
        s->close();
}

} // namespace casacal::daemon
