#include "store/outbox.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace casacal;
using namespace casacal::store;

namespace {

constexpr calendar::unix_time start = 1'796'319'000; // an occurrence start
constexpr calendar::unix_time day = 86'400;
constexpr plan_scope horizon{start - 30 * day, start + 60 * day};

planned_row reminder(const std::string& recipient, calendar::unix_time occurrence_start = start,
                     const std::string& offset = "P1D") {
    planned_row r;
    r.key = "casapero@casaco.example/2026-12-03T18:30:00+01:00/" + offset + "/" + recipient;
    r.event_id = "casapero";
    r.uid = "casapero@casaco.example";
    r.occurrence = "2026-12-03T18:30:00+01:00";
    r.occurrence_start = occurrence_start;
    r.offset = offset;
    r.recipient = recipient;
    r.recipient_name = "Camille";
    r.locale = "fr";
    r.due = occurrence_start - (offset == "P1D" ? day : 7200);
    r.message_id = "<r-" + offset + "-" + recipient + "@casaco.example>";
    r.payload = R"({"title":"Casapéro"})";
    return r;
}

/// The reminder of a single event starting `when`: its start names its
/// occurrence, and so its key.
planned_row single_event_reminder(calendar::unix_time when, const std::string& recipient) {
    planned_row r = reminder(recipient, when);
    r.occurrence = std::to_string(when);
    r.key = "casapero@casaco.example|" + r.occurrence + "|P1D|" + recipient;
    r.message_id = "<" + r.key + ">";
    r.single = true;
    return r;
}

delivery_state state_of(outbox& box, const planned_row& r) {
    auto row = box.find(r.key);
    REQUIRE(row);
    return row->state;
}

} // namespace

TEST_CASE("outbox: planning inserts rows once", "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    const std::vector rows = {reminder("camille@example.org"), reminder("sam@example.org")};

    auto first = box.plan(rows, horizon, 1000);
    CHECK(first.inserted == 2);
    CHECK(first.updated == 0);
    CHECK(first.cancelled == 0);

    auto row = box.find(rows[0].key);
    REQUIRE(row);
    CHECK(row->state == delivery_state::planned);
    CHECK(row->kind == message_kind::reminder);
    CHECK(row->due == start - day);
    CHECK(row->next_attempt == start - day);
    CHECK(row->attempts == 0);
    CHECK(row->message_id == "<r-P1D-camille@example.org@casaco.example>");
    CHECK(row->date_header == std::nullopt);
    CHECK(row->sent_at == std::nullopt);
    CHECK(row->payload == R"({"title":"Casapéro"})");
    CHECK(row->created == 1000);

    auto second = box.plan(rows, horizon, 2000);
    CHECK(second.inserted == 0);
    CHECK(second.updated == 0);
    CHECK(second.cancelled == 0);
    CHECK(second.moved.empty());
    CHECK(second.vanished.empty());
    CHECK(box.find(rows[0].key)->updated == 1000);
    CHECK(box.list().size() == 2);
}

TEST_CASE("outbox: a moved occurrence keeps its message_id and Date", "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    box.plan({reminder("camille@example.org")}, horizon, 1000);

    SECTION("planned") {
        auto moved = reminder("camille@example.org", start + 3600);
        moved.message_id = "<a-new-id@casaco.example>";
        moved.payload = R"json({"title":"Casapéro (moved)"})json";
        auto result = box.plan({moved}, horizon, 2000);
        CHECK(result.inserted == 0);
        CHECK(result.updated == 1);
        auto row = box.find(moved.key);
        CHECK(row->message_id == "<r-P1D-camille@example.org@casaco.example>");
        CHECK(row->occurrence_start == start + 3600);
        CHECK(row->due == start + 3600 - day);
        CHECK(row->next_attempt == start + 3600 - day);
        CHECK(row->payload == R"json({"title":"Casapéro (moved)"})json");
        CHECK(row->state == delivery_state::planned);
    }
    SECTION("deferred after a first attempt") {
        auto claimed = box.claim(start - day, 10, 300);
        REQUIRE(claimed.size() == 1);
        box.record({{claimed[0].id, delivery_state::deferred, start - day + 60, "421 try later"}},
                   start - day + 5);
        auto result = box.plan({reminder("camille@example.org", start + 3600)}, horizon, 2000);
        CHECK(result.updated == 1);
        auto row = box.find(claimed[0].key);
        CHECK(row->state == delivery_state::deferred);
        CHECK(row->message_id == "<r-P1D-camille@example.org@casaco.example>");
        CHECK(row->date_header == start - day); // the Date of the first attempt
        CHECK(row->attempts == 1);
        CHECK(row->next_attempt == start + 3600 - day);
    }
}

