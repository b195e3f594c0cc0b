#include "daemon/logging.hpp"

#include <array>
#include <cstdlib>
#include <unistd.h>

namespace casacal::daemon {

namespace {

bool journal_stream() {
    static const bool set = std::getenv("JOURNAL_STREAM") != nullptr;
    return set;
}

void append_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : text) {
        if (c == '\n' || c == '\r' || c == '\t') {
            out += ' ';
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
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
    append_escaped(line, message);
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
    std::string out;
    bool secret = false;
    for (std::string_view prefix : k_secret_prefixes) {
        if (path.substr(0, prefix.size()) == prefix) {
            std::string_view rest = path.substr(prefix.size());
            std::string_view suffix;
            if (auto dot = rest.rfind(".ics");
                dot != std::string_view::npos && dot + 4 == rest.size())
                suffix = ".ics";
            else if (auto slash = rest.find('/'); slash != std::string_view::npos)
                suffix = rest.substr(slash);
            out = std::string(prefix) + "REDACTED" + std::string(suffix);
            secret = true;
            break;
        }
    }
    if (!secret) out = std::string(path);
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

} // namespace casacal::daemon
