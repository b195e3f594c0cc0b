#include "notify/transport_pool.hpp"

#include "notify_fixture.hpp"

#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace casacal::notify;
using namespace casacal::notify::testing;

namespace {

/// Accepts every message at once, except those to `stuck`, which it keeps
/// until stopped (a server stalling on their end of DATA). Counts what
/// each instance was given.
class stalling_transport final : public transport {
  public:
    stalling_transport(boost::asio::io_context& io, std::string stuck, std::atomic<int>& given)
        : io_(io), stuck_(std::move(stuck)), given_(given) {}

    void send(message msg, send_handler handler) override {
        ++given_;
        if (msg.to.address == stuck_) {
            held_.push_back(std::move(handler));
            return;
        }
        ++flying_;
        boost::asio::post(io_, [this, handler = std::move(handler)] {
            --flying_;
            send_result r;
            r.outcome = outcome::accepted;
            r.smtp_code = 250;
            handler(r);
        });
    }
    void drain(std::chrono::steady_clock::time_point, std::function<void()> done) override {
        boost::asio::post(io_, std::move(done));
    }
    void hold(bool) noexcept override {}
    void stop() noexcept override { held_.clear(); }
    std::size_t queued() const noexcept override { return 0; }
    std::size_t in_flight() const noexcept override { return held_.size() + flying_; }

  private:
    boost::asio::io_context& io_;
    std::string stuck_;
    std::atomic<int>& given_;
    std::vector<send_handler> held_;
    std::size_t flying_ = 0;
};

message to(const std::string& address) {
    auto m = sample_message();
    m.to.address = address;
    m.message_id = "reminder." + address;
    return m;
}

std::vector<std::unique_ptr<transport_thread>>
members(boost::asio::io_context& owner, int n, const std::string& stuck, std::atomic<int>& given) {
    std::vector<std::unique_ptr<transport_thread>> out;
    for (int i = 0; i < n; ++i)
        out.push_back(std::make_unique<transport_thread>(owner, [&](boost::asio::io_context& io) {
            return std::make_unique<stalling_transport>(io, stuck, given);
        }));
    return out;
}

} // namespace

TEST_CASE("transport_pool: a member stuck on one message holds only that one", "[notify]") {
    boost::asio::io_context owner;
    std::atomic<int> given{0};
    transport_pool pool(owner, members(owner, 3, "slow@example.org", given));
    std::set<std::string> answered;
    int results = 0;
    const auto owner_thread = std::this_thread::get_id();
    bool other_thread = false;
    std::vector<std::string> addresses;
    for (int i = 0; i < 30; ++i)
        addresses.push_back(i == 1 ? "slow@example.org" : "m" + std::to_string(i) + "@example.org");
    for (const auto& a : addresses)
        pool.send(to(a), [&, a](const send_result& r) {
            other_thread = other_thread || std::this_thread::get_id() != owner_thread;
            ++results;
            if (r.outcome == outcome::accepted) answered.insert(a);
            pool.recorded();
        });
    // The two other members take the 28 others as they finish, one at a time.
    REQUIRE(run_until(owner, [&] { return results == 29; }));
    CHECK(answered.size() == 29);
    CHECK_FALSE(answered.count("slow@example.org"));
    CHECK_FALSE(other_thread);
    CHECK(given == 30); // every message handed once, none twice
    CHECK(pool.queued() == 0);
    CHECK(pool.in_flight() == 1);
    pool.stop();
}

TEST_CASE("transport_pool: held, it starts nothing; let go, everything leaves", "[notify]") {
    boost::asio::io_context owner;
    std::atomic<int> given{0};
    transport_pool pool(owner, members(owner, 2, "", given));
    pool.hold(true);
    int results = 0;
    for (int i = 0; i < 10; ++i)
        pool.send(to("m" + std::to_string(i) + "@example.org"), [&](const send_result&) {
            ++results;
            pool.recorded();
        });
    CHECK_FALSE(run_until(
        owner, [&] { return results > 0; }, std::chrono::milliseconds(100)));
    CHECK(given == 0);
    CHECK(pool.queued() == 10);
    pool.hold(false);
    REQUIRE(run_until(owner, [&] { return results == 10; }));
    CHECK(given == 10);
}

TEST_CASE("transport_pool: a member takes its next message once its last outcome is recorded",
          "[notify]") {
    boost::asio::io_context owner;
    std::atomic<int> given{0};
    transport_pool pool(owner, members(owner, 2, "", given));
    int results = 0;
    for (int i = 0; i < 6; ++i)
        pool.send(to("m" + std::to_string(i) + "@example.org"),
                  [&](const send_result&) { ++results; });
    // One message each, then both wait: a crash now repeats at most two.
    REQUIRE(run_until(owner, [&] { return results == 2; }));
    CHECK_FALSE(run_until(
        owner, [&] { return given > 2; }, std::chrono::milliseconds(200)));
    CHECK(pool.queued() == 4);
    pool.recorded();
    REQUIRE(run_until(owner, [&] { return results == 4; }));
    CHECK_FALSE(run_until(
        owner, [&] { return given > 4; }, std::chrono::milliseconds(200)));
    // Told twice before anything new came back: still one message each.
    pool.recorded();
    pool.recorded();
    REQUIRE(run_until(owner, [&] { return results == 6; }));
    CHECK(given == 6);
    CHECK(pool.queued() == 0);
}

TEST_CASE("transport_pool: drained, what no member took goes back unstarted", "[notify]") {
    boost::asio::io_context owner;
    std::atomic<int> given{0};
    // One member, stuck on the first message: the nine others wait in the queue.
    transport_pool pool(owner, members(owner, 1, "m0@example.org", given));
    std::vector<send_result> back;
    for (int i = 0; i < 10; ++i)
        pool.send(to("m" + std::to_string(i) + "@example.org"),
                  [&](const send_result& r) { back.push_back(r); });
    REQUIRE(run_until(owner, [&] { return given == 1; }));
    bool drained = false;
    pool.drain(std::chrono::steady_clock::now() + std::chrono::seconds(1), [&] { drained = true; });
    REQUIRE(run_until(owner, [&] { return drained && back.size() == 9; }));
    for (const auto& r : back) {
        CHECK(r.never_started);
        CHECK(r.outcome == outcome::transient);
    }
    CHECK(given == 1);
    pool.stop();
}
