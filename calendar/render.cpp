#include "calendar/ics_writer.hpp"
#include "calendar/model.hpp"
#include "config/parallel.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <thread>

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

/// An exact length as an RFC 5545 dur-time: PT1H30M, PT45M, PT90S.
std::string exact_duration(unix_time seconds) {
    std::string out = "PT";
    if (seconds >= 3600) out += std::to_string(seconds / 3600) + "H";
    if (seconds % 3600 >= 60) out += std::to_string(seconds % 3600 / 60) + "M";
    if (seconds % 60 != 0 || out == "PT") out += std::to_string(seconds % 60) + "S";
    return out;
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

/// The lines that follow UID in every VEVENT of a revised series.
std::string revision_lines(const revision& meta) {
    ics_writer w;
    w.line("DTSTAMP:" + stamp(meta.modified));
    w.line("LAST-MODIFIED:" + stamp(meta.modified));
    w.line("SEQUENCE:" + std::to_string(meta.sequence));
    return w.take();
}

/// `plain` (VEVENTs written without revision) with `lines` after each UID
/// line: the same bytes as writing them with their revision.
/// Calls `append` on the pieces of that text, in order.
template <class F>
void with_revision_to(std::string_view plain, std::string_view lines, F&& append) {
    constexpr std::string_view begin = "BEGIN:VEVENT\r\nUID:";
    std::size_t from = 0;
    for (std::size_t at = plain.find(begin); at != std::string_view::npos;
         at = plain.find(begin, at)) {
        // The UID line ends at the first CRLF not followed by a folding space.
        std::size_t end = plain.find("\r\n", at + begin.size());
        while (end != std::string_view::npos && end + 2 < plain.size() && plain[end + 2] == ' ')
            end = plain.find("\r\n", end + 2);
        if (end == std::string_view::npos) break;
        end += 2;
        append(plain.substr(from, end - from));
        append(lines);
        from = at = end;
    }
    append(plain.substr(from));
}

std::string with_revision(std::string_view plain, std::string_view lines) {
    std::string out;
    out.reserve(plain.size() + 4 * lines.size());
    with_revision_to(plain, lines, [&](std::string_view piece) { out.append(piece); });
    return out;
}

void write_vevent(ics_writer& w, const series& s, const vevent& v, part kind,
                  const revision* meta) {
    w.line("BEGIN:VEVENT");
    w.line("UID:" + v.uid);
    if (meta) w.folded(revision_lines(*meta));
    // A wall-clock start in a spring gap or in the repeated hour of an
    // autumn change means one instant by RFC 5545 §3.3.5, and another to
    // many readers (ical.js and python-icalendar take the second of the two
    // hours): a single event or an override is written in UTC, which every
    // reader takes as the same instant. A series' start must stay on the
    // wall clock for its rule; its length then goes as a DURATION, so that
    // no reader finds an end before the start.
    // The frame of the rule: DTSTART, EXDATE and RECURRENCE-ID share it.
    const when::kind frame = s.gmt_frame() ? when::kind::local : s.master.kind;
    const std::string& frame_zone = s.gmt_frame() ? gmt_zone : s.zone_name;
    const bool local = v.kind == when::kind::local;
    const bool start_unclear = local && to_utc(s.zone, v.start).kind != fold::none;
    const bool series_start = kind == part::master && s.rrule;
    if (start_unclear && !series_start) {
        w.line(time_property("DTSTART", when::kind::utc, civil_of(v.start_utc), s.zone_name));
        w.line(time_property("DTEND", when::kind::utc, civil_of(v.end_utc), s.zone_name));
    } else if (start_unclear) {
        w.line(time_property("DTSTART", v.kind, v.start, s.zone_name));
        w.line("DURATION:" + exact_duration(v.end_utc - v.start_utc));
    } else if (series_start && s.gmt_frame()) {
        w.line(time_property("DTSTART", frame, v.start, frame_zone));
        w.line(time_property("DTEND", frame, civil_of(v.end_utc), frame_zone));
    } else {
        w.line(time_property("DTSTART", v.kind, v.start, s.zone_name));
        // An end in a gap or in the repeated hour is read differently by
        // each reader, and one computed in the second of the two hours would
        // read back as the first: it is written in UTC, which every reader
        // takes as one instant (a DURATION would be added to the wall clock
        // by some).
        const resolved_time end = to_utc(s.zone, v.end);
        const bool end_unclear = local && (end.kind != fold::none || end.utc != v.end_utc);
        w.line(end_unclear
                   ? time_property("DTEND", when::kind::utc, civil_of(v.end_utc), s.zone_name)
                   : time_property("DTEND", v.kind, v.end, s.zone_name));
    }
    if (kind == part::master && s.rrule) {
        w.line("RRULE:" + s.rrule->feed_text);
        if (!s.exdates.empty()) {
            std::string values;
            for (const civil& x : s.exdates) {
                if (!values.empty()) values += ',';
                values += ics_text(x, s.all_day()) + (frame == when::kind::utc ? "Z" : "");
            }
            std::string line = time_property("EXDATE", frame, civil{}, frame_zone);
            line = line.substr(0, line.find(':') + 1) + values;
            w.line(line);
        }
    }
    if (kind != part::master && v.recurrence_id)
        w.line(time_property("RECURRENCE-ID", frame, *v.recurrence_id, frame_zone));
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
    const auto need = [&](const std::string& zone, int year) {
        auto [it, added] = zones.emplace(zone, year);
        if (!added) it->second = std::min(it->second, year);
    };
    for (const series* s : members) {
        if (s->uses_zone) need(s->zone_name, s->zone_year);
        if (s->gmt_frame()) need(gmt_zone, s->zone_year);
    }
    return zones;
}

/// The zones of a feed holding `members`. A feed with no event holds the
/// site zone's VTIMEZONE all the same: RFC 5545 wants a component in every
/// calendar, and strict parsers refuse one without.
std::map<std::string, int> feed_zones(const model& m, const std::vector<const series*>& members) {
    if (!members.empty() || !m.site_zone) return zones_of(members);
    return {{m.site.site.timezone, m.empty_feed_year}};
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
    feed_parts(const model& m, const stamps& st, const vevent_texts& texts = {})
        : m_(m), st_(st),
          plain_(texts.plain && texts.plain->size() == m.all.size() ? texts.plain : nullptr),
          ready_(texts.ready && texts.ready->size() == m.all.size() ? texts.ready : nullptr),
          vevents_(m.all.size()) {}

    /// Renders every VEVENT and VTIMEZONE now, so that `calendar` may then
    /// run on several threads at once (it only reads after this).
    void prepare(unsigned threads) {
        // Each slot is written by one thread alone.
        parallel_for(m_.all.size(), threads, [&](std::size_t i) { vevent(&m_.all[i]); });
        for (const auto& entry : m_.vtimezones)
            vtimezone(entry.first);
        prepared_ = true;
    }

    std::string calendar(const std::string& name, const std::vector<const series*>& members,
                         std::vector<std::pair<std::size_t, std::size_t>>* spans = nullptr) {
        std::size_t size = 1024;
        for (const series* s : members)
            size += vevent(s).size();
        for (const auto& z : feed_zones(m_, members))
            size += vtimezone(z).size();
        std::string out;
        out.reserve(size);
        if (spans) spans->assign(m_.all.size(), {0, 0});
        pieces(name, members, [&](std::string_view bytes, const series* s) {
            if (spans && s) (*spans)[index(s)] = {out.size(), bytes.size()};
            out.append(bytes);
        });
        return out;
    }

    /// What calendar(name, members) gives, built on `threads` threads for a
    /// feed rendered once (`export`): each member's VEVENTs are written
    /// straight into their place in the feed rather than into a text of
    /// their own first and then copied (7.8 MB less memory for 10,000
    /// events, and no copy on one core). Each place is sized beforehand;
    /// should a text not fill its place exactly, calendar() does it.
    std::string calendar_in_place(const std::string& name,
                                  const std::vector<const series*>& members, unsigned threads) {
        std::string prefix;
        head_pieces(name, members, [&](std::string_view bytes) { prefix += bytes; });
        // A plain text holds one VEVENT per part write_series writes: the
        // revision lines go into each.
        std::vector<std::string> lines(members.size());
        std::vector<std::size_t> at(members.size() + 1, 0);
        parallel_for(members.size(), threads, [&](std::size_t k) {
            const series* s = members[k];
            const std::string* plain = plain_ ? &(*plain_)[index(s)] : nullptr;
            if (plain && !plain->empty()) {
                lines[k] = revision_lines(st_.of(s->master.uid));
                at[k + 1] = plain->size() + (1 + s->overrides.size()) * lines[k].size();
            } else {
                at[k + 1] = vevent(s).size(); // one slot per thread, as in prepare()
            }
        });
        at[0] = prefix.size();
        for (std::size_t k = 0; k < members.size(); ++k)
            at[k + 1] += at[k];
        std::string out(at.back() + feed_end.size(), '\0');
        std::copy(prefix.begin(), prefix.end(), out.begin());
        std::copy(feed_end.begin(), feed_end.end(),
                  out.begin() + static_cast<std::ptrdiff_t>(at.back()));
        std::atomic<bool> exact{true};
        parallel_blocks(members.size(), 64, threads,
                        [&](std::size_t, std::size_t begin, std::size_t end) {
                            for (std::size_t k = begin; k < end; ++k) {
                                char* place = out.data() + at[k];
                                std::size_t room = at[k + 1] - at[k];
                                const auto put = [&](std::string_view piece) {
                                    if (piece.size() > room) {
                                        exact = false;
                                        return;
                                    }
                                    std::copy(piece.begin(), piece.end(), place);
                                    place += piece.size();
                                    room -= piece.size();
                                };
                                if (lines[k].empty())
                                    put(vevent(members[k]));
                                else
                                    with_revision_to((*plain_)[index(members[k])], lines[k], put);
                                if (room != 0) exact = false;
                            }
                        });
        if (!exact) return calendar(name, members);
        return out; // moved: `exact ? out : …` would copy the whole feed
    }

    /// What calendar(name, members) gives, as size and SHA-256, hashed
    /// piece by piece instead of assembled.
    std::pair<std::size_t, std::string> digest(const std::string& name,
                                               const std::vector<const series*>& members) {
        sha256_stream hash;
        std::size_t size = 0;
        pieces(name, members, [&](std::string_view bytes, const series*) {
            hash.update(bytes);
            size += bytes.size();
        });
        return {size, hash.hex()};
    }

  private:
    static constexpr std::string_view feed_end = "END:VCALENDAR\r\n";

    /// Calls `f(bytes)` on the pieces before the VEVENTs of the feed named
    /// `name` holding `members`: its header, then its VTIMEZONEs.
    template <class F>
    void head_pieces(const std::string& name, const std::vector<const series*>& members, F&& f) {
        ics_writer head;
        write_calendar_start(head, m_, name);
        f(head.str());
        for (const auto& z : feed_zones(m_, members))
            f(vtimezone(z));
    }

    /// Calls `f(bytes, s)` on each piece of the feed named `name` holding
    /// `members`, in order: header, VTIMEZONEs, each member's VEVENTs (`s`
    /// is that member, null for the other pieces), END:VCALENDAR.
    template <class F>
    void pieces(const std::string& name, const std::vector<const series*>& members, F&& f) {
        head_pieces(name, members, [&](std::string_view bytes) { f(bytes, nullptr); });
        for (const series* s : members)
            f(vevent(s), s);
        f(feed_end, nullptr);
    }

    std::size_t index(const series* s) const { return static_cast<std::size_t>(s - m_.all.data()); }

    /// A series' VEVENTs, rendered on first use (a VEVENT is never empty).
    const std::string& vevent(const series* s) {
        const std::size_t i = index(s);
        std::string& text = vevents_[i];
        if (!text.empty()) return text;
        if (plain_ && !(*plain_)[i].empty()) {
            text = with_revision((*plain_)[i], revision_lines(st_.of(s->master.uid)));
        } else if (ready_ && !(*ready_)[i].empty()) {
            text = std::string((*ready_)[i]);
        } else {
            ics_writer w;
            write_series(w, *s, &st_);
            text = w.take();
        }
        return text;
    }

    const std::string& vtimezone(const std::pair<const std::string, int>& z) {
        if (auto found = vtimezones_.find(z); found != vtimezones_.end()) return found->second;
        static const std::string none;
        if (prepared_) return none; // no zone table: nothing to write, and nothing to cache
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
    const stamps& st_;
    const std::vector<std::string>* plain_;      ///< fingerprints' texts, or null
    const std::vector<std::string_view>* ready_; ///< texts with revisions, or null
    std::vector<std::string> vevents_;           ///< by index in m.all; empty until rendered
    std::map<std::pair<std::string, int>, std::string> vtimezones_;
    bool prepared_ = false; ///< after prepare(): read only
};

} // namespace

std::vector<fingerprint> fingerprints(const model& m, unsigned threads,
                                      std::vector<std::string>* texts,
                                      const std::vector<std::string>* known) {
    std::vector<fingerprint> out(m.all.size());
    if (texts) texts->assign(m.all.size(), std::string());
    if (known && known->size() != m.all.size()) known = nullptr;
    parallel_for(m.all.size(), threads, [&](std::size_t i) {
        const series& s = m.all[i];
        if (known && !(*known)[i].empty()) {
            out[i] = {s.master.uid, (*known)[i]};
            return;
        }
        ics_writer w;
        write_series(w, s, nullptr);
        out[i] = {s.master.uid, sha256_hex(w.str())};
        if (texts) (*texts)[i] = w.take();
    });
    return out;
}

namespace {

/// The series `[feeds] keep_past` keeps in the site and category feeds.
std::vector<const series*> kept_series(const model& m, unix_time now) {
    const unix_time cutoff = keep_past_cutoff(m, now);
    std::vector<const series*> kept;
    for (const series& s : m.all) {
        if (!s.last_end || *s.last_end >= cutoff) kept.push_back(&s);
    }
    return kept;
}

std::vector<const series*> category_members(const std::vector<const series*>& kept,
                                            const config::category& c) {
    std::vector<const series*> members;
    for (const series* s : kept)
        if (s->master.category == c.key) members.push_back(s);
    return members;
}

std::string category_path(const config::category& c) {
    return "/calendar/" + c.key + ".ics";
}

std::string category_feed_name(const model& m, const config::category& c) {
    return m.site.site.name + " — " + (c.name.empty() ? c.key : c.name);
}

/// The text between `prefix` and ".ics" when `path` has that shape.
std::optional<std::string_view> route_key(std::string_view path, std::string_view prefix) {
    constexpr std::string_view suffix = ".ics";
    if (path.size() < prefix.size() + suffix.size() || !path.starts_with(prefix) ||
        !path.ends_with(suffix))
        return std::nullopt;
    return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
}

} // namespace

namespace {

/// Each event's series, by event id, and each event's title: what its
/// single-event feed holds. Single-event feeds are downloads from the
/// event's page: never trimmed.
struct event_feeds {
    struct one {
        std::string_view id;
        const std::string* title = nullptr;
        std::vector<const series*> members;
    };
    std::vector<one> events; ///< sorted by id

    explicit event_feeds(const model& m) {
        std::vector<const series*> all;
        all.reserve(m.all.size());
        for (const series& s : m.all)
            all.push_back(&s);
        std::stable_sort(all.begin(), all.end(), [](const series* a, const series* b) {
            return a->master.event_id < b->master.event_id;
        });
        for (const series* s : all) {
            if (events.empty() || events.back().id != s->master.event_id)
                events.push_back({s->master.event_id, nullptr, {}});
            events.back().members.push_back(s);
        }
        // The title of the first event_def with that id, as the feed's name.
        std::vector<const config::event_def*> defs;
        defs.reserve(m.site.events.size());
        for (const config::event_def& e : m.site.events)
            defs.push_back(&e);
        std::stable_sort(
            defs.begin(), defs.end(),
            [](const config::event_def* a, const config::event_def* b) { return a->id < b->id; });
        for (one& e : events) {
            auto it = std::lower_bound(
                defs.begin(), defs.end(), e.id,
                [](const config::event_def* d, std::string_view id) { return d->id < id; });
            e.title = it != defs.end() && (*it)->id == e.id ? &(*it)->title : &no_title;
        }
    }
    std::string path(std::size_t i) const {
        return "/events/" + std::string(events[i].id) + ".ics";
    }
    const std::string& title(std::size_t i) const { return *events[i].title; }

    static inline const std::string no_title;
};

} // namespace

void render_feeds(const model& m, const revision_map& revisions, unix_time now,
                  const std::function<void(rendered_feed)>& sink,
                  const std::function<void(std::size_t, feed_digest)>& digest_sink,
                  unsigned threads, const vevent_texts& texts) {
    const stamps st(revisions);
    feed_parts parts(m, st, texts);
    if (threads > 1) parts.prepare(threads);
    const std::vector<const series*> kept = kept_series(m, now);
    sink({"/calendar.ics", parts.calendar(m.site.site.name, kept, texts.spans)});
    const event_feeds feeds(m);
    const std::size_t categories = m.site.categories.size();
    parallel_for(categories + feeds.events.size(), threads, [&](std::size_t i) {
        if (i < categories) {
            const config::category& c = m.site.categories[i];
            auto [size, hash] = parts.digest(category_feed_name(m, c), category_members(kept, c));
            digest_sink(i, {category_path(c), size, std::move(hash)});
            return;
        }
        const std::size_t e = i - categories;
        auto [size, hash] = parts.digest(feeds.title(e), feeds.events[e].members);
        digest_sink(i, {feeds.path(e), size, std::move(hash)});
    });
}

void render_feeds(const model& m, const revision_map& revisions, unix_time now,
                  const std::function<void(rendered_feed)>& sink) {
    const stamps st(revisions);
    feed_parts parts(m, st);
    const std::vector<const series*> kept = kept_series(m, now);
    sink({"/calendar.ics", parts.calendar(m.site.site.name, kept)});
    for (const config::category& c : m.site.categories)
        sink({category_path(c),
              parts.calendar(category_feed_name(m, c), category_members(kept, c))});
    const event_feeds feeds(m);
    for (std::size_t i = 0; i < feeds.events.size(); ++i)
        sink({feeds.path(i), parts.calendar(feeds.title(i), feeds.events[i].members)});
}

std::vector<rendered_feed> render_feeds(const model& m, const revision_map& revisions,
                                        unix_time now) {
    std::vector<rendered_feed> feeds;
    feeds.reserve(1 + m.site.categories.size() + m.site.events.size());
    render_feeds(m, revisions, now, [&](rendered_feed f) { feeds.push_back(std::move(f)); });
    return feeds;
}

std::optional<std::string> render_feed(const model& m, std::string_view path,
                                       const revision_map& revisions, unix_time now,
                                       unsigned threads, const vevent_texts& texts) {
    const stamps st(revisions);
    if (path == "/calendar.ics") {
        feed_parts parts(m, st, texts);
        return parts.calendar_in_place(m.site.site.name, kept_series(m, now), threads);
    }
    if (const auto key = route_key(path, "/calendar/")) {
        // The first category of that key, as render_feeds' map keeps it.
        for (const config::category& c : m.site.categories) {
            if (c.key != *key) continue;
            feed_parts parts(m, st, texts);
            return parts.calendar(category_feed_name(m, c),
                                  category_members(kept_series(m, now), c));
        }
        return std::nullopt;
    }
    if (const auto id = route_key(path, "/events/")) {
        std::vector<const series*> members;
        for (const series& s : m.all)
            if (s.master.event_id == *id) members.push_back(&s);
        if (members.empty()) return std::nullopt;
        std::string title;
        for (const config::event_def& e : m.site.events) {
            if (e.id != *id) continue;
            title = e.title;
            break;
        }
        feed_parts parts(m, st, texts);
        return parts.calendar(title, members);
    }
    return std::nullopt;
}

std::string render_categories_feed(const model& m, const std::vector<std::string>& keys,
                                   const revision_map& revisions, unix_time now,
                                   const vevent_texts& texts) {
    std::string name = m.site.site.name;
    const char* separator = " — ";
    for (const config::category& c : m.site.categories) {
        if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) continue;
        name += separator;
        name += c.name.empty() ? c.key : c.name;
        separator = ", ";
    }
    std::vector<const series*> members;
    for (const series* s : kept_series(m, now))
        if (std::find(keys.begin(), keys.end(), s->master.category) != keys.end())
            members.push_back(s);
    const stamps st(revisions);
    feed_parts parts(m, st, texts);
    return parts.calendar(name, members);
}

