#include "notify/dispatcher.hpp"
#include "notify/reminder_mail.hpp"

#include "../calendar/fixture.hpp"
#include "notify_fixture.hpp"

#include "calendar/zone.hpp"
#include "store/database.hpp"
#include "store/outbox.hpp"
#include "store/subscribers.hpp"

#include <catch2/catch.hpp>

#include <ctime>

using namespace casacal;
using namespace casacal::notify;

namespace {


/// A transport that keeps every message it is given until the test answers.
class answering_transport final : public transport {
public:
    std::vector<std::pair<message, send_handler>> given;
    bool held = false;
    std::function<void()> on_recorded; ///< called by recorded()

    void send(message msg, send_handler handler) override {
        given.emplace_back(std::move(msg), std::move(handler));
    }
    void drain(std::chrono::steady_clock::time_point, std::function<void()> done) override {
        done();
    }
    void hold(bool h) noexcept override { held = h; }
    void stop() noexcept override {}
    void recorded() noexcept override {
        if (on_recorded) on_recorded();
    }
    /// The server accepts the first message the transport was given.
    void accept_first() {
        send_result accepted;
        accepted.outcome = outcome::accepted;
        given[0].second(accepted);
    }
    std::size_t queued() const noexcept override { return given.size(); }
    std::size_t in_flight() const noexcept override { return 0; }
};

/// An outbox in memory, a transport that waits for the test's answers, and
/// the loop the dispatcher runs on.
struct in_memory {
    store::database db = store::database::open(":memory:");
    store::outbox outbox{db};
    store::subscribers subscribers{db};
    answering_transport transport;
    boost::asio::io_context io;
};

dispatch_settings casaco_settings() {
    dispatch_settings settings;
    settings.from = {"Casaco", "agenda@casaco.example"};
    settings.base_url = "https://agenda.casaco.example";
    settings.domain = "casaco.example";
    return settings;
}

/// `site` built with one reminder an hour before, and half an hour of grace.
std::shared_ptr<const calendar::model> with_reminder_an_hour_before(config::site site) {
    site.reminders.offsets = {config::duration{0, 3600, "PT1H", {}}};
    site.reminders.grace = config::duration{0, 1800, "PT30M", {}};
    auto built = calendar::build(site);
    REQUIRE(built.calendar);
    return built.calendar;
}

/// The Casapéro once, an hour from `now` (to the minute), with one reminder
/// an hour before: due now.
std::shared_ptr<const calendar::model> casapero_due_now(calendar::unix_time now) {
    config::site site = calendar::testing::base_site();
    config::event_def event = calendar::testing::casapero();
    event.start = config::when{config::when::kind::utc, calendar::civil_of(now + 3600 - now % 60),
                               event.start->where};
    event.end = config::when{config::when::kind::utc, calendar::civil_of(now + 7200 - now % 60),
                             event.end->where};
    event.rrule.clear();
    site.events.push_back(event);
    return with_reminder_an_hour_before(site);
}

} // namespace

TEST_CASE("a row still with the transport is not given twice when its lease runs out",
          "[notify]") {
    in_memory f;
    auto& [db, outbox, subscribers, transport, io] = f;
    dispatch_settings settings = casaco_settings();
    settings.lease = 1;
    // An event an hour from now, its reminder due now (the dispatcher's
    // timer runs on the real clock; its claims on `now`).
    calendar::unix_time now = std::time(nullptr);
    dispatcher d(io, outbox, subscribers, transport, settings, [&] { return now; });
    const auto model = casapero_due_now(now);
    recipient camille;
    camille.email = "camille@example.org";
    camille.name = "Camille";
    camille.categories = {"apero"};
    d.update({model, std::make_shared<const calendar::revision_map>()}, {camille});
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 1; }));

    // The transport keeps it (held while the database refused, say) past
    // the lease: the next claim returns the row, which is not given again.
    now += 120;
    io.restart();
    io.run_for(std::chrono::milliseconds(2500)); // the lease's end arms the timer
    CHECK(transport.given.size() == 1);
    const auto rows = outbox.list();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].state == store::delivery_state::sending);

    // Its outcome then comes back once, and the row is sent.
    transport.accept_first();
    REQUIRE(testing::run_until(io, [&] {
        const auto rows = outbox.list();
        return rows.size() == 1 && rows[0].state == store::delivery_state::sent;
    }));
    io.restart();
    io.run_for(std::chrono::milliseconds(100));
    CHECK(transport.given.size() == 1);
}

