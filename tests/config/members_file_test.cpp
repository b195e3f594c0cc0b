#include "site_dir.hpp"

#include <catch2/catch.hpp>

using casacal::config::testing::minimal_main;
using casacal::config::testing::site_dir;
using lines = std::vector<std::string>;

namespace {

std::vector<std::string> member_problems(const std::string& members) {
    site_dir dir;
    dir.write("casacal.toml", minimal_main);
    dir.mkdir("events.d");
    dir.write("members.toml", members);
    return dir.problems();
}

} // namespace

TEST_CASE("member addresses are checked", "[config]") {
    CHECK(member_problems(R"([[member]]
email = "camille.example.org"
categories = ["apero"]
[[member]]
email = "Camille <camille@example.org"
categories = ["apero"]
[[member]]
name = "Nobody"
categories = ["apero"]
)") == lines{
           "members.toml:2:9: error: invalid email address 'camille.example.org': missing '@'",
           "members.toml:5:9: error: invalid email address 'Camille <camille@example.org': '<' "
           "without a closing '>' at the end",
           "members.toml:7:1: error: missing required key 'email' in [[member]]",
       });
}

TEST_CASE("member categories must be known or '*'", "[config]") {
    CHECK(member_problems(R"([[member]]
email = "camille@example.org"
categories = ["apero", "casacademy", "*", "concerts"]
locale = "FR"
offsets = ["PT3H", "3h"]
)") == lines{
           "members.toml:3:24: error: unknown category 'casacademy'; did you mean 'casacademie'?",
           "members.toml:3:43: error: unknown category 'concerts'",
           "members.toml:4:10: error: 'locale' must be \"fr\" or \"en\", not 'FR'",
           "members.toml:5:20: error: invalid duration '3h': expected ISO 8601 like \"PT2H\" or "
           "\"P1D\"",
       });
}

TEST_CASE("a member given twice is reported at the second", "[config]") {
    CHECK(member_problems(R"([[member]]
email = "camille@example.org"
categories = ["apero"]

[[member]]
email = "Camille <Camille@Example.org>"
categories = ["*"]
)") == lines{
           "members.toml:6:9: error: duplicate member 'Camille@Example.org' (first defined at "
           "members.toml:2:9)",
       });
}

TEST_CASE("a member without categories is a warning", "[config]") {
    CHECK(member_problems("[[member]]\nemail = \"camille@example.org\"\nemial = 1\n") ==
          lines{
              "members.toml:1:1: warning: this [[member]] has no 'categories': they will get no "
              "reminders",
              "members.toml:3:1: error: unknown key 'emial' in [[member]]; did you mean 'email'?",
          });
    CHECK(member_problems("[[member]]\nemail = \"camille@example.org\"\ncategories = []\n") ==
          lines{
              "members.toml:3:14: warning: 'categories' is empty: this member will get no "
              "reminders (\"*\" follows every category)",
          });
}
