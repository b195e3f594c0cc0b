#include "daemon/rebuilder.hpp"
#include "daemon/reload.hpp"

#include "test_site.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <filesystem>
#include <functional>

using namespace casacal::daemon;
namespace asio = boost::asio;

TEST_CASE("changes in the site's files trigger one debounced reload", "[daemon]") {
    testing::test_site site;
    asio::io_context io;
    std::vector<std::string> reasons;
    reload_triggers triggers(
        io, [&](const std::string& why) { reasons.push_back(why); },
        std::chrono::milliseconds(100));
    triggers.watch(site.main_file(), site.dir() / "events.d", site.dir() / "members.toml");

    asio::steady_timer edit(io), done(io);
    edit.expires_after(std::chrono::milliseconds(20));
    edit.async_wait([&](auto) {
        site.write("events.d/a.toml", "");
        site.write("events.d/b.toml", "");
        site.write("events.d/notes.txt", ""); // not a site file
        site.write("members.toml", "");
    });
    done.expires_after(std::chrono::milliseconds(600));
    done.async_wait([&](auto) { triggers.cancel(); });
    io.run();
    REQUIRE(reasons.size() == 1);
    CHECK(reasons[0] == (site.dir() / "members.toml").string() + " changed");
}

TEST_CASE("a file outside the site does not trigger a reload", "[daemon]") {
    testing::test_site site;
    asio::io_context io;
    int reloads = 0;
    reload_triggers triggers(
        io, [&](const std::string&) { ++reloads; }, std::chrono::milliseconds(50));
    triggers.watch(site.main_file(), site.dir() / "events.d", site.dir() / "members.toml");
    asio::steady_timer edit(io), done(io);
    edit.expires_after(std::chrono::milliseconds(20));
    edit.async_wait([&](auto) {
        site.write("events.d/.#casapero.toml", "");
        site.write("events.d/casapero.toml~", "");
        site.write("other.toml", "");
    });
    done.expires_after(std::chrono::milliseconds(300));
    done.async_wait([&](auto) { triggers.cancel(); });
    io.run();
    CHECK(reloads == 0);
}

TEST_CASE("watching again loses no change already made", "[daemon]") {
    // The daemon watches again after every reload: an edit made meanwhile
    // waits in the kernel's queue under the folder's watch.
    testing::test_site site;
    asio::io_context io;
    int reloads = 0;
    reload_triggers triggers(
        io, [&](const std::string&) { ++reloads; }, std::chrono::milliseconds(50));
    triggers.watch(site.main_file(), site.dir() / "events.d", site.dir() / "members.toml");
    site.write("events.d/a.toml", "");
    triggers.watch(site.main_file(), site.dir() / "events.d", site.dir() / "members.toml");
    asio::steady_timer done(io);
    done.expires_after(std::chrono::milliseconds(400));
    done.async_wait([&](auto) { triggers.cancel(); });
    io.run();
    CHECK(reloads == 1);
}

TEST_CASE("an events folder replaced is read once more once it is watched", "[daemon]") {
    // Files copied into the new folder between the reload's reading and
    // its watch would be seen by nothing.
    testing::test_site site;
    asio::io_context io;
    std::vector<std::string> reasons;
    reload_triggers triggers(
        io, [&](const std::string& why) { reasons.push_back(why); }, std::chrono::milliseconds(50));
    const auto events = site.dir() / "events.d";
    triggers.watch(site.main_file(), events, site.dir() / "members.toml");
    std::filesystem::rename(events, site.dir() / "old");
    std::filesystem::create_directory(events);
    io.run_for(std::chrono::milliseconds(300)); // the reload of the move
    REQUIRE(reasons.size() == 1);
    triggers.watch(site.main_file(), events, site.dir() / "members.toml"); // after it
    io.restart();
    io.run_for(std::chrono::milliseconds(300));
    REQUIRE(reasons.size() == 2);
    CHECK(reasons[1] == events.string() + " replaced");
    triggers.watch(site.main_file(), events, site.dir() / "members.toml"); // the same folder
    io.restart();
    io.run_for(std::chrono::milliseconds(300));
    CHECK(reasons.size() == 2);
    triggers.cancel();
}

TEST_CASE("files that never settle still reload within two seconds", "[daemon]") {
    testing::test_site site;
    asio::io_context io;
    std::vector<std::chrono::steady_clock::time_point> reloads;
    reload_triggers triggers(
        io, [&](const std::string&) { reloads.push_back(std::chrono::steady_clock::now()); },
        std::chrono::milliseconds(300));
    triggers.watch(site.main_file(), site.dir() / "events.d", site.dir() / "members.toml");
    const auto start = std::chrono::steady_clock::now();
    asio::steady_timer edit(io);
    int edits = 0;
    std::function<void()> next = [&] {
        site.write("events.d/a.toml", std::to_string(edits));
        if (++edits == 40) return; // every 100 ms for 4 s
        edit.expires_after(std::chrono::milliseconds(100));
        edit.async_wait([&](auto) { next(); });
    };
    next();
    io.run_for(std::chrono::milliseconds(5000));
    triggers.cancel();
    REQUIRE(reloads.size() >= 2);
    CHECK(reloads[0] - start < std::chrono::milliseconds(3000));
}

TEST_CASE("SIGHUP triggers a reload", "[daemon]") {
    asio::io_context io;
    std::vector<std::string> reasons;
    reload_triggers triggers(io, [&](const std::string& why) {
        reasons.push_back(why);
        triggers.cancel();
    });
    ::raise(SIGHUP);
    io.run_for(std::chrono::seconds(2));
    CHECK(reasons == std::vector<std::string>{"SIGHUP"});
}

TEST_CASE("requests during a rebuild queue exactly one more", "[daemon]") {
    testing::test_site site;
    asio::io_context io;
    std::vector<build_outcome> outcomes;
    rebuilder worker(
        io, site.main_file(), [&](build_outcome o) { outcomes.push_back(std::move(o)); },
        [] { return std::int64_t{1795953600}; });
    worker.set_generation(1);
    worker.request();
    CHECK(worker.busy());
    worker.request();
    worker.request();
    worker.request();
    auto guard = asio::make_work_guard(io);
    asio::steady_timer done(io);
    std::function<void()> poll = [&] {
        if (outcomes.size() >= 2 && !worker.busy()) return guard.reset();
        done.expires_after(std::chrono::milliseconds(20));
        done.async_wait([&](auto) { poll(); });
    };
    poll();
    io.run_for(std::chrono::seconds(20));
    REQUIRE(outcomes.size() == 2);
    REQUIRE(outcomes[0].ok());
    REQUIRE(outcomes[1].ok());
    CHECK(outcomes[0].built->generation == 2);
    CHECK(outcomes[1].built->generation == 3);
    CHECK(outcomes[1].built->feeds.at("/calendar.ics").body.get() ==
          outcomes[0].built->feeds.at("/calendar.ics").body.get());
}