TEST_CASE("max_per_minute: due rows wait in the outbox for their turn, and then go", "[notify]") {
    in_memory f;
    auto& [db, outbox, subscribers, transport, io] = f;
    dispatch_settings settings = casaco_settings();
    // Two a second here, for the test's sake; max_per_minute's period is a minute.
    settings.rate = std::make_shared<send_rate>(2, std::chrono::seconds(1));
    calendar::unix_time now = std::time(nullptr);
    dispatcher d(io, outbox, subscribers, transport, settings, [&] { return now; });
    const auto model = casapero_due_now(now);
    std::vector<recipient> three;
    for (const char* who : {"camille@example.org", "lea@example.org", "thomas@example.org"}) {
        recipient r;
        r.email = who;
        r.categories = {"apero"};
        three.push_back(r);
    }
    d.update({model, std::make_shared<const calendar::revision_map>()}, three);
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 2; }));
    io.restart();
    io.run_for(std::chrono::milliseconds(300));
    CHECK(transport.given.size() == 2);
    const auto rows = outbox.list();
    CHECK(std::count_if(rows.begin(), rows.end(), [](const store::outbox_row& r) {
              return r.state == store::delivery_state::planned;
          }) == 1);
    // A second later the third goes, without anyone poking the dispatcher.
    io.restart();
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 3; }));
}

namespace {

recipient follower(const char* email) {
    recipient r;
    r.email = email;
    r.categories = {"apero"};
    return r;
}

std::size_t rows_in(store::outbox& outbox, store::delivery_state state) {
    const auto rows = outbox.list();
    return static_cast<std::size_t>(std::count_if(
        rows.begin(), rows.end(), [&](const store::outbox_row& r) { return r.state == state; }));
}

/// Has the transport note, each time it hears recorded(), how many rows
/// the outbox holds as sent.
void note_sent_when_recorded(answering_transport& transport, store::outbox& outbox,
                             std::vector<std::size_t>& notes) {
    transport.on_recorded = [&] { notes.push_back(rows_in(outbox, store::delivery_state::sent)); };
}

} // namespace

TEST_CASE("paused while another connection replans: nothing recorded or started until adopt",
          "[notify]") {
    testing::scratch_dir dir;
    const std::string file = (dir.path() / "casacal.db").string();
    auto db = store::database::open(file);
    store::outbox outbox(db);
    store::subscribers subscribers(db);
    answering_transport transport;
    boost::asio::io_context io;
    calendar::unix_time now = std::time(nullptr);
    dispatcher d(io, outbox, subscribers, transport, casaco_settings(), [&] { return now; });
    const auto model = casapero_due_now(now);
    const calendar_view view{model, std::make_shared<const calendar::revision_map>()};
    d.update(view, {follower("camille@example.org")});
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 1; }));

    // The planner's connection adds Léa while the dispatcher waits.
    d.pause();
    auto planner_db = store::database::open(file);
    store::outbox planner_outbox(planner_db);
    store::subscribers planner_subscribers(planner_db);
    const plan_summary s = replan(planner_outbox, planner_subscribers, *model,
                                  {follower("camille@example.org"), follower("lea@example.org")},
                                  now, "casaco.example");
    CHECK(s.planned == 2);
    CHECK(s.inserted == 1);

    // Camille's message is accepted meanwhile: not recorded, and nothing
    // new starts (Léa's row is due, yet not claimed). The transport hears
    // of the record only once it is committed.
    std::vector<std::size_t> sent_when_told;
    note_sent_when_recorded(transport, outbox, sent_when_told);
    transport.accept_first();
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
    CHECK(transport.given.size() == 1);
    CHECK(transport.held);
    CHECK(rows_in(outbox, store::delivery_state::sending) == 1);
    CHECK(rows_in(outbox, store::delivery_state::planned) == 1);
    CHECK(sent_when_told.empty());

    d.adopt(view);
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 2; }));
    CHECK(rows_in(outbox, store::delivery_state::sent) == 1);
    CHECK_FALSE(transport.held);
    CHECK(transport.given[1].first.to.address == "lea@example.org");
    REQUIRE_FALSE(sent_when_told.empty());
    CHECK(sent_when_told.front() == 1);
}

