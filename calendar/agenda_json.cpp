#include "calendar/zone.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace casacal::calendar {

namespace {

const char* status_name(config::status s) {
    switch (s) {
    case config::status::tentative:
        return "tentative";
    case config::status::cancelled:
        return "cancelled";
    case config::status::confirmed:
        break;
    }
    return "confirmed";
}

/// Eight bytes of `text` from `i`, in one word.
std::uint64_t word_at(std::string_view text, std::size_t i) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, sizeof w);
    return w;
}

constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t highs = 0x8080808080808080ULL;

/// Whether some byte of `w` is below 0x20, a quote or a backslash (bytes
/// of 0x80 and above, UTF-8, never count).
bool needs_escape(std::uint64_t w) {
    const auto zero_in = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    return (((w - ones * 0x20) & ~w & highs) | zero_in(w ^ (ones * '"')) |
            zero_in(w ^ (ones * '\\'))) != 0;
}

/// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        // ASCII, the bulk of any text here, a word at a time.
        while (i + 8 <= text.size() && (word_at(text, i) & highs) == 0)
            i += 8;
        if (i == text.size()) break;
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            n = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            n = 2;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            n = 3;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (text.size() - i <= n) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto c = static_cast<unsigned char>(text[i + k]);
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return false;
        }
        i += n + 1;
    }
    return true;
}

/// A JSON string as nlohmann::json::dump() writes valid UTF-8.
void append_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        // Words without a byte to escape are copied as they are.
        while (i + 8 <= text.size() && !needs_escape(word_at(text, i)))
            i += 8;
        if (i == text.size()) break;
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(text.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    out.append(text.data() + run, text.size() - run);
    out += '"';
}

std::string rfc3339(const config::civil& local, int offset, bool all_day) {
    return all_day ? iso_text(local, true) : rfc3339_text(local, offset);
}

/// The document through nlohmann::json: the reference, and the path for text
/// that is not UTF-8 (it throws as the library does).
std::string agenda_json_slow(const std::vector<occurrence>& occurrences) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const occurrence& o : occurrences) {
        nlohmann::ordered_json j;
        j["uid"] = o.uid;
        j["event"] = o.event_id;
        j["title"] = o.title;
        j["category"] = o.category;
        j["start"] = rfc3339(o.start_local, o.start_offset, o.all_day);
        j["end"] = rfc3339(o.end_local, o.end_offset, o.all_day);
        j["all_day"] = o.all_day;
        j["location"] = o.location;
        j["status"] = status_name(o.status);
        j["recurrence_id"] = o.recurrence_id.empty() ? nlohmann::ordered_json()
                                                     : nlohmann::ordered_json(o.recurrence_id);
        j["url"] = o.url;
        list.push_back(std::move(j));
    }
    nlohmann::ordered_json doc;
    doc["occurrences"] = std::move(list);
    return doc.dump();
}

} // namespace

std::string agenda_json(const std::vector<occurrence>& occurrences) {
    std::string out;
    out.reserve(64 + occurrences.size() * 400);
    out += "{\"occurrences\":[";
    bool first = true;
    for (const occurrence& o : occurrences) {
        for (const std::string* t : {&o.uid, &o.event_id, &o.title, &o.category, &o.location,
                                     &o.recurrence_id, &o.url})
            if (!valid_utf8(*t)) return agenda_json_slow(occurrences);
        if (!first) out += ',';
        first = false;
        out += "{\"uid\":";
        append_string(out, o.uid);
        out += ",\"event\":";
        append_string(out, o.event_id);
        out += ",\"title\":";
        append_string(out, o.title);
        out += ",\"category\":";
        append_string(out, o.category);
        out += ",\"start\":";
        append_string(out, rfc3339(o.start_local, o.start_offset, o.all_day));
        out += ",\"end\":";
        append_string(out, rfc3339(o.end_local, o.end_offset, o.all_day));
        out += o.all_day ? ",\"all_day\":true" : ",\"all_day\":false";
        out += ",\"location\":";
        append_string(out, o.location);
        out += ",\"status\":";
        append_string(out, status_name(o.status));
        out += ",\"recurrence_id\":";
        if (o.recurrence_id.empty())
            out += "null";
        else
            append_string(out, o.recurrence_id);
        out += ",\"url\":";
        append_string(out, o.url);
        out += '}';
    }
    out += "]}";
    return out;
}

} // namespace casacal::calendar
