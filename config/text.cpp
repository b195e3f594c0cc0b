#include "config/text.hpp"

#include <algorithm>
#include <cstdint>

#include <cstdio>

namespace casacal::config {

std::string in_quotes(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string to_string(const when& w) {
    const civil& c = w.value;
    char buf[48];
    if (w.type == when::kind::date) {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", c.year, c.month, c.day);
    } else {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s", c.year, c.month, c.day,
                      c.hour, c.minute, c.second, w.type == when::kind::utc ? "Z" : "");
    }
    return buf;
}

std::string_view kind_name(when::kind k) {
    switch (k) {
    case when::kind::date:
        return "a date";
    case when::kind::local:
        return "a local date-time";
    case when::kind::utc:
        return "an offset date-time";
    }
    return "a date-time";
}

std::string text_problem(std::string_view key, std::string_view value, text_rule rule) {
    // Every text of every events file goes through here. Branch-free and
    // reduced into unsigned bytes, so that GCC checks 16 bytes at a time
    // (it does not vectorize an OR into a bool: "relevant phi not supported").
    unsigned char breaks = 0, controls = 0, leads = 0;
    for (const char c : value) {
        const unsigned u = static_cast<unsigned char>(c);
        const unsigned is_break =
            static_cast<unsigned>(u == '\n') | static_cast<unsigned>(u == '\r');
        breaks |= static_cast<unsigned char>(is_break);
        controls |= static_cast<unsigned char>(
            (static_cast<unsigned>(u < 0x20) & static_cast<unsigned>(u != '\t') & (is_break ^ 1u)) |
            static_cast<unsigned>(u == 0x7f));
        leads |= static_cast<unsigned char>(static_cast<unsigned>(u == 0xc2) |
                                            static_cast<unsigned>(u == 0xe2));
    }
    bool line_break = breaks != 0, control = controls != 0, bidi = false;
    // Beyond ASCII, rarely: the C1 controls (U+0080 to U+009F, NEL among
    // them), the line and paragraph separators (U+2028, U+2029), which
    // some readers break lines at, and the bidirectional embeddings,
    // overrides and isolates (U+202A to U+202E, U+2066 to U+2069), which
    // reverse what follows them: a subject's date, a link.
    if (leads) {
        for (std::size_t i = 0; i + 1 < value.size(); ++i) {
            const auto a = static_cast<unsigned char>(value[i]);
            const auto b = static_cast<unsigned char>(value[i + 1]);
            if (a == 0xc2 && b >= 0x80 && b <= 0x9f) control = true;
            if (a != 0xe2 || i + 2 >= value.size()) continue;
            const auto c = static_cast<unsigned char>(value[i + 2]);
            if (b == 0x80 && (c & 0xfe) == 0xa8) line_break = true;
            if ((b == 0x80 && c >= 0xaa && c <= 0xae) || (b == 0x81 && c >= 0xa6 && c <= 0xa9))
                bidi = true;
        }
    }
    if (control) return "'" + std::string(key) + "' must not contain control characters";
    if (bidi)
        return "'" + std::string(key) +
               "' must not contain bidirectional embeddings, overrides or isolates (U+202A to "
               "U+202E, U+2066 to U+2069): they reverse the text around them";
    if (line_break && rule == text_rule::single_line) {
        return "'" + std::string(key) + "' must not contain line breaks";
    }
    return {};
}

namespace {
char lower_ascii(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
} // namespace

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = lower_ascii(c);
    return out;
}

std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& c) {
    const auto b0 = std::uint8_t(text[i]);
    std::size_t len = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
        c = b0;
        return 1;
    } else if ((b0 & 0xE0) == 0xC0) {
        len = 2, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, c = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > text.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = std::uint8_t(text[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    return len;
}

bool blank(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        char32_t c = 0;
        const std::size_t n = decode_utf8(text, i, c);
        if (n == 0) return false;
        const bool space = c == ' ' || c == '\t' || c == 0xA0 || c == 0x1680 ||
                           (c >= 0x2000 && c <= 0x200B) || c == 0x202F || c == 0x205F ||
                           c == 0x3000 || c == 0xFEFF;
        if (!space) return false;
        i += n;
    }
    return true;
}

text_position first_invalid_utf8(std::string_view text) {
    text_position at{1, 1, 0};
    for (std::size_t i = 0; i < text.size();) {
        char32_t c = 0;
        const auto len = decode_utf8(text, i, c);
        if (len == 0) {
            at.byte = static_cast<unsigned char>(text[i]);
            return at;
        }
        i += len;
        if (c == '\n') {
            ++at.line;
            at.column = 1;
        } else {
            ++at.column;
        }
    }
    return {};
}

bool ascii_iequal(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

} // namespace casacal::config
