#include "notify/planner.hpp"
#include "notify/wording.hpp"

#include "../calendar/fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace casacal;
using namespace casacal::calendar::testing;

namespace {

constexpr calendar::unix_time casapero_start = 1'796'319'000; // 2026-12-03T18:30+01:00
constexpr calendar::unix_time now = 1'796'122'800;            // 2026-12-01T12:00+01:00

config::duration dur(int days, std::int64_t seconds, std::string text) {
    return config::duration{days, seconds, std::move(text), {}};
}

notify::recipient member(std::string email, std::vector<std::string> categories) {
    notify::recipient r;
    r.email = std::move(email);
    r.name = "Camille";
    r.categories = std::move(categories);
    return r;
}

std::shared_ptr<const calendar::model> build(const config::site& site) {
    auto built = calendar::build(site);
    REQUIRE(built.calendar);
    return built.calendar;
}

config::site with_default_offsets(config::site s) {
    s.reminders.offsets = {dur(1, 0, "P1D"), dur(0, 7200, "PT2H")};
    s.reminders.grace = dur(0, 1800, "PT30M");
    return s;
}

} // namespace

TEST_CASE("planner: one row per occurrence, offset and follower within the horizon", "[notify]") {
    auto m = build(with_default_offsets(casapero_site()));
    auto plan = notify::make_plan(*m,
                                  {member("camille@example.org", {"apero"}),
                                   member("dominique@example.org", {"weekend"})},
                                  now);
    REQUIRE(plan.rows.size() == 2); // 2027-01-07 is beyond the horizon
    auto day_before = std::find_if(plan.rows.begin(), plan.rows.end(),
                                   [](const auto& r) { return r.offset == "P1D"; });
    REQUIRE(day_before != plan.rows.end());
    CHECK(day_before->recipient == "camille@example.org");
    CHECK(day_before->uid == "casapero@casaco.example");
    CHECK(day_before->occurrence == "2026-12-03T18:30:00+01:00");
    CHECK(day_before->occurrence_start == casapero_start);
    CHECK(day_before->due == casapero_start - 86400);
    CHECK(day_before->key ==
          "casapero@casaco.example|2026-12-03T18:30:00+01:00|P1D|camille@example.org");
    CHECK(day_before->message_id == notify::message_id_for(day_before->key, "casaco.example"));
    CHECK(day_before->locale == "fr");
    auto two_hours = std::find_if(plan.rows.begin(), plan.rows.end(),
                                  [](const auto& r) { return r.offset == "PT2H"; });
    REQUIRE(two_hours != plan.rows.end());
    CHECK(two_hours->due == casapero_start - 7200);
    CHECK(plan.scope.from == now);
    CHECK(plan.scope.to > now + notify::planning_horizon);
}

TEST_CASE("planner: offsets resolve member > event > category > [reminders]", "[notify]") {
    auto site = with_default_offsets(casapero_site());
    site.categories[0].offsets = std::vector{dur(0, 3 * 3600, "PT3H")};
    auto follower = member("camille@example.org", {"*"});

    SECTION("category") {
        auto plan = notify::make_plan(*build(site), {follower}, now);
        REQUIRE(plan.rows.size() == 1);
        CHECK(plan.rows[0].offset == "PT3H");
    }
    SECTION("event over category") {
        site.events[0].offsets = std::vector{dur(0, 1800, "PT30M")};
        auto plan = notify::make_plan(*build(site), {follower}, now);
        REQUIRE(plan.rows.size() == 1);
        CHECK(plan.rows[0].offset == "PT30M");
    }
    SECTION("member over event") {
        site.events[0].offsets = std::vector{dur(0, 1800, "PT30M")};
        follower.offsets = std::vector{dur(0, 5400, "PT90M")};
        auto plan = notify::make_plan(*build(site), {follower}, now);
        REQUIRE(plan.rows.size() == 1);
        CHECK(plan.rows[0].offset == "PT1H30M"); // canonical spelling in the key
        CHECK(plan.rows[0].due == casapero_start - 5400);
    }
}

TEST_CASE("planner: cancelled events and occurrences get no reminder", "[notify]") {
    auto site = with_default_offsets(casapero_site());
    SECTION("whole event") {
        site.events[0].status = config::status::cancelled;
        CHECK(notify::make_plan(*build(site), {member("a@example.org", {"*"})}, now).rows.empty());
    }
    SECTION("one occurrence") {
        config::override_def o;
        o.recurrence_id = local(2026, 12, 3, 18, 30, 12);
        o.status = config::status::cancelled;
        o.where = pos(11);
        site.events[0].overrides.push_back(o);
        CHECK(notify::make_plan(*build(site), {member("a@example.org", {"*"})}, now).rows.empty());
    }
}

