#pragma once
// HTTP-date (RFC 9110 section 5.6.7) formatting and parsing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace casacal::daemon {

/// "Sun, 06 Nov 1994 08:49:37 GMT" for `t` seconds since the epoch.
std::string format_http_date(std::int64_t t);

/// Accepts IMF-fixdate and the two obsolete forms (RFC 850, asctime).
std::optional<std::int64_t> parse_http_date(std::string_view text);

/// "2026-12-03T17:30:00Z" for `t` seconds since the epoch.
std::string format_rfc3339_utc(std::int64_t t);

} // namespace casacal::daemon
