#include "notify/dispatcher.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace casacal::notify;

TEST_CASE("unsubscribe tokens carry their link's id and a 128-bit secret", "[notify]") {
    const std::string secret = new_token();
    REQUIRE(secret.size() == 32);
    CHECK(secret != new_token());

    const std::string token = unsubscribe_token(4217, secret);
    CHECK(token == "4217-" + secret);
    const auto parsed = parse_unsubscribe_token(token);
    REQUIRE(parsed);
    CHECK(parsed->first == 4217);
    CHECK(parsed->second == secret);

    const auto big = parse_unsubscribe_token("999999999999999999-" + secret);
    REQUIRE(big);
    CHECK(big->first == 999999999999999999);
}

TEST_CASE("anything else is not an unsubscribe token", "[notify]") {
    const std::string secret = "0123456789abcdef0123456789abcdef";
    for (const std::string& bad : std::vector<std::string>{
             std::string(), secret, "-" + secret, "0-" + secret, "07-" + secret, "12" + secret,
          "12-" + secret.substr(1), "12-" + secret + "0", "12-0123456789ABCDEF0123456789abcdef",
          "12-" + secret.substr(0, 31) + "g", "1-2-" + secret, "+1-" + secret, " 1-" + secret,
          "1000000000000000000-" + secret, "12-" + secret + "\n", "1/../2-" + secret})
        CHECK_FALSE(parse_unsubscribe_token(bad));
}