namespace {

/// An outbox in memory, for replan().
/// Claims what is due at `now` and records it all sent, as one turn would;
/// returns how many.
std::size_t send_due(store::outbox& outbox, calendar::unix_time now) {
    const auto claimed = outbox.claim(now, 10, 60);
    std::vector<store::delivery_result> sent;
    for (const auto& row : claimed)
        sent.push_back({row.id, store::delivery_state::sent, 0, {}, true});
    outbox.record(sent, now);
    return claimed.size();
}

struct replan_fixture {
    store::database db = store::database::open(":memory:");
    store::outbox outbox{db};
    store::subscribers subscribers{db};
    const calendar::unix_time now = std::time(nullptr);
};

std::shared_ptr<const calendar::model> without_events() {
    auto built = calendar::build(calendar::testing::base_site());
    REQUIRE(built.calendar);
    return built.calendar;
}

/// A programme of the Casapéro's category whose sessions start 1 h, then
/// 2 h from `now` (to the minute), its reminder an hour before the first:
/// due now. `sessions` leaves out the later ones; `status` for all.
std::shared_ptr<const calendar::model>
weekend_due_now(calendar::unix_time now, int sessions = 2,
                config::status status = config::status::confirmed) {
    config::site site = calendar::testing::base_site();
    config::event_def p = calendar::testing::weekend_programme("weekend", 2);
    p.category = "apero";
    p.status = status;
    p.sessions.resize(static_cast<std::size_t>(sessions));
    for (int i = 0; i < sessions; ++i) {
        config::session_def& sd = p.sessions[static_cast<std::size_t>(i)];
        const calendar::unix_time start = now - now % 60 + 3600 * (i + 1);
        sd.start = config::when{config::when::kind::utc, calendar::civil_of(start), sd.start.where};
        sd.end =
            config::when{config::when::kind::utc, calendar::civil_of(start + 1800), sd.end->where};
    }
    site.events.push_back(p);
    return with_reminder_an_hour_before(site);
}

/// replan_fixture, with the Casapéro an hour from now (casapero_due_now),
/// the same half an hour later, and the site without it.
struct moves_fixture {
    store::database db = store::database::open(":memory:");
    store::outbox outbox{db};
    store::subscribers subscribers{db};
    const calendar::unix_time now = std::time(nullptr);
    const std::shared_ptr<const calendar::model> model = casapero_due_now(now);
    const std::shared_ptr<const calendar::model> later = casapero_due_now(now + 1800);
    const std::shared_ptr<const calendar::model> empty = without_events();
};

} // namespace

TEST_CASE("replan leaves out an address that unsubscribed after the recipients were read",
          "[notify]") {
    replan_fixture f;
    auto& [db, outbox, subscribers, now] = f;
    const auto model = casapero_due_now(now);
    const std::vector<recipient> read_before = {follower("camille@example.org"),
                                                follower("Lea@Example.org")};
    subscribers.unsubscribe("lea@example.org", now);
    const plan_summary s = replan(outbox, subscribers, *model, read_before, now, "casaco.example");
    CHECK(s.planned == 1);
    const auto rows = outbox.list();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].recipient == "camille@example.org");
}

