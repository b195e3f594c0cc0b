#include "daemon/cli.hpp"

#include "daemon/startup_error.hpp"
#include "test_site.hpp"

#include "store/database.hpp"
#include "store/outbox.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace casacal::daemon;

namespace {
parse_result parse(std::vector<std::string> args) {
    return parse_arguments(args);
}
} // namespace

TEST_CASE("commands and their options parse", "[daemon]") {
    auto r = parse({"serve"});
    REQUIRE(r.options);
    CHECK(r.options->cmd == command::serve);
    CHECK(r.options->config == "/etc/casacal/casacal.toml");

    r = parse({"-c", "/srv/site.toml", "check"});
    REQUIRE(r.options);
    CHECK(r.options->cmd == command::check);
    CHECK(r.options->config == "/srv/site.toml");

    r = parse({"export", "--category", "apero", "-o", "out.ics", "--config=x.toml"});
    REQUIRE(r.options);
    CHECK(r.options->cmd == command::export_feed);
    CHECK(r.options->category == "apero");
    CHECK(r.options->output == "out.ics");
    CHECK(r.options->config == "x.toml");

    r = parse({"agenda", "--from", "2026-12-01", "--to=2026-12-31", "--json"});
    REQUIRE(r.options);
    CHECK(r.options->from == "2026-12-01");
    CHECK(r.options->to == "2026-12-31");
    CHECK(r.options->json);

    r = parse({"send-test", "--to", "camille@example.org"});
    REQUIRE(r.options);
    CHECK(r.options->to_address == "camille@example.org");

    r = parse({"reminders", "--json"});
    REQUIRE(r.options);
    CHECK(r.options->cmd == command::reminders);

    // A short option's value may be attached, as getopt reads it.
    r = parse({"-c/srv/site.toml", "export", "-oout.ics"});
    REQUIRE(r.options);
    CHECK(r.options->config == "/srv/site.toml");
    CHECK(r.options->output == "out.ics");
}

TEST_CASE("help and version", "[daemon]") {
    auto r = parse({"--version"});
    REQUIRE(r.options);
    CHECK(r.options->cmd == command::version);
    r = parse({"--help"});
    REQUIRE(r.options);
    CHECK(r.options->cmd == command::help);
    CHECK_FALSE(r.options->help_for);
    r = parse({"export", "--help"});
    REQUIRE(r.options);
    CHECK(r.options->cmd == command::help);
    CHECK(r.options->help_for == command::export_feed);
    std::ostringstream out, err;
    CHECK(run_command(*r.options, out, err) == exit_ok);
    CHECK(out.str().rfind("usage: casacal export", 0) == 0);
}

TEST_CASE("usage errors are reported, not run", "[daemon]") {
    for (std::vector<std::string> args :
         std::vector<std::vector<std::string>>{{},
                                               {"frobnicate"},
                                               {"--frobnicate"},
                                               {"serve", "extra"},
                                               {"check", "--json"},
                                               {"-c"},
                                               {"serve", "-c"},
                                               {"export", "--category"},
                                               {"send-test"},
                                               {"agenda", "--from", "2026-13-01"},
                                               {"agenda", "--to", "tomorrow"},
                                               {"reminders", "--to", "x@example.org"},
                                               {"export", "-o", ""},
                                               {"export", "--output="}}) {
        std::string joined;
        for (const auto& a : args)
            joined += a + " ";
        INFO(joined);
        auto r = parse(args);
        CHECK_FALSE(r.options);
        CHECK_FALSE(r.error.empty());
    }
}

TEST_CASE("a usage error of a command points to its help", "[daemon]") {
    auto r = parse({"check", "--bogus"});
    CHECK(r.error == "check: unknown option \"--bogus\"");
    CHECK(r.command_given == command::check);
    r = parse({"send-test"});
    CHECK(r.command_given == command::send_test);
    CHECK_FALSE(parse({"frobnicate"}).command_given);
}

TEST_CASE("main_program exits 2 on a usage error", "[daemon]") {
    std::vector<std::string> storage = {"casacal", "frobnicate"};
    std::vector<char*> argv;
    for (auto& s : storage)
        argv.push_back(s.data());
    CHECK(main_program(static_cast<int>(argv.size()), argv.data()) == exit_usage);
}

