#pragma once
// Log lines on stderr, one event a line. Under systemd (JOURNAL_STREAM set)
// each line starts with a `<N>` syslog priority so journald files it at the
// right level. Callable from any thread: each line is written with a single
// write(2) call.

#include <chrono>
#include <cstddef>
#include <optional>
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

/// Lines of a kind any client can cause at will (refused requests, failed
/// accepts): at most `per_minute` of them in each minute, so that a flood
/// neither fills the journal nor makes journald drop the lines that matter.
/// The first line let through after some were left out says how many.
/// One thread at a time.
class log_limit {
  public:
    log_limit(std::string what, std::size_t per_minute)
        : what_(std::move(what)), per_minute_(per_minute) {}

    /// The message to log now (with the count of those left out before it),
    /// or nothing when this minute's lines are spent.
    std::optional<std::string> admit(std::string_view message,
                                     std::chrono::steady_clock::time_point now);

  private:
    std::string what_; ///< "refused requests", as the note names them
    std::size_t per_minute_;
    std::chrono::steady_clock::time_point window_{};
    std::size_t used_ = 0;
    std::size_t dropped_ = 0;
};

/// `text` kept on one line as log lines keep it (line breaks as spaces,
/// other controls and bytes that are not UTF-8 escaped): for what commands
/// print, such as `check`'s problems, which may quote a file's name or keys.
std::string one_line(std::string_view text);

/// The line `log` would write, without the trailing newline. `journal`
/// selects the `<N>` prefix.
std::string format_log_line(log_level level, std::string_view message, bool journal);

/// A request target safe to log: secret path segments (personal feed and
/// unsubscribe/confirmation tokens) become `REDACTED`, the query string is
/// dropped when it may carry a token, control characters are escaped.
std::string redact_target(std::string_view target);

} // namespace casacal::daemon
