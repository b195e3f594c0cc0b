#include "notify/header_text.hpp"

#include "mail_reader.hpp"

#include <catch2/catch.hpp>

using namespace casacal::notify;
using casacal::notify::testing::decode_words;

namespace {

/// Whether `word`'s payload decodes to whole UTF-8 characters only.
bool whole_characters(const std::string& word) {
    const auto bytes = decode_words(word);
    std::size_t i = 0;
    while (i < bytes.size()) {
        const auto b = std::uint8_t(bytes[i]);
        const std::size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
        if ((b & 0xC0) == 0x80 || i + len > bytes.size())
            return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((std::uint8_t(bytes[i + k]) & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

std::vector<std::string> lines_of(const std::string& value) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto eol = value.find("\r\n"); eol != std::string::npos; eol = value.find("\r\n", start)) {
        out.push_back(value.substr(start, eol - start));
        start = eol + 2;
    }
    out.push_back(value.substr(start));
    return out;
}

} // namespace

TEST_CASE("single_line turns every control character into a space", "[notify]") {
    CHECK(single_line("Casap\xC3\xA9ro\r\nBcc: victim@example.org") ==
          "Casap\xC3\xA9ro  Bcc: victim@example.org");
    CHECK(single_line(std::string("a\0b", 3)) == "a b");
    CHECK(single_line("a\nb\tc\x7F" "d") == "a b c d");
    CHECK(single_line("a\xC2\x85" "b") == "a b"); // C1 NEL
    CHECK(single_line("  \r\n  ") == "");
    SECTION("invalid UTF-8 becomes U+FFFD") {
        CHECK(single_line("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
        CHECK(single_line("\xC3") == "\xEF\xBF\xBD");
        CHECK(single_line("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD"); // overlong '/'
    }
}

TEST_CASE("a long French subject splits into short encoded-words on character boundaries",
          "[notify]") {
    const std::string subject =
        "Rappel : Casap\xC3\xA9ro \xE2\x80\x94 jeudi 3 d\xC3\xA9" "cembre \xC3\xA0 18h30, "
        "apportez vos g\xC3\xA2teaux et votre bonne humeur \xF0\x9F\x8E\x89 "
        "\xC3\xA0 l'espace convivial, rez-de-chauss\xC3\xA9" "e \xE2\x80\x94 entr\xC3\xA9" "e libre";
    const auto value = unstructured_value("Subject", subject);

    std::vector<std::string> words;
    CHECK(decode_words(casacal::notify::testing::unfold(value), &words) == subject);
    REQUIRE(words.size() >= 3);
    for (const auto& w : words) {
        INFO(w);
        CHECK(w.size() <= 75);
        CHECK(w.starts_with("=?UTF-8?B?"));
        CHECK(whole_characters(w));
    }
    const auto lines = lines_of(value);
    CHECK(lines.size() == words.size());
    CHECK(std::string("Subject: ").size() + lines.front().size() <= 76);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        CHECK(lines[i].front() == ' ');
        CHECK(lines[i].size() <= 76);
    }
}

TEST_CASE("encoded_words never cuts the emoji", "[notify]") {
    // Every split point falls after each multi-byte character at some offset.
    std::string text;
    for (int i = 0; i < 40; ++i)
        text += "\xF0\x9F\x8E\x89\xC3\xA9x";
    for (std::size_t room = 20; room <= 75; ++room) {
        const auto words = encoded_words(text, room);
        std::string joined;
        for (const auto& w : words)
            joined += (joined.empty() ? "" : " ") + w;
        CHECK(decode_words(joined) == text);
        CHECK(words.front().size() <= room);
        for (const auto& w : words) {
            CHECK(w.size() <= 75);
            CHECK(whole_characters(w));
        }
    }
}

TEST_CASE("plain ASCII subjects stay readable and fold at spaces", "[notify]") {
    CHECK(unstructured_value("Subject", "Reminder: Casapero") == "Reminder: Casapero");
    const std::string long_subject =
        "Reminder: the monthly apero of the coworkers is on Thursday evening at half past six";
    const auto value = unstructured_value("Subject", long_subject);
    CHECK(casacal::notify::testing::unfold(value) == long_subject);
    for (const auto& line : lines_of(value))
        CHECK(line.size() <= 76);
    SECTION("text that looks like an encoded-word is encoded") {
        const auto v = unstructured_value("Subject", "=?UTF-8?B?QmNj?=");
        CHECK(v.starts_with("=?UTF-8?B?"));
        CHECK(decode_words(v) == "=?UTF-8?B?QmNj?=");
    }
}

TEST_CASE("display names are quoted or encoded as needed", "[notify]") {
    CHECK(mailbox_value("From", "Casaco", "agenda@casaco.example") ==
          "Casaco <agenda@casaco.example>");
    CHECK(mailbox_value("From", "", "agenda@casaco.example") == "agenda@casaco.example");
    CHECK(mailbox_value("To", "Dupont, Camille", "c@example.org") ==
          "\"Dupont, Camille\" <c@example.org>");
    CHECK(mailbox_value("To", "Le \"Boss\" \\o/", "c@example.org") ==
          "\"Le \\\"Boss\\\" \\\\o/\" <c@example.org>");
    CHECK(mailbox_value("To", "A.  B", "c@example.org") == "\"A.  B\" <c@example.org>");
    const auto encoded = mailbox_value("To", "Aur\xC3\xA9lien", "a@example.org");
    CHECK(encoded == "=?UTF-8?B?QXVyw6lsaWVu?= <a@example.org>");
    const auto injected = mailbox_value("To", "Camille\r\nBcc: victim@example.org", "c@example.org");
    CHECK(injected == "\"Camille  Bcc: victim@example.org\" <c@example.org>");
}

TEST_CASE("a display name keeps its plain words as atoms and encodes the others by runs",
          "[notify]") {
    // Python's email (default policy) reads adjacent encoded-words as
    // separate words: a name cut inside a word read "pour v oir".
    const std::string name = "Atelier de la Fabrique à projets, édition spéciale pour voir";
    const auto value = mailbox_value("To", name, "c@example.org");
    const auto phrase = casacal::notify::testing::unfold(value.substr(0, value.rfind(" <")));
    CHECK(phrase.starts_with("Atelier de la Fabrique =?UTF-8?B?"));
    CHECK(phrase.ends_with("?= pour voir"));
    CHECK(decode_words(phrase) == name);
    for (const auto& line : lines_of("To: " + value))
        CHECK(line.size() <= 78);
    // An ASCII word too long for a line is encoded with its neighbours.
    const std::string long_word = "Hélène " + std::string(200, 'x');
    const auto folded = mailbox_value("To", long_word, "c@example.org");
    for (const auto& line : lines_of("To: " + folded))
        CHECK(line.size() <= 78);
    CHECK(decode_words(casacal::notify::testing::unfold(folded.substr(0, folded.rfind(" <")))) ==
          long_word);
}

TEST_CASE("long display names fold, and no line passes 998 characters", "[notify]") {
    std::string name;
    for (int i = 0; i < 150; ++i)
        name += "Camille ";
    for (const std::string& display : {name, "Durand, " + name, std::string(1200, 'x')}) {
        INFO(display.size());
        const auto value = mailbox_value("To", display, "c@example.org");
        for (const auto& line : lines_of("To: " + value))
            CHECK(line.size() <= 998);
        CHECK(value.ends_with(" <c@example.org>"));
        if (display.front() == 'x') {
            CHECK(decode_words(casacal::notify::testing::unfold(
                      value.substr(0, value.rfind(" <")))) == display);
        } else {
            for (const auto& line : lines_of("To: " + value))
                CHECK(line.size() <= 78);
            CHECK(casacal::notify::testing::unfold(value).find(name.substr(0, name.size() - 1)) !=
                  std::string::npos);
        }
    }
}

TEST_CASE("addresses with anything that could end a header are refused", "[notify]") {
    CHECK(is_safe_address("camille@example.org"));
    CHECK(is_safe_address("c.dupont+agenda@sub.example.org"));
    CHECK_FALSE(is_safe_address(""));
    CHECK_FALSE(is_safe_address("camille"));
    CHECK_FALSE(is_safe_address("@example.org"));
    CHECK_FALSE(is_safe_address("camille@"));
    CHECK_FALSE(is_safe_address("c@example.org\r\nBcc: v@example.org"));
    CHECK_FALSE(is_safe_address("c@example.org>, <v@example.org"));
    CHECK_FALSE(is_safe_address(std::string("c@example.org\0x", 15)));
    CHECK_FALSE(is_safe_address("a@b@example.org"));
    CHECK_FALSE(is_safe_address("cam ille@example.org"));
    CHECK_FALSE(is_safe_address("caf\xC3\xA9@example.org"));
}

TEST_CASE("Date is RFC 5322 in UTC or the given offset", "[notify]") {
    // 2026-12-03T17:30:00Z
    CHECK(rfc5322_date(1796319000, 0) == "Thu, 03 Dec 2026 17:30:00 +0000");
    CHECK(rfc5322_date(1796319000, 60) == "Thu, 03 Dec 2026 18:30:00 +0100");
    CHECK(rfc5322_date(1796319000, -570) == "Thu, 03 Dec 2026 08:00:00 -0930");
    CHECK(rfc5322_date(0, 0) == "Thu, 01 Jan 1970 00:00:00 +0000");
}
