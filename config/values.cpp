#include "config/values.hpp"

#include "config/site.hpp"
#include "config/text.hpp"

#include <algorithm>
#include <charconv>
#include <climits>

namespace casacal::config {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 5322 atext, ASCII only.
bool is_atext(char c) {
    return is_alpha(c) || is_digit(c) ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::string addr_spec_problem(std::string_view addr) {
    const auto at = addr.rfind('@');
    if (at == std::string_view::npos) return "missing '@'";
    const std::string_view local = addr.substr(0, at);
    const std::string_view domain = addr.substr(at + 1);
    if (local.empty()) return "nothing before '@'";
    if (local.size() > 64) return "the part before '@' is longer than 64 characters";
    for (char c : local) {
        if (static_cast<unsigned char>(c) >= 0x80) return "only ASCII addresses are supported";
        if (c != '.' && !is_atext(c)) {
            return std::string("invalid character '") + c + "' before '@'";
        }
    }
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
        return "misplaced '.' before '@'";
    }
    if (domain.empty()) return "nothing after '@'";
    if (addr.size() > 254) return "longer than 254 characters";
    if (is_host_name(domain, false) && !is_host_name(domain, true)) {
        return "the domain '" + std::string(domain) + "' has no '.'";
    }
    if (!is_host_name(domain, true)) {
        return "the domain '" + std::string(domain) + "' is not a host name like \"example.org\"";
    }
    return {};
}

// Digits of a duration component; at most 9 so that nothing overflows.
std::optional<std::int64_t> read_number(std::string_view text, std::size_t& i) {
    const std::size_t begin = i;
    std::int64_t value = 0;
    while (i < text.size() && is_digit(text[i])) {
        if (i - begin < 9) value = value * 10 + (text[i] - '0');
        ++i;
    }
    if (i == begin || i - begin > 9) return std::nullopt;
    return value;
}

} // namespace

std::optional<duration> parse_duration(std::string_view text) {
    if (text.size() < 3 || text.front() != 'P') return std::nullopt;
    // Designators must come in this order, each at most once.
    constexpr std::string_view order = "WDHMS";
    std::int64_t amount[5] = {};
    std::size_t stage = 0; // index in `order` + 1 of the last designator seen
    bool in_time = false;
    for (std::size_t i = 1; i < text.size();) {
        if (text[i] == 'T') {
            if (in_time) return std::nullopt;
            in_time = true;
            ++i;
            continue;
        }
        const auto number = read_number(text, i);
        if (!number || i == text.size()) return std::nullopt;
        const auto slot = order.find(text[i++]);
        if (slot == std::string_view::npos || (slot >= 2) != in_time || slot + 1 <= stage) {
            return std::nullopt;
        }
        amount[slot] = *number;
        stage = slot + 1;
    }
    if (stage == 0 || (in_time && stage <= 2)) return std::nullopt;
    const std::int64_t days = amount[0] * 7 + amount[1];
    if (days > INT_MAX) return std::nullopt;
    duration d;
    d.days = static_cast<int>(days);
    d.seconds = amount[2] * 3600 + amount[3] * 60 + amount[4];
    d.text = std::string(text);
    return d;
}

std::string check_mailbox(std::string_view text, std::string* display, std::string* address) {
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r' || c == '\n') return "it contains a line break";
        if (u < 0x20 || u == 0x7f) return "it contains a control character";
    }
    text = trim(text);
    if (text.empty()) return "it is empty";
    std::string_view name, addr = text;
    if (const auto lt = text.rfind('<'); lt != std::string_view::npos) {
        if (text.back() != '>') return "'<' without a closing '>' at the end";
        name = trim(text.substr(0, lt));
        addr = text.substr(lt + 1, text.size() - lt - 2);
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
            name = name.substr(1, name.size() - 2);
        }
        if (name.find_first_of("\"<>\\") != std::string_view::npos) {
            return "the name must not contain '\"', '<', '>' or '\\'";
        }
    }
    if (addr.find_first_of("<>") != std::string_view::npos) return "misplaced '<' or '>'";
    if (auto problem = addr_spec_problem(addr); !problem.empty()) return problem;
    if (display) *display = std::string(name);
    if (address) *address = std::string(addr);
    return {};
}

bool parse_mailbox(std::string_view text, std::string* display, std::string* address) {
    return check_mailbox(text, display, address).empty();
}

bool is_valid_id(std::string_view id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-';
    });
}

bool is_host_name(std::string_view text, bool need_dot) {
    if (text.empty() || text.size() > 253) return false;
    std::size_t labels = 0;
    for (std::size_t begin = 0;;) {
        const auto end = std::min(text.find('.', begin), text.size());
        const std::string_view label = text.substr(begin, end - begin);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        if (!std::all_of(label.begin(), label.end(),
                         [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; })) {
            return false;
        }
        ++labels;
        if (end == text.size()) break;
        begin = end + 1;
    }
    return !need_dot || labels >= 2;
}

bool is_color(std::string_view text) {
    return text.size() == 7 && text[0] == '#' && std::all_of(text.begin() + 1, text.end(), is_hex);
}

