#pragma once
// A rolling minute of the times messages were let go. [smtp] max_per_minute
// is one of them for everything casacal sends, shared by the reminders'
// dispatcher and the confirmation emails of POST /subscribe; the transports
// under it start what they are given (a share per SMTP thread rounded small
// limits down: 4 a minute over four threads gave one). A transport given a
// limit of its own (smtp_settings::max_per_minute) keeps it with one too.

#include <chrono>
#include <cstddef>
#include <deque>
#include <limits>

namespace casacal::notify {

class send_rate {
  public:
    using clock = std::chrono::steady_clock;

    /// `per_period` <= 0: no limit.
    explicit send_rate(int per_period, clock::duration period = std::chrono::minutes(1))
        : limit_(per_period), period_(period) {}

    /// How many may go now.
    std::size_t available(clock::time_point now) {
        if (limit_ <= 0) return std::numeric_limits<std::size_t>::max();
        expire(now);
        return static_cast<std::size_t>(limit_) - taken_.size();
    }

    /// Counts one message let go now; false (and nothing counted) when the
    /// period's messages are all taken.
    bool take(clock::time_point now) {
        if (available(now) == 0) return false;
        if (limit_ > 0) taken_.push_back(now + period_);
        return true;
    }

    /// Counts one message that went at `when` (not later than the ones
    /// counted before it): those of a run before a restart.
    void taken_at(clock::time_point when) {
        if (limit_ <= 0) return;
        // More than the limit (a lower one now): the latest count.
        if (taken_.size() == static_cast<std::size_t>(limit_)) taken_.pop_front();
        taken_.push_back(when + period_);
    }

    /// When the next message may go: `now` when one may already.
    clock::time_point next_free(clock::time_point now) {
        return available(now) > 0 ? now : taken_.front();
    }

  private:
    void expire(clock::time_point now) {
        while (!taken_.empty() && taken_.front() <= now)
            taken_.pop_front();
    }

    int limit_;
    clock::duration period_;
    std::deque<clock::time_point> taken_; ///< when each counted message stops counting
};

} // namespace casacal::notify
