#include "daemon/subscription_pages.hpp"

#include "config/text.hpp"
#include "daemon/html_page.hpp"
#include "daemon/logging.hpp"
#include "daemon/mail_setup.hpp"
#include "notify/dispatcher.hpp"
#include "notify/smtp_transport.hpp"
#include "notify/wording.hpp"

#include <algorithm>

namespace casacal::daemon {
namespace {

using notify::html_escape;
using notify::is_token;

/// Unsubscribe links are "<id>-<secret>" tokens, or 32 hex digits when
/// sent before schema 4 (store/schema.cpp).
bool is_unsubscribe_token(std::string_view t) {
    return is_token(t) || notify::parse_unsubscribe_token(t);
}

/// The token after `prefix`, when the path is exactly prefix + token; empty
/// when what follows is not a token (`accepted`).
std::optional<std::string> token_after(std::string_view path, std::string_view prefix,
                                       bool (*accepted)(std::string_view) = is_token) {
    if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
    auto token = path.substr(prefix.size());
    if (!accepted(token)) return std::string{};
    return std::string(token);
}

response not_found_page(const subscription_context& ctx) {
    const bool en = english(ctx.site);
    return html_response(404,
                         html_page(ctx.site, en ? "Unknown link" : "Lien inconnu",
                              en ? "<p>This link is unknown or no longer valid.</p>\n"
                                 : "<p>Ce lien est inconnu ou n'est plus valable.</p>\n"),
                         ctx.now);
}

std::string path_of(const request& req) { return req.target.substr(0, req.target.find('?')); }

/// Where the agenda page has the subscription form.
std::string form_href(const subscription_context& ctx) {
    return site_path(ctx.site) + "/#reminders";
}

/// A link back to the form, for the pages that answer it.
std::string back_to_form(const subscription_context& ctx) {
    return "<p><a href=\"" + html_escape(form_href(ctx)) + "\">" +
           (english(ctx.site) ? "Back to the form" : "Retour au formulaire") + "</a></p>\n";
}

/// GET /subscribe: the address the form's answer came from, opened again
/// (a restored tab, a bookmark, a shared link) leads to the form.
response to_the_form(subscription_context& ctx) {
    const bool en = english(ctx.site);
    response r = html_response(
        303, html_page(ctx.site, en ? "Email reminders" : "Rappels par email", back_to_form(ctx)),
        ctx.now);
    r.set("Location", form_href(ctx));
    return r;
}

response unsubscribe(const request& req, const std::string& token, subscription_context& ctx) {
    const bool en = english(ctx.site);
    if (token.empty()) return not_found_page(ctx);
    std::optional<std::string> email;
    if (auto link = notify::parse_unsubscribe_token(token))
        email = ctx.subscribers.find_unsubscribe_link(link->first, calendar::sha256_hex(link->second));
    else
        email = ctx.subscribers.find_token(calendar::sha256_hex(token),
                                           store::token_purpose::unsubscribe);
    if (!email) return not_found_page(ctx);
    const auto done_page = [&] {
        return html_response(
            200,
            html_page(ctx.site, en ? "Unsubscribed" : "Désinscription faite",
                      "<p>" +
                          html_escape(en ? *email + " will receive no more reminders."
                                         : *email + " ne recevra plus de rappels.") +
                          "</p>\n"),
            ctx.now);
    };
    // Followed again (the mail is still in the inbox): nothing left to ask.
    if (ctx.subscribers.is_unsubscribed(*email)) return done_page();
    if (req.method == "GET" || req.method == "HEAD") {
        // A GET never unsubscribes: mail scanners follow links.
        return html_response(
            200,
            html_page(ctx.site, en ? "Unsubscribe" : "Se désinscrire",
                 "<p>" +
                     html_escape(en ? "Stop the reminders of " + ctx.site.site.name + " to " + *email + "?"
                                    : "Ne plus envoyer les rappels de " + ctx.site.site.name + " à " +
                                          *email + " ?") +
                     "</p>\n<form method=\"post\"><button type=\"submit\" name=\"List-Unsubscribe\" "
                     "value=\"One-Click\">" +
                     (en ? "Unsubscribe" : "Me désinscrire") + "</button></form>\n"),
            ctx.now);
    }
    ctx.subscribers.unsubscribe(*email, ctx.now);
    int cancelled = ctx.outbox.cancel_recipient(*email, ctx.now);
    log_info("unsubscribed a recipient; " + std::to_string(cancelled) + " pending reminder(s) cancelled");
    ctx.replan();
    return done_page();
}

/// The fields of an application/x-www-form-urlencoded body, or nothing when
/// one of them is not percent-encoded properly ("%zz", a "%" at the end):
/// a field left out could widen what the form asks (no category is every
/// category).
std::optional<std::vector<std::pair<std::string, std::string>>> form_fields(std::string_view body) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!body.empty()) {
        auto amp = body.find('&');
        auto pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        auto eq = pair.find('=');
        auto key = form_decode(pair.substr(0, eq));
        auto value = form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!key || !value) return std::nullopt;
        out.emplace_back(std::move(*key), std::move(*value));
    }
    return out;
}