TEST_CASE("outbox: rows of the scope that vanished from the plan are cancelled", "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    const auto camille = reminder("camille@example.org");
    const auto sam = reminder("sam@example.org");
    auto later = reminder("sam@example.org", start + 365 * day); // beyond the horizon
    later.key += "/next-year";
    box.plan({camille, sam, later}, {start - 30 * day, start + 400 * day}, 1000);

    auto result = box.plan({camille}, horizon, 2000);
    CHECK(result.cancelled == 1);
    CHECK(state_of(box, camille) == delivery_state::planned);
    CHECK(state_of(box, sam) == delivery_state::cancelled);
    CHECK(state_of(box, later) == delivery_state::planned); // outside the scope: untouched

    SECTION("and planned again when they come back, with the same message_id") {
        auto back = box.plan({camille, sam}, horizon, 3000);
        CHECK(back.updated == 1);
        CHECK(back.inserted == 0);
        CHECK(state_of(box, sam) == delivery_state::planned);
        CHECK(box.find(sam.key)->message_id == sam.message_id);
    }
    SECTION("notices are never cancelled by a plan") {
        auto notice = reminder("camille@example.org");
        notice.key = "update/" + notice.key;
        notice.kind = message_kind::update;
        CHECK(box.enqueue({notice}, 2500) == 1);
        CHECK(box.enqueue({notice}, 2600) == 0);
        box.plan({camille}, horizon, 3000);
        CHECK(state_of(box, notice) == delivery_state::planned);
        CHECK(box.find(notice.key)->kind == message_kind::update);
    }
}

TEST_CASE("outbox: sent rows are never planned again; moves and removals are reported once",
          "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    const auto camille = reminder("camille@example.org");
    box.plan({camille}, horizon, 1000);
    auto claimed = box.claim(start - day, 10, 300);
    REQUIRE(claimed.size() == 1);
    box.record({{claimed[0].id, delivery_state::sent, 0, ""}}, start - day + 2);

    SECTION("what went in the last minute is found at start") {
        CHECK(box.sent_since(start - day) == std::vector<calendar::unix_time>{start - day + 2});
        CHECK(box.sent_since(start - day + 3).empty());
    }
    SECTION("the same plan changes nothing") {
        auto result = box.plan({camille}, horizon, 2000);
        CHECK(result.inserted + result.updated + result.cancelled == 0);
        CHECK(result.moved.empty());
        auto row = box.find(camille.key);
        CHECK(row->state == delivery_state::sent);
        CHECK(row->sent_at == start - day + 2);
        CHECK(box.claim(start, 10, 300).empty());
    }
    SECTION("a moved occurrence is reported with what was sent") {
        auto result = box.plan({reminder("camille@example.org", start + 3600)}, horizon, 2000);
        CHECK(result.updated == 0);
        REQUIRE(result.moved.size() == 1);
        CHECK(result.moved[0].key == camille.key);
        CHECK(result.moved[0].occurrence_start == start);
        CHECK(result.moved[0].state == delivery_state::sent);
        CHECK(state_of(box, camille) == delivery_state::sent);

        auto again = box.plan({reminder("camille@example.org", start + 3600)}, horizon, 3000);
        CHECK(again.moved.empty());
    }
    SECTION("a vanished occurrence is reported, the row stays sent") {
        auto result = box.plan({}, horizon, 2000);
        CHECK(result.cancelled == 0);
        REQUIRE(result.vanished.size() == 1);
        CHECK(result.vanished[0].key == camille.key);
        CHECK(state_of(box, camille) == delivery_state::sent);
        CHECK(box.plan({}, horizon, 3000).vanished.empty());

        // Coming back (the cancellation was undone) is reported as a change too.
        auto back = box.plan({camille}, horizon, 4000);
        CHECK(back.moved.size() == 1);
        CHECK(back.inserted == 0);
        CHECK(box.plan({camille}, horizon, 5000).moved.empty());
    }
}

