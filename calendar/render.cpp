#include "calendar/ics_writer.hpp"
#include "calendar/model.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace casacal::calendar {

using config::civil;
using config::when;

namespace {

std::string stamp(unix_time t) {
    return ics_text(civil_of(t)) + "Z";
}

std::string time_property(const std::string& name, when::kind kind, const civil& c,
                          const std::string& zone) {
    switch (kind) {
    case when::kind::date:
        return name + ";VALUE=DATE:" + ics_text(c, true);
    case when::kind::utc:
        return name + ":" + ics_text(c) + "Z";
    case when::kind::local:
        break;
    }
    return name + ";TZID=" + zone + ":" + ics_text(c);
}

const char* status_text(config::status s) {
    switch (s) {
    case config::status::tentative:
        return "TENTATIVE";
    case config::status::cancelled:
        return "CANCELLED";
    case config::status::confirmed:
        break;
    }
    return "CONFIRMED";
}

std::string organizer_line(const std::string& organizer) {
    std::string name;
    std::string address = organizer;
    const auto open = organizer.rfind('<');
    if (open != std::string::npos && organizer.back() == '>') {
        address = organizer.substr(open + 1, organizer.size() - open - 2);
        name = organizer.substr(0, open);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
            name.pop_back();
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
            name = name.substr(1, name.size() - 2);
    }
    std::string line = "ORGANIZER";
    std::string cn = param_value(name);
    if (!cn.empty()) line += ";CN=" + (cn.front() == '"' ? cn : "\"" + cn + "\"");
    std::string clean;
    for (const char c : address)
        if (static_cast<unsigned char>(c) > 0x20 && c != 0x7f) clean += c;
    return line + ":mailto:" + clean;
}

/// Data the VEVENTs of one render share.
struct stamps {
    const revision_map& revisions;
    unix_time fallback = 0; ///< for UIDs the map lacks (the daemon passes a full map)

    explicit stamps(const revision_map& r) : revisions(r) {
        for (const auto& [uid, rev] : r)
            fallback = std::max(fallback, rev.modified);
    }
    revision of(const std::string& uid) const {
        auto it = revisions.find(uid);
        return it != revisions.end() ? it->second : revision{0, fallback};
    }
};

enum class part { master, override_event, single };

void write_vevent(ics_writer& w, const series& s, const vevent& v, part kind,
                  const revision* meta) {
    w.line("BEGIN:VEVENT");
    w.line("UID:" + v.uid);
    if (meta) {
        w.line("DTSTAMP:" + stamp(meta->modified));
        w.line("LAST-MODIFIED:" + stamp(meta->modified));
        w.line("SEQUENCE:" + std::to_string(meta->sequence));
    }
    w.line(time_property("DTSTART", v.kind, v.start, s.zone_name));
    w.line(time_property("DTEND", v.kind, v.end, s.zone_name));
    if (kind == part::master && s.rrule) {
        w.line("RRULE:" + s.rrule->feed_text);
        if (!s.exdates.empty()) {
            std::string values;
            for (const civil& x : s.exdates) {
                if (!values.empty()) values += ',';
                values += ics_text(x, s.all_day()) + (s.master.kind == when::kind::utc ? "Z" : "");
            }
            std::string line = time_property("EXDATE", s.master.kind, civil{}, s.zone_name);
            line = line.substr(0, line.find(':') + 1) + values;
            w.line(line);
        }
    }
    if (kind != part::master && v.recurrence_id)
        w.line(time_property("RECURRENCE-ID", s.master.kind, *v.recurrence_id, s.zone_name));
    w.text("SUMMARY", v.title);
    if (!v.description.empty()) w.text("DESCRIPTION", v.description);
    if (!v.location.empty()) w.text("LOCATION", v.location);
    if (!v.category_name.empty()) w.text("CATEGORIES", v.category_name);
    if (!v.organizer.empty()) w.line(organizer_line(v.organizer));
    w.line("URL:" + v.url);
    w.line(std::string("STATUS:") + status_text(v.status));
    if (!v.color.empty()) w.line("COLOR:" + v.color);
    w.line("END:VEVENT");
}

void write_series(ics_writer& w, const series& s, const stamps* st) {
    const revision rev = st ? st->of(s.master.uid) : revision{};
    write_vevent(w, s, s.master, part::master, st ? &rev : nullptr);
    for (const vevent& o : s.overrides)
        write_vevent(w, s, o, part::override_event, st ? &rev : nullptr);
}

/// The zones a feed's members need, each with the first year it must cover.
std::map<std::string, int> zones_of(const std::vector<const series*>& members) {
    std::map<std::string, int> zones; // name -> first year needed
    for (const series* s : members) {
        if (!s->uses_zone) continue;
        auto [it, added] = zones.emplace(s->zone_name, s->zone_year);
        if (!added) it->second = std::min(it->second, s->zone_year);
    }
    return zones;
}

void write_calendar_start(ics_writer& w, const model& m, const std::string& name) {
    w.line("BEGIN:VCALENDAR");
    w.line("PRODID:-//casacal//casacal//EN");
    w.line("VERSION:2.0");
    w.line("CALSCALE:GREGORIAN");
    w.line("METHOD:PUBLISH");
    w.text("NAME", name);
    w.text("X-WR-CALNAME", name);
    w.line("X-WR-TIMEZONE:" + m.site.site.timezone);
    w.line("REFRESH-INTERVAL;VALUE=DURATION:PT1H");
    w.line("X-PUBLISHED-TTL:PT1H");
}

void write_header(ics_writer& w, const model& m, const std::string& name,
                  const std::vector<const series*>& members) {
    write_calendar_start(w, m, name);
    for (const auto& [zone, year] : zones_of(members)) {
        auto it = m.vtimezones.find({zone, year});
        if (it == m.vtimezones.end()) continue;
        for (const std::string& l : it->second)
            w.line(l);
    }
}

/// What the feeds of one render share: each series' VEVENTs and each
/// VTIMEZONE, folded once and copied into every feed that holds them.
class feed_parts {
  public:
    feed_parts(const model& m, const stamps& st) : m_(m) {
        vevents_.reserve(m.all.size());
        for (const series& s : m.all) {
            ics_writer w;
            write_series(w, s, &st);
            vevents_.push_back(w.take());
        }
    }

