#include "calendar/ics_writer.hpp"

namespace casacal::calendar {

std::string escape_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case ';':
            out += "\\;";
            break;
        case ',':
            out += "\\,";
            break;
        case '\r':
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
            out += "\\n";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) break;
            out += c;
        }
    }
    return out;
}

std::string param_value(std::string_view text) {
    std::string out;
    bool quote = false;
    for (const char c : text) {
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f || c == '"') continue;
        if (c == ':' || c == ';' || c == ',') quote = true;
        out += c;
    }
    return quote ? "\"" + out + "\"" : out;
}

std::string fold_line(std::string_view line) {
    constexpr std::size_t limit = 75;
    std::string out;
    out.reserve(line.size() + line.size() / 70 * 3 + 2);
    std::size_t pos = 0;
    bool first = true;
    while (true) {
        const std::size_t room = first ? limit : limit - 1; // continuation lines start with a space
        if (line.size() - pos <= room) {
            if (!first) out += ' ';
            out.append(line.substr(pos));
            out += "\r\n";
            return out;
        }
        std::size_t cut = pos + room;
        // Back up to the first byte of a UTF-8 sequence.
        while (cut > pos && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80)
            --cut;
        if (cut == pos) cut = pos + room; // not UTF-8: split anyway rather than loop
        if (!first) out += ' ';
        out.append(line.substr(pos, cut - pos));
        out += "\r\n";
        pos = cut;
        first = false;
    }
}

std::string unfold(std::string_view folded) {
    std::string out;
    std::size_t pos = 0;
    while (pos < folded.size()) {
        std::size_t end = folded.find("\r\n", pos);
        if (end == std::string_view::npos) end = folded.size();
        std::string_view piece = folded.substr(pos, end - pos);
        if (!piece.empty() && piece.front() == ' ' && pos != 0) {
            if (!out.empty() && out.back() == '\n') out.pop_back();
            piece.remove_prefix(1);
        }
        out.append(piece);
        out += '\n';
        pos = end + 2;
    }
    return out;
}

void ics_writer::text(std::string_view name, std::string_view value) {
    std::string l(name);
    l += ':';
    l += escape_text(value);
    line(l);
}

} // namespace casacal::calendar