/// An outbox in memory where Camille's reminder of a two-session
/// programme went out.
struct weekend_sent {
    database db = database::open(":memory:");
    outbox box{db};
    planned_row weekend = programme_reminder();
    weekend_sent() {
        box.plan({weekend}, horizon, 1000);
        auto claimed = box.claim(start - day, 10, 300);
        REQUIRE(claimed.size() == 1);
        box.record({{claimed[0].id, delivery_state::sent, 0, ""}}, start - day + 2);
    }
    static planned_row programme_reminder() {
        auto r = reminder("camille@example.org");
        r.schedule = "1@1796319000;2@1796330000;";
        return r;
    }
};

TEST_CASE("outbox: a programme's sent reminder is moved when its schedule changes", "[store]") {
    weekend_sent w;
    auto& [db, box, weekend] = w;

    // The second session moves; the first start (the row's) stays.
    auto later = weekend;
    later.schedule = "1@1796319000;2@1796331800;";
    auto result = box.plan({later}, horizon, 2000);
    REQUIRE(result.moved.size() == 1);
    CHECK(result.moved[0].schedule == weekend.schedule); // as it was when sent
    CHECK(box.find(weekend.key)->schedule == later.schedule);
    CHECK(box.plan({later}, horizon, 3000).moved.empty());

    SECTION("a row sent before schedules were kept learns it without a notice") {
        db.exec("UPDATE outbox SET schedule = ''");
        CHECK(box.plan({weekend}, horizon, 4000).moved.empty());
        CHECK(box.find(weekend.key)->schedule == weekend.schedule);
        CHECK(box.plan({later}, horizon, 5000).moved.size() == 1);
    }
    SECTION("a pending row takes the new schedule quietly") {
        auto other = reminder("lea@example.org");
        other.schedule = weekend.schedule;
        box.plan({later, other}, horizon, 4000);
        other.schedule = later.schedule;
        auto r = box.plan({later, other}, horizon, 5000);
        CHECK(r.updated == 1);
        CHECK(r.moved.empty());
        CHECK(box.find(other.key)->schedule == later.schedule);
    }
}

TEST_CASE("outbox: a programme under way is only compared: a moved session after its reminder is "
          "reported, nothing is added",
          "[store]") {
    weekend_sent w;
    auto& [db, box, weekend] = w;

    // The first session has begun, so the scope (from now) leaves the row
    // out; the second session moves.
    const plan_scope from_now{start + 600, start + 60 * day};
    auto later = weekend;
    later.schedule = "1@1796319000;2@1796331800;";
    later.update_only = true;
    auto newcomer = reminder("lea@example.org");
    newcomer.schedule = later.schedule;
    newcomer.update_only = true;
    const auto result = box.plan({later, newcomer}, from_now, start + 600);
    CHECK(result.inserted == 0);
    REQUIRE(result.moved.size() == 1);
    CHECK(result.moved[0].recipient == "camille@example.org");
    CHECK_FALSE(box.find(newcomer.key)); // no reminder for a programme under way
    CHECK(box.plan({later, newcomer}, from_now, start + 700).moved.empty());
}