TEST_CASE("a cancellation undone before its notice went is withdrawn, and nobody is told",
          "[notify]") {
    // A deploy that empties the events folder for a moment: the reminder's
    // occurrence vanishes, then comes back a second later.
    replan_fixture f;
    auto& [db, outbox, subscribers, now] = f;
    const auto model = casapero_due_now(now);
    auto empty = calendar::build(calendar::testing::base_site());
    REQUIRE(empty.calendar);
    const std::vector<recipient> camille = {follower("camille@example.org")};
    const auto plan = [&](const calendar::model& m, calendar::unix_time at) {
        return replan(outbox, subscribers, m, camille, at, "casaco.example").notices;
    };
    const auto notice_state = [&](const char* suffix) {
        for (const auto& r : outbox.list())
            if (r.key.ends_with(suffix)) return std::optional(r.state);
        return std::optional<store::delivery_state>();
    };
    REQUIRE(plan(*model, now) == 0);
    auto claimed = outbox.claim(now, 10, 60);
    REQUIRE(claimed.size() == 1);
    outbox.record({{claimed[0].id, store::delivery_state::sent, 0, {}, true}}, now);

    CHECK(plan(*empty.calendar, now + 1) == 1);
    CHECK(notice_state("|cancellation") == store::delivery_state::planned);
    CHECK(outbox.next_due() == now + 1 + notice_settle);
    CHECK(plan(*model, now + 2) == 0); // back: withdrawn, and no update
    CHECK(notice_state("|cancellation") == store::delivery_state::cancelled);
    CHECK(outbox.next_due() == std::nullopt);

    // Gone again, for good this time: the same notice is planned again.
    CHECK(plan(*empty.calendar, now + 3) == 1);
    CHECK(notice_state("|cancellation") == store::delivery_state::planned);
    claimed = outbox.claim(now + 3 + notice_settle, 10, 60);
    REQUIRE(claimed.size() == 1);
    outbox.record({{claimed[0].id, store::delivery_state::sent, 0, {}, true}},
                  now + 3 + notice_settle);
    // Back after the recipient was told it was cancelled: that is news.
    CHECK(plan(*model, now + 20) == 1);
    CHECK(notice_state("|cancellation") == store::delivery_state::sent);
    const auto rows = outbox.list();
    CHECK(std::count_if(rows.begin(), rows.end(), [](const store::outbox_row& r) {
              return r.kind == store::message_kind::update;
          }) == 1);
}

TEST_CASE("an event deleted and written again at another time is moved: one update, no second "
          "reminder",
          "[notify]") {
    moves_fixture f;
    auto& [db, outbox, subscribers, now, model, later, empty] = f;
    const std::vector<recipient> camille = {follower("camille@example.org")};
    REQUIRE(replan(outbox, subscribers, *model, camille, now, "casaco.example").notices == 0);
    REQUIRE(send_due(outbox, now) == 1);

    CHECK(replan(outbox, subscribers, *empty, camille, now + 1, "casaco.example").notices == 1);
    const plan_summary back =
        replan(outbox, subscribers, *later, camille, now + 2, "casaco.example");
    CHECK(back.inserted == 0); // no second reminder
    CHECK(back.notices == 1);
    std::string kinds;
    for (const auto& r : outbox.list())
        kinds += std::string(store::to_string(r.kind)) + " " +
                 std::string(store::to_string(r.state)) + "; ";
    // By due: the reminder's stays when it was sent.
    CHECK(kinds == "reminder sent; cancellation cancelled; update planned; ");
    CHECK(outbox.list().front().due == now - now % 60);
}

TEST_CASE("an event told cancelled, then written again at another time, is told moved",
          "[notify]") {
    moves_fixture f;
    auto& [db, outbox, subscribers, now, model, later, empty] = f;
    const std::vector<recipient> camille = {follower("camille@example.org")};
    replan(outbox, subscribers, *model, camille, now, "casaco.example");
    REQUIRE(send_due(outbox, now) == 1);
    CHECK(replan(outbox, subscribers, *empty, camille, now + 1, "casaco.example").notices == 1);
    REQUIRE(send_due(outbox, now + 60) == 1); // the cancellation notice goes
    CHECK(replan(outbox, subscribers, *later, camille, now + 120, "casaco.example").notices == 1);
}