namespace {

/// The VEVENT of one occurrence alone (no RRULE), as an attachment holds it.
struct lone_vevent {
    const series* s;
    vevent v;
};

lone_vevent lone(const series& s, const occurrence& o) {
    vevent v = s.master;
    if (s.rrule && !o.recurrence_id.empty()) {
        const vevent* changed = s.override_at(o.original_start);
        v = changed ? *changed : s.instance(o.original_start);
        v.recurrence_id = o.original_start;
    }
    v.title = o.title;
    v.location = o.location;
    v.description = o.description;
    v.status = o.status;
    if (s.all_day()) {
        v.kind = when::kind::date;
        v.start = o.start_local;
        v.end = o.end_local;
    } else if (v.kind == when::kind::utc) {
        v.start = civil_of(o.start);
        v.end = civil_of(o.end);
    } else {
        v.start = to_local(s.zone, o.start);
        v.end = to_local(s.zone, o.end);
    }
    return {&s, std::move(v)};
}

/// The date "YYYY-MM-DD" that `text` starts with.
std::optional<civil> leading_date(std::string_view text) {
    const auto year = decimal(text, 0, 4);
    const auto month = decimal(text, 5, 2);
    const auto day = decimal(text, 8, 2);
    if (!year || !month || !day || text[4] != '-' || text[7] != '-') return std::nullopt;
    civil c;
    c.year = *year;
    c.month = *month;
    c.day = *day;
    return c;
}

/// The original start, in the frame of `s`'s DTSTART, that a recurrence id
/// as occurrences write it names ("2027-01-07T18:30:00+01:00", or a date
/// for all-day series); nullopt for any other text.
std::optional<civil> original_start(const series& s, std::string_view text) {
    std::optional<civil> c = leading_date(text);
    if (!c) return std::nullopt;
    if (s.all_day()) return text.size() == 10 ? c : std::nullopt;
    if (text.size() != 25 || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
        (text[19] != '+' && text[19] != '-') || text[22] != ':')
        return std::nullopt;
    const auto hour = decimal(text, 11, 2);
    const auto minute = decimal(text, 14, 2);
    const auto second = decimal(text, 17, 2);
    const auto offset_hours = decimal(text, 20, 2);
    const auto offset_minutes = decimal(text, 23, 2);
    if (!hour || !minute || !second || !offset_hours || !offset_minutes) return std::nullopt;
    c->hour = *hour;
    c->minute = *minute;
    c->second = *second;
    const int offset = (*offset_hours * 3600 + *offset_minutes * 60) * (text[19] == '-' ? -1 : 1);
    const unix_time instant = seconds_of(*c) - offset;
    return s.master.kind == when::kind::utc ? civil_of(instant) : to_local(s.zone, instant);
}

/// The VEVENT of an event the site no longer has, cancelled as a whole (no
/// RECURRENCE-ID: all of it is gone).
void write_gone(ics_writer& w, const cancelled_occurrence& c, int sequence, unix_time now) {
    w.line("BEGIN:VEVENT");
    w.text("UID", c.uid);
    w.line("DTSTAMP:" + stamp(now));
    w.line("SEQUENCE:" + std::to_string(sequence));
    const std::optional<civil> day =
        c.occurrence.size() == 10 ? leading_date(c.occurrence) : std::nullopt;
    if (day) // an all-day event
        w.line(time_property("DTSTART", when::kind::date, *day, {}));
    else
        w.line("DTSTART:" + stamp(c.start));
    w.text("SUMMARY", c.title);
    w.line("STATUS:CANCELLED");
    w.line("END:VEVENT");
}

/// One VCALENDAR of `parts` (with the VTIMEZONEs they need), then `gone`.
std::string lone_calendar(const model& m, const std::vector<lone_vevent>& parts,
                          const revision_map& revisions,
                          const std::vector<cancelled_occurrence>& gone = {}, unix_time now = 0,
                          const revision_lookup& last_revision = {}) {
    std::vector<series> shapes;
    shapes.reserve(parts.size());
    for (const lone_vevent& p : parts) {
        shapes.push_back(*p.s);
        // the zone as the feed has it (none for a single event written in UTC)
        shapes.back().uses_zone = p.v.kind == when::kind::local && p.s->uses_zone;
    }
    std::vector<const series*> members;
    for (const series& shape : shapes)
        members.push_back(&shape);
    ics_writer w;
    write_header(w, m, m.site.site.name, members);
    std::optional<stamps> st; // its fallback reads every revision: only when one is missing
    for (const lone_vevent& p : parts) {
        auto it = revisions.find(p.s->master.uid);
        if (it == revisions.end() && !st) st.emplace(revisions);
        const revision rev = it != revisions.end() ? it->second : st->of(p.s->master.uid);
        write_vevent(w, *p.s, p.v, part::single, &rev);
    }
    for (const cancelled_occurrence& c : gone) {
        const std::optional<revision> last = last_revision ? last_revision(c.uid) : std::nullopt;
        write_gone(w, c, last ? last->sequence + 1 : 0, now);
    }
    w.line("END:VCALENDAR");
    return w.take();
}

/// The occurrence of `s` that `text` names (see cancelled_occurrence), as
/// the site has it now, whether or not it still takes place.
std::optional<occurrence> named_occurrence(const series& s, const std::string& text) {
    if (!s.rrule) return make_occurrence(s, s.master, std::nullopt);
    const std::optional<civil> original = original_start(s, text);
    if (!original) return std::nullopt;
    const vevent* changed = s.override_at(*original);
    occurrence o = changed ? make_occurrence(s, *changed, *original)
                           : instance_occurrence(s, *original, s.instant_of(*original));
    // An original the text does not write back to (a zone that changed its
    // rules since) is not the one the reminder was about.
    if (o.recurrence_id != text) return std::nullopt;
    return o;
}

} // namespace

