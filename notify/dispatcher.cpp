#include "notify/dispatcher.hpp"

#include "config/text.hpp"
#include "notify/reminder_mail.hpp"
#include "store/error.hpp"
#include "store/revisions.hpp"
#include "store/transaction.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

namespace casacal::notify {

std::string new_token() { return calendar::random_hex(16); }

namespace {

/// What a log line says a row is about, after its id: "(casapero
/// 2026-12-03T18:30:00+01:00 P1D) to lea@example.org", the fields that
/// `casacal reminders` lists the row with.
std::string row_about(const store::outbox_row& row) {
    return "(" + row.event_id + " " + row.occurrence + " " + row.offset + ") to " + row.recipient;
}

/// "reminder #42 (…) to lea@example.org deferred: 451 …", as the log says it.
std::string outcome_note(store::message_kind kind, std::int64_t id, const std::string& about,
                         const store::delivery_result& d) {
    return std::string(store::to_string(kind)) + " #" + std::to_string(id) + " " + about + " " +
           std::string(store::to_string(d.state)) + ": " + d.error;
}

} // namespace

void dispatch_status::count_latency(double seconds) noexcept {
    last_latency_seconds = seconds;
    latency_sum += seconds;
    std::size_t bucket = 0;
    while (bucket < latency_bounds.size() && seconds > latency_bounds[bucket])
        ++bucket;
    ++latency_counts[bucket];
}

bool is_token(std::string_view t) noexcept {
    return t.size() == 32 && std::all_of(t.begin(), t.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string unsubscribe_token(std::int64_t id, std::string_view secret) {
    std::string token = std::to_string(id);
    token += '-';
    token += secret;
    return token;
}

std::optional<std::pair<std::int64_t, std::string>> parse_unsubscribe_token(std::string_view token) {
    const auto dash = token.find('-');
    // An id of 1 to 18 digits (below 2^63), no sign, no leading zero.
    if (dash == std::string_view::npos || dash == 0 || dash > 18 || token[0] < '1' ||
        token[0] > '9')
        return std::nullopt;
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + dash, id);
    const std::string_view secret = token.substr(dash + 1);
    if (ec != std::errc() || end != token.data() + dash || !is_token(secret)) return std::nullopt;
    return std::pair{id, std::string(secret)};
}

dispatcher::dispatcher(boost::asio::io_context& io, store::outbox& outbox,
                       store::subscribers& subscribers, transport& transport,
                       dispatch_settings settings, std::function<calendar::unix_time()> clock)
    : io_(io), outbox_(outbox), subscribers_(subscribers), transport_(transport),
      settings_(std::move(settings)), clock_(std::move(clock)), timer_(io), retry_timer_(io) {}

dispatcher::~dispatcher() { *alive_ = false; }

namespace {

const recipient* find_recipient(const std::vector<recipient>& recipients,
                                const std::string& email) {
    const auto found = std::find_if(recipients.begin(), recipients.end(), [&](const recipient& r) {
        return config::ascii_iequal(r.email, email);
    });
    return found == recipients.end() ? nullptr : &*found;
}

} // namespace

plan_summary replan(store::outbox& outbox, store::subscribers& subscribers,
                    const calendar::model& model, const std::vector<recipient>& recipients,
                    calendar::unix_time now, const std::string& domain) {
    auto p = make_plan(model, recipients, now);
    // One transaction for the plan and its notices: a crash between them
    // would otherwise record a move and never announce it.
    store::transaction tx(outbox.connection());
    // Read again under the write lock: an address that unsubscribed while the
    // plan was made (on another thread) gets nothing from it.
    const std::set<std::string> unsubscribed = subscribers.unsubscribed();
    if (!unsubscribed.empty())
        std::erase_if(p.rows, [&](const store::planned_row& r) {
            return unsubscribed.count(config::ascii_lower(r.recipient)) > 0;
        });
    auto result = outbox.plan(p.rows, p.scope, now);

    std::vector<store::planned_row> notices;
    // A reminder went out per offset (P1D, then PT2H): the change is told
    // once per occurrence and recipient, by the first of them.
    std::set<std::string> told_now;
    const auto first_to_tell = [&](const store::outbox_row& sent, store::message_kind kind) {
        return told_now
            .insert(std::string(store::to_string(kind)) + "|" + sent.uid + "|" + sent.occurrence +
                    "|" + config::ascii_lower(sent.recipient))
            .second;
    };
    for (const auto& sent : result.moved) {
        const auto current = outbox.find(sent.key);
        // Back in the plan at its time: news only for a recipient who was
        // told it was cancelled, not for one who left and came back, nor for
        // one whose cancellation notice had not gone yet (withdrawn).
        // A cancellation notice not gone yet is withdrawn either way: back at
        // another time, the update alone says what happened.
        const bool withdrawn = outbox.withdraw_cancellations(sent, now) > 0;
        if (current && current->occurrence_start == sent.occurrence_start &&
            current->schedule == sent.schedule) {
            const auto told =
                outbox.find(notice_for(sent, store::message_kind::cancellation, now, domain).key);
            if (!told || withdrawn ||
                (told->state != store::delivery_state::sent &&
                 told->state != store::delivery_state::sending))
                continue;
        }
        // Back after its recipient left (unsubscribed, or no longer
        // following), not after its occurrence was gone, which has a
        // cancellation notice: nothing more about a reminder received before
        // they left, whatever moved meanwhile.
        if (sent.back && !outbox.has_cancellation(sent)) continue;
        if (!first_to_tell(sent, store::message_kind::update)) continue;
        auto row = notice_for(sent, store::message_kind::update, now, domain);
        if (current) row.occurrence_start = current->occurrence_start;
        // Written now, to the recipient as the files or the form have them
        // now: their name and language, as their next reminder.
        if (const recipient* r = find_recipient(recipients, sent.recipient)) {
            row.recipient_name = r->name;
            row.locale = r->locale.empty() ? calendar::site_of(model).site.locale : r->locale;
        }
        notices.push_back(std::move(row));
    }
    // A sent reminder leaves the plan when its occurrence is gone, but also
    // when its recipient left (unsubscribed, removed from the file, no longer
    // following the category) or the offsets changed: only the first is a
    // cancellation to announce.
    for (const auto& sent : result.vanished) {
        // A cancelled event stays in the model (and the feeds) as CANCELLED.
        const auto still = find_subject(model, sent);
        if (std::any_of(still.begin(), still.end(), [](const calendar::occurrence& o) {
                return o.status != config::status::cancelled;
            }))
            continue;
        if (unsubscribed.count(config::ascii_lower(sent.recipient))) continue;
        const recipient* r = find_recipient(recipients, sent.recipient);
        if (!r) continue;
        if (!first_to_tell(sent, store::message_kind::cancellation)) continue;
        auto row = notice_for(sent, store::message_kind::cancellation, now, domain);
        // Their name as it is now; the language stays the reminder's, in
        // which the occurrence, gone from the site, was recorded.
        row.recipient_name = r->name;
        notices.push_back(std::move(row));
    }
    if (!notices.empty()) outbox.enqueue(notices, now);
    tx.commit();
    // Rows kept only to compare (a programme under way) are no reminders.
    const auto planned = static_cast<std::size_t>(std::count_if(
        p.rows.begin(), p.rows.end(), [](const store::planned_row& r) { return !r.update_only; }));
    return {planned, result.inserted, result.updated, result.cancelled, notices.size()};
}

plan_summary dispatcher::update(calendar_view view, const std::vector<recipient>& recipients) {
    // The new calendar is taken even when the database refuses the plan:
    // the rows already planned are sent with what the site says now.
    view_ = std::move(view);
    subjects_.clear();
    if (!view_.model) return {};
    const plan_summary s =
        replan(outbox_, subscribers_, *view_.model, recipients, clock_(), settings_.domain);
    arm();
    return s;
}

void dispatcher::pause() {
    paused_ = true;
}

void dispatcher::adopt(calendar_view view) {
    view_ = std::move(view);
    subjects_.clear();
    paused_ = false;
    arm();
    // Outcomes that waited for the pause to end.
    if (!results_.empty() || !released_.empty()) post_turn();
}

void dispatcher::poke() { arm(); }

void dispatcher::outside_outcome() {
    post_turn();
}

void dispatcher::stop() {
    stopped_ = true;
    timer_.cancel();
    armed_for_.reset();
}

void dispatcher::arm() {
    if (stopped_) return;
    // With every slot taken nothing can go; the turn that records the next
    // results claims again.
    if (handed_.size() >= settings_.window) return;
    const auto next = outbox_.next_due();
    if (!next) {
        timer_.cancel();
        armed_for_.reset();
        return;
    }
    auto when = std::chrono::system_clock::time_point(std::chrono::seconds(*next));
    const auto wall = std::chrono::system_clock::now();
    if (settings_.rate) {
        // Due, but max_per_minute lets nothing go yet: when it does.
        const auto steady = std::chrono::steady_clock::now();
        const auto free = settings_.rate->next_free(steady);
        if (free > steady)
            when = std::max(when, wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                             free - steady));
    }
    if (when <= wall) {
        // Due already: a posted handler instead of a kernel timer set and
        // fired at once, many times a second during a burst.
        post_turn();
        return;
    }
    // A timer set earlier stays: turn() then finds nothing due and arms again.
    if (armed_for_ && *armed_for_ <= when) return;
    armed_for_ = when;
    timer_.expires_at(when);
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec == boost::asio::error::operation_aborted || !*alive) return;
        armed_for_.reset();
        turn();
    });
}

