#include "daemon/pages.hpp"

#include "calendar/zone.hpp"
#include "daemon/agenda_range.hpp"
#include "daemon/html_page.hpp"
#include "notify/smtp_transport.hpp"
#include "notify/wording.hpp"

#include <algorithm>

namespace casacal::daemon {

namespace {

using notify::html_escape;
using notify::language;

/// RFC 3986 percent-encoding of all but the unreserved characters.
std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string iso_date(const config::civil& d) {
    return calendar::iso_text(d, true);
}

/// The agenda's address with these parameters (empty ones left out).
std::string agenda_href(const config::site& site, const std::string& category,
                        const std::string& from) {
    std::string q;
    if (!category.empty()) q += "category=" + url_encode(category);
    if (!from.empty()) q += (q.empty() ? "" : "&") + ("from=" + from);
    return site_path(site) + (q.empty() ? "/" : "/?" + q);
}

/// Subscribe links for the feed at `path`: webcal:// (calendar apps),
/// Google Calendar's "add by URL", and the address itself to copy.
std::string feed_links(const config::site& site, const std::string& label,
                       const std::string& path) {
    const bool en = english(site);
    const std::string url = site.site.base_url + path;
    const auto scheme_end = url.find("://");
    const std::string webcal =
        "webcal" + (scheme_end == std::string::npos ? "://" + url : url.substr(scheme_end));
    return "<div class=\"feed\"><strong>" + html_escape(label) + "</strong><br>\n<a href=\"" +
           html_escape(webcal) + "\">" +
           (en ? "Subscribe in my calendar app" : "S'abonner dans mon agenda") +
           "</a>\n<a href=\"https://calendar.google.com/calendar/r?cid=" +
           html_escape(url_encode(webcal)) + "\" rel=\"noreferrer\">" +
           (en ? "Add to Google Calendar" : "Ajouter à Google Agenda") +
           "</a>\n<input type=\"text\" readonly value=\"" + html_escape(url) + "\" aria-label=\"" +
           (en ? "Feed address: " : "Adresse du flux : ") + html_escape(label) + "\"></div>\n";
}

/// "18h30 – 21h", "22h – samedi 12 décembre, 2h", "Toute la journée",
/// "Jusqu'au dimanche 13 décembre"; the
/// year of a last day in another year than the first.
std::string hours_text(const calendar::occurrence& o, language lang) {
    const bool en = lang == language::en;
    if (o.all_day) {
        const config::civil last = calendar::add_days(o.end_local, -1);
        if (last <= o.start_local) return en ? "All day" : "Toute la journée";
        return (en ? "Until " : "Jusqu'au ") +
               notify::day_text(last, lang, last.year != o.start_local.year);
    }
    std::string out = notify::clock_text(o.start_local, lang) + " – ";
    if (calendar::date_of(o.end_local) != calendar::date_of(o.start_local))
        out += notify::day_text(o.end_local, lang, o.end_local.year != o.start_local.year) + ", ";
    return out + notify::clock_text(o.end_local, lang);
}

/// The occurrences of [from, to), after those begun before `from` and not
/// over by then, nor by `now` (a closure of two weeks, a weekend under way;
/// begun at most k_max_agenda_days before), which come first: `expand`
/// sorts by start.
template <typename Expand>
std::vector<calendar::occurrence>
under_way_and_starting(const calendar::model& m, calendar::unix_time from, calendar::unix_time to,
                       calendar::unix_time now, Expand expand) {
    constexpr calendar::unix_time most = calendar::unix_time{k_max_agenda_days} * 86400;
    std::vector<calendar::occurrence> found =
        expand(from - std::min(calendar::longest_occurrence(m), most), to);
    const calendar::unix_time over = std::max(from, now);
    std::erase_if(found,
                  [&](const calendar::occurrence& o) { return o.listed < from && o.end <= over; });
    return found;
}

/// " <span class="status">Annulé</span>" for cancelled and tentative ones.
std::string status_mark(config::status status, language lang) {
    const bool en = lang == language::en;
    if (status == config::status::cancelled)
        return std::string(" <span class=\"status\">") + (en ? "Cancelled" : "Annulé") + "</span>";
    if (status == config::status::tentative)
        return std::string(" <span class=\"status\">") + (en ? "To be confirmed" : "À confirmer") +
               "</span>";
    return {};
}

/// The opening <li> of an occurrence: its category's colour, crossed out when cancelled.
std::string item_open(const config::site& site, const calendar::occurrence& o) {
    std::string li = "<li";
    if (o.status == config::status::cancelled) li += " class=\"cancelled\"";
    const config::category* c = site.find_category(o.category);
    if (c && !c->color.empty()) li += " style=\"border-left-color:" + html_escape(c->color) + "\"";
    return li + ">";
}

std::string category_name(const config::site& site, const std::string& key) {
    const config::category* c = site.find_category(key);
    return c ? c->name : key;
}

/// A page for what is not there (404) or not understood (400), with a way back.
response problem_page(const request& req, unsigned status, const config::site& site,
                      const std::string& title, const std::string& why, std::int64_t now) {
    return cached_html_response(req, status,
                                html_page(site, title,
                                          "<p>" + html_escape(why) + "</p>\n<p><a href=\"" +
                                              html_escape(agenda_href(site, {}, {})) + "\">" +
                                              (english(site) ? "See the agenda" : "Voir l'agenda") +
                                              "</a></p>\n"),
                                now);
}

/// The occurrences under a heading per day (site zone), the year shown
/// when it is not this one; first, under their own heading, those begun
/// before `from` (with their whole span).
std::string day_list(const config::site& site, const std::vector<calendar::occurrence>& found,
                     const config::civil& today, calendar::unix_time from) {
    const language lang = notify::language_of(site.site.locale);
    std::string body;
    std::optional<std::string> heading;
    for (const calendar::occurrence& found_one : found) {
        const calendar::occurrence o = calendar::in_site_zone(found_one, site);
        const bool under_way = found_one.listed < from;
        const config::civil date = calendar::date_of(o.start_local);
        std::string this_heading = under_way
                                       ? (english(site) ? "Under way" : "En cours")
                                       : notify::day_text(date, lang, date.year != today.year);
        if (this_heading != heading) {
            body += std::string(heading ? "</ul>\n" : "") + "<h2>" + html_escape(this_heading) +
                    "</h2>\n<ul class=\"events\">\n";
            heading = std::move(this_heading);
        }
        body += item_open(site, o) + "<span class=\"when\">" +
                html_escape(under_way ? notify::span_text(o, lang) : hours_text(o, lang)) +
                "</span> <a class=\"title\" href=\"" +
                html_escape(site_path(site) + "/events/" + o.event_id) + "\">" +
                html_escape(o.title) + "</a>" + status_mark(o.status, lang) +
                "<br><span class=\"meta\">" +
                (o.location.empty() ? "" : html_escape(o.location) + " · ") +
                html_escape(category_name(site, o.category)) + "</span></li>\n";
    }
    if (heading)
        body += "</ul>\n";
    else
        body +=
            std::string("<p>") +
            (english(site) ? "No events in this period." : "Aucun événement sur cette période.") +
            "</p>\n";
    return body;
}

std::string subscribe_form(const config::site& site, const std::string& category) {
    const bool en = english(site);
    std::string out =
        std::string("<h2 id=\"reminders\">") + (en ? "Email reminders" : "Rappels par email") +
        "</h2>\n<form method=\"post\" action=\"" + html_escape(site_path(site)) +
        "/subscribe\">\n<label>" + (en ? "Email address" : "Adresse email") +
        " <input type=\"email\" name=\"email\" required autocomplete=\"email\"></label>\n<label>" +
        (en ? "Name (optional)" : "Nom (facultatif)") +
        " <input type=\"text\" name=\"name\" maxlength=\"100\" autocomplete=\"name\"></label>\n"
        "<fieldset><legend>" +
        (en ? "Categories (none ticked: all)" : "Catégories (aucune cochée : toutes)") +
        "</legend>\n";
    for (const config::category& c : site.categories)
        out += "<label><input type=\"checkbox\" name=\"categories\" value=\"" + html_escape(c.key) +
               "\"" + (c.key == category ? " checked" : "") + "> " + html_escape(c.name) +
               "</label>\n";
    out += std::string("</fieldset>\n<p><button type=\"submit\">") +
           (en ? "Get the reminders" : "Recevoir les rappels") +
           "</button></p>\n<p class=\"meta\">" +
           (en ? "We send a confirmation link first; every reminder has an unsubscribe link."
               : "Un lien de confirmation vous est d'abord envoyé ; chaque rappel a un lien de "
                 "désinscription.") +
           "</p>\n</form>\n";
    return out;
}

} // namespace

response agenda_page(const request& req, const query_params& query, const route_context& ctx) {
    const calendar::model& m = *ctx.current->calendar;
    const config::site& site = calendar::site_of(m);
    const language lang = notify::language_of(site.site.locale);
    const bool en = lang == language::en;
    if (query.malformed)
        return problem_page(req, 400, site, en ? "Bad address" : "Adresse incorrecte",
                            en ? "This address is malformed." : "Cette adresse est mal formée.",
                            ctx.now);
    const std::string category = query.category.value_or("");
    const auto& keys = ctx.current->categories;
    if (!category.empty() && !std::binary_search(keys.begin(), keys.end(), category))
        return problem_page(req, 404, site, en ? "Unknown category" : "Catégorie inconnue",
                            // The page is UTF-8: the request's other bytes are not written.
                            (en ? "There is no category " : "Il n'y a pas de catégorie ") +
                                notify::printable(category) + ".",
                            ctx.now);
    const config::civil today = local_today(m, ctx.now);
    config::civil first = today;
    if (query.from) {
        auto d = parse_date(*query.from);
        if (!d)
            return problem_page(req, 400, site, en ? "Bad date" : "Date incorrecte",
                                en ? "The date must be written YYYY-MM-DD."
                                   : "La date doit s'écrire AAAA-MM-JJ.",
                                ctx.now);
        first = *d;
    }
    // Like /api/events: expanding centuries ahead would hold the serving thread.
    const config::civil horizon = agenda_horizon(m, ctx.now);
    if (first >= horizon)
        return problem_page(req, 400, site, en ? "Date too far" : "Date trop lointaine",
                            (en ? "The agenda goes up to " : "L'agenda va jusqu'au ") +
                                notify::day_text(calendar::add_days(horizon, -1), lang, true) + ".",
                            ctx.now);
    const config::civil end = calendar::add_days(first, k_page_days);
    const calendar::unix_time from = calendar::site_midnight(m, first);
    std::vector<calendar::occurrence> found =
        under_way_and_starting(m, from, calendar::site_midnight(m, end), ctx.now,
                               [&](calendar::unix_time a, calendar::unix_time b) {
                                   return calendar::expand(m, a, b, category);
                               });
    const bool cut = found.size() > k_page_max_occurrences;
    if (cut) found.resize(k_page_max_occurrences);

    std::string body = "<nav aria-label=\"" + std::string(en ? "Categories" : "Catégories") +
                       "\"><a href=\"" + html_escape(agenda_href(site, {}, {})) + "\"" +
                       (category.empty() ? " aria-current=\"page\"" : "") + ">" +
                       (en ? "All" : "Tout") + "</a>\n";
    for (const config::category& c : site.categories)
        body += "<a href=\"" + html_escape(agenda_href(site, c.key, {})) + "\"" +
                (c.key == category ? " aria-current=\"page\"" : "") + ">" + html_escape(c.name) +
                "</a>\n";
    body += "</nav>\n<p class=\"meta\">" +
            html_escape((en ? "From " : "Du ") + notify::day_text(first, lang, true) +
                        (en ? " to " : " au ") +
                        notify::day_text(calendar::add_days(end, -1), lang, true)) +
            "</p>\n";

    body += day_list(site, found, today, from);
    // When cut, "later" starts on the last day listed, which may be listed again.
    config::civil next = end;
    if (cut) {
        next = std::max(calendar::add_days(first, 1),
                        calendar::date_of(calendar::in_site_zone(found.back(), site).start_local));
        body += std::string("<p class=\"meta\">") + (en ? "Only the first " : "Seuls les ") +
                std::to_string(k_page_max_occurrences) +
                (en ? " events are listed." : " premiers événements sont affichés.") + "</p>\n";
    }
    body += "<p>";
    if (first > today)
        body += "<a href=\"" +
                html_escape(agenda_href(
                    site, category,
                    iso_date(std::max(today, calendar::add_days(first, -k_page_days))))) +
                "\">" + (en ? "← Earlier" : "← Plus tôt") + "</a> ";
    if (next < horizon)
        body += "<a href=\"" + html_escape(agenda_href(site, category, iso_date(next))) + "\">" +
                (en ? "Later →" : "Plus tard →") + "</a>";
    body += "</p>\n";

    body += std::string("<h2>") + (en ? "Subscribe" : "S'abonner") + "</h2>\n<p>" +
            (en ? "Your calendar app shows the events and their changes by itself."
                : "Votre agenda affiche les événements et leurs changements de lui-même.") +
            "</p>\n" + feed_links(site, en ? "The whole agenda" : "Tout l'agenda", "/calendar.ics");
    for (const config::category& c : site.categories)
        body += feed_links(site, c.name, "/calendar/" + c.key + ".ics");
    body += subscribe_form(site, category);

    std::string title = "Agenda";
    if (!category.empty()) title += " — " + category_name(site, category);
    return cached_html_response(req, 200, html_page(site, title, body), ctx.now);
}

response event_page(const request& req, std::string_view id, const route_context& ctx) {
    const calendar::model& m = *ctx.current->calendar;
    const config::site& site = calendar::site_of(m);
    const language lang = notify::language_of(site.site.locale);
    const bool en = lang == language::en;
    const auto e = std::find_if(site.events.begin(), site.events.end(),
                                [&](const config::event_def& d) { return d.id == id; });
    if (e == site.events.end())
        return problem_page(req, 404, site, en ? "Event not found" : "Événement introuvable",
                            en ? "This event does not exist, or no longer does."
                               : "Cet événement n'existe pas, ou plus.",
                            ctx.now);

    std::string body = "<p class=\"meta\"><a href=\"" +
                       html_escape(agenda_href(site, e->category, {})) + "\">" +
                       html_escape(category_name(site, e->category)) + "</a>" +
                       status_mark(e->status, lang) + "</p>\n<dl>\n";
    auto row = [&](const char* fr, const char* english_label, const std::string& html) {
        body += std::string("<dt>") + (en ? english_label : fr) + "</dt><dd>" + html + "</dd>\n";
    };
    if (!e->location.empty()) row("Lieu", "Place", html_escape(e->location));
    if (!e->organizer.empty()) {
        std::string name, address;
        config::parse_mailbox(e->organizer, &name, &address);
        row("Organisation", "Organizer", html_escape(name.empty() ? e->organizer : name));
    }
    if (!e->price.empty()) row("Tarif", "Price", html_escape(e->price));
    if (e->url.starts_with("https://") || e->url.starts_with("http://"))
        row("Site", "Website",
            "<a href=\"" + html_escape(e->url) + "\">" + html_escape(e->url) + "</a>");
    body += "</dl>\n";
    if (!e->description.empty()) body += "<p>" + html_escape(e->description) + "</p>\n";

    const config::civil today = local_today(m, ctx.now);
    const calendar::unix_time from = calendar::site_midnight(m, today);
    std::vector<calendar::occurrence> found = under_way_and_starting(
        m, from, calendar::site_midnight(m, calendar::add_days(today, k_max_agenda_days)), ctx.now,
        [&](calendar::unix_time a, calendar::unix_time b) {
            return calendar::expand_event(m, e->id, a, b);
        });
    // Upcoming: those of today already over are not.
    std::erase_if(found, [&](const calendar::occurrence& o) { return o.end <= ctx.now; });
    if (found.empty()) {
        // None in the two years listed: the first one after, up to the
        // horizon, rather than a false "no upcoming date".
        const calendar::unix_time end =
            calendar::site_midnight(m, calendar::add_days(today, k_max_agenda_days));
        std::vector<calendar::occurrence> later = calendar::expand_event(
            m, e->id, end, calendar::site_midnight(m, agenda_horizon(m, ctx.now)));
        if (!later.empty()) found.push_back(std::move(later.front()));
    }
    body += std::string("<h2>") + (en ? "Upcoming dates" : "Prochaines dates") + "</h2>\n";
    if (found.empty())
        body += std::string("<p>") + (en ? "No upcoming date." : "Aucune date à venir.") + "</p>\n";
    else
        body += "<ul class=\"events\">\n";
    const std::string session_prefix = e->title + " — ";
    for (std::size_t i = 0; i < found.size() && i < k_event_max_occurrences; ++i) {
        const calendar::occurrence o = calendar::in_site_zone(found[i], site);
        body += item_open(site, o) + "<span class=\"when\">" +
                html_escape(notify::span_text(o, lang)) + "</span>" + status_mark(o.status, lang);
        if (found[i].listed <= ctx.now)
            body += std::string(" <span class=\"meta\">") + (en ? "(under way)" : "(en cours)") +
                    "</span>";
        // A session's title after the programme's, an override's own title.
        std::string title = o.title;
        if (title.starts_with(session_prefix)) title.erase(0, session_prefix.size());
        std::string detail;
        if (title != e->title) detail = title;
        if (!o.location.empty() && o.location != e->location)
            detail += (detail.empty() ? "" : " · ") + o.location;
        if (!detail.empty()) body += "<br><span class=\"meta\">" + html_escape(detail) + "</span>";
        body += "</li>\n";
    }
    if (!found.empty()) body += "</ul>\n";
    if (found.size() > k_event_max_occurrences) {
        const std::size_t more = found.size() - k_event_max_occurrences;
        const std::string n = std::to_string(more);
        body += "<p class=\"meta\">" +
                (en ? "… and " + n + (more == 1 ? " more date." : " more dates.")
                    : "… et " + n + (more == 1 ? " autre date." : " autres dates.")) +
                "</p>\n";
    }
    body += std::string("<h2>") + (en ? "Subscribe" : "S'abonner") + "</h2>\n" +
            feed_links(site, e->title, "/events/" + e->id + ".ics") + "<p><a href=\"" +
            html_escape(agenda_href(site, {}, {})) + "\">" +
            (en ? "← The whole agenda" : "← Tout l'agenda") + "</a></p>\n";
    return cached_html_response(req, 200, html_page(site, e->title, body), ctx.now);
}

} // namespace casacal::daemon
