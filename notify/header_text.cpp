#include "notify/header_text.hpp"

#include "config/text.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdio>
#include <ctime>

namespace casacal::notify {
namespace {

constexpr std::string_view k_word_prefix = "=?UTF-8?B?";
constexpr std::string_view k_word_suffix = "?=";
constexpr std::string_view k_base64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::size_t base64_length(std::size_t bytes) { return (bytes + 2) / 3 * 4; }

} // namespace

std::string base64(std::string_view bytes) {
    std::string out;
    out.reserve(base64_length(bytes.size()));
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                       (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                       std::uint32_t(std::uint8_t(bytes[i + 2]));
        out += k_base64[(n >> 18) & 63];
        out += k_base64[(n >> 12) & 63];
        out += k_base64[(n >> 6) & 63];
        out += k_base64[n & 63];
    }
    if (const auto rest = bytes.size() - i; rest > 0) {
        auto n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        if (rest == 2)
            n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
        out += k_base64[(n >> 18) & 63];
        out += k_base64[(n >> 12) & 63];
        out += rest == 2 ? k_base64[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

namespace {

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += char(c);
    } else if (c < 0x800) {
        out += char(0xC0 | (c >> 6));
        out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += char(0xE0 | (c >> 12));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    } else {
        out += char(0xF0 | (c >> 18));
        out += char(0x80 | ((c >> 12) & 0x3F));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    }
}

std::size_t utf8_length_at(std::string_view valid, std::size_t i) {
    char32_t c = 0;
    const auto len = config::decode_utf8(valid, i, c);
    assert(len > 0 && "single_line output is valid UTF-8");
    return len == 0 ? 1 : len;
}

bool is_atext(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_plain_ascii(std::string_view text) {
    for (const char c : text)
        if (std::uint8_t(c) < 0x20 || std::uint8_t(c) > 0x7E)
            return false;
    return text.find("=?") == std::string_view::npos;
}

std::string join_folded(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty())
            out += "\r\n ";
        out += w;
    }
    return out;
}

/// Folds printable ASCII at spaces so that lines stay within
/// max_folded_line where possible; returns "" when some line would still
/// exceed RFC 5322's hard limit of 998 characters.
std::string fold_ascii(std::string_view name, std::string_view text) {
    std::string out;
    std::size_t line = name.size() + 2; // "Name: "
    std::size_t start = 0;
    while (start < text.size()) {
        // A chunk is a run of spaces followed by a run of non-spaces.
        auto end = text.find_first_not_of(' ', start);
        end = end == std::string_view::npos ? text.size() : text.find(' ', end);
        if (end == std::string_view::npos)
            end = text.size();
        const auto chunk = text.substr(start, end - start);
        if (start > 0 && chunk.front() == ' ' && line + chunk.size() > max_folded_line) {
            out += "\r\n";
            line = 0;
        }
        out += chunk;
        line += chunk.size();
        if (line > 998)
            return {};
        start = end;
    }
    return out;
}

/// What the first line of header `name` has left for its value after
/// "Name: ", to stay within max_folded_line.
std::size_t first_line_room(std::string_view name) {
    return max_folded_line > name.size() + 2 ? max_folded_line - name.size() - 2 : 0;
}

/// `pieces` (atoms and encoded-words) separated by one space, folded
/// where a line would pass max_folded_line; `used` is what the first line
/// holds already ("To: ").
std::string join_phrase(const std::vector<std::string>& pieces, std::size_t used) {
    std::string out;
    std::size_t line = used;
    for (const auto& piece : pieces) {
        if (!out.empty()) {
            if (line + 1 + piece.size() > max_folded_line) {
                out += "\r\n";
                line = 0;
            }
            out += ' ';
            ++line;
        }
        out += piece;
        line += piece.size();
    }
    return out;
}

/// A word of a display name that can stand as an atom on a folded line.
bool is_atom(std::string_view word) {
    return !word.empty() && word.size() <= max_encoded_word &&
           word.find("=?") == std::string_view::npos &&
           std::all_of(word.begin(), word.end(), is_atext);
}

/// A display name that needs encoding, as the pieces of a phrase (RFC 5322
/// §3.2.5) for join_phrase: its
/// atoms as they are, each run of other words as encoded-words (with the
/// spaces inside the run). Readers that take adjacent encoded-words for
/// separate words (Python's email in its default policy) then read it
/// right unless a run is too long for one encoded-word.
std::vector<std::string> encoded_phrase(std::string_view header, std::string_view clean) {
    std::vector<std::string> pieces;
    std::string run;
    bool in_run = false;
    const std::size_t first_room = first_line_room(header);
    const auto flush = [&] {
        if (!in_run) return;
        for (auto& w : encoded_words(run, pieces.empty() ? first_room : max_encoded_word))
            pieces.push_back(std::move(w));
        run.clear();
        in_run = false;
    };
    std::size_t start = 0;
    while (start <= clean.size()) {
        auto end = clean.find(' ', start);
        if (end == std::string_view::npos) end = clean.size();
        const std::string_view word = clean.substr(start, end - start);
        if (is_atom(word)) {
            flush();
            pieces.emplace_back(word);
        } else {
            if (in_run) run += ' ';
            run += word;
            in_run = true;
        }
        start = end + 1;
    }
    flush();
    return pieces;
}

} // namespace

std::string single_line(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        char32_t c = 0;
        const auto len = config::decode_utf8(text, i, c);
        if (len == 0) {
            append_utf8(out, 0xFFFD);
            ++i;
            continue;
        }
        i += len;
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F))
            c = ' ';
        append_utf8(out, c);
    }
    const auto first = out.find_first_not_of(' ');
    if (first == std::string::npos)
        return {};
    return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

