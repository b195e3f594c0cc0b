#include "daemon/logging.hpp"

#include "config/text.hpp"

#include <array>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace casacal::daemon {

namespace {

bool journal_stream() {
    static const bool set = std::getenv("JOURNAL_STREAM") != nullptr;
    return set;
}

/// A log line's message is cut here: journald splits longer lines (LineMax)
/// and a line is one event; what comes from a file or a request could be
/// any length.
constexpr std::size_t k_longest_message = 4096;

void append_hex(std::string& out, const char* prefix, unsigned value, int digits) {
    static constexpr char hex[] = "0123456789abcdef";
    out += prefix;
    for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
        out += hex[(value >> shift) & 0xf];
}

/// `text` on one line: line breaks become spaces, other controls (C0, DEL,
/// C1, U+2028 and U+2029, which some readers take as line breaks) and bytes
/// that are not UTF-8 are written as escapes.
void append_escaped(std::string& out, std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c == '\n' || c == '\r' || c == '\t')
                out += ' ';
            else if (c < 0x20 || c == 0x7f)
                append_hex(out, "\\x", c, 2);
            else
                out += static_cast<char>(c);
            ++i;
            continue;
        }
        char32_t code = 0;
        const std::size_t length = config::decode_utf8(text, i, code);
        if (length == 0) {
            append_hex(out, "\\x", c, 2);
            ++i;
        } else if (code <= 0x9f || code == 0x2028 || code == 0x2029) {
            append_hex(out, "\\u", static_cast<unsigned>(code), 4);
            i += length;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
}

// Path prefixes whose next segment is a secret token.
constexpr std::array<std::string_view, 4> k_secret_prefixes = {"/feeds/", "/unsubscribe/",
                                                               "/confirm/", "/subscribe/confirm/"};

} // namespace

std::string format_log_line(log_level level, std::string_view message, bool journal) {
    std::string line;
    line.reserve(message.size() + 4);
    if (journal) {
        line += '<';
        line += static_cast<char>('0' + static_cast<int>(level));
        line += '>';
    }
    if (message.size() <= k_longest_message) {
        append_escaped(line, message);
        return line;
    }
    std::size_t cut = k_longest_message;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80)
        --cut; // on a character's first byte
    append_escaped(line, message.substr(0, cut));
    line += "... (" + std::to_string(message.size() - cut) + " bytes more)";
    return line;
}

void log(log_level level, std::string_view message) {
    std::string line = format_log_line(level, message, journal_stream());
    line += '\n';
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n <= 0) return; // nowhere to report a failing stderr
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

std::string redact_target(std::string_view target) {
    std::string_view path = target;
    std::string_view query;
    if (auto q = target.find('?'); q != std::string_view::npos) {
        path = target.substr(0, q);
        query = target.substr(q);
    }
    // Anywhere in the path: after base_url's path, or the authority of an
    // absolute-form target, the routes find their token all the same.
    std::size_t at = std::string_view::npos;
    std::string_view prefix;
    for (std::string_view p : k_secret_prefixes) {
        const std::size_t found = path.find(p);
        if (found < at ||
            (found == at && found != std::string_view::npos && p.size() > prefix.size())) {
            at = found;
            prefix = p;
        }
    }
    const bool secret = at != std::string_view::npos;
    std::string out;
    if (secret) {
        std::string_view rest = path.substr(at + prefix.size());
        std::string_view suffix;
        if (auto dot = rest.rfind(".ics"); dot != std::string_view::npos && dot + 4 == rest.size())
            suffix = ".ics";
        else if (auto slash = rest.find('/'); slash != std::string_view::npos)
            suffix = rest.substr(slash);
        out = std::string(path.substr(0, at + prefix.size())) + "REDACTED" + std::string(suffix);
    } else {
        out = std::string(path);
    }
    // A query string may carry a token (confirmation links).
    if (!query.empty()) {
        if (secret || query.find("token") != std::string_view::npos) {
            out += "?REDACTED";
        } else {
            out += query;
        }
    }
    std::string safe;
    append_escaped(safe, out);
    return safe;
}

std::string one_line(std::string_view text) {
    std::string out;
    append_escaped(out, text);
    return out;
}

std::optional<std::string> log_limit::admit(std::string_view message,
                                            std::chrono::steady_clock::time_point now) {
    if (used_ == 0 || now - window_ >= std::chrono::minutes(1)) {
        window_ = now;
        used_ = 0;
    }
    if (used_ >= per_minute_) {
        ++dropped_;
        return std::nullopt;
    }
    ++used_;
    std::string line(message);
    if (dropped_ > 0) {
        line += " (" + std::to_string(dropped_) + " more " + what_ +
                " before this one were not logged)";
        dropped_ = 0;
    }
    return line;
}

} // namespace casacal::daemon
