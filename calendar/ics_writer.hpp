#pragma once
// iCalendar content lines (RFC 5545 §3.1): escaping, folding, CRLF.

#include <string>
#include <string_view>

namespace casacal::calendar {

/// A TEXT value: `\`, `;`, `,` escaped, newlines (CRLF, LF or CR) as `\n`,
/// other control characters except TAB dropped.
std::string escape_text(std::string_view text);

/// A parameter value: DQUOTE and control characters dropped, quoted when
/// it holds `:`, `;` or `,`.
std::string param_value(std::string_view text);

/// One content line folded so that no physical line exceeds 75 octets
/// (CRLF excluded), never inside a UTF-8 sequence; each line ends in CRLF.
std::string fold_line(std::string_view line);

/// The inverse of fold_line over a whole stream: joins continuation lines
/// and drops the CRLFs ("\n"-separated result).
std::string unfold(std::string_view folded);

/// Accumulates folded content lines. Value type.
class ics_writer {
  public:
    /// An already formed content line ("NAME;PARAM=x:value").
    void line(std::string_view content);
    /// NAME:escaped-text.
    void text(std::string_view name, std::string_view value);
    /// Bytes that are already folded content lines (each ending in CRLF).
    void folded(std::string_view lines) { out_.append(lines); }
    void reserve(std::size_t bytes) { out_.reserve(bytes); }

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
    std::string scratch_; ///< the unfolded line text() builds, kept for its capacity
};

} // namespace casacal::calendar
