#include "notify/planner.hpp"

#include "calendar/model.hpp"
#include "calendar/zone.hpp"
#include "config/text.hpp"
#include "notify/reminder_mail.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>

namespace casacal::notify {
namespace {

bool follows(const recipient& r, const std::string& category) {
    return std::any_of(r.categories.begin(), r.categories.end(),
                       [&](const std::string& c) { return c == "*" || c == category; });
}

/// member > event > category > [reminders]
const std::vector<config::duration>& offsets_for(const config::site& site, const recipient& r,
                                                 const config::event_def* e,
                                                 const std::string& category) {
    if (r.offsets) return *r.offsets;
    if (e && e->offsets) return *e->offsets;
    if (const auto* c = site.find_category(category); c && c->offsets) return *c->offsets;
    return site.reminders.offsets;
}

calendar::unix_time longest_offset(const config::site& site,
                                   const std::vector<recipient>& recipients) {
    calendar::unix_time longest = 0;
    auto consider = [&](const std::vector<config::duration>& offsets) {
        for (const auto& d : offsets)
            longest = std::max(longest, d.days * calendar::unix_time{86400} + d.seconds);
    };
    consider(site.reminders.offsets);
    for (const auto& c : site.categories)
        if (c.offsets) consider(*c.offsets);
    for (const auto& e : site.events)
        if (e.offsets) consider(*e.offsets);
    for (const auto& r : recipients)
        if (r.offsets) consider(*r.offsets);
    return longest + 2 * 3600; // a DST change can lengthen a nominal day
}

/// What a reminder is about: one occurrence, or a whole programme.
struct subject {
    const calendar::occurrence* first; ///< the occurrence (first session of a programme)
    std::string identity;              ///< uid|occurrence, or programme:id
    std::string occurrence;            ///< recurrence id, or start as RFC 3339
    std::string schedule;              ///< a programme's sessions' starts
    bool begun = false;                ///< a programme under way: updates only
};

} // namespace

std::vector<recipient> recipients_of(const config::site& site,
                                     const std::vector<store::subscriber>& confirmed,
                                     const std::set<std::string>& unsubscribed) {
    std::vector<recipient> out;
    std::unordered_map<std::string, std::size_t> seen; ///< address -> its place in `out`
    for (const auto& m : site.members) {
        auto key = config::ascii_lower(m.email);
        if (unsubscribed.count(key) || !seen.emplace(key, out.size()).second) continue;
        out.push_back({m.email, m.name, m.locale, m.categories, m.offsets});
    }
    for (const auto& s : confirmed) {
        auto key = config::ascii_lower(s.email);
        if (unsubscribed.count(key)) continue;
        const auto [it, added] = seen.emplace(key, out.size());
        if (added) {
            out.push_back({s.email, s.name, s.locale, s.categories, std::nullopt});
            continue;
        }
        // A member of the file who also subscribed on the web follows the
        // categories of both; the file's name, locale and offsets stay.
        auto& follows = out[it->second].categories;
        for (const auto& c : s.categories)
            if (std::find(follows.begin(), follows.end(), c) == follows.end()) follows.push_back(c);
    }
    return out;
}

std::string canonical_duration(const config::duration& d) {
    std::string out = "P";
    if (d.days) out += std::to_string(d.days) + "D";
    auto s = d.seconds;
    if (s || !d.days) {
        out += "T";
        if (s / 3600) out += std::to_string(s / 3600) + "H";
        if (s % 3600 / 60) out += std::to_string(s % 3600 / 60) + "M";
        if (s % 60 || s == 0) out += std::to_string(s % 60) + "S";
    }
    return out;
}

calendar::unix_time before(calendar::unix_time start, const std::string& zone,
                           const config::duration& d) {
    auto t = start;
    if (d.days) {
        auto z = calendar::find_zone(zone);
        if (z) {
            auto local = calendar::to_local(z, start);
            t = calendar::to_utc(z, calendar::add_days(local, -d.days)).utc;
        } else {
            t -= d.days * calendar::unix_time{86400};
        }
    }
    return t - d.seconds;
}

std::string occurrence_text(const calendar::occurrence& o) {
    if (!o.recurrence_id.empty()) return o.recurrence_id;
    if (o.all_day) return calendar::iso_text(o.start_local, true);
    return calendar::rfc3339_text(o.start_local, o.start_offset);
}

std::string message_id_for(const std::string& key, const std::string& domain) {
    return calendar::sha256_hex(key).substr(0, 32) + "@" + domain;
}

plan make_plan(const calendar::model& m, const std::vector<recipient>& recipients,
               calendar::unix_time now) {
    const auto& site = calendar::site_of(m);
    plan out;
    // Looking back a month finds the first session of a programme that has
    // begun already: such a programme gets no more reminders, but a session
    // still to come that moves brings an update to those who had one, and
    // its cancellation a notice. Sessions do not repeat, so the look back
    // reads them off the model; only the horizon is expanded.
    constexpr calendar::unix_time programme_lookback = 31 * 24 * 3600;
    out.scope = {now, now + planning_horizon + longest_offset(site, recipients),
                 now - programme_lookback};
    if (recipients.empty()) return out;

    std::vector<calendar::occurrence> occurrences;
    for (const auto& series : m.all)
        if (series.master.session > 0 && !series.rrule &&
            series.master.start_utc >= now - programme_lookback && series.master.start_utc < now)
            occurrences.push_back(calendar::make_occurrence(series, series.master, std::nullopt));
    std::sort(occurrences.begin(), occurrences.end(), calendar::earlier);
    // expand() may place an all-day date at the site zone's midnight;
    // reminders go by its start in the event's own zone.
    for (auto& o : calendar::expand(m, now - m.listing_shift, out.scope.to + m.listing_shift))
        if (o.start >= now && o.start < out.scope.to) occurrences.push_back(std::move(o));

    // Programmes: one subject per programme, at its first session.
    std::vector<subject> subjects;
    std::set<std::string> programmes_seen;
    for (const auto& o : occurrences) {
        if (o.status == config::status::cancelled) continue;
        if (o.session > 0) {
            if (!programmes_seen.insert(o.event_id).second) continue;
            subjects.push_back(
                {&o, "programme:" + o.event_id, occurrence_text(o), {}, o.start < now});
            continue;
        }
        if (o.start < now) continue;
        auto occ = occurrence_text(o);
        subjects.push_back({&o, o.uid + "|" + occ, occ, {}});
    }
    // A programme's sessions can move while its first start stays: its
    // reminders carry when every session starts (sessions do not repeat),
    // in the form schedule_sessions reads.
    if (!programmes_seen.empty()) {
        std::map<std::string_view, std::string> schedules;
        for (const auto& series : m.all)
            if (series.master.session > 0 && programmes_seen.count(series.master.event_id))
                schedules[series.master.event_id] += std::to_string(series.master.session) + "@" +
                                                     std::to_string(series.master.start_utc) + ";";
        for (auto& s : subjects)
            if (s.first->session > 0) s.schedule = schedules[s.first->event_id];
    }

    std::unordered_map<std::string_view, const config::event_def*> events;
    events.reserve(site.events.size());
    for (const auto& e : site.events)
        events.emplace(e.id, &e);

    const auto horizon_end = now + planning_horizon;
    for (const auto& s : subjects) {
        const auto& o = *s.first;
        const auto found = events.find(o.event_id);
        const auto* event = found == events.end() ? nullptr : found->second;
        std::map<std::string, std::string> payloads; // by locale: the same for every follower
        for (const auto& r : recipients) {
            if (!follows(r, o.category)) continue;
            for (const auto& d : offsets_for(site, r, event, o.category)) {
                auto due = before(o.start, o.timezone, d);
                if (due >= horizon_end) continue;
                store::planned_row row;
                row.kind = store::message_kind::reminder;
                row.offset = canonical_duration(d);
                row.key = s.identity + "|" + row.offset + "|" + config::ascii_lower(r.email);
                row.event_id = o.event_id;
                row.uid = o.uid;
                row.occurrence = s.occurrence;
                row.occurrence_start = o.start;
                row.recipient = r.email;
                row.recipient_name = r.name;
                row.locale = r.locale.empty() ? site.site.locale : r.locale;
                row.due = due;
                row.message_id = message_id_for(row.key, site.site.domain);
                row.single = o.session == 0 && o.recurrence_id.empty();
                row.schedule = s.schedule;
                row.update_only = s.begun;
                auto payload = payloads.find(row.locale);
                if (payload == payloads.end())
                    payload =
                        payloads.emplace(row.locale, payload_for(o, m.site, row.locale)).first;
                row.payload = payload->second;
                out.rows.push_back(std::move(row));
            }
        }
    }
    return out;
}

std::string feed_token(std::string_view key, std::string_view email) {
    return calendar::hmac_sha256_hex(key, "feed:" + config::ascii_lower(email)).substr(0, 32);
}

} // namespace casacal::notify