TEST_CASE("outbox: claim respects next_attempt, limit and leases", "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    const auto one_day = reminder("camille@example.org", start, "P1D");
    const auto two_hours = reminder("camille@example.org", start, "PT2H");
    box.plan({two_hours, one_day}, horizon, 1000);
    CHECK(box.next_due() == start - day);

    CHECK(box.claim(start - day - 1, 10, 300).empty());

    auto first = box.claim(start - day, 10, 300);
    REQUIRE(first.size() == 1);
    CHECK(first[0].key == one_day.key);
    CHECK(first[0].state == delivery_state::sending);
    CHECK(first[0].attempts == 1);
    CHECK(first[0].lease_until == start - day + 300);
    CHECK(first[0].date_header == start - day);
    // The second after the lease, when claim takes the row again (not the
    // lease's end, when it would not: a timer armed then would find nothing).
    CHECK(box.next_due() == start - day + 301);

    SECTION("a row sending under a live lease is not claimed again") {
        CHECK(box.claim(start - day + 300, 10, 300).empty());
    }
    SECTION("a row left sending by a crash is claimed again once its lease expired") {
        auto again = box.claim(start - day + 301, 10, 300);
        REQUIRE(again.size() == 1);
        CHECK(again[0].id == first[0].id);
        CHECK(again[0].attempts == 2);
        CHECK(again[0].date_header == start - day); // Date: unchanged on retries
        CHECK(again[0].message_id == first[0].message_id);
        CHECK(again[0].lease_until == start - day + 601);
    }
    SECTION("the limit caps a claim, earliest first") {
        auto both = box.claim(start, 1, 300);
        REQUIRE(both.size() == 1);
        CHECK(both[0].key == one_day.key); // lease expired, and due first
        auto rest = box.claim(start, 5, 300);
        REQUIRE(rest.size() == 1);
        CHECK(rest[0].key == two_hours.key);
        CHECK(box.next_due() == start + 301);
        CHECK(box.claim(start + 300, 5, 300).empty());
        CHECK(box.claim(start + 301, 5, 300).size() == 2);
    }
    SECTION("counts show the row in flight") {
        CHECK(box.counts()[delivery_state::sending] == 1);
        CHECK(box.counts()[delivery_state::planned] == 1);
    }
}

TEST_CASE("outbox: a crash during a send leaves the row to claim after restart", "[store]") {
    store::testing::temp_dir dir;
    const auto path = dir.file("casacal.db");
    std::int64_t id = 0;
    {
        auto db = database::open(path);
        outbox box(db);
        box.plan({reminder("camille@example.org")}, horizon, 1000);
        auto claimed = box.claim(start - day, 10, 300);
        REQUIRE(claimed.size() == 1);
        id = claimed[0].id;
    } // no record(): the process died mid-send
    auto db = database::open(path);
    outbox box(db);
    CHECK(box.next_due() == start - day + 301); // once the lease is past
    CHECK(box.claim(start - day + 100, 10, 300).empty());
    auto again = box.claim(start - day + 400, 10, 300);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == id);
    CHECK(again[0].attempts == 2);
}

TEST_CASE("outbox: recover at start-up makes rows left sending claimable at once", "[store]") {
    store::testing::temp_dir dir;
    const auto path = dir.file("casacal.db");
    {
        auto db = database::open(path);
        outbox box(db);
        box.plan({reminder("camille@example.org"), reminder("dominique@example.org")}, horizon, 1000);
        REQUIRE(box.claim(start - day, 1, 600).size() == 1);
    } // the process died mid-send
    auto db = database::open(path);
    outbox box(db);
    const auto restart = start - day + 10;
    CHECK(box.recover(restart) == 1);
    CHECK(box.recover(restart) == 0);
    CHECK(box.next_due() == start - day); // the other row's due, and the lease now past
    auto again = box.claim(restart, 10, 600);
    REQUIRE(again.size() == 2);
    CHECK(again[0].attempts + again[1].attempts == 3);
}

