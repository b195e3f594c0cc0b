#pragma once
// Test-side reading of a received email: header unfolding, RFC 2047,
// quoted-printable and base64 decoding, multipart splitting. Written
// independently of notify/ so the tests check curl's and our output
// against a second implementation.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casacal::notify::testing {

struct entity {
    std::vector<std::pair<std::string, std::string>> headers; ///< raw (folded) values
    std::string body;

    /// The raw value of the only header named `name` (case-insensitive);
    /// throws when there is none or more than one.
    std::string header(std::string_view name) const;
    std::vector<std::string> names() const;
};

inline bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = char(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

inline std::string entity::header(std::string_view name) const {
    std::string found;
    int count = 0;
    for (const auto& [n, v] : headers)
        if (same_name(n, name))
            found = v, ++count;
    if (count != 1)
        throw std::runtime_error("header " + std::string(name) + " appears " +
                                 std::to_string(count) + " times");
    return found;
}

inline std::vector<std::string> entity::names() const {
    std::vector<std::string> out;
    for (const auto& h : headers)
        out.push_back(h.first);
    return out;
}

/// Splits at the first empty line; every header line must be "Name: value"
/// or a continuation starting with a space or tab.
inline entity parse_entity(std::string_view text) {
    entity e;
    const auto end = text.find("\r\n\r\n");
    if (end == std::string_view::npos)
        throw std::runtime_error("no end of headers");
    const auto head = text.substr(0, end + 2);
    e.body = std::string(text.substr(end + 4));
    std::size_t start = 0;
    while (start < head.size()) {
        const auto eol = head.find("\r\n", start);
        const auto line = head.substr(start, eol - start);
        if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos ||
            line.find('\0') != std::string_view::npos)
            throw std::runtime_error("bare CR, LF or NUL in a header line");
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            if (e.headers.empty())
                throw std::runtime_error("continuation before any header");
            e.headers.back().second += "\r\n" + std::string(line);
        } else {
            const auto colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0)
                throw std::runtime_error("not a header line: " + std::string(line));
            auto value = line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ')
                value.remove_prefix(1);
            e.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
        }
        start = eol + 2;
    }
    return e;
}

inline std::string unfold(std::string_view value) {
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
            ++i;
            continue;
        }
        out += value[i];
    }
    return out;
}

inline std::string base64_decode(std::string_view text) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : text) {
        int v = -1;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == '=' || c == '\r' || c == '\n')
            continue;
        else
            throw std::runtime_error("bad base64");
        acc = (acc << 6) | std::uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char((acc >> bits) & 0xFF);
        }
    }
    return out;
}

inline std::string qp_decode(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        throw std::runtime_error("bad quoted-printable escape");
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '=') {
            out += text[i];
            continue;
        }
        if (text.substr(i + 1, 2) == "\r\n") { // soft line break
            i += 2;
            continue;
        }
        if (i + 2 >= text.size())
            throw std::runtime_error("truncated quoted-printable escape");
        out += char(hex(text[i + 1]) * 16 + hex(text[i + 2]));
        i += 2;
    }
    return out;
}

/// The encoded-words of an unfolded value ("=?UTF-8?B?...?=" or Q), each
/// decoded; whitespace between adjacent words is dropped (RFC 2047 6.2).
/// `words` receives the raw encoded-words.
inline std::string decode_words(std::string_view value, std::vector<std::string>* words = nullptr) {
    std::string out;
    std::string pending_space;
    bool previous_word = false;
    std::size_t i = 0;
    while (i < value.size()) {
        if (value.substr(i, 2) == "=?") {
            const auto q1 = value.find('?', i + 2);
            const auto q2 = value.find('?', q1 + 1);
            const auto end = value.find("?=", q2 + 1);
            if (q1 == std::string_view::npos || q2 == std::string_view::npos || end == std::string_view::npos)
                throw std::runtime_error("broken encoded-word");
            const auto charset = value.substr(i + 2, q1 - i - 2);
            const auto encoding = value.substr(q1 + 1, q2 - q1 - 1);
            const auto payload = value.substr(q2 + 1, end - q2 - 1);
            if (!same_name(charset, "utf-8"))
                throw std::runtime_error("charset is not UTF-8");
            if (words)
                words->emplace_back(value.substr(i, end + 2 - i));
            if (!previous_word)
                out += pending_space;
            if (same_name(encoding, "b")) {
                out += base64_decode(payload);
            } else {
                std::string q;
                for (const char c : payload)
                    q += c == '_' ? ' ' : c;
                out += qp_decode(q);
            }
            pending_space.clear();
            previous_word = true;
            i = end + 2;
        } else if (value[i] == ' ' || value[i] == '\t') {
            pending_space += value[i++];
        } else {
            out += pending_space;
            pending_space.clear();
            previous_word = false;
            out += value[i++];
        }
    }
    return out + pending_space;
}

/// The value of `param` in a header like `multipart/mixed; boundary=...`.
inline std::string parameter(std::string_view value, std::string_view param) {
    const auto flat = unfold(value);
    auto at = flat.find(std::string(param) + "=");
    if (at == std::string::npos)
        return {};
    at += param.size() + 1;
    if (at < flat.size() && flat[at] == '"') {
        const auto close = flat.find('"', at + 1);
        return flat.substr(at + 1, close - at - 1);
    }
    const auto end = flat.find(';', at);
    return flat.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

/// The parts of a multipart body (RFC 2046 5.1.1), preamble and epilogue dropped.
inline std::vector<entity> split_multipart(const entity& e) {
    const auto boundary = parameter(e.header("Content-Type"), "boundary");
    if (boundary.empty())
        throw std::runtime_error("no boundary");
    const auto delimiter = "--" + boundary;
    std::vector<entity> parts;
    const std::string body = "\r\n" + e.body;
    auto at = body.find("\r\n" + delimiter);
    while (at != std::string::npos) {
        auto start = at + 2 + delimiter.size();
        if (body.compare(start, 2, "--") == 0)
            return parts;
        start = body.find("\r\n", start) + 2;
        const auto next = body.find("\r\n" + delimiter, start);
        if (next == std::string::npos)
            throw std::runtime_error("no closing delimiter");
        parts.push_back(parse_entity(body.substr(start, next - start)));
        at = next;
    }
    throw std::runtime_error("no delimiter");
}

/// A part's body decoded according to its Content-Transfer-Encoding.
inline std::string decoded_body(const entity& e) {
    std::string encoding;
    for (const auto& [n, v] : e.headers)
        if (same_name(n, "Content-Transfer-Encoding"))
            encoding = v;
    if (same_name(encoding, "base64"))
        return base64_decode(e.body);
    if (same_name(encoding, "quoted-printable"))
        return qp_decode(e.body);
    return e.body;
}

} // namespace casacal::notify::testing
