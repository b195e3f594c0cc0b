#include "daemon/reminders.hpp"

#include "daemon/logging.hpp"
#include "daemon/mail_setup.hpp"
#include "daemon/personal_feeds.hpp"
#include "daemon/subscription_pages.hpp"
#include "notify/dispatcher.hpp"
#include "store/outbox.hpp"
#include "store/subscribers.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace casacal::daemon {
namespace {

calendar::unix_time unix_now() { return static_cast<calendar::unix_time>(std::time(nullptr)); }

/// How long SIGTERM waits for SMTP transactions in flight.
constexpr auto k_drain_time = std::chrono::seconds(10);
/// Replanning interval: far shorter than the planning horizon, so every
/// reminder is in the outbox days before it is due.
constexpr auto k_replan_every = std::chrono::hours(1);
constexpr std::chrono::seconds k_first_plan_retry{2}, k_last_plan_retry{60};

} // namespace

struct reminders::impl {
    service& svc;
    boost::asio::io_context* io = nullptr;
    bool stopped = false; ///< stopping() was called: no more planning
    std::optional<store::outbox> outbox;
    std::optional<store::subscribers> subscribers;
    std::unique_ptr<notify::transport> transport;
    std::unique_ptr<notify::dispatcher> dispatcher;
    std::optional<boost::asio::steady_timer> replan_timer;
    std::chrono::seconds plan_retry = k_first_plan_retry;
    std::optional<store::database> planner_db; ///< the planner thread's connection
    /// Runs replan()'s plans; declared after what it uses, so that it is
    /// joined before they go.
    std::optional<boost::asio::thread_pool> planner;
    bool planning = false;   ///< a plan is being made on the planner thread
    bool plan_again = false; ///< another was asked for meanwhile
    std::shared_ptr<const snapshot> current;
    std::string transport_label;
    std::string feed_key; ///< personal feed links; none when it could not be read
    personal_feeds personal;
    /// [smtp] max_per_minute, for reminders and confirmations together;
    /// confirmations, which anyone can ask for, get a quarter of it at most.
    std::shared_ptr<notify::send_rate> rate, confirmation_rate;

    explicit impl(service& s) : svc(s) {}

    void started(boost::asio::io_context& ctx, store::database& db,
                 std::shared_ptr<const snapshot> snap) {
        io = &ctx;
        current = std::move(snap);
        const config::site& site = calendar::site_of(*current->calendar);
        outbox.emplace(db);
        subscribers.emplace(db);
        transport = make_transport(ctx, site);
        rate = std::make_shared<notify::send_rate>(site.smtp.max_per_minute);
        // The minute before a restart still counts.
        guarded("reading the messages of the last minute", [&] {
            const auto steady = notify::send_rate::clock::now();
            const calendar::unix_time wall = unix_now();
            for (const calendar::unix_time at : outbox->sent_since(wall - 60))
                rate->taken_at(steady - std::chrono::seconds(wall - at));
        });
        confirmation_rate = std::make_shared<notify::send_rate>(
            site.smtp.max_per_minute > 0 ? std::max(1, site.smtp.max_per_minute / 4) : 0);
        transport_label = transport_name(site);

        notify::dispatch_settings settings;
        settings.from = from_mailbox(site);
        settings.base_url = site.site.base_url;
        settings.domain = site.site.domain;
        guarded("reading the feed key", [&] { feed_key = subscribers->feed_key(); });
        settings.feed_key = feed_key;
        settings.grace = site.reminders.grace.days * calendar::unix_time{86400} +
                         site.reminders.grace.seconds;
        // What is handed to the transport must go out well within the lease,
        // even when max_per_minute makes it wait for its turn: ten seconds'
        // worth of the rate at most.
        settings.window = static_cast<std::size_t>(
            std::clamp(site.smtp.max_per_minute / 6, 1, static_cast<int>(settings.window)));
        settings.report = [](const std::string& line) { log_warning("reminders: " + line); };
        settings.rate = rate;
        // The recovery is said whenever a failure was, even when another
        // report (a replan also refused) has replaced this one on /healthz.
        settings.database_state = [this, failing = false](const std::string& error) mutable {
            constexpr std::string_view what = "reminders: recording deliveries: ";
            std::string& shown = svc.health().database;
            if (!error.empty()) {
                failing = true;
                shown = std::string(what) + error;
                log_error(shown + " (tried again every second)");
            } else if (failing) {
                failing = false;
                if (shown.starts_with(what)) shown = "ok";
                log_info("reminders: recording deliveries again");
            }
        };
        dispatcher = std::make_unique<notify::dispatcher>(ctx, *outbox, *subscribers, *transport,
                                                          settings, unix_now);
        if (int n = outbox->recover(unix_now()))
            log_warning(std::to_string(n) + " reminder(s) were being sent when casacal last "
                                            "stopped; sending them again");
        replan_timer.emplace(ctx);
        planner.emplace(1);
        plan_at_start();
        log_info("reminders: sending through " + transport_label);
    }

