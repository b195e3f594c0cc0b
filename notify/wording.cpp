#include "notify/wording.hpp"

#include "calendar/zone.hpp"

namespace casacal::notify {
namespace {

constexpr const char* fr_days[] = {"dimanche", "lundi",    "mardi", "mercredi",
                                   "jeudi",    "vendredi", "samedi"};
constexpr const char* en_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                   "Thursday", "Friday", "Saturday"};
constexpr const char* fr_months[] = {"janvier", "février", "mars",      "avril",
                                     "mai",     "juin",    "juillet",   "août",
                                     "septembre", "octobre", "novembre", "décembre"};
constexpr const char* en_months[] = {"January", "February", "March",     "April",
                                     "May",     "June",     "July",      "August",
                                     "September", "October", "November", "December"};

int weekday(const config::civil& c) {
    auto days = calendar::days_from_civil(c.year, c.month, c.day); // 1970-01-01 was a Thursday
    return static_cast<int>(((days % 7) + 7 + 4) % 7);
}

/// Minutes, two digits.
std::string two(int n) {
    const char digits[] = {static_cast<char>('0' + n / 10 % 10), static_cast<char>('0' + n % 10)};
    return std::string(digits, 2);
}

const phrases french = {
    "Bonjour",
    "Petit rappel pour l'événement suivant :",
    "Cet événement a changé :",
    "Cet événement est annulé :",
    "Plus d'informations",
    "Vous recevez ce message car vous suivez",
    "Se désinscrire",
    "Votre agenda (les catégories que vous suivez)",
    "Programme",
};
const phrases english = {
    "Hello",
    "A reminder for this event:",
    "This event has changed:",
    "This event is cancelled:",
    "More information",
    "You receive this message because you follow",
    "Unsubscribe",
    "Your calendar (the categories you follow)",
    "Programme",
};

} // namespace

std::string day_text(const config::civil& c, language lang, bool year) {
    std::string out;
    if (lang == language::en) {
        out = std::string(en_days[weekday(c)]) + " " + std::to_string(c.day) + " " +
              en_months[c.month - 1];
    } else {
        out = std::string(fr_days[weekday(c)]) + " " + (c.day == 1 ? "1er" : std::to_string(c.day)) +
              " " + fr_months[c.month - 1];
    }
    if (year) {
        out += ' ';
        out += std::to_string(c.year);
    }
    return out;
}

std::string clock_text(const config::civil& c, language lang, bool padded) {
    if (lang == language::en) {
        int h = c.hour % 12 == 0 ? 12 : c.hour % 12;
        std::string out = std::to_string(h);
        if (c.minute || padded) {
            out += ':';
            out += two(c.minute);
        }
        return out + (c.hour < 12 ? " am" : " pm");
    }
    if (c.minute == 0 && !padded) return std::to_string(c.hour) + "h";
    return std::to_string(c.hour) + "h" + two(c.minute);
}

language language_of(const std::string& locale) {
    return locale == "en" ? language::en : language::fr;
}

std::string when_text(const calendar::occurrence& o, language lang) {
    auto day = day_text(o.start_local, lang, false);
    if (o.all_day) return day;
    return day + (lang == language::en ? " at " : " à ") + clock_text(o.start_local, lang, false);
}

std::string span_text(const calendar::occurrence& o, language lang) {
    if (o.all_day) {
        auto last = calendar::add_days(o.end_local, -1);
        if (last <= o.start_local) return day_text(o.start_local, lang, true);
        return day_text(o.start_local, lang, last.year != o.start_local.year) + " – " +
               day_text(last, lang, true);
    }
    auto out = day_text(o.start_local, lang, true) + ", " + clock_text(o.start_local, lang, true) +
               " – ";
    if (calendar::date_of(o.end_local) != calendar::date_of(o.start_local))
        out += day_text(o.end_local, lang, true) + ", ";
    return out + clock_text(o.end_local, lang, true);
}

std::string subject_line(notice kind, const std::string& title, const std::string& when,
                         language lang) {
    const char* label = nullptr;
    if (lang == language::en)
        label = kind == notice::reminder ? "Reminder: " : kind == notice::update ? "Changed: " : "Cancelled: ";
    else // French puts a (non-breaking in print, plain here) space before the colon
        label = kind == notice::reminder ? "Rappel : " : kind == notice::update ? "Modifié : " : "Annulé : ";
    return label + title + " — " + when;
}

const phrases& words(language lang) { return lang == language::en ? english : french; }

std::string html_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    std::size_t copied = 0; // text before this is in `out`
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char* entity = nullptr;
        switch (text[i]) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = "&quot;"; break;
        case '\'': entity = "&#39;"; break;
        case '\n': entity = "<br>\n"; break;
        default: continue;
        }
        out.append(text, copied, i - copied);
        out += entity;
        copied = i + 1;
    }
    out.append(text, copied);
    return out;
}

} // namespace casacal::notify
