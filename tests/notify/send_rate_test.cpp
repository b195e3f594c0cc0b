#include "notify/send_rate.hpp"

#include <catch2/catch.hpp>

using namespace casacal::notify;
using namespace std::chrono_literals;

TEST_CASE("send_rate lets that many go per period, and tells when the next may", "[notify]") {
    send_rate rate(2);
    const auto t0 = send_rate::clock::time_point{} + 1h;
    CHECK(rate.available(t0) == 2);
    CHECK(rate.take(t0));
    CHECK(rate.take(t0 + 10s));
    CHECK_FALSE(rate.take(t0 + 20s));
    CHECK(rate.available(t0 + 59s) == 0);
    CHECK(rate.next_free(t0 + 30s) == t0 + 60s);
    CHECK(rate.available(t0 + 60s) == 1); // the first came back, not the second
    CHECK(rate.next_free(t0 + 60s) == t0 + 60s);
    CHECK(rate.take(t0 + 60s));
    CHECK(rate.next_free(t0 + 61s) == t0 + 70s);

    send_rate none(0);
    for (int i = 0; i < 1000; ++i)
        CHECK(none.take(t0));
    CHECK(none.next_free(t0) == t0);
}

TEST_CASE("send_rate counts the messages that went before it, as a restart finds them",
          "[notify]") {
    send_rate rate(2);
    const auto t0 = send_rate::clock::time_point{} + 1h;
    rate.taken_at(t0 - 50s);
    rate.taken_at(t0 - 5s);
    CHECK(rate.available(t0) == 0);
    CHECK(rate.next_free(t0) == t0 + 10s);
    // More than the limit (it was lowered): the latest ones count.
    send_rate lowered(1);
    lowered.taken_at(t0 - 50s);
    lowered.taken_at(t0 - 5s);
    CHECK(lowered.next_free(t0) == t0 + 55s);
    send_rate none(0);
    none.taken_at(t0);
    CHECK(none.available(t0) > 0);
}