std::string occurrence_calendar(const model& m, const occurrence& o,
                                const revision_map& revisions) {
    return occurrences_calendar(m, {o}, revisions);
}

std::string occurrences_calendar(const model& m, const std::vector<occurrence>& list,
                                 const revision_map& revisions,
                                 const std::vector<cancelled_occurrence>& gone, unix_time now,
                                 const revision_lookup& last_revision) {
    std::vector<lone_vevent> parts;
    for (const occurrence& o : list)
        if (const series* s = m.find(o.uid)) parts.push_back(lone(*s, o));
    return lone_calendar(m, parts, revisions, gone, now, last_revision);
}

std::optional<std::string> cancellation_calendar(const model& m,
                                                 const std::vector<cancelled_occurrence>& list,
                                                 const revision_map& revisions, unix_time now,
                                                 const revision_lookup& last_revision) {
    std::vector<lone_vevent> parts;
    std::vector<cancelled_occurrence> gone;
    for (const cancelled_occurrence& c : list) {
        const series* s = m.find(c.uid);
        if (!s) {
            gone.push_back(c);
            continue;
        }
        std::optional<occurrence> o = named_occurrence(*s, c.occurrence);
        // Which occurrence of a series the site still has is not known:
        // better no attachment than one that cancels the whole series.
        if (!o) return std::nullopt;
        o->status = config::status::cancelled;
        parts.push_back(lone(*s, *o));
    }
    return lone_calendar(m, parts, revisions, gone, now, last_revision);
}

} // namespace casacal::calendar