TEST_CASE("check prints nothing but ok for a valid site, every problem otherwise", "[daemon]") {
    testing::test_site site;
    cli_options o;
    o.cmd = command::check;
    o.config = site.main_file();
    std::ostringstream out, err;
    CHECK(run_command(o, out, err) == exit_ok);
    CHECK(out.str() == site.main_file().string() + ": ok\n");
    CHECK(err.str().empty());

    site.write("events.d/bad.toml", "[[event]]\nid = \"x\"\ntitel = \"typo\"\n");
    std::ostringstream out2, err2;
    CHECK(run_command(o, out2, err2) == exit_invalid);
    CHECK(out2.str().empty());
    CHECK(err2.str().find((site.dir() / "events.d/bad.toml").string() + ":3:1: error: ") !=
          std::string::npos);

    // a file's name or key can put neither a line break nor a control in the
    // output: one problem, one line
    std::filesystem::remove(site.dir() / "events.d/bad.toml");
    site.write("events.d/new\nline.toml", "[[event]]\nid = \"y\"\n\"a\u2028b\" = 1\n");
    std::ostringstream out3, err3;
    CHECK(run_command(o, out3, err3) == exit_invalid);
    const std::string text = err3.str();
    CHECK(text.find("events.d/new line.toml:3:1: error: ") != std::string::npos);
    CHECK(text.find("a\\u2028b") != std::string::npos);
    for (std::size_t at = 0, next; (next = text.find('\n', at)) != std::string::npos; at = next + 1)
        CHECK(text.compare(at, site.dir().string().size(), site.dir().string()) == 0);
}

TEST_CASE("check tells each mistake once, one hiding no other", "[daemon]") {
    testing::test_site site;
    cli_options o;
    o.cmd = command::check;
    o.config = site.main_file();
    // A start of the wrong type does not hide the rule's own mistake; an end
    // or a duration that is wrong is not also said to be missing.
    site.write("events.d/bad.toml", "[[event]]\nid = \"a\"\ntitle = \"A\"\ncategory = \"apero\"\n"
                                    "start = \"2026-12-03T18:30:00\"\nduration = \"PT1H\"\n"
                                    "rrule = \"FREQ=WEEKLY;BYDAY=2MO\"\n"
                                    "[[event]]\nid = \"b\"\ntitle = \"B\"\ncategory = \"apero\"\n"
                                    "start = 2026-12-03T18:30:00\nduration = \"P1H\"\n"
                                    "[[event]]\nid = \"c\"\ntitle = \"C\"\ncategory = \"apero\"\n"
                                    "start = 2026-12-03T18:30:00\nend = \"tomorrow\"\n");
    std::ostringstream out, err;
    CHECK(run_command(o, out, err) == exit_invalid);
    const std::string path = (site.dir() / "events.d/bad.toml").string();
    CHECK(err.str() ==
          path + ":5:9: error: 'start' must be a date or date-time, not a string\n" + path +
              ":7:9: error: invalid rrule 'FREQ=WEEKLY;BYDAY=2MO': a BYDAY with an ordinal (like "
              "2MO) needs FREQ=MONTHLY or FREQ=YEARLY\n" +
              path +
              ":13:12: error: invalid duration 'P1H': expected ISO 8601 like \"PT2H\" or "
              "\"P1D\"\n" +
              path + ":19:7: error: 'end' must be a date or date-time, not a string\n");
}

