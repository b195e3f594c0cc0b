#include "config/source_file.hpp"

#include "config/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace casacal::config {
namespace {

class file_descriptor {
  public:
    explicit file_descriptor(int fd) : fd_(fd) {}
    ~file_descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

std::string not_regular(mode_t mode) {
    if (S_ISFIFO(mode)) return "not a regular file (a named pipe)";
    if (S_ISSOCK(mode)) return "not a regular file (a socket)";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "not a regular file (a device)";
    return "not a regular file";
}

/// Line `line` (1-based) of `content`, without its line break (and CR);
/// nullopt past the last line.
std::optional<std::string_view> line_text(std::string_view content, std::size_t line) {
    std::size_t at = 0;
    for (std::size_t n = 1; n < line; ++n) {
        at = content.find('\n', at);
        if (at == std::string_view::npos) return std::nullopt;
        ++at;
    }
    std::string_view text = content.substr(at, content.find('\n', at) - at);
    if (text.ends_with('\r')) text.remove_suffix(1);
    return text;
}

/// Whether `column` (1-based, in characters) of line `line` of `content`
/// is its end: where a line break or the end of the file stands.
bool at_line_end(std::string_view content, std::size_t line, std::size_t column) {
    const auto text = line_text(content, line);
    if (!text) return true;
    const auto characters =
        static_cast<std::size_t>(std::count_if(text->begin(), text->end(), [](char c) {
            return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        }));
    return column > characters;
}

/// The column where the date or time holding `column` of line `line`
/// begins: toml++ places such errors on the character after the bad field.
int date_start(std::string_view content, std::size_t line, std::size_t column) {
    const auto line_of = line_text(content, line);
    if (!line_of) return static_cast<int>(column);
    const std::string_view text = *line_of;
    // Dates and times are ASCII: the bytes before the column are characters
    // unless the line has others before the value, when the column stays.
    if (std::any_of(text.begin(), text.end(), [](char c) { return (c & 0x80) != 0; }) ||
        column - 1 > text.size())
        return static_cast<int>(column);
    std::size_t i = column - 1;
    const auto in_date = [](char c) {
        return (c >= '0' && c <= '9') || c == '-' || c == ':' || c == 'T' || c == 't' || c == '.' ||
               c == 'Z' || c == 'z' || c == '+';
    };
    while (i > 0 && in_date(text[i - 1]))
        --i;
    return static_cast<int>(i + 1);
}

/// toml++'s message, said the way an organizer fixing a file needs it
/// where it is unclear or wrong (toml++ 3.3 gives hours "between 0 to 59").
std::string syntax_message(std::string_view description, std::string_view content,
                           const toml::source_position& at) {
    const bool in_string = description.starts_with("Error while parsing string") ||
                           description.starts_with("Error while parsing literal string");
    if (in_string && description.ends_with("end-of-file"))
        return "unterminated string: the file ends before its closing quote";
    if (in_string && description.find("control characters") != std::string_view::npos &&
        at_line_end(content, at.line, at.column))
        return "unterminated string: the line ends before its closing quote (text over several "
               "lines goes between triple quotes, \"\"\"like this\"\"\")";
    std::string text(description);
    constexpr std::string_view hour = "expected hour between 0 to 59";
    if (const auto h = text.find(hour); h != std::string::npos)
        text.replace(h, hour.size(), "expected hour between 0 and 23");
    return text;
}

} // namespace

std::string_view password_in(std::string_view content) {
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r'))
        content.remove_suffix(1);
    return content;
}

// errno is the only way to tell "No such file" from "Permission denied".
// Only regular files are read: a named pipe would hold the reload that
// opens it until somebody writes to it, and a device such as /dev/zero
// never ends. O_NONBLOCK keeps the open itself from waiting on a pipe.
std::optional<std::string> read_source(const std::filesystem::path& file, std::string* error) {
    file_descriptor fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    struct stat st {};
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
        *error = std::strerror(errno);
        return std::nullopt;
    }
    if (S_ISDIR(st.st_mode)) {
        *error = std::strerror(EISDIR);
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        *error = not_regular(st.st_mode);
        return std::nullopt;
    }
    if (static_cast<std::uintmax_t>(st.st_size) > max_source_bytes) {
        *error = "file too large (" + std::to_string(st.st_size) + " bytes; at most " +
                 std::to_string(max_source_bytes >> 20) + " MiB)";
        return std::nullopt;
    }
    std::string content;
    content.reserve(static_cast<std::size_t>(st.st_size));
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            *error = std::strerror(errno);
            return std::nullopt;
        }
        if (n == 0) break;
        content.append(buffer, static_cast<std::size_t>(n));
        if (content.size() > max_source_bytes) { // grew while being read
            *error = "file too large (at most " + std::to_string(max_source_bytes >> 20) + " MiB)";
            return std::nullopt;
        }
    }
    return content;
}

std::optional<toml::table> parse_source(std::string_view content, const std::string& shown,
                                        diagnostics& out) {
    // toml++ caps arrays and inline tables at 256 levels, but not dotted
    // keys: `a.a.a… = 1` nests a table per dot, and both the parser and the
    // tables' destructors recurse, so 170,000 dots overflow the stack (far
    // fewer under the sanitizers). A key or a header is one line: no line
    // may hold more than max_dots_per_line dots.
    int line = 1;
    for (std::size_t at = 0; at < content.size(); ++line) {
        const std::size_t end = std::min(content.find('\n', at), content.size());
        const auto dots = std::count(content.begin() + static_cast<std::ptrdiff_t>(at),
                                     content.begin() + static_cast<std::ptrdiff_t>(end), '.');
        if (dots > max_dots_per_line) {
            out.error({shown, line, 1}, "line with " + std::to_string(dots) + " dots: keys nested "
                                        "that deep are refused (at most " +
                                            std::to_string(max_dots_per_line) + " dots a line)");
            return std::nullopt;
        }
        at = end + 1;
    }
    try {
        // No path for toml++: every node would hold a counted reference to
        // it, and positions are reported with `shown` anyway.
        return toml::parse(content);
    } catch (const toml::parse_error& e) {
        // toml++ places a UTF-8 error on the character before the bad one
        // (on the previous line when it starts a line): find it ourselves.
        const auto bad = e.description().find("utf-8") != std::string_view::npos
                             ? first_invalid_utf8(content)
                             : text_position{};
        if (bad.line > 0) {
            char byte[8];
            std::snprintf(byte, sizeof byte, "0x%02X", bad.byte);
            out.error({shown, bad.line, bad.column}, std::string("invalid UTF-8 (byte ") + byte +
                                                         "): the file must be saved as UTF-8");
            return std::nullopt;
        }
        const auto& begin = e.source().begin;
        const std::string_view what = e.description();
        const bool date = what.starts_with("Error while parsing date") ||
                          what.starts_with("Error while parsing time");
        out.error(
            {shown, static_cast<int>(begin.line),
             date ? date_start(content, begin.line, begin.column) : static_cast<int>(begin.column)},
            syntax_message(what, content, begin));
        return std::nullopt;
    }
}

std::optional<toml::table> load_source(const std::filesystem::path& file, const std::string& shown,
                                       diagnostics& out) {
    std::string error;
    const auto content = read_source(file, &error);
    if (!content) {
        out.error({shown, 1, 1}, "cannot read file: " + error);
        return std::nullopt;
    }
    return parse_source(*content, shown, out);
}

} // namespace casacal::config
