#include "daemon/http_date.hpp"
#include "daemon/logging.hpp"

#include <catch2/catch.hpp>

using namespace casacal::daemon;

TEST_CASE("log lines carry a journal priority only under journald", "[daemon]") {
    CHECK(format_log_line(log_level::error, "boom", true) == "<3>boom");
    CHECK(format_log_line(log_level::info, "hello", true) == "<6>hello");
    CHECK(format_log_line(log_level::warning, "x", false) == "x");
    CHECK(format_log_line(log_level::info, "two\nlines\r", false) == "two lines ");
    CHECK(format_log_line(log_level::info, std::string("nul\0!", 5), false) == "nul\\x00!");
}

TEST_CASE("log lines escape C1 controls, line separators and bytes that are not UTF-8",
          "[daemon]") {
    CHECK(format_log_line(log_level::info,
                          "csi \xC2\x9B"
                          "31m, ls \xE2\x80\xA8 ps \xE2\x80\xA9",
                          false) == "csi \\u009b31m, ls \\u2028 ps \\u2029");
    CHECK(format_log_line(log_level::info, "bad \xFF\xC3 caf\xC3\xA9", false) ==
          "bad \\xff\\xc3 café");
}

TEST_CASE("a log line's message is cut at 4 KiB, on a character", "[daemon]") {
    const std::string long_key =
        "unknown key '" + std::string(4082, 'k') + "é" + std::string(1000, 'k');
    const std::string line = format_log_line(log_level::error, long_key, true);
    CHECK(line.size() < 4200);
    CHECK(line.starts_with("<3>unknown key 'kkk"));
    CHECK(line.ends_with("k... (1002 bytes more)"));
    CHECK(format_log_line(log_level::info, std::string(4096, 'a'), false) ==
          std::string(4096, 'a'));
}

TEST_CASE("lines a client can cause at will are limited per minute, with a count",
          "[daemon]") {
    log_limit limit("refused requests", 2);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(limit.admit("a", t0) == "a");
    CHECK(limit.admit("b", t0 + std::chrono::seconds(1)) == "b");
    CHECK_FALSE(limit.admit("c", t0 + std::chrono::seconds(2)));
    CHECK_FALSE(limit.admit("d", t0 + std::chrono::seconds(59)));
    CHECK(limit.admit("e", t0 + std::chrono::seconds(60)) ==
          "e (2 more refused requests before this one were not logged)");
    CHECK(limit.admit("f", t0 + std::chrono::seconds(61)) == "f");
}

TEST_CASE("tokens in request targets are redacted", "[daemon]") {
    CHECK(redact_target("/feeds/3f9a1c0ffee.ics") == "/feeds/REDACTED.ics");
    CHECK(redact_target("/unsubscribe/s3cr3t") == "/unsubscribe/REDACTED");
    CHECK(redact_target("/unsubscribe/s3cr3t?x=1") == "/unsubscribe/REDACTED?REDACTED");
    CHECK(redact_target("/confirm?token=abc") == "/confirm?REDACTED");
    CHECK(redact_target("/calendar.ics?v=2") == "/calendar.ics?v=2");
    CHECK(redact_target("/events/a.ics") == "/events/a.ics");
    CHECK(redact_target("/x\r\nInjected: yes") == "/x  Injected: yes");
    // under base_url's path, and in an absolute-form target
    CHECK(redact_target("/agenda/confirm/94e9e4ff") == "/agenda/confirm/REDACTED");
    CHECK(redact_target("/agenda/subscribe/confirm/94e9") == "/agenda/subscribe/confirm/REDACTED");
    CHECK(redact_target("http://agenda.example/unsubscribe/1-9bdc") ==
          "http://agenda.example/unsubscribe/REDACTED");
    CHECK(redact_target("/a/feeds/t0k.ics?x") == "/a/feeds/REDACTED.ics?REDACTED");
}

TEST_CASE("HTTP dates format and parse in the three forms", "[daemon]") {
    CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777);
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37"));
    CHECK_FALSE(parse_http_date("Sun, 36 Nov 1994 08:49:37 GMT"));
    CHECK_FALSE(parse_http_date(""));
    CHECK(format_rfc3339_utc(1795953600) == "2026-11-29T12:00:00Z");
}
