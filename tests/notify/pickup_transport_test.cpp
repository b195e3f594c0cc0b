#include "notify/pickup_transport.hpp"

#include "mail_reader.hpp"
#include "notify_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <regex>

using namespace casacal::notify;
using namespace casacal::notify::testing;

namespace {

struct pickup_fixture {
    scratch_dir scratch;
    boost::asio::io_context io;
    pickup_transport transport{io, scratch.path() / "outbox"};

    /// Sends one message and returns the result.
    send_result send(message m) {
        std::optional<send_result> result;
        transport.send(std::move(m), [&](const send_result& r) { result = r; });
        REQUIRE(run_until(io, [&] { return result.has_value(); }));
        return *result;
    }

    std::vector<std::filesystem::path> files() const {
        std::vector<std::filesystem::path> out;
        for (const auto& e : std::filesystem::directory_iterator(scratch.path() / "outbox"))
            out.push_back(e.path());
        std::sort(out.begin(), out.end());
        return out;
    }

    /// Sends `m`, expects it accepted, returns the file's bytes.
    std::string send_and_read(message m) {
        const auto r = send(std::move(m));
        INFO(r.error);
        REQUIRE(r.outcome == outcome::accepted);
        REQUIRE(r.reply.starts_with("250 2.0.0 written "));
        return read_file(scratch.path() / "outbox" / r.reply.substr(18));
    }
};

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

const std::vector<std::string> k_top_headers = sorted(
    {"Auto-Submitted", "Content-Type", "Date", "From", "List-Id", "List-Unsubscribe",
     "List-Unsubscribe-Post", "Message-ID", "Mime-Version", "Subject", "To"});

std::string run_python_parser(const std::filesystem::path& eml) {
    const auto script = std::string(CASACAL_SOURCE_DIR) + "/tests/notify/eml_summary.py";
    const auto command = "/usr/bin/python3 " + script + " '" + eml.string() + "'";
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe))
            out.append(buffer, n);
        ::pclose(pipe);
    }
    return out;
}

} // namespace

TEST_CASE("the pickup transport writes the reminder exactly as SMTP would carry it",
          "[notify]") {
    pickup_fixture f;
    const auto m = sample_message();
    const auto eml = f.send_and_read(m);
    const auto top = parse_entity(eml);

    CHECK(sorted(top.names()) == k_top_headers);
    CHECK(top.header("Date") == "Thu, 03 Dec 2026 18:30:00 +0100");
    CHECK(top.header("From") == "Casaco <agenda@casaco.example>");
    CHECK(top.header("To") == "Camille <camille@example.org>");
    CHECK(decode_words(unfold(top.header("Subject"))) == m.subject);
    CHECK(top.header("Subject").starts_with("=?UTF-8?B?"));
    CHECK(top.header("Message-ID") ==
          "<reminder.casapero.20261203T1830.p1d.camille@casaco.example>");
    CHECK(top.header("Auto-Submitted") == "auto-generated");
    CHECK(top.header("List-Id") == "<reminders.casaco.example>");
    CHECK(top.header("List-Unsubscribe") ==
          "<https://agenda.casaco.example/unsubscribe/Tok3n_abc>");
    CHECK(top.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click");
    CHECK(top.header("Mime-Version") == "1.0");
    CHECK(top.header("Content-Type").starts_with("multipart/mixed; boundary="));

    const auto parts = split_multipart(top);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].header("Content-Type").starts_with("multipart/alternative; boundary="));
    const auto alternatives = split_multipart(parts[0]);
    REQUIRE(alternatives.size() == 2);
    CHECK(alternatives[0].header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(alternatives[0].header("Content-Transfer-Encoding") == "quoted-printable");
    CHECK(decoded_body(alternatives[0]) ==
          "Bonjour Camille,\r\n\r\nLe Casap\xC3\xA9ro a lieu jeudi \xC3\xA0 18h30.\r\n.\r\n"
          "..deux points\r\nFrom the team\r\n");
    CHECK(alternatives[1].header("Content-Type") == "text/html; charset=utf-8");
    CHECK(decoded_body(alternatives[1]) == m.html);

    CHECK(parts[1].header("Content-Type") == "text/calendar; charset=utf-8; method=PUBLISH");
    CHECK(parts[1].header("Content-Disposition") == "attachment; filename=\"invitation.ics\"");
    CHECK(parts[1].header("Content-Transfer-Encoding") == "base64");
    CHECK(decoded_body(parts[1]) == k_ics);

    SECTION("text lines end in CRLF whatever ended them in the text") {
        auto mixed = m;
        mixed.text = "un\ndeux\r\ntrois\rquatre\r\n\r\ncinq\n\rsix\r";
        pickup_fixture g;
        const auto text = split_multipart(split_multipart(parse_entity(g.send_and_read(mixed)))[0])[0];
        CHECK(decoded_body(text) == "un\r\ndeux\r\ntrois\r\nquatre\r\n\r\ncinq\r\n\r\nsix\r\n");
    }

    SECTION("every line is CRLF-terminated and at most 998 octets") {
        std::size_t start = 0;
        while (start < eml.size()) {
            const auto eol = eml.find("\r\n", start);
            REQUIRE(eol != std::string::npos);
            const auto line = std::string_view(eml).substr(start, eol - start);
            CHECK(line.size() <= 998);
            CHECK(line.find('\n') == std::string_view::npos);
            CHECK(line.find('\r') == std::string_view::npos);
            start = eol + 2;
        }
    }
}

