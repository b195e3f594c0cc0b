#pragma once
// Log lines on stderr, one event a line. Under systemd (JOURNAL_STREAM set)
// each line starts with a `<N>` syslog priority so journald files it at the
// right level. Callable from any thread: each line is written with a single
// write(2) call.

#include <string>
#include <string_view>

namespace casacal::daemon {

enum class log_level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

/// Writes `message` as one line; embedded newlines become spaces.
void log(log_level level, std::string_view message);

inline void log_error(std::string_view m) {
    log(log_level::error, m);
}
inline void log_warning(std::string_view m) {
    log(log_level::warning, m);
}
inline void log_info(std::string_view m) {
    log(log_level::info, m);
}

/// The line `log` would write, without the trailing newline. `journal`
/// selects the `<N>` prefix.
std::string format_log_line(log_level level, std::string_view message, bool journal);

/// A request target safe to log: secret path segments (personal feed and
/// unsubscribe/confirmation tokens) become `REDACTED`, the query string is
/// dropped when it may carry a token, control characters are escaped.
std::string redact_target(std::string_view target);

} // namespace casacal::daemon