namespace {

/// The busy timeout of a turn: none at first, to learn at once that another
/// writer (an operator's sqlite3 shell) has the database, then a quarter of
/// a second, not the usual five, since the whole event loop waits with it;
/// after that the turn fails and is tried again a second later.
class short_busy_wait {
  public:
    explicit short_busy_wait(store::database& db) : db_(db), usual_(db.busy_timeout()) {
        db_.set_busy_timeout(std::chrono::milliseconds(0));
    }
    ~short_busy_wait() { db_.set_busy_timeout(usual_); }
    short_busy_wait(const short_busy_wait&) = delete;
    short_busy_wait& operator=(const short_busy_wait&) = delete;

    void wait_longer() { db_.set_busy_timeout(std::chrono::milliseconds(250)); }

  private:
    store::database& db_;
    std::chrono::milliseconds usual_;
};

} // namespace

void dispatcher::turn() {
    // After a refused turn, the retry timer makes the next one.
    if (retry_set_) return;
    if (paused_) {
        // adopt() turns again. Meanwhile nothing new starts: a crash could
        // not tell what left.
        if (!results_.empty() || !released_.empty())
            hold_transport(true);
        else
            transport_.recorded(); // nothing waits to be recorded
        return;
    }
    const auto now = clock_();
    // What may go: the free slots of the window, within max_per_minute.
    std::size_t room = settings_.window > handed_.size() ? settings_.window - handed_.size() : 0;
    if (settings_.rate) room = std::min(room, settings_.rate->available(std::chrono::steady_clock::now()));
    const bool claiming = !stopped_ && view_.model && room > 0;
    if (!claiming && results_.empty() && released_.empty()) {
        transport_.recorded(); // nothing waits to be recorded
        return;
    }
    std::vector<store::outbox_row> rows;
    std::vector<store::delivery_result> refused;
    std::vector<std::string> refused_notes; ///< what the log says of each
    std::vector<const store::outbox_row*> ready;
    std::vector<std::string> tokens;
    try {
        // One commit per turn of the loop: the results that came back, the
        // rows given back, and the next rows claimed with the unsubscribe
        // tokens their messages carry (stored before any message that
        // names them leaves). FULL, since it records sends.
        short_busy_wait wait(outbox_.connection());
        std::optional<store::transaction> tx;
        try {
            tx.emplace(outbox_.connection(), store::durability::full);
        } catch (const store::error& e) {
            if (!e.busy()) throw;
            // What the transport sends now could not be recorded, and a
            // crash would send it again: nothing new starts until a turn
            // commits.
            hold_transport(true);
            wait.wait_longer();
            tx.emplace(outbox_.connection(), store::durability::full);
        }
        outbox_.record(results_, now);
        outbox_.release(released_, now);
        if (claiming) {
            rows = outbox_.claim(now, static_cast<int>(room), settings_.lease);
            std::vector<std::pair<std::string, std::string>> hashes;
            for (const auto& row : rows) {
                if (handed_.count(row.id)) continue; // still with the transport
                if (auto r = refusal(row, now)) {
                    refused_notes.push_back(outcome_note(row.kind, row.id, row_about(row), *r));
                    refused.push_back(std::move(*r));
                    continue;
                }
                ready.push_back(&row);
                tokens.push_back(new_token());
                hashes.emplace_back(calendar::sha256_hex(tokens.back()), row.recipient);
            }
            outbox_.record(refused, now);
            const auto links = subscribers_.add_unsubscribe_links(hashes, now);
            for (std::size_t i = 0; i < tokens.size(); ++i)
                tokens[i] = unsubscribe_token(links[i], tokens[i]);
        }
        tx->commit();
    } catch (const std::exception& e) {
        // Nothing of this turn happened: the results wait here, the rows in
        // the outbox, and the next try comes in a second. Meanwhile the
        // transport finishes what it has started, and starts nothing.
        hold_transport(true);
        if (status_.database_error != e.what()) {
            status_.database_error = e.what();
            if (settings_.database_state) settings_.database_state(status_.database_error);
        }
        retry_after_failure();
        return;
    }
    hold_transport(false);
    if (!status_.database_error.empty()) {
        status_.database_error.clear();
        if (settings_.database_state) settings_.database_state({});
    }
    results_.clear();
    released_.clear();
    transport_.recorded();
    for (std::size_t i = 0; i < refused.size(); ++i) {
        if (refused[i].state == store::delivery_state::missed) ++status_.missed;
        if (settings_.report) settings_.report(refused_notes[i]);
    }
    for (std::size_t i = 0; i < ready.size(); ++i)
        send_one(*ready[i], tokens[i]);
    arm();
}

