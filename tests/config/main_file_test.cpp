#include "config/values.hpp"
#include "site_dir.hpp"

#include <catch2/catch.hpp>

using casacal::config::testing::minimal_main;
using casacal::config::testing::site_dir;
using lines = std::vector<std::string>;

namespace {

// minimal_main is 11 lines long: what is appended starts on line 12.
std::vector<std::string> problems_with(const std::string& appended) {
    site_dir dir;
    dir.write("casacal.toml", minimal_main + appended);
    dir.mkdir("events.d");
    return dir.problems();
}

} // namespace

TEST_CASE("unknown tables and keys of the main file", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", R"(verbose = true
[site]
name = "Casaco"
base_url = "https://agenda.casaco.example"
domain = "casaco.example"
[htpp]
listen = "127.0.0.1:80"
[smtp]
urll = "smtp://mail.casaco.example"
)");
    dir.mkdir("events.d");
    CHECK(dir.problems() ==
          lines{
              "casacal.toml:1:1: error: unknown key 'verbose' at top level",
              "casacal.toml:6:2: error: unknown table [htpp]; did you mean [http]?",
              "casacal.toml:9:1: error: unknown key 'urll' in [smtp]; did you mean 'url'?",
          });
}

TEST_CASE("the [site] table and its required keys", "[config]") {
    SECTION("no [site] at all") {
        site_dir dir;
        dir.write("casacal.toml", "[http]\nlisten = \"127.0.0.1:9000\"\n");
        dir.mkdir("events.d");
        CHECK(dir.problems() == lines{"casacal.toml:1:1: error: missing required table [site]"});
    }
    SECTION("a base_url links cannot be made from, or that would publish a password") {
        for (const auto& [url, why] : std::vector<std::pair<std::string, std::string>>{
                 {"https://agenda.casaco.example/?x=1",
                  "it cannot have a query or a fragment (links are made by adding paths to it)"},
                 {"https://agenda.casaco.example#top",
                  "it cannot have a query or a fragment (links are made by adding paths to it)"},
                 {"https://user:pw@agenda.casaco.example",
                  "it cannot hold a user or a password (it is published in every feed)"},
                 {"https://agenda.casaco.example:abc", "'agenda.casaco.example:abc' is not a "
                                                       "host[:port]"},
                 {"https://agenda.casaco.example:",
                  "'agenda.casaco.example:' is not a host[:port]"},
                 {"https://[::1", "'[::1' is not a host[:port]"},
                 {"https://agenda.casaco.example:0", "the port must be between 1 and 65535"},
                 {"https://agenda.casaco.example:99999", "the port must be between 1 and 65535"},
                 {"https://agenda.casaco.example/café",
                  "it contains 'é', which a URL writes as %C3%A9"},
                 {"https://agenda.casaco.example/" + std::string(471, 'a'),
                  "it is longer than 500 characters"}}) {
            site_dir dir;
            dir.write("casacal.toml", "[site]\nname = \"Casaco\"\nbase_url = \"" + url +
                                          "\"\ndomain = \"casaco.example\"\n");
            dir.mkdir("events.d");
            CHECK(dir.problems() == lines{"casacal.toml:3:12: error: invalid base_url '" +
                                          casacal::config::without_secrets(url) + "': " + why});
        }
    }
    SECTION("a public base_url in plain http is a warning: no one-click unsubscribe") {
        const auto with = [](const std::string& url) {
            site_dir dir;
            dir.write("casacal.toml", "[site]\nname = \"Casaco\"\nbase_url = \"" + url +
                                          "\"\ndomain = \"casaco.example\"\n");
            dir.mkdir("events.d");
            return dir.problems();
        };
        CHECK(with("http://agenda.casaco.example/") ==
              lines{"casacal.toml:3:12: warning: base_url 'http://agenda.casaco.example/' is not "
                    "https: the unsubscribe links of reminders will be http, and mail providers "
                    "offer one-click unsubscribing only over https (RFC 8058)"});
        for (const auto* local : {"http://127.0.0.1:8080", "http://127.1.2.3", "http://LocalHost",
                                  "http://[::1]:80/", "https://agenda.casaco.example"})
            CHECK(with(local).empty());
        // Names that only begin like a loopback address are public.
        for (const std::string name : {"http://127.0.0.1.nip.io", "http://127.evil.example"})
            CHECK(with(name).size() == 1);
    }
    SECTION("a scheme in capitals is the same scheme (RFC 3986), kept in lower case") {
        site_dir dir;
        dir.write("casacal.toml",
                  "[site]\nname = \"Casaco\"\nbase_url = "
                  "\"HTTPS://Agenda.casaco.example/\"\ndomain = \"casaco.example\"\n"
                  "[smtp]\nurl = \"SMTP://127.0.0.1:2525\"\n");
        dir.mkdir("events.d");
        CHECK(dir.problems().empty());
        const auto loaded = dir.load();
        CHECK(loaded.site.site.base_url == "https://Agenda.casaco.example");
        CHECK(loaded.site.smtp.url == "smtp://127.0.0.1:2525");
    }
    SECTION("keys left out or malformed") {
        site_dir dir;
        dir.write("casacal.toml", R"(
[site]
base_url = "ftp://agenda.casaco.example"
domain = "casaco example"
timezone = "Europe/Paris "
locale = "de"
)");
        dir.mkdir("events.d");
        CHECK(dir.problems() ==
              lines{
                  "casacal.toml:2:1: error: missing required key 'name' in [site]",
                  "casacal.toml:3:12: error: invalid base_url 'ftp://agenda.casaco.example': it "
                  "must start with http:// or https://",
                  "casacal.toml:4:10: error: invalid domain 'casaco example': expected a host name "
                  "like \"casaco.example\"",
                  "casacal.toml:5:12: error: invalid time zone 'Europe/Paris ': expected an IANA "
                  "name like \"Europe/Paris\"",
                  "casacal.toml:6:10: error: 'locale' must be \"fr\" or \"en\", not 'de'",
              });
    }
    SECTION("a domain without a dot makes an address mail servers refuse") {
        site_dir dir;
        std::string main = minimal_main;
        main.replace(main.find("domain = \"casaco.example\""), 25, "domain = \"casaco\"");
        dir.write("casacal.toml", main);
        dir.mkdir("events.d");
        CHECK(dir.problems() ==
              lines{"casacal.toml:4:10: warning: the sender the domain gives, agenda@casaco, has "
                    "no '.' after its '@': mail servers refuse it; write [smtp] from, or a domain "
                    "like \"casaco.example\""});
        dir.write("casacal.toml", main + "[smtp]\nfrom = \"agenda@casaco.example\"\n");
        CHECK(dir.problems().empty());
    }
}

