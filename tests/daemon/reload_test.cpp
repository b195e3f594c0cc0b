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

namespace {

using std::chrono::milliseconds;

/// A test site whose files reload_triggers watch, with each reload's
/// reason and time.
struct watched_site {
    explicit watched_site(milliseconds debounce)
        : triggers(
              io,
              [this](const std::string& why) {
                  reasons.push_back(why);
                  times.push_back(std::chrono::steady_clock::now());
              },
              debounce) {
        watch();
    }
    /// What the daemon does after each reload.
    void watch() {
        triggers.watch(site.main_file(), site.dir() / "events.d", site.dir() / "members.toml");
    }
    void run_for(milliseconds time) {
        io.restart();
        io.run_for(time);
    }

    testing::test_site site;
    asio::io_context io;
    std::vector<std::string> reasons;
    std::vector<std::chrono::steady_clock::time_point> times;
    reload_triggers triggers;
};

} // namespace

TEST_CASE("changes in the site's files trigger one debounced reload", "[daemon]") {
    watched_site w(milliseconds(100));
    w.site.write("events.d/a.toml", "");
    w.site.write("events.d/b.toml", "");
    w.site.write("events.d/notes.txt", ""); // not a site file
    w.site.write("members.toml", "");
    w.run_for(milliseconds(600));
    REQUIRE(w.reasons.size() == 1);
    CHECK(w.reasons[0] == (w.site.dir() / "members.toml").string() + " changed");
}

TEST_CASE("a file outside the site does not trigger a reload", "[daemon]") {
    watched_site w(milliseconds(50));
    w.site.write("events.d/.#casapero.toml", "");
    w.site.write("events.d/casapero.toml~", "");
    w.site.write("other.toml", "");
    w.run_for(milliseconds(300));
    CHECK(w.reasons.empty());
}

TEST_CASE("a site file that is a symbolic link is watched where its target is", "[daemon]") {
    testing::test_site elsewhere;
    elsewhere.write("members.toml", "");
    elsewhere.write("shared.toml", "");
    watched_site w(milliseconds(50));
    std::filesystem::remove(w.site.dir() / "members.toml");
    std::filesystem::create_symlink(elsewhere.dir() / "members.toml",
                                    w.site.dir() / "members.toml");
    std::filesystem::create_symlink(elsewhere.dir() / "shared.toml",
                                    w.site.dir() / "events.d" / "shared.toml");
    w.run_for(milliseconds(300)); // the links appearing
    w.watch();                    // as after the reload they cause
    w.reasons.clear();
    for (const char* target : {"members.toml", "shared.toml"}) {
        INFO(target);
        elsewhere.write(target, "# edited\n");
        w.run_for(milliseconds(300));
        REQUIRE(w.reasons.size() == 1);
        CHECK(w.reasons[0] == (elsewhere.dir() / target).string() + " changed");
        w.reasons.clear();
    }
    // an unrelated file beside a target is no site file
    elsewhere.write("other.toml", "");
    w.run_for(milliseconds(300));
    CHECK(w.reasons.empty());
}

TEST_CASE("watching again loses no change already made", "[daemon]") {
    // The daemon watches again after every reload: an edit made meanwhile
    // waits in the kernel's queue under the folder's watch.
    watched_site w(milliseconds(50));
    w.site.write("events.d/a.toml", "");
    w.watch();
    w.run_for(milliseconds(400));
    CHECK(w.reasons.size() == 1);
}

TEST_CASE("an events folder replaced is read once more once it is watched", "[daemon]") {
    // Files copied into the new folder between the reload's reading and
    // its watch would be seen by nothing.
    watched_site w(milliseconds(50));
    const auto events = w.site.dir() / "events.d";
    std::filesystem::rename(events, w.site.dir() / "old");
    std::filesystem::create_directory(events);
    w.run_for(milliseconds(300)); // the reload of the move
    REQUIRE(w.reasons.size() == 1);
    w.watch(); // after it
    w.run_for(milliseconds(300));
    REQUIRE(w.reasons.size() == 2);
    CHECK(w.reasons[1] == events.string() + " replaced");
    w.watch(); // the same folder
    w.run_for(milliseconds(300));
    CHECK(w.reasons.size() == 2);
}

TEST_CASE("files that keep changing reload once, when they settle", "[daemon]") {
    // A slow copy read half-way would publish half a site, and tell
    // members of cancellations that are none.
    watched_site w(milliseconds(300));
    asio::steady_timer edit(w.io);
    int edits = 0;
    std::function<void()> next = [&] {
        w.site.write("events.d/a" + std::to_string(edits) + ".toml", "");
        if (++edits == 25) return; // one every 100 ms for 2.5 s
        edit.expires_after(milliseconds(100));
        edit.async_wait([&](auto) { next(); });
    };
    next();
    const auto start = std::chrono::steady_clock::now();
    w.run_for(milliseconds(4000));
    REQUIRE(w.times.size() == 1);
    CHECK(w.times[0] - start > milliseconds(2500));
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
    const std::string database = (site.dir() / "casacal.db").string();
    rebuilder worker(
        io, site.main_file(), database, [&](build_outcome o) { outcomes.push_back(std::move(o)); },
        [] { return std::int64_t{1795953600}; });
    worker.set_generation(1);
    // A database changed in the files waits for a restart: the rebuilds keep
    // serve's, and make no other.
    const std::string text = site.read("casacal.toml");
    const auto at = text.find("database = \"casacal.db\"");
    REQUIRE(at != std::string::npos);
    site.write("casacal.toml",
               text.substr(0, at) + "database = \"other.db\"" +
                   text.substr(at + std::string("database = \"casacal.db\"").size()));
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
    CHECK(std::filesystem::exists(database));
    CHECK_FALSE(std::filesystem::exists(site.dir() / "other.db"));
}