void dispatcher::hold_transport(bool held) {
    if (held == transport_held_) return;
    transport_held_ = held;
    transport_.hold(held);
}

void dispatcher::retry_after_failure() {
    // Only a turn calls this, and no turn runs while a retry is set.
    // Stopping, the daemon waits for this timer: after ten more tries
    // (about 12 s, within systemd's TimeoutStopSec) the outcomes are
    // dropped, their rows stay `sending`, and the next start sends them
    // again (outbox::recover): the messages among them that had been
    // accepted go twice.
    if (stopped_ && ++retries_after_stop_ > 10) return;
    retry_set_ = true;
    retry_timer_.expires_after(std::chrono::seconds(1));
    retry_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec == boost::asio::error::operation_aborted || !*alive) return;
        retry_set_ = false;
        turn();
    });
}

std::optional<store::delivery_result> dispatcher::refusal(const store::outbox_row& row,
                                                          calendar::unix_time now) {
    auto missed = [&](std::string why) {
        return store::delivery_result{row.id, store::delivery_state::missed, 0, std::move(why),
                                      false};
    };
    calendar::unix_time begins = row.occurrence_start;
    // A notice about a programme under way matters until its last session,
    // as it is now or as its reminder listed it (one removed or cancelled).
    if (row.kind != store::message_kind::reminder && is_programme(row)) {
        for (const auto& [session, start] : schedule_sessions(row.schedule))
            begins = std::max(begins, start);
        if (row.kind == store::message_kind::update)
            for (const calendar::occurrence& o : subject_of(row))
                begins = std::max(begins, o.start);
    }
    if (row.kind != store::message_kind::test && now >= begins)
        return missed("the event had started");
    if (row.kind == store::message_kind::reminder && now > row.due + settings_.grace)
        return missed("more than the grace period late");
    // Late (a new recipient, an outage): when a later reminder of the same
    // occurrence is due as well, that one alone goes. On time, none can be.
    if (row.kind == store::message_kind::reminder && now > row.due + 60 &&
        outbox_.overtaken(row, now))
        return missed("a later reminder of the same occurrence was due too");
    if (row.kind != store::message_kind::cancellation && subject_of(row).empty())
        return missed("the occurrence no longer exists");
    return std::nullopt;
}

