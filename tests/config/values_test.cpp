#include "config/site.hpp"
#include "config/suggest.hpp"
#include "config/text.hpp"

#include <catch2/catch.hpp>

#include <array>

using namespace casacal::config;

TEST_CASE("parse_duration reads ISO 8601 durations", "[config]") {
    const auto d = parse_duration("P1W2DT3H4M5S");
    REQUIRE(d);
    CHECK(d->days == 9);
    CHECK(d->seconds == 3 * 3600 + 4 * 60 + 5);
    CHECK(d->text == "P1W2DT3H4M5S");
    CHECK(parse_duration("PT0S")->seconds == 0);
    CHECK(parse_duration("PT90M")->seconds == 5400);
    CHECK(parse_duration("P1D")->days == 1);
    for (const char* bad :
         {"", "P", "PT", "P1DT", "1D", "P1X", "PT1D", "P1H", "P-1D", "pt2h", "PT2H1H", "PT1M2H",
          "P1.5D", "PT2H ", "P1234567890D", "P1D2W", "PT99999999999999999999H"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad));
    }
}

TEST_CASE("parse_mailbox accepts plain and named addresses", "[config]") {
    std::string display, address;
    CHECK(parse_mailbox("Aurélien <aurelien@casaco.example>", &display, &address));
    CHECK(display == "Aurélien");
    CHECK(address == "aurelien@casaco.example");
    CHECK(parse_mailbox("\"Casaco, Lyon\" <agenda@casaco.example>", &display, &address));
    CHECK(display == "Casaco, Lyon");
    CHECK(parse_mailbox("first.last+tag@sub.example.org", &display, &address));
    CHECK(display.empty());
    CHECK(address == "first.last+tag@sub.example.org");
    CHECK(check_mailbox("a@b.example\r\nBcc: x@y.example", nullptr, nullptr) ==
          "it contains a line break");
    CHECK(check_mailbox(std::string_view("a\0@b.example", 12), nullptr, nullptr) ==
          "it contains a control character");
    CHECK(check_mailbox("@b.example", nullptr, nullptr) == "nothing before '@'");
    CHECK(check_mailbox("a@", nullptr, nullptr) == "nothing after '@'");
    CHECK(check_mailbox("a..b@b.example", nullptr, nullptr) == "misplaced '.' before '@'");
    CHECK(check_mailbox("a@b..example", nullptr, nullptr) ==
          "the domain 'b..example' is not a host name like \"example.org\"");
    CHECK(check_mailbox("Bad <name> <a@b.example>", nullptr, nullptr) ==
          "the name must not contain '\"', '<', '>' or '\\'");
    CHECK(check_mailbox("", nullptr, nullptr) == "it is empty");
}

TEST_CASE("edit distance counts a swap as one edit", "[config]") {
    CHECK(edit_distance("titel", "title") == 1);
    CHECK(edit_distance("colour", "color") == 1);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
    constexpr std::array<std::string_view, 3> keys = {"id", "title", "end"};
    CHECK(closest("titel", keys) == "title");
    CHECK(closest("x", keys).empty()); // two edits from "id", but only one letter long
    CHECK(closest("ed", keys) == "id");
    CHECK(did_you_mean("colour_scheme", keys).empty());
    // Case is not a slip of spelling; long words take three edits.
    constexpr std::array<std::string_view, 3> tables = {"http", "categories", "site"};
    CHECK(closest("HTTP", tables) == "http");
    CHECK(closest("category", tables) == "categories");
    CHECK(closest("catalog", tables).empty());
}

TEST_CASE("diagnostics format and sort by place", "[config]") {
    diagnostics d;
    d.error({"b.toml", 1, 1}, "second file");
    d.warning({"a.toml", 10, 2}, "later");
    d.error({"a.toml", 2, 30}, "earlier");
    d.error({"a.toml", 2, 30}, "same place, found after");
    CHECK(d.has_errors());
    std::vector<std::string> out;
    for (const auto& x : d.sorted())
        out.push_back(x.format());
    CHECK(out == std::vector<std::string>{
                     "a.toml:2:30: error: earlier",
                     "a.toml:2:30: error: same place, found after",
                     "a.toml:10:2: warning: later",
                     "b.toml:1:1: error: second file",
                 });
    diagnostics w;
    w.warning({"x", 0, 0}, "no position");
    CHECK_FALSE(w.has_errors());
    CHECK(w.items()[0].format() == "x: warning: no position");
}

