#pragma once
// Sends what the outbox says is due: one system_timer armed for the next
// due row (no polling, no CPU while idle), rows claimed in batches and
// handed to the transport. Each turn of the loop commits once: the outcomes
// that came back since the last turn, and the next rows claimed (group
// commit); then the transport hears that its outcomes are recorded
// (transport::recorded). A turn the database refuses is tried again a
// second later.
//
// io thread only: the timer, the outbox's database connection and the
// transport all live on the one thread that runs the io_context.

#include "calendar/calendar.hpp"
#include "notify/planner.hpp"
#include "notify/send_rate.hpp"
#include "notify/transport.hpp"
#include "store/outbox.hpp"
#include "store/subscribers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace casacal::notify {

struct dispatch_settings {
    mailbox from;
    std::string base_url;          ///< for unsubscribe links
    std::string feed_key;          ///< for personal feed links (see feed_token); none when empty
    std::string domain;            ///< Message-ID right-hand side of notices
    calendar::unix_time grace = 1800;
    calendar::unix_time lease = 600;    ///< a claimed row is sent again after this, if we crashed
    calendar::unix_time first_retry = 60; ///< then doubling, never past the event start
    /// Rows handed to the transport at a time; they must all be done well
    /// before `lease` runs out, or a row could be claimed twice. Enough to
    /// keep every connection busy while the loop commits a batch.
    std::size_t window = 100;
    /// Told when a turn fails (the error, once per distinct error) and when
    /// one commits again after failing (""). Optional.
    std::function<void(const std::string& error)> database_state;
    /// Told, as one line, of each message that did not go: failed, deferred
    /// or missed. Optional.
    std::function<void(const std::string& line)> report;
    /// [smtp] max_per_minute: due rows are claimed only as it lets them go,
    /// so a row waiting for its turn is judged (late, the event started)
    /// when it may leave. None: no limit.
    std::shared_ptr<send_rate> rate;
};

/// What the daemon reads for /healthz and /metrics.
struct dispatch_status {
    std::uint64_t sent = 0, deferred = 0, failed = 0, missed = 0;
    std::string last_error; ///< last transport failure, "" after a success
    std::string database_error; ///< why the last turn could not commit, "" once one did
    double last_latency_seconds = 0;
    /// Every attempt's duration, as a Prometheus histogram: the count of
    /// attempts that took at most each bound (not yet cumulated), their sum.
    static constexpr std::array<double, 10> latency_bounds = {0.05, 0.1, 0.25, 0.5, 1,
                                                              2.5,  5,   10,   30,  300};
    std::array<std::uint64_t, latency_bounds.size() + 1> latency_counts{}; ///< last: +Inf
    double latency_sum = 0;

    void count_latency(double seconds) noexcept;
};

/// The current calendar, as the dispatcher needs it (shared with the
/// snapshot it comes from, not copied).
struct calendar_view {
    std::shared_ptr<const calendar::model> model;
    std::shared_ptr<const calendar::revision_map> revisions;
};

/// What replanning did, for the log.
struct plan_summary {
    std::size_t planned = 0; ///< reminders in the horizon
    int inserted = 0, updated = 0, cancelled = 0;
    std::size_t notices = 0; ///< update and cancellation emails queued
};

/// Plans the outbox for `model` and `recipients` as of `now`, in one
/// transaction on the outbox's connection: the reminders of the horizon
/// (make_plan, outbox::plan) and the update and cancellation notices for
/// reminders already sent. Addresses that unsubscribed since `recipients`
/// were read are left out, read again inside the transaction. Any thread,
/// with `outbox` and `subscribers` on that thread's connection; throws
/// store::error when the database refuses.
plan_summary replan(store::outbox& outbox, store::subscribers& subscribers,
                    const calendar::model& model, const std::vector<recipient>& recipients,
                    calendar::unix_time now, const std::string& domain);

class dispatcher {
public:
    /// `outbox`, `subscribers` and `transport` must outlive the dispatcher.
    /// `clock` returns the current Unix time (a seam for tests).
    dispatcher(boost::asio::io_context& io, store::outbox& outbox, store::subscribers& subscribers,
               transport& transport, dispatch_settings settings,
               std::function<calendar::unix_time()> clock);
    dispatcher(const dispatcher&) = delete;
    dispatcher& operator=(const dispatcher&) = delete;
    ~dispatcher();

