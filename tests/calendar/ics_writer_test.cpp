#include "calendar/ics_writer.hpp"

#include <catch2/catch.hpp>

using namespace casacal::calendar;

namespace {

bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

} // namespace

TEST_CASE("text values escape backslash, semicolon, comma and newlines", "[calendar]") {
    CHECK(escape_text("a\\b;c,d\ne") == "a\\\\b\\;c\\,d\\ne");
    CHECK(escape_text("crlf\r\nlf\ncr\r.") == "crlf\\nlf\\ncr\\n.");
    CHECK(escape_text(std::string("bell\x07 tab\t del\x7f!")) == "bell tab\t del!");
    CHECK(escape_text("Apéro : 5€") == "Apéro : 5€");
}

TEST_CASE("parameter values are quoted when needed", "[calendar]") {
    CHECK(param_value("Aurélien") == "Aurélien");
    CHECK(param_value("Dupont, Camille") == "\"Dupont, Camille\"");
    CHECK(param_value("say \"hi\"") == "say hi");
}

TEST_CASE("short lines are not folded", "[calendar]") {
    CHECK(fold_line("SUMMARY:Casapéro") == "SUMMARY:Casapéro\r\n");
    const std::string exact(75, 'x');
    CHECK(fold_line(exact) == exact + "\r\n");
    CHECK(fold_line(exact + "y") == exact + "\r\n y\r\n");
}

TEST_CASE("folding accented text and emoji never splits UTF-8 and unfolds back", "[calendar]") {
    std::string line = "DESCRIPTION:";
    for (int i = 0; i < 12; ++i)
        line += "Apéro déjà prévu à l'étage 🍷🎉 — ";
    const std::string folded = fold_line(line);
    std::size_t start = 0;
    int lines = 0;
    while (start < folded.size()) {
        const std::size_t end = folded.find("\r\n", start);
        REQUIRE(end != std::string::npos);
        const std::string physical = folded.substr(start, end - start);
        CHECK(physical.size() <= 75);
        if (lines > 0) {
            REQUIRE(!physical.empty());
            CHECK(physical[0] == ' ');
            CHECK(!is_continuation(static_cast<unsigned char>(physical[1])));
        }
        CHECK(!is_continuation(
            static_cast<unsigned char>(folded[end + 2 < folded.size() ? end + 2 : end])));
        ++lines;
        start = end + 2;
    }
    CHECK(lines > 5);
    CHECK(unfold(folded) == line + "\n");
}

TEST_CASE("the writer folds every line and ends each with CRLF", "[calendar]") {
    ics_writer w;
    w.line("BEGIN:VEVENT");
    w.text("SUMMARY", "a,b");
    CHECK(w.str() == "BEGIN:VEVENT\r\nSUMMARY:a\\,b\r\n");
}