response subscribe(const request& req, subscription_context& ctx) {
    const bool en = english(ctx.site);
    auto bad = [&](const std::string& why) {
        return html_response(400,
                             html_page(ctx.site,
                                       en ? "Subscription refused" : "Inscription refusée",
                                       "<p>" + html_escape(why) + "</p>\n" + back_to_form(ctx)),
                             ctx.now);
    };
    // RFC 9110 §8.3.1: type and subtype compare case-insensitively.
    const std::string_view media =
        trim(std::string_view(req.content_type).substr(0, req.content_type.find(';')));
    if (!config::ascii_iequal(media, "application/x-www-form-urlencoded"))
        return bad(en ? "Send the form as application/x-www-form-urlencoded."
                      : "Le formulaire doit être envoyé en application/x-www-form-urlencoded.");
    store::subscriber s;
    std::string email;
    auto fields = form_fields(req.body);
    if (!fields)
        return bad(en ? "The form is malformed: a field is not percent-encoded properly."
                      : "Le formulaire est mal formé : un champ n'est pas encodé correctement.");
    for (auto& [key, value] : *fields) {
        if (key == "email") email = value;
        else if (key == "name") s.name = value;
        else if (key == "categories" || key == "category") s.categories.push_back(value);
    }
    if (email.empty())
        return bad(en ? "Enter your email address." : "Indiquez votre adresse email.");
    std::string display, address;
    if (auto why = config::check_mailbox(email, &display, &address); !why.empty() || email.find('<') != std::string::npos)
        return bad(
            (en ? "Invalid email address: " : "Adresse email invalide : ") +
            notify::printable(email)); // the page is UTF-8: no byte of the request's that is not
    // As a name in members.toml: one line of UTF-8, no control or
    // bidirectional formatting character (it goes into the To header); at
    // most 100 characters, as the form's maxlength counts them.
    if (config::first_invalid_utf8(s.name).line != 0)
        return bad(en ? "The name is not valid UTF-8." : "Le nom n'est pas en UTF-8 valide.");
    if (!config::text_problem("name", s.name, config::text_rule::single_line).empty())
        return bad(en ? "The name may hold neither line breaks nor control characters."
                      : "Le nom ne peut contenir ni saut de ligne ni caractère de contrôle.");
    const auto characters = std::count_if(s.name.begin(), s.name.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    });
    if (characters > 100)
        return bad(en ? "The name is too long: 100 characters at most."
                      : "Le nom est trop long : 100 caractères au plus.");
    if (s.categories.empty()) s.categories = {"*"};
    for (const auto& c : s.categories)
        if (c != "*" && !ctx.site.find_category(c))
            return bad((en ? "Unknown category: " : "Catégorie inconnue : ") +
                       notify::printable(c));
    // Each once; "*" holds every other.
    std::sort(s.categories.begin(), s.categories.end());
    s.categories.erase(std::unique(s.categories.begin(), s.categories.end()), s.categories.end());
    if (s.categories.front() == "*") s.categories = {"*"};
    s.email = address;
    // No locale of their own (the form offers no choice): the site's, as it
    // is when each message is written.
    s.locale.clear();
    s.created = ctx.now;

    // A confirmation goes within max_per_minute, and confirmations (which
    // anyone can ask for) never take more than their quarter of it: a flood
    // of requests is refused here rather than delaying the reminders.
    const auto moment = notify::send_rate::clock::now();
    const auto room = [&](notify::send_rate* r) { return !r || r->available(moment) > 0; };
    if (!room(ctx.rate) || !room(ctx.confirmation_rate)) {
        auto r = html_response(
            429,
            html_page(ctx.site, en ? "Too many requests" : "Trop de demandes",
                      "<p>" +
                          html_escape(
                              en ? "Too many confirmation emails right now: try again in a minute."
                                 : "Trop d'emails de confirmation en ce moment : réessayez "
                                   "dans une minute.") +
                          "</p>\n" + back_to_form(ctx)),
            ctx.now);
        r.set("Retry-After", "60");
        return r;
    }
    const auto token = notify::new_token();
    const auto hash = calendar::sha256_hex(token);
    const auto outcome = ctx.subscribers.add_pending(s, hash, ctx.now);
    if (outcome != store::add_outcome::already_pending) {
        const bool change = outcome == store::add_outcome::change_pending;
        for (notify::send_rate* r : {ctx.rate, ctx.confirmation_rate})
            if (r) r->take(moment);
        notify::message m;
        m.from = from_mailbox(ctx.site);
        m.to = {s.name, address};
        const std::string& name = ctx.site.site.name;
        m.subject = en ? "Confirm your reminders from " + name : "Confirmez vos rappels de " + name;
        m.date = ctx.now;
        m.message_id = notify::new_token() + "@" + ctx.site.site.domain;
        const auto link = ctx.site.site.base_url + "/confirm/" + token;
        m.text = (change ? (en ? "To change the event reminders you receive from " + name +
                                     " to the categories you just chose, confirm:\n\n"
                               : "Pour que vos rappels des événements de " + name +
                                     " suivent les catégories que vous venez de choisir, "
                                     "confirmez :\n\n")
                         : (en ? "To receive the event reminders of " + name +
                                     ", confirm your address:\n\n"
                               : "Pour recevoir les rappels des événements de " + name +
                                     ", confirmez votre adresse :\n\n")) +
                 link + "\n\n" +
                 (en ? "If you did not ask for this, ignore this message.\n"
                     : "Si vous n'avez rien demandé, ignorez ce message.\n");
        // Not kept for a retry: the person asks again, and the next request
        // sends a new link at once.
        ctx.transport.send(std::move(m), [subscribers = &ctx.subscribers, hash,
                                          mailed = ctx.mailed](const notify::send_result& r) {
            if (mailed) mailed(r);
            if (r.outcome == notify::outcome::accepted) return;
            log_warning("confirmation email not sent: " + r.reason());
            try {
                subscribers->confirmation_failed(hash);
            } catch (const std::exception& e) {
                log_warning(std::string("confirmation email: ") + e.what());
            }
        });
    }
    // The same answer whether or not the address was known: no address probing.
    return html_response(
        202,
        html_page(ctx.site, en ? "Check your inbox" : "Vérifiez votre boîte mail",
                  "<p>" +
                      html_escape(en ? "A confirmation link was sent to " + address + "."
                                     : "Un lien de confirmation a été envoyé à " + address + ".") +
                      "</p>\n" + back_to_form(ctx)),
        ctx.now);
}