const std::vector<calendar::occurrence>& dispatcher::subject_of(const store::outbox_row& row) {
    auto key = row.event_id + "|" + row.uid + "|" + row.occurrence + "|" +
               std::to_string(row.occurrence_start) + (is_programme(row) ? "|p" : "");
    auto it = subjects_.find(key);
    if (it == subjects_.end()) it = subjects_.emplace(key, find_subject(*view_.model, row)).first;
    return it->second;
}

void dispatcher::send_one(const store::outbox_row& row, const std::string& token) {
    std::vector<calendar::occurrence> none;
    const auto& about = row.kind == store::message_kind::cancellation ? none : subject_of(row);
    const std::string feed_url =
        settings_.feed_key.empty()
            ? std::string()
            : settings_.base_url + "/feeds/" + feed_token(settings_.feed_key, row.recipient) + ".ics";
    const calendar::revision_lookup last_revision = [this](const std::string& uid) {
        try {
            return store::revisions(outbox_.connection()).last(uid);
        } catch (const std::exception&) {
            return std::optional<calendar::revision>(); // unreadable now: SEQUENCE 0
        }
    };
    auto msg = compose(*view_.model, *view_.revisions, row, about, settings_.from,
                       settings_.base_url + "/unsubscribe/" + token, feed_url, last_revision);
    handed_.insert(row.id);
    const auto started = std::chrono::steady_clock::now();
    if (settings_.rate) settings_.rate->take(started);
    // What finish() needs of the row, not the row's dozen strings.
    const handed h{row.id, row.attempts, row.kind, row.occurrence_start, started, row_about(row)};
    transport_.send(std::move(msg), [this, alive = alive_, h](const send_result& r) {
        if (!*alive) return;
        finish(h, r);
    });
}

