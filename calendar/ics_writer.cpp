#include "calendar/ics_writer.hpp"

namespace casacal::calendar {

namespace {

bool plain(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && c != 0x7f && c != '\\' && c != ';' && c != ',';
}

void append_escaped(std::string& out, std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t run = i;
        while (run < text.size() && plain(text[run]))
            ++run;
        out.append(text.data() + i, run - i);
        if (run == text.size()) return;
        i = run;
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
        ++i;
    }
}

void append_folded(std::string& out, std::string_view line) {
    constexpr std::size_t limit = 75;
    if (line.size() <= limit) {
        out.append(line);
        out += "\r\n";
        return;
    }
    std::size_t pos = 0;
    bool first = true;
    while (true) {
        const std::size_t room = first ? limit : limit - 1; // continuation lines start with a space
        if (line.size() - pos <= room) {
            if (!first) out += ' ';
            out.append(line.substr(pos));
            out += "\r\n";
            return;
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

} // namespace

std::string escape_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_escaped(out, text);
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
    std::string out;
    out.reserve(line.size() + line.size() / 70 * 3 + 2);
    append_folded(out, line);
    return out;
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

void ics_writer::line(std::string_view content) {
    append_folded(out_, content);
}

void ics_writer::text(std::string_view name, std::string_view value) {
    scratch_.assign(name);
    scratch_ += ':';
    append_escaped(scratch_, value);
    append_folded(out_, scratch_);
}

} // namespace casacal::calendar
