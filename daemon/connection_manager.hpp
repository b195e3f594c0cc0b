#pragma once
// The open sessions of a server, so that it can count and stop them.
// Io thread only.

#include <cstddef>
#include <unordered_set>

namespace casacal::daemon {

class session;

/// Holds non-owning pointers: a session adds itself when it starts and
/// removes itself in its destructor.
class connection_manager {
  public:
    connection_manager() = default;
    connection_manager(const connection_manager&) = delete;
    connection_manager& operator=(const connection_manager&) = delete;

    void add(session* s) { sessions_.insert(s); }
    void remove(session* s) { sessions_.erase(s); }
    std::size_t size() const { return sessions_.size(); }

    /// Asks every session to close once its current response is written.
    void shutdown_all();
    /// Closes every connection now.
    void close_all();

  private:
    std::unordered_set<session*> sessions_;
};

} // namespace casacal::daemon