TEST_CASE("wrong types in the main file", "[config]") {
    CHECK(problems_with(R"([smtp]
max_per_minute = 0
[reminders]
grace = 30
offsets = "P1D"
[feeds]
keep_past = "90 days"
)") == lines{
           "casacal.toml:13:18: error: 'max_per_minute' must be a positive integer (at most "
           "1000000000)",
           "casacal.toml:15:9: error: 'grace' must be a duration like \"PT2H\", not an integer",
           "casacal.toml:16:11: error: 'offsets' must be an array of durations like \"PT2H\"",
           "casacal.toml:18:13: error: invalid duration '90 days': expected ISO 8601 like \"PT2H\" "
           "or \"P1D\"",
       });
    CHECK(problems_with("http = \"127.0.0.1:8080\"\n") ==
          lines{
              // a key after [categories.weekend] belongs to it
              "casacal.toml:12:1: error: unknown key 'http' in [categories.weekend]",
          });
}

TEST_CASE("listen addresses", "[config]") {
    CHECK(problems_with("[http]\nlisten = \"8080\"\n") ==
          lines{
              "casacal.toml:13:10: error: invalid listen address '8080': expected \"host:port\" "
              "like \"127.0.0.1:8080\" or \"[::1]:8080\"",
          });
    CHECK(problems_with("[http]\nlisten = \"::1:8080\"\n") ==
          lines{
              "casacal.toml:13:10: error: invalid listen address '::1:8080': expected "
              "\"host:port\" like \"127.0.0.1:8080\" or \"[::1]:8080\"",
          });
    CHECK(problems_with("[http]\nlisten = \"127.0.0.1:70000\"\n") ==
          lines{
              "casacal.toml:13:10: error: invalid listen address '127.0.0.1:70000': the port must "
              "be between 1 and 65535",
          });
    // serve does not resolve names: check refuses them as serve would
    CHECK(problems_with("[http]\nlisten = \"localhost:8080\"\n") ==
          lines{
              "casacal.toml:13:10: error: invalid listen address 'localhost:8080': the host must be "
              "an IP address like 127.0.0.1 or [::1] (names are not resolved)",
          });
    CHECK(problems_with("[http]\nlisten = \"0.0.0.0:80\"\n").empty());
    CHECK(problems_with("[http]\nlisten = \"[::1]:8080\"\n").empty());
}