std::vector<std::string> encoded_words(std::string_view text, std::size_t first_room) {
    const auto overhead = k_word_prefix.size() + k_word_suffix.size();
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < text.size()) {
        auto room = words.empty() ? std::min(first_room, max_encoded_word) : max_encoded_word;
        // Always fit at least one character (4 bytes -> 8 base64 chars).
        room = std::max(room, overhead + 8);
        std::size_t end = i;
        while (end < text.size()) {
            const auto next = end + utf8_length_at(text, end);
            if (overhead + base64_length(next - i) > room)
                break;
            end = next;
        }
        words.push_back(std::string(k_word_prefix) + base64(text.substr(i, end - i)) +
                        std::string(k_word_suffix));
        i = end;
    }
    return words;
}

std::string unstructured_value(std::string_view name, std::string_view text) {
    const auto clean = single_line(text);
    if (is_plain_ascii(clean)) {
        if (auto folded = fold_ascii(name, clean); !folded.empty() || clean.empty())
            return folded;
    }
    return join_folded(encoded_words(clean, first_line_room(name)));
}

bool is_safe_address(std::string_view address) {
    if (address.empty() || address.size() > 254)
        return false;
    for (const char c : address) {
        if (std::uint8_t(c) <= 0x20 || std::uint8_t(c) >= 0x7F)
            return false;
        if (std::string_view("<>()[],;:\\\"").find(c) != std::string_view::npos)
            return false;
    }
    const auto at = address.rfind('@');
    return at != std::string_view::npos && at > 0 && at + 1 < address.size() &&
           address.find('@') == at;
}

std::string mailbox_value(std::string_view name, std::string_view display,
                          std::string_view address) {
    const auto clean = single_line(display);
    if (clean.empty())
        return std::string(address);
    const auto angle = " <" + std::string(address) + ">";
    if (!is_plain_ascii(clean)) {
        auto pieces = encoded_phrase(name, clean);
        pieces.push_back("<" + std::string(address) + ">");
        return join_phrase(pieces, name.size() + 2);
    }
    bool atoms = true;
    char previous = ' ';
    for (const char c : clean) {
        if (!(is_atext(c) || (c == ' ' && previous != ' ')))
            atoms = false;
        previous = c;
    }
    std::string phrase = clean;
    if (!atoms) {
        phrase = "\"";
        for (const char c : clean) {
            if (c == '"' || c == '\\') phrase += '\\';
            phrase += c;
        }
        phrase += '"';
    }
    // Folded at its spaces (RFC 5322 allows it in a quoted-string too); a
    // word too long for a line of 998 characters is encoded, in pieces.
    if (auto folded = fold_ascii(name, phrase + angle); !folded.empty()) return folded;
    return join_folded(encoded_words(clean, first_line_room(name))) + angle;
}

std::string rfc5322_date(std::int64_t unix_seconds, int utc_offset_minutes) {
    static constexpr std::array<const char*, 7> days = {"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto local = static_cast<std::time_t>(unix_seconds + std::int64_t(utc_offset_minutes) * 60);
    std::tm tm{};
    gmtime_r(&local, &tm);
    const int offset = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04lld %02d:%02d:%02d %c%02d%02d",
                  days[std::size_t(tm.tm_wday)], tm.tm_mday, months[std::size_t(tm.tm_mon)],
                  static_cast<long long>(tm.tm_year) + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  utc_offset_minutes < 0 ? '-' : '+', offset / 60, offset % 60);
    return buffer;
}

} // namespace casacal::notify