TEST_CASE("outbox: record applies the results of one turn together", "[store]") {
    store::testing::temp_dir dir;
    auto db = database::open(dir.file("casacal.db"));
    outbox box(db);
    const std::vector rows = {reminder("a@example.org"), reminder("b@example.org"),
                              reminder("c@example.org"), reminder("d@example.org")};
    box.plan(rows, horizon, 1000);
    auto claimed = box.claim(start - day, 10, 300);
    REQUIRE(claimed.size() == 4);
    std::map<std::string, std::int64_t> id;
    for (const auto& r : claimed)
        id[r.recipient] = r.id;

    const auto now = start - day + 10;
    box.record({{id["a@example.org"], delivery_state::sent, 0, ""},
                {id["b@example.org"], delivery_state::deferred, now + 60, "421 4.7.0 try later"},
                {id["c@example.org"], delivery_state::failed, 0, "550 5.1.1 no such user"},
                {id["d@example.org"], delivery_state::missed, 0, "more than PT30M late", false}},
               now);

    auto a = box.find(rows[0].key);
    CHECK(a->state == delivery_state::sent);
    CHECK(a->sent_at == now);
    CHECK(a->lease_until == std::nullopt);
    auto b = box.find(rows[1].key);
    CHECK(b->state == delivery_state::deferred);
    CHECK(b->next_attempt == now + 60);
    CHECK(b->last_error == "421 4.7.0 try later");
    auto c = box.find(rows[2].key);
    CHECK(c->state == delivery_state::failed);
    CHECK(c->last_error == "550 5.1.1 no such user");
    CHECK(box.find(rows[3].key)->state == delivery_state::missed);
    // Refused before any send: the claim was no attempt.
    CHECK(box.find(rows[3].key)->attempts == 0);
    CHECK(c->attempts == 1);

    CHECK(box.next_due() == now + 60);
    CHECK(box.claim(now + 59, 10, 300).empty());
    auto retry = box.claim(now + 60, 10, 300);
    REQUIRE(retry.size() == 1);
    CHECK(retry[0].recipient == "b@example.org");
    CHECK(retry[0].attempts == 2);

    SECTION("a late result for a row no longer sending is ignored") {
        box.record({{id["a@example.org"], delivery_state::deferred, now + 600, "late"}}, now + 61);
        CHECK(box.find(rows[0].key)->state == delivery_state::sent);
    }
    SECTION("a result that is not an outcome is refused") {
        CHECK_THROWS_AS(box.record({{id["b@example.org"], delivery_state::planned, 0, ""}}, now),
                        std::invalid_argument);
    }

    const auto counts = box.counts();
    CHECK(counts.size() == 7);
    CHECK(counts.at(delivery_state::sent) == 1);
    CHECK(counts.at(delivery_state::sending) == 1);
    CHECK(counts.at(delivery_state::failed) == 1);
    CHECK(counts.at(delivery_state::missed) == 1);
    CHECK(counts.at(delivery_state::planned) == 0);
}

TEST_CASE("outbox: next_due is empty when nothing is pending", "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    CHECK(box.next_due() == std::nullopt);
    box.plan({reminder("camille@example.org")}, horizon, 1000);
    CHECK(box.next_due() == start - day);
    box.cancel_recipient("camille@example.org", 2000);
    CHECK(box.next_due() == std::nullopt);
}

TEST_CASE("outbox: cancel_recipient cancels that recipient's pending rows only", "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    const auto p1d = reminder("Camille@Example.org", start, "P1D");
    const auto pt2h = reminder("Camille@Example.org", start, "PT2H");
    const auto sam = reminder("sam@example.org");
    box.plan({p1d, pt2h, sam}, horizon, 1000);
    auto claimed = box.claim(start - day, 10, 300); // p1d and sam's
    REQUIRE(claimed.size() == 2);
    for (const auto& r : claimed)
        box.record({{r.id, delivery_state::sent, 0, ""}}, start - day);

    CHECK(box.cancel_recipient("camille@example.org", 2000) == 1);
    CHECK(state_of(box, p1d) == delivery_state::sent);
    CHECK(state_of(box, pt2h) == delivery_state::cancelled);
    CHECK(state_of(box, sam) == delivery_state::sent);
    CHECK(box.cancel_recipient("camille@example.org", 3000) == 0);
}