TEST_CASE("smtp settings", "[config]") {
    CHECK(problems_with(R"([smtp]
url = "http://mail.casaco.example"
starttls = "yes"
from = "Agenda <agenda@@casaco.example>"
)") == lines{
           "casacal.toml:13:7: error: invalid smtp url 'http://mail.casaco.example': it must start "
           "with smtp:// or smtps://",
           "casacal.toml:14:12: error: 'starttls' must be \"required\", \"opportunistic\" or "
           "\"off\", not 'yes'",
           "casacal.toml:15:8: error: invalid email address 'Agenda <agenda@@casaco.example>': "
           "invalid character '@' before '@'",
       });
    CHECK(problems_with("[smtp]\nurl = \"smtp://\"\n") ==
          lines{
              "casacal.toml:13:7: error: invalid smtp url 'smtp://': expected smtp://host[:port] "
              "or smtps://host[:port]",
          });
    CHECK(problems_with("[smtp]\nurl = \"smtps://[::1]:465\"\n").empty());
    CHECK(problems_with("[smtp]\nurl = \"smtps://[::1]:465\"\nstarttls = \"required\"\n") ==
          lines{"casacal.toml:14:12: warning: 'starttls' applies to smtp:// only: smtps:// is TLS "
                "from the start, with certificate checks"});
    // A login without TLS to another machine: the password in clear.
    CHECK(problems_with("[smtp]\nurl = \"smtp://mail.casaco.example:587\"\nstarttls = \"off\"\n"
                        "username = \"agenda\"\n") ==
          lines{"casacal.toml:14:12: warning: starttls = \"off\" with a username: the password "
                "crosses the network in clear to 'smtp://mail.casaco.example:587'; use starttls = "
                "\"required\" or an smtps:// url",
                "casacal.toml:15:12: warning: [smtp] username is not used without a "
                "password_file: casacal logs in (SMTP AUTH) only with both"});
    // ... or when the server offers no STARTTLS, or someone takes the offer out.
    CHECK(problems_with("[smtp]\nurl = \"smtp://mail.casaco.example:587\"\n"
                        "starttls = \"opportunistic\"\nusername = \"agenda\"\n") ==
          lines{"casacal.toml:14:12: warning: starttls = \"opportunistic\" with a username: the "
                "password crosses the network in clear to 'smtp://mail.casaco.example:587' when "
                "the server offers no STARTTLS, or someone between takes the offer out; use "
                "starttls = \"required\" or an smtps:// url",
                "casacal.toml:15:12: warning: [smtp] username is not used without a "
                "password_file: casacal logs in (SMTP AUTH) only with both"});
    CHECK(problems_with("[smtp]\nurl = \"smtp://127.0.0.1:25\"\nstarttls = \"off\"\n"
                        "username = \"agenda\"\n") ==
          lines{"casacal.toml:15:12: warning: [smtp] username is not used without a "
                "password_file: casacal logs in (SMTP AUTH) only with both"});
    CHECK(problems_with("[smtp]\nurl = \"smtp://mail.casaco.example:587\"\nstarttls = \"off\"\n")
              .empty());
    // serve reads the password at start: check says first when it cannot.
    CHECK(problems_with("[smtp]\nurl = \"smtp://[::1]:25\"\nusername = \"agenda\"\n"
                        "password_file = \"nope/secret\"\n") ==
          lines{"casacal.toml:15:17: error: cannot read [smtp] password_file 'nope/secret': No "
                "such file or directory"});
    // A password file of more than one line, or without a username.
    {
        site_dir dir;
        dir.write("casacal.toml", minimal_main +
                                      "[smtp]\nurl = \"smtp://[::1]:25\"\n"
                                      "username = \"agenda\"\npassword_file = \"secret\"\n");
        dir.mkdir("events.d");
        dir.write("secret", "S3cret\n");
        CHECK(dir.problems().empty());
        dir.write("secret", "\n");
        CHECK(dir.problems() ==
              lines{"casacal.toml:15:17: warning: [smtp] password_file 'secret' is empty: casacal "
                    "logs in (SMTP AUTH) only with a password"});
        dir.write("secret", "S3cret\r\nother\n");
        const auto problems = dir.problems();
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].ends_with(
            ": error: [smtp] password_file 'secret' holds more than one line: it must hold "
            "the password alone"));
        CHECK(problems[0].find("S3cret") == std::string::npos);
        dir.write("casacal.toml", minimal_main + "[smtp]\nurl = \"smtp://[::1]:25\"\n"
                                                 "password_file = \"secret\"\n");
        dir.write("secret", "S3cret\n");
        CHECK(dir.problems() ==
              lines{"casacal.toml:14:17: warning: [smtp] password_file is not used without a "
                    "username: casacal logs in (SMTP AUTH) only with both"});
        // A username there but refused is said so, not also said missing.
        dir.write("casacal.toml", minimal_main + "[smtp]\nurl = \"smtp://[::1]:25\"\n"
                                                 "username = \"u\\r\\nx\"\n"
                                                 "password_file = \"secret\"\n");
        const auto refused = dir.problems();
        REQUIRE(refused.size() == 1);
        CHECK(refused[0].starts_with("casacal.toml:14:"));
        CHECK(refused[0].find("error") != std::string::npos);
    }
    // A password written into the URL is not repeated.
    CHECK(problems_with("[smtp]\nurl = \"smtp://agenda:S3cret@mail.casaco.example\"\n") ==
          lines{
              "casacal.toml:13:7: error: invalid smtp url 'smtp://***@mail.casaco.example': "
              "expected smtp://host[:port] or smtps://host[:port]",
          });
    // Nor one with a '/' in it, or a URL without "//", or a query.
    for (const char* url :
         {"smtp://agenda:Xy9/Qz+w=S3cret@mail.casaco.example:587",
          "smtp:agenda:S3cret@mail.casaco.example", "smtp://mail.casaco.example?password=S3cret",
          "SMTP://u:S3cret@mail.casaco.example#S3cret"}) {
        const auto problems = problems_with("[smtp]\nurl = \"" + std::string(url) + "\"\n");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].find("S3cret") == std::string::npos);
        CHECK(problems[0].find("***") != std::string::npos);
    }
}