void dispatcher::finish(const handed& row, const send_result& r) {
    handed_.erase(row.id);
    auto now = clock_();
    if (r.never_started) {
        // Stopping: the message never left, and waits in the outbox for the
        // next start as it was.
        released_.push_back(row.id);
        post_turn();
        return;
    }
    status_.count_latency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - row.started).count());
    store::delivery_result d{row.id, store::delivery_state::sent, 0, {}};
    const std::string why = r.reason();
    switch (r.outcome) {
    case outcome::accepted:
        ++status_.sent;
        status_.last_error.clear();
        break;
    case outcome::permanent:
        ++status_.failed;
        d.state = store::delivery_state::failed;
        d.error = why;
        break;
    case outcome::transient: {
        status_.last_error = why;
        auto shift = std::min(row.attempts > 0 ? row.attempts - 1 : 0, 20);
        auto next = now + (settings_.first_retry << shift);
        d.error = why;
        // The doubling would pass the start: one last try a minute before
        // it, or, that minute come, halfway to it (a first failure in the
        // last minute, or a message cut at shutdown then, still has a
        // chance), and no more: a retry that fails in that minute is the
        // last.
        if (row.kind != store::message_kind::test && next >= row.occurrence_start)
            next = row.occurrence_start - 60 > now ? row.occurrence_start - 60
                   : row.attempts <= 1             ? now + (row.occurrence_start - now) / 2
                                                   : now;
        if (row.kind != store::message_kind::test && next <= now) {
            ++status_.missed;
            d.state = store::delivery_state::missed;
            d.error = "gave up at the event start: " + why;
        } else {
            ++status_.deferred;
            d.state = store::delivery_state::deferred;
            d.next_attempt = next;
        }
        break;
    }
    }
    if (settings_.report && d.state != store::delivery_state::sent)
        settings_.report(outcome_note(row.kind, row.id, row.about, d));
    results_.push_back(std::move(d));
    // At once: the connection waits for this commit before its next message
    // (transport::recorded). Results that come back meanwhile share it.
    post_turn();
}

void dispatcher::post_turn() {
    if (turn_posted_) return;
    turn_posted_ = true;
    boost::asio::post(io_, [this, alive = alive_] {
        if (!*alive) return;
        turn_posted_ = false;
        turn();
    });
}

} // namespace casacal::notify