TEST_CASE("a recipient who left and came back hears nothing of what moved meanwhile", "[notify]") {
    replan_fixture f;
    auto& [db, outbox, subscribers, now] = f;
    const auto model = casapero_due_now(now);
    const auto later = casapero_due_now(now + 1800); // the same event, half an hour later
    const std::vector<recipient> both = {follower("camille@example.org"),
                                         follower("lea@example.org")};
    const std::vector<recipient> camille_only = {both[0]};
    REQUIRE(replan(outbox, subscribers, *model, both, now, "casaco.example").planned == 2);
    REQUIRE(send_due(outbox, now) == 2);
    // Léa leaves (unsubscribed, or no longer following); the event moves:
    // Camille is told.
    CHECK(replan(outbox, subscribers, *model, camille_only, now + 1, "casaco.example").notices ==
          0);
    CHECK(replan(outbox, subscribers, *later, camille_only, now + 2, "casaco.example").notices ==
          1);
    // Léa is back: her reminder went out before she left, and she hears
    // nothing of the move; a move after that is news to her.
    CHECK(replan(outbox, subscribers, *later, both, now + 3, "casaco.example").notices == 0);
    CHECK(replan(outbox, subscribers, *model, both, now + 4, "casaco.example").notices == 2);
    std::string told;
    for (const auto& r : outbox.list())
        if (r.kind == store::message_kind::update) told += r.recipient + "; ";
    CHECK(told == "camille@example.org; camille@example.org; lea@example.org; ");
}

TEST_CASE("a programme under way, cancelled, deleted or cut short, is told while a session it "
          "listed is still to come",
          "[notify]") {
    in_memory f;
    auto& [db, outbox, subscribers, transport, io] = f;
    calendar::unix_time now = std::time(nullptr);
    const calendar::unix_time t0 = now;
    dispatcher d(io, outbox, subscribers, transport, casaco_settings(), [&] { return now; });
    const std::vector<recipient> camille = {follower("camille@example.org")};
    const auto view = [](std::shared_ptr<const calendar::model> m) {
        return calendar_view{std::move(m), std::make_shared<const calendar::revision_map>()};
    };
    d.update(view(weekend_due_now(t0)), camille);
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 1; }));
    transport.accept_first();
    REQUIRE(
        testing::run_until(io, [&] { return rows_in(outbox, store::delivery_state::sent) == 1; }));

    // Ten minutes into the first session, the second still to come.
    now = t0 + 3600 + 600;
    std::shared_ptr<const calendar::model> changed;
    std::string subject;
    SECTION("cancelled") {
        changed = weekend_due_now(t0, 2, config::status::cancelled);
        subject = "Annulé : ";
    }
    SECTION("deleted") {
        changed = without_events();
        subject = "Annulé : ";
    }
    SECTION("its last session removed") {
        changed = weekend_due_now(t0, 1);
        subject = "Modifié : ";
    }
    CHECK(d.update(view(changed), camille).notices == 1);
    // The dispatcher's timer runs on the real clock: the notice is made due
    // on it, and judged at `now`, past its settling time.
    now += notice_settle;
    db.prepare("UPDATE outbox SET next_attempt = ?1 WHERE state = 'planned'").bind(1, t0).run();
    d.update(view(changed), camille);
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 2; }));
    CHECK(transport.given[1].first.subject.rfind(subject, 0) == 0);
    CHECK(rows_in(outbox, store::delivery_state::missed) == 0);
}