TEST_CASE("categories", "[config]") {
    CHECK(problems_with(R"([categories.fete]
color = "orange"
colr = "#ffffff"
[categories.Concerts]
name = "Concerts"
color = "zz"
)") == lines{
           "casacal.toml:13:9: error: invalid color 'orange': expected \"#rrggbb\"",
           "casacal.toml:14:1: error: unknown key 'colr' in [categories.fete]; did you mean "
           "'color'?",
           "casacal.toml:15:13: error: invalid category key 'Concerts': use only a-z, 0-9 and '-'",
           "casacal.toml:17:9: error: invalid color 'zz': expected \"#rrggbb\"",
       });
}

TEST_CASE("a syntax error in the main file stops there", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", "[site]\nname = \"Casaco\n");
    dir.write("events.d/a.toml", "garbage");
    const auto found = dir.problems();
    REQUIRE(found.size() == 1);
    CHECK(found[0].starts_with("casacal.toml:2:"));
    CHECK(found[0].find(": error: unterminated string: the line ends before its closing quote") !=
          std::string::npos);
}

TEST_CASE("a missing events folder is reported where it is named", "[config]") {
    SECTION("defaulted: at [site]") {
        site_dir dir;
        dir.write("casacal.toml", minimal_main);
        CHECK(dir.problems() == lines{
                                    "casacal.toml:1:1: error: cannot read events folder "
                                    "'events.d': No such file or directory",
                                });
    }
    SECTION("given: at the value") {
        site_dir dir;
        dir.write("casacal.toml",
                  "[site]\nname = \"Casaco\"\nbase_url = \"https://agenda.casaco.example\"\n"
                  "domain = \"casaco.example\"\nevents = \"x/../agenda\"\n");
        CHECK(dir.problems() == lines{
                                    "casacal.toml:5:10: error: cannot read events folder 'agenda': "
                                    "No such file or directory",
                                });
    }
}

TEST_CASE("the members file is optional unless named", "[config]") {
    site_dir dir;
    dir.write("casacal.toml", minimal_main);
    dir.mkdir("events.d");
    CHECK(dir.problems().empty());
    dir.write("casacal.toml",
              "[site]\nname = \"Casaco\"\nbase_url = \"https://agenda.casaco.example\"\n"
              "domain = \"casaco.example\"\nmembers = \"people.toml\"\n");
    CHECK(dir.problems() == lines{
                                "casacal.toml:5:11: error: cannot read members file 'people.toml': "
                                "No such file or directory",
                            });
}

TEST_CASE("an offset longer than a year is refused", "[config]") {
    CHECK(problems_with("[reminders]\noffsets = [\"P366D\", \"P53W\", \"PT8785H\"]\n") ==
          lines{"casacal.toml:13:21: error: 'offsets' must be at most P366D, not 'P53W'",
                "casacal.toml:13:29: error: 'offsets' must be at most P366D, not 'PT8785H'"});
}

TEST_CASE("an offset written twice is one reminder, and a warning", "[config]") {
    CHECK(problems_with("[reminders]\noffsets = [\"PT1H\", \"PT60M\", \"P1D\", \"PT24H\"]\n") ==
          lines{"casacal.toml:13:20: warning: 'PT60M' in 'offsets' is 'PT1H' again: one reminder "
                "is sent for both"});
}

TEST_CASE("an offset of zero is refused: a reminder due at the start is never sent", "[config]") {
    CHECK(problems_with("[reminders]\noffsets = [\"PT2H\", \"PT0S\"]\n") ==
          lines{"casacal.toml:13:20: error: 'offsets' must be longer than zero (a reminder due at "
                "the start would never be sent)"});
}
