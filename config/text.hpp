#pragma once
// Shared wording of diagnostics: how values are quoted and named.

#include "config/site.hpp"

#include <string>
#include <string_view>

namespace casacal::config {

/// `value` between single quotes, control characters escaped (\n, \r, \t,
/// \xNN) so that a diagnostic always stays on one line.
std::string in_quotes(std::string_view value);

/// "2026-12-03", "2026-12-03T18:30:00" or "2026-12-03T17:30:00Z".
std::string to_string(const when& w);

/// "a date", "a local date-time" or "an offset date-time".
std::string_view kind_name(when::kind k);

enum class text_rule {
    single_line, ///< no control characters at all except tab
    multi_line,  ///< line feeds (and CR) allowed too
};

/// Why `value` cannot be used as the string `key`, or empty when it can.
/// Config strings end up in email headers and iCalendar lines, where a
/// stray CR, LF or NUL could forge a header or a property.
std::string text_problem(std::string_view key, std::string_view value, text_rule rule);

/// Decodes one UTF-8 character at `text[i]` into `c`; returns its length,
/// or 0 when the bytes there are not a valid, shortest-form scalar value.
std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& c);

/// Whether `text` holds nothing but spaces (ASCII blanks, no-break and
/// Unicode spaces, the byte-order mark): as good as empty to a reader.
bool blank(std::string_view text);

/// Where the first byte that is not valid UTF-8 lies in `text`: its line
/// and column (1-based, in characters, as toml++ counts them), or line 0
/// when the whole text is valid.
struct text_position {
    int line = 0;
    int column = 0;
    unsigned char byte = 0; ///< the first byte of the invalid sequence
};
text_position first_invalid_utf8(std::string_view text);

/// `s` with its ASCII letters in lower case, nothing else changed: how email
/// addresses, header names and tokens are compared, whatever the locale.
std::string ascii_lower(std::string_view s);

/// Whether `a` and `b` differ at most by the case of ASCII letters.
bool ascii_iequal(std::string_view a, std::string_view b);

} // namespace casacal::config