TEST_CASE("planner: a programme gets one reminder per offset for all its sessions", "[notify]") {
    auto site = with_default_offsets(base_site());
    site.events.push_back(weekend_programme("weekend-entrepreneurs", 3));
    auto plan = notify::make_plan(*build(site), {member("camille@example.org", {"weekend"})}, now);
    REQUIRE(plan.rows.size() == 2);
    for (const auto& r : plan.rows) {
        CHECK(r.key.rfind("programme:weekend-entrepreneurs|", 0) == 0);
        CHECK(r.uid == "weekend-entrepreneurs-1@casaco.example");
        CHECK(r.occurrence == "2026-12-05T10:00:00+01:00");
        // 10:00, 14:00 on Saturday, 10:00 on Sunday (Paris, UTC+1)
        using session = std::pair<int, calendar::unix_time>;
        CHECK(notify::schedule_sessions(r.schedule) ==
              std::vector<session>{{1, 1'796'461'200}, {2, 1'796'475'600}, {3, 1'796'547'600}});
    }
}

TEST_CASE("planner: a programme under way is planned for updates only", "[notify]") {
    auto site = with_default_offsets(base_site());
    site.events.push_back(weekend_programme("weekend-entrepreneurs", 3));
    const auto m = build(site);
    const std::vector<notify::recipient> camille{member("camille@example.org", {"weekend"})};
    for (const auto& r : notify::make_plan(*m, camille, now).rows)
        CHECK_FALSE(r.update_only);
    // Ten minutes into the first session: the same rows, to compare only.
    const auto plan = notify::make_plan(*m, camille, 1'796'461'200 + 600);
    REQUIRE(plan.rows.size() == 2);
    for (const auto& r : plan.rows) {
        CHECK(r.update_only);
        CHECK(r.key.rfind("programme:weekend-entrepreneurs|", 0) == 0);
    }
}

TEST_CASE("planner: schedule_sessions leaves out what is not n@start", "[notify]") {
    using session = std::pair<int, calendar::unix_time>;
    CHECK(notify::schedule_sessions("").empty());
    CHECK(notify::schedule_sessions("2@20;1@10") == std::vector<session>{{2, 20}, {1, 10}});
    CHECK(notify::schedule_sessions("0@5;x@5;1@;@5;1@5x;-1@5;3@30;;4") ==
          std::vector<session>{{3, 30}});
}

TEST_CASE("planner: a nominal day before a DST change keeps the wall clock", "[notify]") {
    // 2027-03-28T18:30+02:00, one day before is 2027-03-27T18:30+01:00: 23 hours.
    CHECK(notify::before(1'806'251'400, "Europe/Paris", dur(1, 0, "P1D")) == 1'806'168'600);
    CHECK(notify::before(1'806'251'400, "Europe/Paris", dur(0, 86400, "PT24H")) ==
          1'806'251'400 - 86400);
}

TEST_CASE("planner: unsubscribed addresses and duplicates are left out", "[notify]") {
    auto site = casapero_site();
    config::member a;
    a.email = "Camille@Example.org";
    a.categories = {"apero"};
    config::member b;
    b.email = "dominique@example.org";
    b.categories = {"*"};
    site.members = {a, b};
    store::subscriber web;
    web.email = "camille@example.org";
    web.categories = {"*"};
    store::subscriber other;
    other.email = "eve@example.org";
    other.categories = {"apero"};
    auto list = notify::recipients_of(site, {web, other}, {"dominique@example.org"});
    REQUIRE(list.size() == 2);
    CHECK(list[0].email == "Camille@Example.org");
    CHECK(list[1].email == "eve@example.org");
    // Camille follows the file's categories and the web's: one recipient.
    CHECK(list[0].categories == std::vector<std::string>{"apero", "*"});
    web.categories = {"apero", "weekend"};
    list = notify::recipients_of(site, {web}, {});
    REQUIRE(list.size() == 2);
    CHECK(list[0].categories == std::vector<std::string>{"apero", "weekend"});
}

TEST_CASE("wording: dates as people write them", "[notify]") {
    calendar::occurrence o;
    o.start_local = {2026, 12, 3, 18, 30, 0};
    o.end_local = {2026, 12, 3, 21, 0, 0};
    using notify::language;
    CHECK(notify::when_text(o, language::fr) == "jeudi 3 décembre à 18h30");
    CHECK(notify::when_text(o, language::en) == "Thursday 3 December at 6:30 pm");
    CHECK(notify::span_text(o, language::fr) == "jeudi 3 décembre 2026, 18h30 – 21h00");
    CHECK(notify::span_text(o, language::en) == "Thursday 3 December 2026, 6:30 pm – 9:00 pm");
    CHECK(notify::subject_line(notify::notice::reminder, "Casapéro",
                               notify::when_text(o, language::fr), language::fr) ==
          "Rappel : Casapéro — jeudi 3 décembre à 18h30");

    o.start_local = {2027, 4, 1, 9, 0, 0};
    CHECK(notify::when_text(o, language::fr) == "jeudi 1er avril à 9h");
    CHECK(notify::when_text(o, language::en) == "Thursday 1 April at 9 am");

    o.all_day = true;
    o.start_local = {2026, 12, 12, 0, 0, 0};
    o.end_local = {2026, 12, 14, 0, 0, 0};
    CHECK(notify::when_text(o, language::fr) == "samedi 12 décembre");
    CHECK(notify::span_text(o, language::fr) == "samedi 12 décembre – dimanche 13 décembre 2026");
}