TEST_CASE("Python's email parser reads the pickup file the same way", "[notify]") {
    pickup_fixture f;
    const auto m = sample_message();
    const auto r = f.send(m);
    REQUIRE(r.outcome == outcome::accepted);
    const auto summary = run_python_parser(f.scratch.path() / "outbox" / r.reply.substr(18));
    CHECK(summary ==
          "subject: Rappel : Casap\xC3\xA9ro \xE2\x80\x94 jeudi 3 d\xC3\xA9" "cembre \xC3\xA0 18h30\n"
          "from: Casaco <agenda@casaco.example>\n"
          "to: Camille <camille@example.org>\n"
          "defects: 0\n"
          "multipart/mixed\n"
          "  multipart/alternative\n"
          "    text/plain utf-8\n"
          "    text/html utf-8\n"
          "  text/calendar utf-8 attachment invitation.ics method=PUBLISH\n");
}

TEST_CASE("config text cannot add or break a header", "[notify]") {
    pickup_fixture f;
    auto m = sample_message();

    SECTION("CRLF and a Bcc line in the subject") {
        m.subject = "Casap\xC3\xA9ro\r\nBcc: victim@example.org";
        const auto top = parse_entity(f.send_and_read(m));
        CHECK(sorted(top.names()) == k_top_headers);
        CHECK(decode_words(unfold(top.header("Subject"))) ==
              "Casap\xC3\xA9ro  Bcc: victim@example.org");
    }
    SECTION("CRLF and a Bcc line in an ASCII subject") {
        m.subject = "Casapero\r\nBcc: victim@example.org\r\n\r\nbody";
        const auto top = parse_entity(f.send_and_read(m));
        CHECK(sorted(top.names()) == k_top_headers);
        CHECK(unfold(top.header("Subject")) == "Casapero  Bcc: victim@example.org    body");
    }
    SECTION("CRLF and a Bcc line in the display names") {
        m.to.display = "Casap\xC3\xA9ro\r\nBcc: victim@example.org";
        m.from.display = "Casaco\r\nBcc: victim@example.org";
        const auto top = parse_entity(f.send_and_read(m));
        CHECK(sorted(top.names()) == k_top_headers);
        CHECK(decode_words(unfold(top.header("To"))) ==
              "Casap\xC3\xA9ro  Bcc: victim@example.org <camille@example.org>");
        CHECK(top.header("From") == "\"Casaco  Bcc: victim@example.org\" <agenda@casaco.example>");
    }
    SECTION("a NUL in the subject") {
        m.subject = std::string("Casapero\0Bcc: victim@example.org", 32);
        const auto top = parse_entity(f.send_and_read(m));
        CHECK(sorted(top.names()) == k_top_headers);
        CHECK(unfold(top.header("Subject")) == "Casapero Bcc: victim@example.org");
    }
    SECTION("a bare LF in a display name and a bare CR in the subject") {
        m.to.display = "Camille\nBcc: victim@example.org";
        m.subject = "Casapero\rBcc: victim@example.org";
        const auto top = parse_entity(f.send_and_read(m));
        CHECK(sorted(top.names()) == k_top_headers);
        CHECK(top.header("To") == "\"Camille Bcc: victim@example.org\" <camille@example.org>");
        CHECK(unfold(top.header("Subject")) == "Casapero Bcc: victim@example.org");
    }
    SECTION("an address carrying a header is refused, nothing is written") {
        m.to.address = "camille@example.org\r\nBcc: victim@example.org";
        const auto r = f.send(m);
        CHECK(r.outcome == outcome::permanent);
        CHECK(r.code == message_error::invalid_to);
        CHECK(r.error == "invalid recipient address");
        CHECK(f.files().empty());
    }
    SECTION("a Message-ID or URL carrying a header is refused") {
        auto other = m;
        m.message_id = "x@casaco.example>\r\nBcc: <victim@example.org";
        CHECK(f.send(m).code == message_error::invalid_message_id);
        other.list_unsubscribe = "https://x.example/u\r\nBcc: victim@example.org";
        CHECK(f.send(other).code == message_error::invalid_unsubscribe_url);
        CHECK(f.files().empty());
    }
}