/// GET confirms; HEAD (a link checker, a mail scanner) answers the same
/// without confirming, since HEAD is safe (RFC 9110 §9.2.1). A link that
/// already confirmed answers the same page again; one older than
/// confirm_lifetime, or replaced by a newer request, is unknown.
response confirm(const std::string& token, bool head, subscription_context& ctx) {
    const bool en = english(ctx.site);
    if (token.empty()) return not_found_page(ctx);
    const auto hash = calendar::sha256_hex(token);
    auto email =
        head ? ctx.subscribers.pending(hash, ctx.now) : ctx.subscribers.confirm(hash, ctx.now);
    if (email && !head) ctx.replan();
    if (!email) email = ctx.subscribers.confirmed_by(hash); // followed again: still confirmed
    if (!email) return not_found_page(ctx);
    std::string body = "<p>" +
                       html_escape(en ? *email + " will receive the reminders."
                                      : *email + " recevra les rappels.") +
                       "</p>\n";
    if (!ctx.feed_key.empty()) {
        const std::string url = ctx.site.site.base_url + "/feeds/" +
                                notify::feed_token(ctx.feed_key, *email) + ".ics";
        body += "<p>" +
                html_escape(en ? "Your calendar, with the categories you follow, to add to your "
                                 "calendar application:"
                               : "Votre agenda, avec les catégories que vous suivez, à ajouter à "
                                 "votre application de calendrier :") +
                "<br><a href=\"" + html_escape(url) + "\">" + html_escape(url) + "</a></p>\n";
    }
    return html_response(200,
                         html_page(ctx.site, en ? "Subscription confirmed" : "Inscription confirmée",
                                   body),
                         ctx.now);
}

} // namespace

std::optional<response> subscription_route(const request& req, subscription_context& ctx) {
    const std::string path = path_of(req);
    std::optional<response> r;
    if (auto token = token_after(path, "/unsubscribe/", is_unsubscribe_token)) {
        r = method_answer(req, "GET, HEAD, POST", ctx.now);
        if (!r) r = unsubscribe(req, *token, ctx);
        r->route = "unsubscribe";
    } else if (path == "/subscribe") {
        r = method_answer(req, "GET, HEAD, POST", ctx.now);
        if (!r) r = req.method == "POST" ? subscribe(req, ctx) : to_the_form(ctx);
        r->route = "subscribe";
    } else if (auto token = token_after(path, "/confirm/")) {
        r = method_answer(req, "GET, HEAD", ctx.now);
        if (!r) r = confirm(*token, req.method == "HEAD", ctx);
        r->route = "confirm";
    }
    return r;
}

} // namespace casacal::daemon