    std::string calendar(const std::string& name, const std::vector<const series*>& members) {
        const auto zones = zones_of(members);
        std::size_t size = 1024;
        for (const series* s : members)
            size += vevents_[index(s)].size();
        for (const auto& z : zones)
            size += vtimezone(z).size();
        ics_writer w;
        w.reserve(size);
        write_calendar_start(w, m_, name);
        for (const auto& z : zones)
            w.folded(vtimezone(z));
        for (const series* s : members)
            w.folded(vevents_[index(s)]);
        w.line("END:VCALENDAR");
        return w.take();
    }

  private:
    std::size_t index(const series* s) const { return static_cast<std::size_t>(s - m_.all.data()); }

    const std::string& vtimezone(const std::pair<const std::string, int>& z) {
        auto [it, added] = vtimezones_.try_emplace(z);
        if (added) {
            auto lines = m_.vtimezones.find(z);
            if (lines != m_.vtimezones.end()) {
                ics_writer w;
                for (const std::string& l : lines->second)
                    w.line(l);
                it->second = w.take();
            }
        }
        return it->second;
    }

    const model& m_;
    std::vector<std::string> vevents_; ///< by index in m.all
    std::map<std::pair<std::string, int>, std::string> vtimezones_;
};

} // namespace

std::vector<fingerprint> fingerprints(const model& m) {
    std::vector<fingerprint> out;
    out.reserve(m.all.size());
    for (const series& s : m.all) {
        ics_writer w;
        write_series(w, s, nullptr);
        out.push_back({s.master.uid, sha256_hex(w.str())});
    }
    return out;
}

std::vector<rendered_feed> render_feeds(const model& m, const revision_map& revisions,
                                        unix_time now) {
    const stamps st(revisions);
    const config::duration& keep = m.site.feeds.keep_past;
    const civil today = date_of(to_local(m.site_zone, now));
    const unix_time cutoff = site_midnight(m, add_days(today, -keep.days)) - keep.seconds;

    std::vector<const series*> kept;
    for (const series& s : m.all) {
        if (!s.last_end || *s.last_end >= cutoff) kept.push_back(&s);
    }

    feed_parts parts(m, st);
    std::vector<rendered_feed> feeds;
    feeds.reserve(1 + m.site.categories.size() + m.site.events.size());
    feeds.push_back({"/calendar.ics", parts.calendar(m.site.site.name, kept)});
    for (const config::category& c : m.site.categories) {
        std::vector<const series*> members;
        for (const series* s : kept)
            if (s->master.category == c.key) members.push_back(s);
        const std::string name = m.site.site.name + " — " + (c.name.empty() ? c.key : c.name);
        feeds.push_back({"/calendar/" + c.key + ".ics", parts.calendar(name, members)});
    }
    // Single-event feeds are downloads from the event's page: never trimmed.
    std::map<std::string, std::vector<const series*>> by_event;
    std::map<std::string, std::string> titles;
    for (const config::event_def& e : m.site.events)
        titles.emplace(e.id, e.title);
    for (const series& s : m.all)
        by_event[s.master.event_id].push_back(&s);
    for (const auto& [id, members] : by_event)
        feeds.push_back({"/events/" + id + ".ics", parts.calendar(titles[id], members)});
    return feeds;
}

std::string occurrence_calendar(const model& m, const occurrence& o,
                                const revision_map& revisions) {
    const stamps st(revisions);
    const series* s = m.find(o.uid);
    ics_writer w;
    if (!s) {
        write_header(w, m, m.site.site.name, {});
        w.line("END:VCALENDAR");
        return w.take();
    }
    vevent v = s->master;
    if (s->rrule && !o.recurrence_id.empty()) {
        const vevent* changed = s->override_at(o.original_start);
        v = changed ? *changed : s->instance(o.original_start);
        v.recurrence_id = o.original_start;
    }
    v.title = o.title;
    v.location = o.location;
    v.description = o.description;
    v.status = o.status;
    if (s->all_day()) {
        v.kind = when::kind::date;
        v.start = o.start_local;
        v.end = o.end_local;
    } else if (v.kind == when::kind::utc) {
        v.start = civil_of(o.start);
        v.end = civil_of(o.end);
    } else {
        v.start = to_local(s->zone, o.start);
        v.end = to_local(s->zone, o.end);
    }
    series shape = *s;
    shape.uses_zone = v.kind == when::kind::local;
    write_header(w, m, m.site.site.name, {&shape});
    const revision rev = st.of(s->master.uid);
    write_vevent(w, *s, v, part::single, &rev);
    w.line("END:VCALENDAR");
    return w.take();
}

} // namespace casacal::calendar