    /// Takes a new calendar (after a reload, and periodically), replans the
    /// outbox for it (notify::replan on the dispatcher's own connection) and
    /// re-arms the timer. Returns what planning did, for the log.
    plan_summary update(calendar_view view, const std::vector<recipient>& recipients);

    /// While another connection replans the outbox (on a thread of its
    /// own): no turn runs, since it would find the database locked. Outcomes
    /// that come back meanwhile wait in memory, and the transport is held
    /// as for a turn that could not commit.
    void pause();
    /// Ends a pause: takes the calendar the outbox was planned for (also when
    /// the plan failed), re-arms the timer and records what waited.
    void adopt(calendar_view view);

    /// Re-arms the timer after the outbox changed behind our back
    /// (an unsubscription cancelled rows, a test message was queued).
    void poke();

    /// A message handed to the transport by someone else (a confirmation
    /// mail) came back. It has no row, but its connection waits for
    /// transport::recorded() like any other before it takes its next
    /// message: a turn tells the transport once the outcomes that came
    /// back before it are committed, whether or not a reminder is due.
    void outside_outcome();

    /// Stops the timer; in-flight transfers are the transport's to drain.
    void stop();

    const dispatch_status& status() const { return status_; }

private:
    void arm();
    /// One commit: records the results and released rows gathered since the
    /// last turn, claims the due rows that fit the window, then hands them
    /// to the transport.
    void turn();
    void post_turn(); ///< turn() once, after this turn of the loop
    void retry_after_failure();
    /// transport.hold(held), once per change: held while a turn cannot
    /// commit, so that no more messages leave than a crash could repeat.
    void hold_transport(bool held);
    /// Why `row` cannot go now (missed...), or nullopt when it can.
    std::optional<store::delivery_result> refusal(const store::outbox_row& row,
                                                  calendar::unix_time now);
    const std::vector<calendar::occurrence>& subject_of(const store::outbox_row& row);
    void send_one(const store::outbox_row& row, const std::string& token);
    /// A row handed to the transport, as its outcome is judged.
    struct handed {
        std::int64_t id;
        int attempts;
        store::message_kind kind;
        calendar::unix_time occurrence_start;
        std::chrono::steady_clock::time_point started;
        std::string about; ///< what log lines say the row is about
    };
    void finish(const handed& row, const send_result& r);

    boost::asio::io_context& io_;
    store::outbox& outbox_;
    store::subscribers& subscribers_;
    transport& transport_;
    dispatch_settings settings_;
    std::function<calendar::unix_time()> clock_;
    boost::asio::system_timer timer_;
    calendar_view view_;
    /// find_subject per occurrence for the current view: a burst of reminders
    /// for one occurrence expands the calendar once.
    std::map<std::string, std::vector<calendar::occurrence>> subjects_;
    std::vector<store::delivery_result> results_;
    std::vector<std::int64_t> released_; ///< rows the transport never started
    bool turn_posted_ = false;
    boost::asio::steady_timer retry_timer_; ///< after a turn the database refused
    bool retry_set_ = false;
    int retries_after_stop_ = 0;
    bool transport_held_ = false;
    /// When timer_ fires; none when it is not waiting.
    std::optional<std::chrono::system_clock::time_point> armed_for_;
    bool stopped_ = false;
    bool paused_ = false; ///< see pause()
    /// Rows given to the transport whose outcome has not come back. A claim
    /// may return one of them again when its lease ran out meanwhile (the
    /// transport held while the database refused, longer than the lease):
    /// it is not given twice.
    std::unordered_set<std::int64_t> handed_;
    dispatch_status status_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// A fresh secret: 128 random bits from the kernel, as 32 hex digits.
std::string new_token();

/// Whether `t` has the form of a new_token(): 32 lower-case hex digits.
bool is_token(std::string_view t) noexcept;

/// The token of unsubscribe link `id` with the secret `secret` (a
/// new_token()): "<id>-<secret>". The id finds the link; the secret, of
/// which only a hash is stored, proves it.
std::string unsubscribe_token(std::int64_t id, std::string_view secret);

/// The id and secret of an unsubscribe token, or nothing when `token` is
/// not one.
std::optional<std::pair<std::int64_t, std::string>> parse_unsubscribe_token(std::string_view token);

} // namespace casacal::notify
