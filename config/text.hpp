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

} // namespace casacal::config
