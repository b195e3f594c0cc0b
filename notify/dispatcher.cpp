#include "notify/dispatcher.hpp"

#include "config/text.hpp"
#include "notify/reminder_mail.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <stdexcept>

namespace casacal::notify {

std::string new_token() { return calendar::random_hex(16); }

namespace {


} // namespace

dispatcher::dispatcher(boost::asio::io_context& io, store::outbox& outbox,
                       store::subscribers& subscribers, transport& transport,
                       dispatch_settings settings, std::function<calendar::unix_time()> clock)
    : io_(io), outbox_(outbox), subscribers_(subscribers), transport_(transport),
      settings_(std::move(settings)), clock_(std::move(clock)), timer_(io) {}

dispatcher::~dispatcher() { *alive_ = false; }

dispatcher::plan_summary dispatcher::update(calendar_view view,
                                            const std::vector<recipient>& recipients) {
    view_ = std::move(view);
    subjects_.clear();
    if (!view_.model) return {};
    auto now = clock_();
    auto p = make_plan(*view_.model, recipients, now);
    auto result = outbox_.plan(p.rows, p.scope, now);

    std::vector<store::planned_row> notices;
    for (const auto& sent : result.moved) {
        auto row = notice_for(sent, store::message_kind::update, now, settings_.domain);
        if (auto current = outbox_.find(sent.key)) row.occurrence_start = current->occurrence_start;
        notices.push_back(std::move(row));
    }
    // A sent reminder leaves the plan when its occurrence is gone, but also
    // when its recipient left (unsubscribed, removed from the file, no longer
    // following the category) or the offsets changed: only the first is a
    // cancellation to announce.
    for (const auto& sent : result.vanished) {
        if (!find_subject(*view_.model, sent).empty()) continue;
        if (subscribers_.is_unsubscribed(sent.recipient)) continue;
        if (std::none_of(recipients.begin(), recipients.end(),
                         [&](const recipient& r) { return config::ascii_iequal(r.email, sent.recipient); }))
            continue;
        notices.push_back(notice_for(sent, store::message_kind::cancellation, now, settings_.domain));
    }
    if (!notices.empty()) outbox_.enqueue(notices, now);
    arm();
    return {p.rows.size(), result.inserted, result.updated, result.cancelled, notices.size()};
}

void dispatcher::poke() { arm(); }

void dispatcher::stop() {
    stopped_ = true;
    timer_.cancel();
    armed_for_.reset();
}

void dispatcher::arm() {
    if (stopped_) return;
    // With every slot taken nothing can go; finish() arms again as results
    // come back.
    if (handed_ >= settings_.window) return;
    const auto next = outbox_.next_due();
    if (!next) {
        timer_.cancel();
        armed_for_.reset();
        return;
    }
    const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(*next));
    if (when <= std::chrono::system_clock::now()) {
        // Due already: a posted handler instead of a kernel timer set and
        // fired at once, many times a second during a burst.
        if (due_posted_) return;
        due_posted_ = true;
        boost::asio::post(io_, [this, alive = alive_] {
            if (!*alive) return;
            due_posted_ = false;
            run_due();
        });
        return;
    }
    // A timer set earlier stays: run_due then finds nothing and arms again.
    if (armed_for_ && *armed_for_ <= when) return;
    armed_for_ = when;
    timer_.expires_at(when);
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec == boost::asio::error::operation_aborted || !*alive) return;
        armed_for_.reset();
        run_due();
    });
}

void dispatcher::run_due() {
    if (stopped_ || !view_.model) return;
    auto now = clock_();
    if (handed_ >= settings_.window) return; // finish() re-arms as slots free up
    auto rows = outbox_.claim(now, static_cast<int>(settings_.window - handed_), settings_.lease);

    std::vector<const store::outbox_row*> ready;
    std::vector<std::string> tokens;
    std::vector<std::pair<std::string, std::string>> hashes;
    for (const auto& row : rows) {
        if (auto refused = refusal(row, now)) {
            if (refused->state == store::delivery_state::missed) ++status_.missed;
            results_.push_back(std::move(*refused));
            continue;
        }
        ready.push_back(&row);
        tokens.push_back(new_token());
        hashes.emplace_back(calendar::sha256_hex(tokens.back()), row.recipient);
    }
    // Each message carries a fresh unsubscribe token; they are stored (one
    // transaction for the batch) before any message that names them leaves.
    try {
        if (!hashes.empty())
            subscribers_.store_tokens(hashes, store::token_purpose::unsubscribe, now);
    } catch (const std::exception& e) {
        for (const auto* row : ready)
            results_.push_back({row->id, store::delivery_state::deferred,
                                now + settings_.first_retry,
                                std::string("cannot store token: ") + e.what()});
        ready.clear();
    }
    for (std::size_t i = 0; i < ready.size(); ++i)
        send_one(*ready[i], tokens[i]);
    flush();
}

std::optional<store::delivery_result> dispatcher::refusal(const store::outbox_row& row,
                                                          calendar::unix_time now) {
    auto missed = [&](std::string why) {
        return store::delivery_result{row.id, store::delivery_state::missed, 0, std::move(why)};
    };
    if (row.kind != store::message_kind::test && now >= row.occurrence_start)
        return missed("the event had started");
    if (row.kind == store::message_kind::reminder && now > row.due + settings_.grace)
        return missed("more than the grace period late");
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
    auto msg = compose(*view_.model, *view_.revisions, row, about, settings_.from,
                       settings_.base_url + "/unsubscribe/" + token, feed_url);
    ++handed_;
    auto started = std::chrono::steady_clock::now();
    transport_.send(std::move(msg), [this, alive = alive_, row, started](const send_result& r) {
        if (!*alive) return;
        finish(row, r, started);
    });
}

void dispatcher::finish(const store::outbox_row& row, const send_result& r,
                        std::chrono::steady_clock::time_point started) {
    --handed_;
    auto now = clock_();
    if (r.never_started) {
        // Stopping: the message never left, and waits in the outbox for the
        // next start as it was.
        released_.push_back(row.id);
        post_flush();
        return;
    }
    status_.last_latency_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    store::delivery_result d{row.id, store::delivery_state::sent, 0, {}};
    auto why = r.reply.empty() ? r.error : r.reply;
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
        if (row.kind != store::message_kind::test && next >= row.occurrence_start) {
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
    results_.push_back(std::move(d));
    post_flush();
}

void dispatcher::post_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    boost::asio::post(io_, [this, alive = alive_] {
        if (!*alive) return;
        flush_posted_ = false;
        flush();
        run_due();
    });
}

void dispatcher::flush() {
    if (!results_.empty()) {
        outbox_.record(results_, clock_());
        results_.clear();
    }
    if (!released_.empty()) {
        outbox_.release(released_, clock_());
        released_.clear();
    }
    arm();
}

} // namespace casacal::notify