TEST_CASE("outbox: list is ordered by due and carries what `casacal reminders` prints", "[store]") {
    store::testing::temp_dir dir;
    const auto path = dir.file("casacal.db");
    {
        auto db = database::open(path);
        outbox box(db);
        box.plan(
            {reminder("a@example.org", start, "PT2H"), reminder("a@example.org", start, "P1D")},
            horizon, 1000);
    }
    auto db = database::open(path, open_mode::read_only);
    outbox box(db);
    const auto rows = box.list();
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].offset == "P1D");
    CHECK(rows[1].offset == "PT2H");
    CHECK(rows[0].event_id == "casapero");
    CHECK(rows[0].uid == "casapero@casaco.example");
    CHECK(rows[0].occurrence == "2026-12-03T18:30:00+01:00");
    CHECK(rows[0].recipient == "a@example.org");
    CHECK(to_string(rows[0].state) == "planned");
    CHECK(rows[0].attempts == 0);
    CHECK(rows[0].last_error.empty());
    CHECK(rows[0].message_id == "<r-P1D-a@example.org@casaco.example>");
}

TEST_CASE("outbox: kinds and states convert to and from their names", "[store]") {
    for (auto s : {delivery_state::planned, delivery_state::sending, delivery_state::sent,
                   delivery_state::deferred, delivery_state::failed, delivery_state::missed,
                   delivery_state::cancelled}) {
        CHECK(parse_delivery_state(to_string(s)) == s);
    }
    CHECK(to_string(delivery_state::cancelled) == "cancelled");
    CHECK(parse_delivery_state("done") == std::nullopt);
    CHECK(to_string(message_kind::cancellation) == "cancellation");
    CHECK(parse_message_kind("test") == message_kind::test);
}

TEST_CASE("outbox: release gives back rows the transport never started, as they were", "[store]") {
    store::testing::temp_dir dir;
    auto db = database::open(dir.file("casacal.db"));
    outbox box(db);
    const std::vector rows = {reminder("a@example.org"), reminder("b@example.org"),
                              reminder("c@example.org")};
    box.plan(rows, horizon, 1000);
    const auto t = start - day;
    auto claimed = box.claim(t, 10, 300);
    REQUIRE(claimed.size() == 3);
    std::map<std::string, std::int64_t> id;
    for (const auto& r : claimed)
        id[r.recipient] = r.id;
    // b was tried once already: deferred, then claimed again.
    box.record({{id["b@example.org"], delivery_state::deferred, t + 60, "421 try later"},
                {id["c@example.org"], delivery_state::sent, 0, ""}},
               t + 1);
    REQUIRE(box.claim(t + 60, 10, 300).size() == 1);

    box.release({id["a@example.org"], id["b@example.org"], id["c@example.org"]}, t + 61);
    auto a = box.find(rows[0].key);
    CHECK(a->state == delivery_state::planned);
    CHECK(a->attempts == 0);
    CHECK(a->date_header == std::nullopt); // it was never sent: no Date yet
    CHECK(a->lease_until == std::nullopt);
    auto b = box.find(rows[1].key);
    CHECK(b->state == delivery_state::deferred);
    CHECK(b->attempts == 1);
    CHECK(b->date_header == t); // the Date of its first attempt stays
    CHECK(b->next_attempt == t + 60);
    CHECK(box.find(rows[2].key)->state == delivery_state::sent); // not sending: left alone

    // Both go again at once, a counting its first attempt.
    auto again = box.claim(t + 61, 10, 300);
    REQUIRE(again.size() == 2);
    for (const auto& r : again)
        CHECK(r.attempts == (r.recipient == "a@example.org" ? 1 : 2));
}