TEST_CASE("pickup files are named by time and Message-ID and written whole", "[notify]") {
    pickup_fixture f;
    std::vector<send_result> results;
    for (int i = 0; i < 3; ++i) {
        auto m = sample_message();
        m.message_id = "reminder." + std::to_string(i) + "/x@casaco.example";
        f.transport.send(m, [&](const send_result& r) { results.push_back(r); });
    }
    REQUIRE(run_until(f.io, [&] { return results.size() == 3; }));
    const auto files = f.files();
    REQUIRE(files.size() == 3);
    const std::regex name(R"(\d{8}T\d{6}\.\d{6}Z-reminder\.[0-2]_x@casaco\.example\.eml)");
    for (const auto& p : files) {
        INFO(p.filename().string());
        CHECK(std::regex_match(p.filename().string(), name));
        CHECK(parse_entity(read_file(p)).header("Message-ID").starts_with("<reminder."));
    }
    for (const auto& r : results)
        CHECK(r.smtp_code == 250);
}

TEST_CASE("no pickup handler runs after the transport is gone", "[notify]") {
    scratch_dir scratch;
    boost::asio::io_context io;
    bool called = false;
    {
        pickup_transport transport(io, scratch.path() / "outbox");
        transport.send(sample_message(), [&](const send_result&) { called = true; });
        io.restart();
        // One handler at a time: stop while the transfer is under way, not after.
        for (int i = 0; i < 100 && transport.in_flight() == 0; ++i)
            io.poll_one();
        REQUIRE(transport.in_flight() == 1);
    }
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
    CHECK_FALSE(called);
}

TEST_CASE("the pickup transport writes no more than max_per_minute a minute", "[notify]") {
    scratch_dir scratch;
    boost::asio::io_context io;
    pickup_transport transport{io, scratch.path() / "outbox", 2};
    int done = 0;
    for (int i = 0; i < 3; ++i)
        transport.send(sample_message(), [&](const send_result& r) {
            CHECK(r.outcome == outcome::accepted);
            ++done;
        });
    REQUIRE(run_until(io, [&] { return done == 2; }));
    // The third waits for the first token to come back, a minute on.
    io.run_for(std::chrono::milliseconds(300));
    CHECK(done == 2);
    CHECK(transport.queued() == 1);
    transport.stop();
}