TEST_CASE("a programme under way is not told to a recipient who left and came back", "[notify]") {
    replan_fixture f;
    auto& [db, outbox, subscribers, now] = f;
    const auto model = weekend_due_now(now);
    const auto moved = weekend_due_now(now + 300); // both sessions five minutes later
    const std::vector<recipient> both = {follower("camille@example.org"),
                                         follower("lea@example.org")};
    const std::vector<recipient> camille_only = {both[0]};
    REQUIRE(replan(outbox, subscribers, *model, both, now, "casaco.example").planned == 2);
    REQUIRE(send_due(outbox, now) == 2);
    const calendar::unix_time under_way = now + 3600 + 60;
    CHECK(replan(outbox, subscribers, *model, camille_only, under_way, "casaco.example").notices ==
          0);
    CHECK(replan(outbox, subscribers, *moved, camille_only, under_way + 1, "casaco.example")
              .notices == 1);
    CHECK(replan(outbox, subscribers, *moved, both, under_way + 2, "casaco.example").notices == 0);
}

TEST_CASE("an update is written to the recipient as they are now", "[notify]") {
    moves_fixture f;
    auto& [db, outbox, subscribers, now, model, later, empty] = f;
    recipient camille = follower("camille@example.org");
    camille.name = "Camille";
    REQUIRE(replan(outbox, subscribers, *model, {camille}, now, "casaco.example").planned == 1);
    REQUIRE(send_due(outbox, now) == 1);
    camille.name = "Camille Durand";
    camille.locale = "en";
    CHECK(replan(outbox, subscribers, *later, {camille}, now + 1, "casaco.example").notices == 1);
    for (const auto& r : outbox.list())
        if (r.kind == store::message_kind::update) {
            CHECK(r.recipient_name == "Camille Durand");
            CHECK(r.locale == "en");
        }
}

TEST_CASE("a failure in the last minute before the start is tried again halfway to it",
          "[notify]") {
    in_memory f;
    auto& [db, outbox, subscribers, transport, io] = f;
    calendar::unix_time now = std::time(nullptr);
    const calendar::unix_time start = now + 3600 - now % 60;
    dispatcher d(io, outbox, subscribers, transport, casaco_settings(), [&] { return now; });
    d.update({casapero_due_now(now), std::make_shared<const calendar::revision_map>()},
             {follower("camille@example.org")});
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 1; }));
    // The server refuses it 30 s before the start (or the daemon stops then).
    now = start - 30;
    send_result later;
    later.outcome = outcome::transient;
    later.error = "451 4.3.0 try later";
    transport.given[0].second(later);
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
    auto rows = outbox.list();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].state == store::delivery_state::deferred);
    CHECK(rows[0].next_attempt == start - 15);
}

TEST_CASE("a retry refused in the last minute before the start is the last", "[notify][slow]") {
    // An event 4 s from now, reminded 3 s before, on the real clock: the
    // refused reminder is tried again halfway to the start, once.
    in_memory f;
    auto& [db, outbox, subscribers, transport, io] = f;
    const calendar::unix_time start = std::time(nullptr) + 4;
    config::site site = calendar::testing::base_site();
    config::event_def event = calendar::testing::casapero();
    event.start =
        config::when{config::when::kind::utc, calendar::civil_of(start), event.start->where};
    event.end =
        config::when{config::when::kind::utc, calendar::civil_of(start + 3600), event.end->where};
    event.rrule.clear();
    site.events.push_back(event);
    auto built = calendar::build(site);
    REQUIRE(built.calendar);
    recipient camille = follower("camille@example.org");
    camille.offsets = {{config::duration{0, 3, "PT3S", {}}}};
    dispatcher d(io, outbox, subscribers, transport, casaco_settings(),
                 [] { return calendar::unix_time(std::time(nullptr)); });
    d.update({built.calendar, std::make_shared<const calendar::revision_map>()}, {camille});
    send_result later;
    later.outcome = outcome::transient;
    later.error = "451 4.3.0 try later";
    int tries = 0;
    const auto refused_missed = [&] {
        if (!transport.given.empty()) {
            auto handler = std::move(transport.given[0].second);
            transport.given.clear();
            ++tries;
            handler(later);
        }
        const auto rows = outbox.list();
        return rows.size() == 1 && rows[0].state == store::delivery_state::missed;
    };
    REQUIRE(testing::run_until(io, refused_missed, std::chrono::seconds(8)));
    CHECK(tries == 2); // not again at 1 s, 0.5 s... before it
    const auto rows = outbox.list();
    CHECK(rows[0].attempts == 2);
    CHECK(rows[0].last_error == "gave up at the event start: 451 4.3.0 try later");
}

