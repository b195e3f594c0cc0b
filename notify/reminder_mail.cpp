#include "notify/reminder_mail.hpp"

#include "calendar/model.hpp"
#include "notify/planner.hpp"
#include "notify/wording.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <tuple>
#include <utility>

namespace casacal::notify {
namespace {

constexpr calendar::unix_time day = 24 * 3600;


/// A session's occurrence is titled "<programme> — <session>" (calendar's
/// render): the two parts, the second empty for other occurrences.
std::pair<std::string, std::string> title_parts(const calendar::occurrence& o) {
    static constexpr std::string_view dash = " — ";
    const auto at = static_cast<std::size_t>(o.programme_title_size);
    if (o.session == 0 || at + dash.size() > o.title.size()) return {o.title, {}};
    return {o.title.substr(0, at), o.title.substr(at + dash.size())};
}

/// The title and the date the row was planned with (its payload), "" where
/// missing.
std::pair<std::string, std::string> planned_title_and_when(const std::string& payload) {
    const auto j = nlohmann::json::parse(payload, nullptr, false);
    const auto field = [&](const char* name) {
        return j.is_object() && j.contains(name) && j[name].is_string() ? j[name].get<std::string>()
                                                                        : std::string();
    };
    return {field("title"), field("when")};
}

std::string category_name(const config::site& site, const std::string& key) {
    const auto* c = site.find_category(key);
    return c && !c->name.empty() ? c->name : key;
}

/// Plain text and HTML, built side by side from the same lines.
struct body {
    std::string colon; ///< " : " in French, ": " in English
    std::string text, html;
    void paragraph(const std::string& line) {
        text += line + "\n\n";
        html += "<p>" + html_escape(line) + "</p>\n";
    }
    void heading(const std::string& line) {
        text += line + "\n";
        html += "<h2 style=\"margin:0 0 4px\">" + html_escape(line) + "</h2>\n";
    }
    void line(const std::string& l) {
        text += l + "\n";
        html += "<div>" + html_escape(l) + "</div>\n";
    }
    void link(const std::string& label, const std::string& url) {
        text += label + colon + url + "\n";
        html += "<p><a href=\"" + html_escape(url) + "\">" + html_escape(label) + "</a></p>\n";
    }
};

} // namespace

bool is_programme(const store::outbox_row& row) { return row.key.rfind("programme:", 0) == 0; }

std::vector<calendar::occurrence> find_subject(const calendar::model& m,
                                               const store::outbox_row& row) {
    std::vector<calendar::occurrence> out;
    if (is_programme(row)) {
        for (auto& o : calendar::expand(m, row.occurrence_start - day - m.listing_shift,
                                        row.occurrence_start + 62 * day))
            if (o.event_id == row.event_id && o.session > 0) out.push_back(std::move(o));
        return out;
    }
    // expand() may place an all-day date at the site zone's midnight; the
    // row has it at the event zone's.
    for (auto& o : calendar::expand(m, row.occurrence_start - day - m.listing_shift,
                                    row.occurrence_start + day + m.listing_shift)) {
        if (o.uid != row.uid) continue;
        if (occurrence_text(o) == row.occurrence ||
            (row.occurrence.empty() && o.start == row.occurrence_start)) {
            out.push_back(std::move(o));
            break;
        }
    }
    return out;
}

std::string payload_for(const calendar::occurrence& o, const config::site& site,
                        const std::string& locale) {
    return nlohmann::json{{"title", title_parts(o).first},
                          {"when", when_text(calendar::in_site_zone(o, site), language_of(locale))}}
        .dump();
}

namespace {

/// The occurrences a cancellation notice cancels: the row's, or for a
/// programme every session its reminder listed (schedule_sessions), under
/// the domain of the row's UID.
std::vector<calendar::cancelled_occurrence> cancelled_subject(const store::outbox_row& row,
                                                              const std::string& title) {
    std::vector<calendar::cancelled_occurrence> out;
    const auto at = row.uid.find('@');
    if (is_programme(row) && at != std::string::npos) {
        const std::string domain = row.uid.substr(at + 1);
        for (const auto& [session, start] : schedule_sessions(row.schedule)) {
            calendar::cancelled_occurrence c;
            c.uid = calendar::uid_of(row.event_id, session, domain);
            c.start = start;
            c.title = title;
            out.push_back(std::move(c));
        }
    }
    if (out.empty()) {
        calendar::cancelled_occurrence c;
        c.uid = row.uid;
        c.occurrence = row.occurrence;
        c.start = row.occurrence_start;
        c.title = title;
        out.push_back(std::move(c));
    }
    return out;
}

} // namespace

message compose(const calendar::model& m, const calendar::revision_map& revisions,
                const store::outbox_row& row, const std::vector<calendar::occurrence>& about,
                const mailbox& from, const std::string& unsubscribe_url,
                const std::string& feed_url, const calendar::revision_lookup& last_revision) {
    const auto& site = calendar::site_of(m);
    const auto lang = language_of(row.locale);
    const auto& w = words(lang);
    const auto kind = row.kind == store::message_kind::update         ? notice::update
                      : row.kind == store::message_kind::cancellation ? notice::cancellation
                                                                      : notice::reminder;
    const bool programme = is_programme(row);

    // What the row was planned with, read only when it is used: for a
    // cancellation, or when the occurrence is gone from the site.
    std::string title, when;
    if (about.empty() || kind == notice::cancellation)
        std::tie(title, when) = planned_title_and_when(row.payload);
    if (!about.empty()) {
        const auto& first = about.front();
        if (title.empty() || kind != notice::cancellation)
            title = title_parts(first).first;
        if (kind != notice::cancellation)
            when = when_text(calendar::in_site_zone(first, site), lang);
    }

    message msg;
    msg.from = from;
    msg.to = {row.recipient_name, row.recipient};
    msg.subject = subject_line(kind, title, when, lang);
    msg.date = row.date_header.value_or(row.due);
    msg.message_id = row.message_id;
    msg.list_id_domain = site.site.domain;
    msg.list_unsubscribe = unsubscribe_url;

    body b;
    b.colon = lang == language::en ? ": " : " : ";
    b.paragraph(std::string(w.greeting) + (row.recipient_name.empty() ? "" : " " + row.recipient_name) + ",");
    b.paragraph(kind == notice::reminder ? w.intro_reminder
                : kind == notice::update ? w.intro_update
                                         : w.intro_cancellation);
    b.heading(title);
    if (about.empty()) {
        b.line(when);
    } else if (programme) {
        for (const auto& s : about) {
            const auto session = title_parts(s).second;
            b.line("• " + span_text(calendar::in_site_zone(s, site), lang) +
                   (session.empty() ? "" : b.colon + session) +
                   (s.location.empty() ? "" : " (" + s.location + ")"));
        }
    } else {
        b.line(span_text(calendar::in_site_zone(about.front(), site), lang));
        if (!about.front().location.empty()) b.line(about.front().location);
    }
    b.text += "\n";
    if (!about.empty() && !about.front().description.empty()) b.paragraph(about.front().description);
    if (!about.empty() && !about.front().url.empty()) b.link(w.more, about.front().url);
    auto category = about.empty() ? std::string{} : category_name(site, about.front().category);
    b.text += "-- \n";
    b.html += "<hr>\n";
    if (!category.empty())
        b.line(std::string(w.why) + (lang == language::en ? " “" + category + "” ("
                                                            : " « " + category + " » (") +
               site.site.name + ").");
    if (!feed_url.empty()) b.link(w.personal_feed, feed_url);
    if (!unsubscribe_url.empty()) b.link(w.unsubscribe, unsubscribe_url);
    msg.text = std::move(b.text);
    msg.html = "<!DOCTYPE html>\n<html lang=\"" + std::string(lang == language::en ? "en" : "fr") +
               "\"><head><meta charset=\"utf-8\"><title>" + html_escape(msg.subject) +
               "</title></head>\n<body style=\"font-family:sans-serif;line-height:1.4\">\n" + b.html +
               "</body></html>\n";

    if (kind == notice::cancellation) {
        if (auto ics = calendar::cancellation_calendar(m, cancelled_subject(row, title), revisions,
                                                       msg.date, last_revision))
            msg.calendar = calendar_attachment{std::move(*ics), "PUBLISH", "event.ics"};
    } else if (!about.empty()) {
        calendar_attachment a;
        if (programme) {
            // Every session; for an update, those its reminder listed that
            // the site no longer has (sessions are numbered in file order:
            // one removed renumbers those after it) are cancelled.
            std::vector<calendar::cancelled_occurrence> gone;
            if (kind == notice::update)
                for (auto& c : cancelled_subject(row, title))
                    if (!m.find(c.uid)) gone.push_back(std::move(c));
            a.ics =
                calendar::occurrences_calendar(m, about, revisions, gone, msg.date, last_revision);
        } else {
            a.ics = calendar::occurrence_calendar(m, about.front(), revisions);
        }
        a.filename = kind == notice::reminder ? "invitation.ics" : "event.ics";
        msg.calendar = std::move(a);
    }
    return msg;
}

store::planned_row notice_for(const store::outbox_row& sent, store::message_kind kind,
                              calendar::unix_time now, const std::string& domain) {
    store::planned_row row;
    row.kind = kind;
    // An update is keyed by what moved: the start, and for a programme the
    // schedule of its sessions, which can change while its first start stays.
    row.key = sent.key;
    if (kind == store::message_kind::update) {
        row.key += "|update|" + std::to_string(sent.occurrence_start);
        if (!sent.schedule.empty())
            row.key += "|" + calendar::sha256_hex(sent.schedule).substr(0, 16);
    } else {
        row.key += "|cancellation";
    }
    row.event_id = sent.event_id;
    row.uid = sent.uid;
    row.occurrence = sent.occurrence;
    row.occurrence_start = sent.occurrence_start;
    row.offset = sent.offset;
    row.recipient = sent.recipient;
    row.recipient_name = sent.recipient_name;
    row.locale = sent.locale;
    row.due = now + notice_settle;
    row.message_id = message_id_for(row.key, domain);
    row.payload = sent.payload;
    row.schedule = sent.schedule; // a programme's cancellation cancels every session
    return row;
}

} // namespace casacal::notify