TEST_CASE("reminders lists the outbox as product.md's JSON", "[daemon]") {
    testing::test_site site;
    cli_options o;
    o.cmd = command::reminders;
    o.config = site.main_file();
    o.json = true;
    std::ostringstream out, err;
    SECTION("no database yet: an empty list") {
        CHECK(run_command(o, out, err) == exit_ok);
        CHECK(out.str() == "{\n  \"reminders\": []\n}\n");
    }
    SECTION("a planned row") {
        {
            auto db = casacal::store::database::open((site.dir() / "casacal.db").string());
            casacal::store::planned_row r;
            r.key = "casapero@casaco.example|2026-12-03T18:30:00+01:00|P1D|camille@example.org";
            r.event_id = "casapero";
            r.uid = "casapero@casaco.example";
            r.occurrence = "2026-12-03T18:30:00+01:00";
            r.occurrence_start = 1'796'319'000;
            r.offset = "P1D";
            r.recipient = "camille@example.org";
            r.due = 1'796'319'000 - 86'400;
            r.message_id = "abc@casaco.example";
            r.payload = "{}";
            casacal::store::outbox(db).plan({r}, {0, 2'000'000'000}, 1'796'000'000);
        }
        CHECK(run_command(o, out, err) == exit_ok);
        auto doc = nlohmann::json::parse(out.str());
        REQUIRE(doc["reminders"].size() == 1);
        const auto& row = doc["reminders"][0];
        CHECK(row["event"] == "casapero");
        CHECK(row["uid"] == "casapero@casaco.example");
        CHECK(row["occurrence"] == "2026-12-03T18:30:00+01:00");
        CHECK(row["offset"] == "P1D");
        CHECK(row["recipient"] == "camille@example.org");
        CHECK(row["state"] == "planned");
        CHECK(row["due"] == "2026-12-02T18:30:00+01:00");
        CHECK(row["attempts"] == 0);
        CHECK(row["last_error"].is_null());
        CHECK(row["message_id"] == "<abc@casaco.example>");
        // exactly the fields product.md names, and no notices to list
        CHECK(row.size() == 10);
        CHECK_FALSE(doc.contains("notices"));
    }
    SECTION("a site with errors: exit 1") {
        site.write("casacal.toml", "[site]\nname = 1\n");
        CHECK(run_command(o, out, err) == exit_invalid);
        CHECK_FALSE(err.str().empty());
    }
}

TEST_CASE("agenda lists one line per occurrence", "[daemon]") {
    testing::test_site site;
    cli_options o;
    o.cmd = command::agenda;
    o.config = site.main_file();
    o.from = "2026-12-01";
    o.to = "2027-01-31";
    site.write("events.d/weekend.toml", R"([[event]]
id       = "weekend"
title    = "Week-end"
category = "atelier"
start    = 2026-12-12
end      = 2026-12-13
[[event]]
id       = "inventaire"
title    = "Inventaire"
category = "atelier"
start    = 2026-12-20
)");
    std::ostringstream out, err;
    CHECK(run_command(o, out, err) == exit_ok);
    CHECK(err.str().empty());
    CHECK(out.str() == "2026-12-03 18:30–21:00  Casapéro  (Espace convivial)\n"
                       "2026-12-12–2026-12-13  Week-end\n"
                       "2026-12-20 all day  Inventaire\n"
                       "2027-01-07 18:30–21:00  Casapéro  (Espace convivial)\n");
}

TEST_CASE("export writes the feed serve publishes", "[daemon]") {
    testing::test_site site;
    cli_options o;
    o.cmd = command::export_feed;
    o.config = site.main_file();
    std::ostringstream out, err;
    CHECK(run_command(o, out, err) == exit_ok);
    CHECK(out.str().rfind("BEGIN:VCALENDAR\r\n", 0) == 0);
    o.category = "nope";
    std::ostringstream out2, err2;
    CHECK(run_command(o, out2, err2) == exit_invalid);
    CHECK(err2.str() == "casacal: unknown category \"nope\"\n");
}

TEST_CASE("export -o writes a pipe or device in place and a symbolic link's file", "[daemon]") {
    testing::test_site site;
    cli_options o;
    o.cmd = command::export_feed;
    o.config = site.main_file();
    std::ostringstream feed, none;
    REQUIRE(run_command(o, feed, none) == exit_ok);

    // A FIFO stands for /dev/null and /dev/stdout: renaming a file over it
    // would replace the device. Opened read-write, it never blocks.
    const auto fifo = site.dir() / "out.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int fd = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
    REQUIRE(fd >= 0);
    o.output = fifo.string();
    std::ostringstream out, err;
    CHECK(run_command(o, out, err) == exit_ok);
    CHECK(std::filesystem::is_fifo(std::filesystem::symlink_status(fifo)));
    std::string got(feed.str().size() + 1, '\0');
    const auto n = ::read(fd, got.data(), got.size());
    ::close(fd);
    got.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    CHECK(got == feed.str());

    const auto file = site.dir() / "feed.ics";
    const auto link = site.dir() / "link.ics";
    std::ofstream(file) << "old";
    std::filesystem::create_symlink(file, link);
    o.output = link.string();
    CHECK(run_command(o, out, err) == exit_ok);
    CHECK(std::filesystem::is_symlink(std::filesystem::symlink_status(link)));
    std::ifstream in(file, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == feed.str());
}
