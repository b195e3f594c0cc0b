#pragma once
// What the reminder dispatcher needs from a mail transport: hand over one
// message, hear back once how it went. smtp_transport talks to a real
// server; pickup_transport writes .eml files through the same code path.

#include "notify/message.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <system_error>

namespace casacal::notify {

/// How a send ended, as far as retrying is concerned.
enum class outcome {
    accepted,  ///< the server took responsibility for the message (2xx after DATA)
    transient, ///< 4xx, connection/TLS/timeout failure, or not attempted: retry later
    permanent, ///< 5xx to RCPT or DATA, or a message that cannot be built: do not retry
};

/// "accepted", "transient" or "permanent".
const char* to_string(outcome o) noexcept;

/// The result of one send.
struct send_result {
    notify::outcome outcome = outcome::transient;
    int smtp_code = 0;     ///< the reply code behind `reply`, 0 when there was none
    std::string reply;     ///< the server's last reply line, e.g. "250 2.0.0 Ok: queued as ABC"
    std::string error;     ///< why it was not accepted (curl's error text or ours); never a password
    std::error_code code;  ///< a CURLcode (curl_easy_category) or message_error; empty when accepted
    /// The transport stopped before starting it: nothing of it left, and it
    /// goes back to the outbox as it was (outcome transient).
    bool never_started = false;

    /// Why it was not accepted, as an operator reads it: a server's refusal
    /// says it best; otherwise (timeout, connection lost, no STARTTLS)
    /// the error does, followed by the last reply, which is older news.
    std::string reason() const {
        if (smtp_code >= 400 || error.empty()) return reply;
        if (reply.empty()) return error;
        return error + " (last reply: " + reply + ")";
    }
};

/// The result of a message a stopping transport never started: it goes back
/// to the outbox as it was (never_started, outcome transient).
send_result not_started();

/// Called exactly once per send, on the io thread, unless the transport is
/// stopped or destroyed first.
using send_handler = std::function<void(const send_result&)>;

/// A mail transport bound to one io_context. io thread only.
class transport {
public:
    transport() = default;
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;
    virtual ~transport() = default;

    /// Queues `msg` for its single recipient `msg.to`. Never calls `handler`
    /// before returning.
    virtual void send(message msg, send_handler handler) = 0;

    /// For shutdown: starts nothing new (queued messages complete at once as
    /// transient, "not attempted"), lets transfers in flight finish until
    /// `deadline`, then aborts the rest (transient) and calls `done`.
    virtual void drain(std::chrono::steady_clock::time_point deadline,
                       std::function<void()> done) = 0;

    /// While held, nothing new starts: queued messages wait and transfers in
    /// flight finish (drain still gives the queue back). The dispatcher holds
    /// the transport while the database cannot record what it sends.
    virtual void hold(bool held) noexcept = 0;

    /// Abandons everything at once; no handler is called afterwards.
    virtual void stop() noexcept = 0;

    /// The outcomes handed back so far are committed to the outbox. A
    /// transport whose connections wait for this before their next message
    /// (transport_pool) lets them go on: a crash can then repeat at most one
    /// message per connection, the one it was sending or had just sent.
    virtual void recorded() noexcept {}

    /// Messages waiting for a connection slot or a rate token.
    virtual std::size_t queued() const noexcept = 0;

    /// Transfers currently talking to the server.
    virtual std::size_t in_flight() const noexcept = 0;

    /// A call that closes the transport's connections at once, from any
    /// thread, even after the transport is gone: whatever waits on a server
    /// then gives up. For a stopping daemon whose server stalls. Empty when
    /// the transport has no connection to cut.
    virtual std::function<void()> cutter() const { return {}; }
};

} // namespace casacal::notify