TEST_CASE("of late reminders of one occurrence to one recipient, only the last due goes",
          "[notify]") {
    // A recipient who arrives (or a daemon back) when the reminders 70 and
    // 65 minutes before are late, and the one an hour before is due: one
    // message, not three alike.
    in_memory f;
    auto& [db, outbox, subscribers, transport, io] = f;
    const calendar::unix_time now = std::time(nullptr);
    dispatcher d(io, outbox, subscribers, transport, casaco_settings(), [&] { return now; });
    recipient camille = follower("camille@example.org");
    camille.offsets = {{config::duration{0, 3600, "PT1H", {}},
                        config::duration{0, 3900, "PT65M", {}},
                        config::duration{0, 4200, "PT70M", {}}}};
    d.update({casapero_due_now(now), std::make_shared<const calendar::revision_map>()}, {camille});
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 1; }));
    io.restart();
    io.run_for(std::chrono::milliseconds(300));
    CHECK(transport.given.size() == 1);
    std::string states;
    for (const auto& r : outbox.list())
        states += r.offset + " " + std::string(store::to_string(r.state)) + "; ";
    CHECK(states == "PT1H10M missed; PT1H5M missed; PT1H sending; ");
}

TEST_CASE("a change is told once per occurrence and recipient, whatever the offsets sent",
          "[notify]") {
    moves_fixture f;
    auto& [db, outbox, subscribers, now, model, later, empty] = f;
    // Two reminders, an hour and 61 minutes before: both went out.
    recipient camille = follower("camille@example.org");
    camille.offsets = {
        {config::duration{0, 3600, "PT1H", {}}, config::duration{0, 3660, "PT61M", {}}}};
    REQUIRE(replan(outbox, subscribers, *model, {camille}, now, "casaco.example").planned == 2);
    REQUIRE(send_due(outbox, now) == 2);
    const auto count = [&](store::message_kind kind) {
        const auto rows = outbox.list();
        return std::count_if(rows.begin(), rows.end(),
                             [&](const store::outbox_row& r) { return r.kind == kind; });
    };
    // Moved: one update, not one per reminder sent.
    CHECK(replan(outbox, subscribers, *later, {camille}, now + 1, "casaco.example").notices == 1);
    CHECK(count(store::message_kind::update) == 1);
    // Cancelled: one cancellation.
    CHECK(replan(outbox, subscribers, *empty, {camille}, now + 2, "casaco.example").notices == 1);
    CHECK(count(store::message_kind::cancellation) == 1);
}

TEST_CASE("an outcome from outside the outbox is declared recorded once the outbox's are",
          "[notify]") {
    in_memory f;
    auto& [db, outbox, subscribers, transport, io] = f;
    calendar::unix_time now = std::time(nullptr);
    dispatcher d(io, outbox, subscribers, transport, casaco_settings(), [&] { return now; });
    const auto model = casapero_due_now(now);
    d.update({model, std::make_shared<const calendar::revision_map>()},
             {follower("camille@example.org")});
    REQUIRE(testing::run_until(io, [&] { return transport.given.size() == 1; }));

    // A confirmation mail came back while Camille's reminder is accepted
    // but not yet recorded: the transport hears only after the commit.
    std::vector<std::size_t> sent_when_told;
    note_sent_when_recorded(transport, outbox, sent_when_told);
    transport.accept_first();
    d.outside_outcome();
    REQUIRE(testing::run_until(io, [&] { return !sent_when_told.empty(); }));
    for (const std::size_t sent : sent_when_told)
        CHECK(sent == 1);

    // Nothing of the outbox's waits: it hears at once.
    sent_when_told.clear();
    d.outside_outcome();
    REQUIRE(testing::run_until(io, [&] { return sent_when_told.size() == 1; }));
}