TEST_CASE("outbox: a single event moved keeps its rows, under the key of its new start",
          "[store]") {
    store::testing::temp_dir dir;
    auto db = database::open(dir.file("casacal.db"));
    outbox box(db);
    const auto at = single_event_reminder;
    box.plan({at(start, "a@example.org"), at(start, "b@example.org")}, horizon, 1000);
    const auto claimed = box.claim(start - day, 1, 300); // a's reminder goes
    REQUIRE(claimed.size() == 1);
    box.record({{claimed[0].id, delivery_state::sent, 0, ""}}, start - day + 5);

    // Moved an hour later: b's pending row follows with its Message-ID, a's
    // sent row is reported moved (an update notice), nothing is cancelled.
    const auto later = start + 3600;
    const auto result = box.plan({at(later, "a@example.org"), at(later, "b@example.org")},
                                 horizon, start - day + 10);
    CHECK(result.inserted == 0);
    CHECK(result.cancelled == 0);
    CHECK(result.vanished.empty());
    REQUIRE(result.moved.size() == 1);
    CHECK(result.moved[0].recipient == "a@example.org");
    const auto b = box.find(at(later, "b@example.org").key);
    REQUIRE(b);
    CHECK(b->message_id == at(start, "b@example.org").message_id);
    CHECK(b->state == delivery_state::planned);
    CHECK(b->due == later - day);
    CHECK_FALSE(box.find(at(start, "b@example.org").key));
    const auto a = box.find(at(later, "a@example.org").key);
    REQUIRE(a);
    CHECK(a->state == delivery_state::sent);
    CHECK(a->occurrence_start == later);
    CHECK(box.list().size() == 2);
}

TEST_CASE("outbox: a single event moved after it began, or whose reminder was refused, is not "
          "reminded again",
          "[store]") {
    database db = database::open(":memory:");
    outbox box(db);
    const auto at = single_event_reminder;
    box.plan({at(start, "a@example.org"), at(start, "b@example.org")}, horizon, 1000);
    const auto claimed = box.claim(start - day, 2, 300);
    REQUIRE(claimed.size() == 2);
    const bool a_first = claimed[0].recipient == "a@example.org";
    box.record({{claimed[a_first ? 0 : 1].id, delivery_state::sent, 0, ""},
                {claimed[a_first ? 1 : 0].id, delivery_state::failed, 0, "550 no such user"}},
               start - day + 5);

    // An hour after it began, the event moves to the next week: the plan's
    // scope starts now, after the rows' occurrence.
    const auto now = start + 3600;
    const auto next_week = start + 7 * day;
    const plan_scope from_now{now, now + 60 * day};
    const auto result =
        box.plan({at(next_week, "a@example.org"), at(next_week, "b@example.org")}, from_now, now);
    CHECK(result.inserted == 0);
    REQUIRE(result.moved.size() == 1); // a gets an update, not a second reminder
    CHECK(result.moved[0].recipient == "a@example.org");
    const auto a = box.find(at(next_week, "a@example.org").key);
    REQUIRE(a);
    CHECK(a->state == delivery_state::sent);
    CHECK(a->occurrence_start == next_week);
    const auto b = box.find(at(next_week, "b@example.org").key);
    REQUIRE(b);
    CHECK(b->state == delivery_state::failed); // refused for good: not planned again
    CHECK(box.list().size() == 2);
    CHECK_FALSE(box.next_due());
}

/// An outbox in memory with Camille's reminder planned at 1000.
struct camille_planned {
    database db = database::open(":memory:");
    outbox box{db};
    planned_row camille = reminder("camille@example.org");
    camille_planned() { box.plan({camille}, horizon, 1000); }
};

TEST_CASE("outbox: a replan rewrites a planned row for any field it holds, and only then",
          "[store]") {
    camille_planned planned;
    outbox& box = planned.box;
    const planned_row& camille = planned.camille;
    auto changed = camille;
    SECTION("nothing") {}
    SECTION("the payload (a new title)") {
        changed.payload = R"({"title":"Casapéro d'hiver"})";
    }
    SECTION("the name") {
        changed.recipient_name = "Camille D.";
    }
    SECTION("the language") {
        changed.locale = "en";
    }
    SECTION("the occurrence's name") {
        changed.occurrence = "2026-12-03T18:45:00+01:00";
    }
    SECTION("the due time") {
        changed.due -= 60;
    }
    SECTION("the schedule") {
        changed.schedule = "1@1796319000";
    }
    const bool same =
        changed.payload == camille.payload && changed.recipient_name == camille.recipient_name &&
        changed.locale == camille.locale && changed.occurrence == camille.occurrence &&
        changed.due == camille.due && changed.schedule == camille.schedule;
    const auto result = box.plan({changed}, horizon, 2000);
    CHECK(result.updated == (same ? 0 : 1));
    const auto row = box.find(camille.key);
    REQUIRE(row);
    CHECK(row->payload == changed.payload);
    CHECK(row->recipient_name == changed.recipient_name);
    CHECK(row->locale == changed.locale);
    CHECK(row->occurrence == changed.occurrence);
    CHECK(row->due == changed.due);
    CHECK(row->schedule == changed.schedule);
    CHECK(row->updated == (same ? 1000 : 2000));
}