bool is_time_zone_name(std::string_view text) {
    if (text.empty() || text.front() == '/' || text.back() == '/' ||
        text.find("//") != std::string_view::npos) {
        return false;
    }
    return std::all_of(text.begin(), text.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '+' || c == '/';
    });
}

host_port_form split_host_port(std::string_view text, bool port_optional, std::string* host,
                               std::optional<std::uint16_t>* port) {
    std::string_view name, rest;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return host_port_form::malformed;
        name = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        const bool v6 = !name.empty() && name.find(':') != std::string_view::npos &&
                        std::all_of(name.begin(), name.end(),
                                    [](char c) { return is_hex(c) || c == ':' || c == '.'; });
        if (!v6) return host_port_form::malformed;
    } else {
        const auto colon = text.find(':');
        if (colon != text.rfind(':')) return host_port_form::malformed; // bare IPv6
        name = text.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
        if (!is_host_name(name, false)) return host_port_form::malformed;
    }
    std::optional<std::uint16_t> number;
    if (rest.empty()) {
        if (!port_optional) return host_port_form::malformed;
    } else {
        if (rest.front() != ':' || rest.size() < 2) return host_port_form::malformed;
        rest.remove_prefix(1);
        if (!std::all_of(rest.begin(), rest.end(), is_digit)) return host_port_form::malformed;
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
        if (ec != std::errc() || end != rest.data() + rest.size() || value < 1 || value > 65535) {
            return host_port_form::bad_port;
        }
        number = static_cast<std::uint16_t>(value);
    }
    if (host) *host = std::string(name);
    if (port) *port = number;
    return host_port_form::ok;
}

namespace {

/// What is wrong with a URL's host[:port], `malformed` when it is no such
/// thing; empty when fine.
std::string authority_problem(std::string_view authority, std::string malformed) {
    switch (split_host_port(authority, true, nullptr, nullptr)) {
    case host_port_form::ok:
        return {};
    case host_port_form::bad_port:
        return "the port must be between 1 and 65535";
    case host_port_form::malformed:
        break;
    }
    return malformed;
}

} // namespace

std::string lower_scheme(std::string_view url) {
    const auto end = url.find("://");
    return end == std::string_view::npos ? std::string() : ascii_lower(url.substr(0, end + 3));
}

std::string with_lower_scheme(std::string_view url) {
    const std::string scheme = lower_scheme(url);
    return scheme + std::string(url.substr(scheme.size()));
}

std::string without_secrets(std::string_view url) {
    std::string shown(url);
    if (const auto at = shown.rfind('@'); at != std::string::npos) {
        const auto scheme_end = shown.find("://");
        const auto keep = scheme_end != std::string::npos && scheme_end < at ? scheme_end + 3 : 0;
        shown.replace(keep, at - keep, "***");
    }
    if (const auto query = shown.find_first_of("?#"); query != std::string::npos)
        shown.replace(query + 1, std::string::npos, "***");
    return shown;
}

std::string http_url_problem(std::string_view text) {
    const std::string scheme = lower_scheme(text);
    if (scheme != "https://" && scheme != "http://")
        return "it must start with http:// or https://";
    const std::string_view rest = text.substr(scheme.size());
    if (text.find_first_of(" \t") != std::string_view::npos) return "it contains a space";
    // RFC 3986 leaves these, and every byte outside ASCII, out of URIs:
    // they are written percent-encoded.
    static constexpr char hex[] = "0123456789ABCDEF";
    if (const auto bad = text.find_first_of("\"<>\\^`{|}"); bad != std::string_view::npos) {
        const auto c = static_cast<unsigned char>(text[bad]);
        return std::string("it contains '") + text[bad] + "', which a URL writes as %" +
               hex[c >> 4] + hex[c & 15];
    }
    const auto wide = std::find_if(text.begin(), text.end(),
                                   [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    if (wide != text.end()) {
        // The whole UTF-8 character, and its encoding byte by byte.
        auto end = wide + 1;
        while (end != text.end() && (static_cast<unsigned char>(*end) & 0xC0) == 0x80)
            ++end;
        std::string encoded;
        for (auto it = wide; it != end; ++it) {
            const auto c = static_cast<unsigned char>(*it);
            encoded += {'%', hex[c >> 4], hex[c & 15]};
        }
        return "it contains '" + std::string(wide, end) + "', which a URL writes as " + encoded;
    }
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty()) return "no host after the scheme";
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    return authority_problem(authority, "'" + std::string(authority) + "' is not a host[:port]");
}

std::string smtp_url_problem(std::string_view text) {
    const std::string scheme = lower_scheme(text);
    if (scheme != "smtps://" && scheme != "smtp://")
        return "it must start with smtp:// or smtps://";
    std::string_view rest = text.substr(scheme.size());
    if (rest.ends_with('/')) rest.remove_suffix(1);
    return authority_problem(rest, "expected smtp://host[:port] or smtps://host[:port]");
}

} // namespace casacal::config
