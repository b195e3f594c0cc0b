#pragma once
// The words of reminder emails, in French (default) or English: dates as
// people write them ("jeudi 3 décembre à 18h30") and the fixed sentences.

#include "calendar/calendar.hpp"

#include <string>

namespace casacal::notify {

enum class language { fr, en };

/// "en" → en; anything else → fr.
language language_of(const std::string& locale);

/// "jeudi 3 décembre" / "Thursday 3 December" (the date of `day`), with
/// " 2026" when `year`.
std::string day_text(const config::civil& day, language lang, bool year = false);

/// "18h30", "9h" / "6:30 pm", "9 am" (the time of `time`); `padded` keeps
/// zero minutes: "9h00" / "9:00 am".
std::string clock_text(const config::civil& time, language lang, bool padded = false);

/// "jeudi 3 décembre à 18h30" / "Thursday 3 December at 6:30 pm";
/// all-day: "samedi 16 janvier" / "Saturday 16 January".
std::string when_text(const calendar::occurrence& o, language lang);

/// "jeudi 3 décembre 2026, 18h30 – 21h00" / "Thursday 3 December 2026, 6:30 pm – 9:00 pm";
/// all-day over several days: "samedi 12 – dimanche 13 décembre 2026".
std::string span_text(const calendar::occurrence& o, language lang);

/// What kind of email it is.
enum class notice { reminder, update, cancellation };

/// "Rappel : Casapéro — jeudi 3 décembre à 18h30" and its variants.
std::string subject_line(notice kind, const std::string& title, const std::string& when,
                         language lang);

/// Fixed sentences by key; see the table in wording.cpp.
struct phrases {
    const char* greeting;      ///< "Bonjour" / "Hello"
    const char* intro_reminder; ///< "Petit rappel pour l'événement suivant :"
    const char* intro_update;
    const char* intro_cancellation;
    const char* more;          ///< "Plus d'informations"
    const char* why;           ///< "Vous recevez ce message car vous suivez"
    const char* unsubscribe;   ///< "Se désinscrire"
    const char* personal_feed; ///< "Votre agenda (les catégories que vous suivez)"
    const char* sessions;      ///< "Programme"
};
const phrases& words(language lang);

/// `text` safe inside HTML element content and quoted attributes; a newline
/// becomes <br>.
std::string html_escape(const std::string& text);

} // namespace casacal::notify
