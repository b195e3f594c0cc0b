#include "notify/pickup_transport.hpp"
#include "notify/transport_thread.hpp"

#include "notify_fixture.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace casacal::notify;
using namespace casacal::notify::testing;

TEST_CASE("transport_thread delivers every result once, on the owner's thread", "[notify]") {
    scratch_dir scratch;
    boost::asio::io_context owner;
    transport_thread transport(owner, [&](boost::asio::io_context& inner) {
        return std::make_unique<pickup_transport>(inner, scratch.path() / "outbox");
    });
    std::vector<send_result> results;
    const auto owner_thread = std::this_thread::get_id();
    bool other_thread = false;
    for (int i = 0; i < 8; ++i) {
        auto m = sample_message();
        m.message_id = "reminder." + std::to_string(i) + "@casaco.example";
        transport.send(std::move(m), [&](const send_result& r) {
            other_thread = other_thread || std::this_thread::get_id() != owner_thread;
            results.push_back(r);
        });
    }
    CHECK(transport.queued() + transport.in_flight() <= 8);
    REQUIRE(run_until(owner, [&] { return results.size() == 8; }));
    owner.restart();
    owner.run_for(std::chrono::milliseconds(50));
    CHECK(results.size() == 8); // never twice
    CHECK_FALSE(other_thread);
    for (const auto& r : results) {
        CHECK(r.outcome == outcome::accepted);
        CHECK(r.smtp_code == 250);
    }
    CHECK(std::distance(std::filesystem::directory_iterator(scratch.path() / "outbox"),
                        std::filesystem::directory_iterator()) == 8);
    CHECK(transport.queued() == 0);
}

TEST_CASE("transport_thread calls no handler after stop", "[notify]") {
    scratch_dir scratch;
    boost::asio::io_context owner;
    bool called = false;
    {
        transport_thread transport(owner, [&](boost::asio::io_context& inner) {
            return std::make_unique<pickup_transport>(inner, scratch.path() / "outbox");
        });
        transport.send(sample_message(), [&](const send_result&) { called = true; });
        transport.stop();
    }
    owner.restart();
    owner.run_for(std::chrono::milliseconds(200));
    CHECK_FALSE(called);
}