TEST_CASE("outbox: a replan leaves failed, missed and sending rows, and revives cancelled ones",
          "[store]") {
    camille_planned planned;
    outbox& box = planned.box;
    const planned_row& camille = planned.camille;
    auto moved = camille;
    moved.due -= 60;
    moved.payload = R"({"title":"Casapéro d'hiver"})";
    SECTION("sending") {
        REQUIRE(box.claim(start - day, 10, 300).size() == 1);
        CHECK(box.plan({moved}, horizon, 2000).updated == 0);
        CHECK(state_of(box, camille) == delivery_state::sending);
        CHECK(box.find(camille.key)->payload == camille.payload);
    }
    for (const auto end : {delivery_state::failed, delivery_state::missed}) {
        DYNAMIC_SECTION(to_string(end)) {
            const auto claimed = box.claim(start - day, 10, 300);
            REQUIRE(claimed.size() == 1);
            box.record({{claimed[0].id, end, 0, "550 no such user"}}, start - day + 1);
            CHECK(box.plan({moved}, horizon, 2000).updated == 0);
            CHECK(state_of(box, camille) == end);
            CHECK(box.find(camille.key)->payload == camille.payload);
        }
    }
    SECTION("cancelled") {
        CHECK(box.cancel_recipient("camille@example.org", 1500) == 1);
        CHECK(box.plan({camille}, horizon, 2000).updated == 1);
        CHECK(state_of(box, camille) == delivery_state::planned);
    }
}

TEST_CASE("outbox: of two planned rows with one key, the first is planned", "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    const auto camille = reminder("camille@example.org");
    auto second = camille;
    second.payload = R"({"title":"Casapéro d'hiver"})";
    CHECK(box.plan({camille, second}, horizon, 1000).inserted == 1);
    CHECK(box.find(camille.key)->payload == camille.payload);
    const auto again = box.plan({camille, second}, horizon, 2000);
    CHECK(again.inserted + again.updated + again.cancelled == 0);
    CHECK(box.find(camille.key)->payload == camille.payload);
    CHECK(box.list().size() == 1);
}

TEST_CASE("outbox: withdrawing a reminder's cancellation leaves the other occurrences'",
          "[store]") {
    auto db = database::open(":memory:");
    outbox box(db);
    std::vector<planned_row> notices;
    for (const calendar::unix_time when : {start, start + 7 * day}) {
        planned_row n = reminder("camille@example.org", when);
        n.kind = message_kind::cancellation;
        n.key += "|" + std::to_string(when) + "|cancellation";
        n.message_id = "<" + n.key + ">";
        notices.push_back(n);
    }
    REQUIRE(box.enqueue(notices, start - 2 * day) == 2);
    outbox_row sent = *box.find(notices[0].key);
    sent.key = "another key"; // a moved single event's row is reported under its new key
    CHECK(box.withdraw_cancellations(sent, start - day) == 1);
    CHECK(state_of(box, notices[0]) == delivery_state::cancelled);
    CHECK(state_of(box, notices[1]) == delivery_state::planned);
    CHECK(box.withdraw_cancellations(sent, start - day) == 0);
    // Needed after all: enqueued again, it is planned again.
    CHECK(box.enqueue({notices[0]}, start - day) == 1);
    CHECK(state_of(box, notices[0]) == delivery_state::planned);
}