TEST_CASE("ASCII case folding leaves other bytes alone", "[config]") {
    CHECK(casacal::config::ascii_lower("Marie.DUPONT@Casaco.Example") ==
          "marie.dupont@casaco.example");
    CHECK(casacal::config::ascii_lower("ÉLODIE") == "Élodie"); // UTF-8 bytes untouched
    CHECK(casacal::config::ascii_iequal("Content-Encoding", "content-encoding"));
    CHECK(casacal::config::ascii_iequal("", ""));
    CHECK_FALSE(casacal::config::ascii_iequal("gzip", "gzip2"));
    CHECK_FALSE(casacal::config::ascii_iequal("É", "é"));
}

TEST_CASE("text_problem finds every control byte and line break, wherever it stands", "[config]") {
    // Every byte value, alone and at positions a 16-byte vector loop and its
    // tail both reach, in a text of accented letters.
    for (int b = 0; b < 256; ++b) {
        const auto u = static_cast<unsigned char>(b);
        const bool is_break = u == '\n' || u == '\r';
        const bool control = (u < 0x20 && u != '\t' && !is_break) || u == 0x7f;
        for (std::size_t at : {0u, 1u, 15u, 16u, 17u, 31u, 40u, 47u}) {
            std::string text;
            while (text.size() < 48)
                text += "\xC3\xA9"; // é
            text.resize(48);
            text[at] = static_cast<char>(u);
            INFO("byte " << b << " at " << at);
            const std::string multi = text_problem("d", text, text_rule::multi_line);
            const std::string single = text_problem("d", text, text_rule::single_line);
            if (control) {
                CHECK(multi == "'d' must not contain control characters");
                CHECK(single == multi);
            } else {
                CHECK(multi.empty());
                CHECK(single == (is_break ? "'d' must not contain line breaks" : ""));
            }
        }
        CHECK(text_problem("d", std::string(1, static_cast<char>(u)), text_rule::single_line)
                  .empty() == (!control && !is_break));
    }
    // Beyond ASCII: C1 controls, and the Unicode line and paragraph separators.
    for (const char* c1 : {"a\xC2\x80",
                           "\xC2\x85"
                           "b",
                           "a\xC2\x9F"})
        CHECK(text_problem("d", c1, text_rule::multi_line) ==
              "'d' must not contain control characters");
    for (const char* separator : {"a\xE2\x80\xA8"
                                  "b",
                                  "a\xE2\x80\xA9"}) {
        CHECK(text_problem("d", separator, text_rule::single_line) ==
              "'d' must not contain line breaks");
        CHECK(text_problem("d", separator, text_rule::multi_line).empty());
    }
    // Bidirectional embeddings, overrides and isolates; marks (U+200E,
    // U+200F) and joiners are fine.
    for (const char* bidi : {"a\xE2\x80\xAA",
                             "\xE2\x80\xAE"
                             "b",
                             "a\xE2\x81\xA6", "a\xE2\x81\xA9"})
        CHECK(text_problem("d", bidi, text_rule::multi_line) ==
              "'d' must not contain bidirectional embeddings, overrides or isolates (U+202A to "
              "U+202E, U+2066 to U+2069): they reverse the text around them");
    for (const char* fine : {"\xC2\xA0", "Casap\xC3\xA9ro \xE2\x80\x94 jeudi", "\xC2", "\xE2\x80",
                             "\xE2\x80\x8E", "\xE2\x80\x8D", "\xE2\x81\xA5", "\xE2\x80\xAF"})
        CHECK(text_problem("d", fine, text_rule::single_line).empty());
}
