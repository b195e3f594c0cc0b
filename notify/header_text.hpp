#pragma once
// Turning arbitrary UTF-8 text into safe RFC 5322 header content: control
// characters removed, RFC 2047 encoded-words for non-ASCII text, folding.
// Pure functions; no state.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace casacal::notify {

/// Longest encoded-word RFC 2047 allows.
inline constexpr std::size_t max_encoded_word = 75;

/// Longest header line we produce when the text can be folded (RFC 5322
/// recommends 78; RFC 2047 wants lines holding encoded-words at most 76).
inline constexpr std::size_t max_folded_line = 76;

/// Returns `text` as valid UTF-8 on one line: every control character
/// (C0 including CR, LF, TAB and NUL; DEL; C1) becomes a space, every
/// invalid UTF-8 sequence becomes U+FFFD, leading and trailing spaces go.
/// Nothing coming out of it can end or add a header line.
std::string single_line(std::string_view text);

/// RFC 4648 base64, padded.
std::string base64(std::string_view bytes);

/// Splits `text` (valid UTF-8, as single_line returns) into RFC 2047
/// "B" encoded-words of the UTF-8 charset, each at most `max_encoded_word`
/// characters and the first at most `first_room`; never splits a
/// character. Decoding the words and concatenating the results gives
/// `text` back exactly.
std::vector<std::string> encoded_words(std::string_view text, std::size_t first_room);

/// The value of an unstructured header (Subject) named `name`, folded with
/// CRLF + space: plain when `text` is printable ASCII without "=?",
/// encoded-words otherwise. `text` goes through single_line first.
std::string unstructured_value(std::string_view name, std::string_view text);

/// Whether `address` is an addr-spec we can put in a header and an SMTP
/// envelope: printable ASCII, one '@' with both sides non-empty, none of
/// the specials that would end or start something else.
bool is_safe_address(std::string_view address);

/// "display <address>", "\"dis, play\" <address>", "=?UTF-8?B?...?= <address>"
/// or just "address" when `display` is empty after single_line. The caller
/// checks the address with is_safe_address. `name` is the header's name, used
/// to size the first line.
std::string mailbox_value(std::string_view name, std::string_view display,
                          std::string_view address);

/// RFC 5322 date-time, e.g. "Thu, 03 Dec 2026 18:30:00 +0100", of the
/// instant `unix_seconds` seen at `utc_offset_minutes` east of UTC.
std::string rfc5322_date(std::int64_t unix_seconds, int utc_offset_minutes);

} // namespace casacal::notify