    /// The recipients of the current site as the database knows them now;
    /// the personal feeds follow them.
    std::vector<notify::recipient> recipients_now() {
        auto r = notify::recipients_of(calendar::site_of(*current->calendar),
                                       subscribers->confirmed(), subscribers->unsubscribed());
        personal.set_recipients(feed_key, r);
        return r;
    }

    notify::calendar_view view_now() const {
        return {current->calendar,
                std::shared_ptr<const calendar::revision_map>(current, &current->revisions)};
    }

    static void log_plan(const notify::plan_summary& s,
                         std::chrono::steady_clock::time_point started) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        log_info("reminders planned: " + std::to_string(s.planned) + " in the next 7 days (" +
                 std::to_string(s.inserted) + " new, " + std::to_string(s.updated) + " changed, " +
                 std::to_string(s.cancelled) + " cancelled, " + std::to_string(s.notices) +
                 " notices) in " + std::to_string(ms) + " ms");
    }

    void replan_in_an_hour() {
        replan_timer->expires_after(k_replan_every);
        replan_timer->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) replan();
        });
    }

    /// A plan the database refused (locked past the busy timeout, a full
    /// disk) is made again by itself after 2 s, then 4, 8… up to a minute,
    /// as a refused reload is: new members' reminders may be due within the
    /// hour.
    void replan_soon() {
        replan_timer->expires_after(plan_retry);
        plan_retry = std::min(plan_retry * 2, k_last_plan_retry);
        replan_timer->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) replan();
        });
    }

    /// At start-up, before the first request: planned here and now.
    void plan_at_start() {
        const bool ok = guarded("planning reminders", [&] {
            const auto started = std::chrono::steady_clock::now();
            log_plan(dispatcher->update(view_now(), recipients_now()), started);
        });
        if (ok) {
            replan_in_an_hour();
        } else {
            replan_soon();
        }
    }

    /// After a reload, a change of subscribers and every hour. The plan is
    /// made and written on the planner thread, on a connection of its own,
    /// so that HTTP goes on meanwhile (100,000 rows take over a second); the
    /// dispatcher pauses until it is written. One plan at a time: asked for
    /// meanwhile, another follows.
    void replan() {
        if (stopped) return;
        if (planning) {
            plan_again = true;
            return;
        }
        replan_in_an_hour();
        const bool posted = guarded("planning reminders", [&] {
            auto recipients = recipients_now();
            auto view = view_now();
            const auto started = std::chrono::steady_clock::now();
            dispatcher->pause();
            planning = true;
            // Stopping, the loop runs until the plan is back and the
            // outcomes that waited for it are recorded.
            boost::asio::post(*planner, [this, view, recipients = std::move(recipients), started,
                                         path = outbox->connection().path(),
                                         domain = calendar::site_of(*view.model).site.domain,
                                         busy = boost::asio::make_work_guard(*io)]() mutable {
                notify::plan_summary s;
                std::string error;
                try {
                    if (!planner_db) planner_db.emplace(store::database::open(path));
                    store::outbox o(*planner_db);
                    store::subscribers subs(*planner_db);
                    s = notify::replan(o, subs, *view.model, recipients, unix_now(), domain);
                } catch (const std::exception& e) {
                    error = e.what();
                }
                boost::asio::post(
                    *io, [this, view, s, error, started, busy = std::move(busy)]() mutable {
                        planned(std::move(view), s, error, started);
                    });
            });
        });
        if (!posted) replan_soon();
    }

    /// The planner thread is done (or failed with `error`).
    void planned(notify::calendar_view view, const notify::plan_summary& s,
                 const std::string& error, std::chrono::steady_clock::time_point started) {
        planning = false;
        const bool ok = guarded("planning reminders", [&] {
            dispatcher->adopt(std::move(view));
            if (!error.empty()) throw std::runtime_error(error);
            log_plan(s, started);
        });
        if (ok) {
            plan_retry = k_first_plan_retry;
        } else if (!stopped && !plan_again) {
            replan_soon();
        }
        if (plan_again) {
            plan_again = false;
            replan();
        }
    }

    /// A database failure while planning or recording is sticky on /healthz:
    /// reminders already planned stay in the outbox and go out once it works.
    template <class F> bool guarded(const char* what, F&& f) {
        try {
            f();
            if (svc.health().database != "ok" && svc.health().database.rfind("reminders:", 0) == 0)
                svc.health().database = "ok";
            return true;
        } catch (const std::exception& e) {
            svc.health().database = std::string("reminders: ") + what + ": " + e.what();
            log_error(svc.health().database);
            return false;
        }
    }

    void reloaded(std::shared_ptr<const snapshot> snap) {
        current = std::move(snap);
        replan_timer->cancel();
        // After the requests already waiting: the new feeds are served first.
        boost::asio::post(*io, [this] {
            if (!stopped) replan();
        });
    }

    void stopping() {
        stopped = true;
        if (!dispatcher) return;
        dispatcher->stop();
        replan_timer->cancel();
        // Keep run() going until the transfers in flight are done or the
        // deadline passed; queued messages stay planned in the outbox.
        auto guard = std::make_shared<
            boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
            io->get_executor());
        transport->drain(std::chrono::steady_clock::now() + k_drain_time,
                         [guard]() mutable { guard->reset(); });
    }

    std::optional<response> route(const request& req) {
        if (!subscribers) return std::nullopt;
        if (auto r = personal.route(req, current, unix_now())) return r;
        subscription_context ctx{*subscribers, *outbox, *transport, calendar::site_of(*current->calendar),
                                 unix_now(), [this] { replan(); }, feed_key, rate.get(),
                                 confirmation_rate.get(), [this](const notify::send_result& r) {
                                     confirmation_mailed(r);
                                 }};
        return subscription_route(req, ctx);
    }

    void metrics(std::string& out) {
        if (!outbox) return;
        guarded("reading the outbox", [&] {
            out += "# HELP casacal_reminders Reminders in the outbox by state.\n"
                   "# TYPE casacal_reminders gauge\n";
            for (const auto& [state, n] : outbox->counts())
                out += "casacal_reminders{state=\"" + std::string(store::to_string(state)) +
                       "\"} " + std::to_string(n) + "\n";
        });
        const auto& st = dispatcher->status();
        out += "# HELP casacal_smtp_last_latency_seconds Duration of the last delivery attempt.\n"
               "# TYPE casacal_smtp_last_latency_seconds gauge\n"
               "casacal_smtp_last_latency_seconds " +
               std::to_string(st.last_latency_seconds) + "\n";
        out += "# HELP casacal_smtp_latency_seconds Duration of delivery attempts since start.\n"
               "# TYPE casacal_smtp_latency_seconds histogram\n";
        std::uint64_t attempts = 0;
        for (std::size_t i = 0; i < st.latency_counts.size(); ++i) {
            attempts += st.latency_counts[i];
            char bound[32];
            if (i < st.latency_bounds.size())
                std::snprintf(bound, sizeof bound, "%g", st.latency_bounds[i]);
            out += std::string("casacal_smtp_latency_seconds_bucket{le=\"") +
                   (i < st.latency_bounds.size() ? bound : "+Inf") + "\"} " +
                   std::to_string(attempts) + "\n";
        }
        out += "casacal_smtp_latency_seconds_sum " + std::to_string(st.latency_sum) + "\n";
        out += "casacal_smtp_latency_seconds_count " + std::to_string(attempts) + "\n";
        out += "# HELP casacal_mail_queue_depth Messages handed to the transport, not yet done.\n"
               "# TYPE casacal_mail_queue_depth gauge\n"
               "casacal_mail_queue_depth " +
               std::to_string(transport->queued() + transport->in_flight()) + "\n";
        out += "# HELP casacal_deliveries_total Delivery attempts by outcome since start.\n"
               "# TYPE casacal_deliveries_total counter\n";
        out += "casacal_deliveries_total{outcome=\"sent\"} " + std::to_string(st.sent) + "\n";
        out += "casacal_deliveries_total{outcome=\"deferred\"} " + std::to_string(st.deferred) + "\n";
        out += "casacal_deliveries_total{outcome=\"failed\"} " + std::to_string(st.failed) + "\n";
        out += "casacal_deliveries_total{outcome=\"missed\"} " + std::to_string(st.missed) + "\n";
    }

    /// A confirmation email the server could not take for now (connection
    /// failure, 4xx) says the server is in trouble, as a deferred reminder
    /// does, until a later email goes: the next confirmation, or a reminder.
    void confirmation_mailed(const notify::send_result& r) {
        if (dispatcher) dispatcher->outside_outcome();
        if (r.outcome == notify::outcome::accepted) {
            confirmation_error.clear();
        } else if (r.outcome == notify::outcome::transient && dispatcher) {
            confirmation_error = r.reason();
            sent_at_confirmation_error = dispatcher->status().sent;
        }
        svc.health().smtp = smtp_state();
    }

    std::string smtp_state() const {
        if (!dispatcher) return "starting";
        const auto& st = dispatcher->status();
        if (!st.last_error.empty()) return "retrying: " + st.last_error;
        if (!confirmation_error.empty() && st.sent == sent_at_confirmation_error)
            return "retrying: confirmation email not sent: " + confirmation_error;
        return "ok (" + transport_label + ")";
    }

    std::string confirmation_error;
    std::uint64_t sent_at_confirmation_error = 0;
};

reminders::reminders(service& svc) : impl_(std::make_unique<impl>(svc)) {
    service_extensions ext;
    ext.started = [this](boost::asio::io_context& io, store::database& db,
                         std::shared_ptr<const snapshot> snap) {
        impl_->started(io, db, std::move(snap));
        impl_->svc.health().smtp = impl_->smtp_state();
    };
    ext.reloaded = [this](std::shared_ptr<const snapshot> snap) {
        impl_->reloaded(std::move(snap));
    };
    ext.stopping = [this] { impl_->stopping(); };
    ext.routes = [this](const request& req) { return impl_->route(req); };
    ext.health = [this](health_state& h) { h.smtp = impl_->smtp_state(); };
    svc.extend(std::move(ext));
    svc.counters().extra = [this](std::string& out) { impl_->metrics(out); };
}

reminders::~reminders() = default;

} // namespace casacal::daemon
