#include "calendar/model.hpp"
#include "config/parallel.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <utility>

namespace casacal::calendar {

std::string uid_of(const std::string& id, int session, const std::string& domain) {
    return (session > 0 ? id + "-" + std::to_string(session) : id) + "@" + domain;
}

using config::civil;
using config::when;

unix_time series::instant_of(const civil& original) const {
    switch (master.kind) {
    case when::kind::utc:
        return seconds_of(original);
    case when::kind::date:
        return to_utc(zone, date_of(original)).utc;
    case when::kind::local:
        break;
    }
    return to_utc(zone, original).utc;
}

vevent series::instance(const civil& original) const {
    vevent v = master;
    v.start = original;
    v.start_utc = instant_of(original);
    if (all_day()) {
        v.end = add_days(original, static_cast<int>(length));
        v.end_utc = to_utc(zone, v.end).utc;
    } else {
        v.end_utc = v.start_utc + length;
        v.end = master.kind == when::kind::utc ? civil_of(v.end_utc) : to_local(zone, v.end_utc);
    }
    if (rrule) v.recurrence_id = original;
    return v;
}

unix_time series::instance_end(const civil& original) const {
    if (all_day()) return to_utc(zone, add_days(original, static_cast<int>(length))).utc;
    return instant_of(original) + length;
}

bool series::excluded(const civil& original) const {
    return std::binary_search(exdates.begin(), exdates.end(), original);
}

const vevent* series::override_at(const civil& original) const {
    for (const vevent& o : overrides)
        if (o.recurrence_id == original) return &o;
    return nullptr;
}

bool series::generates(const civil& original) const {
    if (!rrule) return original == master.start;
    rule_iterator it(*rrule, master.start, all_day());
    while (auto c = it.next()) {
        if (*c == original) return true;
        if (*c > original) return false;
    }
    return false;
}

const series* model::find(const std::string& uid) const {
    auto it =
        std::lower_bound(all.begin(), all.end(), uid,
                         [](const series& s, const std::string& u) { return s.master.uid < u; });
    return it != all.end() && it->master.uid == uid ? &*it : nullptr;
}

namespace {

bool timed(when::kind k) {
    return k != when::kind::date;
}

std::string written(const when& w) {
    if (w.type == when::kind::date) return iso_text(w.value, true);
    return iso_text(w.value) + (w.type == when::kind::utc ? "Z" : "");
}

/// Why an end at `end` does not do for a start at `start` (instants): RFC
/// 5545 wants DTEND after DTSTART. The files checked the times as written;
/// an equal instant comes from a time in a gap, or from two kinds of time.
std::string not_after(const series& s, unix_time start, unix_time end) {
    // An all-day end is the day after the last: equal is a day before.
    if (end < start || s.all_day()) return " is before its start";
    int offset = 0;
    const config::civil local = to_local(s.zone, start, &offset);
    return " is not after its start: both are " + iso_text(local) + offset_text(offset);
}

const config::position& at(const config::position& preferred, const config::position& fallback) {
    return preferred.line > 0 || !preferred.path.empty() ? preferred : fallback;
}

/// The starts a series' rule generates, drawn from one iterator and kept,
/// so that all the exdates and overrides of a series cost one pass (each
/// libical step is expensive). Lives while its series is being built.
class generated_starts {
  public:
    explicit generated_starts(const series& s) : s_(s) {}

    /// Creates the series' one iterator now; false when libical refuses the rule.
    bool valid() {
        start();
        return it_->valid();
    }

    /// Same answer as `series::generates`: whether the first start at or
    /// after `original` is `original`.
    bool contains(const civil& original) {
        if (!s_.rrule) return original == s_.master.start;
        if (s_.rrule->seekable) {
            start();
            const std::optional<civil> c = it_->seek(original);
            return c && *c == original;
        }
        if (ordered_) {
            auto it = std::lower_bound(seen_.begin(), seen_.end(), original);
            if (it != seen_.end()) return *it == original;
        } else {
            for (const civil& c : seen_)
                if (c >= original) return c == original;
        }
        while (const civil* c = pull())
            if (*c >= original) return *c == original;
        return false;
    }

    /// Whether the rule's first start is the series' own start (RFC 5545
    /// leaves a series undefined otherwise). Asked before any other
    /// question: a seekable rule's iterator is then fresh, and its one step
    /// costs less than a seek (every later question seeks).
    bool gives_its_start() {
        if (!s_.rrule) return true;
        if (s_.rrule->seekable) {
            start();
            const std::optional<civil> c = it_->next();
            return c && *c == s_.master.start;
        }
        const civil* first = seen_.empty() ? pull() : &seen_.front();
        return first && *first == s_.master.start;
    }

    /// Calls `f` on every start of the series, in the rule's order.
    template <class F> void each(F&& f) {
        for (const civil& c : seen_)
            f(c);
        if (!s_.rrule || done_) return;
        start();
        while (auto c = it_->next())
            f(*c);
        done_ = true;
    }

    /// The latest instance_end of the series' starts that are not excluded,
    /// for a bounded rule. Seekable rules look back from UNTIL over a
    /// window that doubles until it holds such a start.
    std::optional<unix_time> last_end() {
        std::optional<unix_time> last;
        const auto consider = [&](const civil& c) {
            if (s_.excluded(c)) return;
            const unix_time end = s_.instance_end(c);
            last = last ? std::max(*last, end) : end;
        };
        if (!s_.rrule->seekable || !s_.rrule->until) {
            each(consider);
            return last;
        }
        start();
        int days = s_.rrule->interval * period_days(s_.rrule->freq) + 1;
        for (;; days *= 2) {
            const civil from = add_days(*s_.rrule->until, -days);
            for (auto c = it_->seek(from); c; c = it_->next())
                consider(*c);
            if (last || from <= s_.master.start) return last;
        }
    }

  private:
    static int period_days(icalrecurrencetype_frequency f) {
        switch (f) {
        case ICAL_WEEKLY_RECURRENCE:
            return 7;
        case ICAL_MONTHLY_RECURRENCE:
            return 31;
        case ICAL_YEARLY_RECURRENCE:
            return 366;
        default:
            return 1;
        }
    }
    void start() {
        if (!it_) it_ = std::make_unique<rule_iterator>(*s_.rrule, s_.master.start, s_.all_day());
    }
    const civil* pull() {
        if (done_) return nullptr;
        start();
        std::optional<civil> c = it_->next();
        if (!c) {
            done_ = true;
            return nullptr;
        }
        if (!seen_.empty() && *c < seen_.back()) ordered_ = false;
        seen_.push_back(*c);
        return &seen_.back();
    }

    const series& s_;
    std::unique_ptr<rule_iterator> it_;
    std::vector<civil> seen_;
    bool ordered_ = true; ///< seen_ is ascending: lookups may bisect
    bool done_ = false;
};

/// Builds the series of events into its own vector and diagnostics, so that
/// builders on several threads share nothing but the (read-only) site.
class builder {
  public:
    builder(const model& m, std::vector<series>& out, config::diagnostics& d)
        : m_(m), out_(out), d_(d) {}

    void add_event(const config::event_def& e);
    /// Copies the series `previous` built for `e` (an unchanged event):
    /// false when it cannot stand for a build.
    bool reuse(const config::event_def& e, const model& previous);

  private:
    struct resolved {
        civil frame; ///< in the series' frame
        unix_time utc = 0;
    };

    resolved resolve(const series& s, const when& w, when::kind frame);
    bool set_times(series& s, const when& start, const std::optional<when>& end,
                   const std::optional<config::duration>& length, bool length_written,
                   const std::string& who, const config::position& where);
    void add_overrides(series& s, const config::event_def& e, generated_starts& starts);
    std::optional<civil> to_frame(const series& s, const when& w);
    /// Whether the (exclusive) end can be written; an error at `where` if not.
    bool end_in_range(const vevent& v, const std::string& who, const config::position& where);
    vevent base(const config::event_def& e, zone_ptr zone);
    void finish(series& s, generated_starts* starts);
    void warn_folded_repeat(const series& s, const config::event_def& e, generated_starts& starts);

    /// Whether libical expands `text` (the rule of `s`). Creating an
    /// iterator costs more than most expansions, and whether libical
    /// accepts a rule depends on the rule alone, so each text is tried once.
    bool expandable(const std::string& text, const series& s, generated_starts& starts) {
        const auto key = std::make_pair(text, s.all_day());
        const auto it = expandable_.find(key);
        if (it != expandable_.end()) return it->second;
        const bool ok = starts.valid();
        expandable_.emplace(key, ok);
        return ok;
    }

    /// The CSS3 name of a category's colour, found once per builder
    /// rather than once per event (a search of 148 names).
    const std::string& color_name(const config::category& c) {
        auto it = color_names_.find(&c);
        if (it == color_names_.end()) it = color_names_.emplace(&c, css_color_name(c.color)).first;
        return it->second;
    }

    const model& m_;
    std::vector<series>& out_;
    config::diagnostics& d_;
    std::map<std::pair<std::string, bool>, bool> expandable_;
    /// Per zone and first year, its changes over ten years (most series share both).
    std::map<std::pair<zone_ptr, int>, std::vector<fold_span>> fold_spans_;
    std::map<const config::category*, std::string> color_names_;
};

builder::resolved builder::resolve(const series& s, const when& w, when::kind frame) {
    resolved r;
    switch (w.type) {
    case when::kind::date: {
        const resolved_time t = to_utc(s.zone, date_of(w.value));
        r.utc = t.utc;
        r.frame = date_of(w.value);
        return r;
    }
    case when::kind::utc:
        r.utc = seconds_of(w.value);
        break;
    case when::kind::local: {
        const resolved_time t = to_utc(s.zone, w.value);
        r.utc = t.utc;
        const std::string warn = fold_warning(w.value, s.zone_name, t, s.zone);
        if (!warn.empty()) d_.warning(w.where, warn);
        if (frame == when::kind::local) {
            r.frame = w.value;
            return r;
        }
        break;
    }
    }
    r.frame = frame == when::kind::utc ? civil_of(r.utc) : to_local(s.zone, r.utc);
    return r;
}

bool builder::set_times(series& s, const when& start, const std::optional<when>& end,
                        const std::optional<config::duration>& length, bool length_written,
                        const std::string& who, const config::position& where) {
    vevent& v = s.master;
    v.kind = start.type;
    const resolved b = resolve(s, start, start.type);
    v.start = b.frame;
    v.start_utc = b.utc;
    if (start.type == when::kind::date) {
        int days = 1;
        if (end) {
            if (end->type != when::kind::date) {
                d_.error(end->where, "end of " + who + " must be a date, like its start");
                return false;
            }
            if (end->value < start.value) {
                d_.error(end->where, "end of " + who + " is before its start");
                return false;
            }
            days = static_cast<int>(
                       days_from_civil(end->value.year, end->value.month, end->value.day) -
                       days_from_civil(v.start.year, v.start.month, v.start.day)) +
                   1;
        } else if (length) {
            if (length->seconds != 0 || length->days <= 0) {
                d_.error(length->where, "duration of all-day " + who + " must be whole days");
                return false;
            }
            days = length->days;
        }
        s.length = days;
        v.end = add_days(v.start, days);
        v.end_utc = to_utc(s.zone, v.end).utc;
        return end_in_range(v, who, end ? end->where : length ? length->where : start.where);
    }
    if (end) {
        if (end->type == when::kind::date) {
            d_.error(end->where, "end of " + who + " must be a date-time, like its start");
            return false;
        }
        const resolved e = resolve(s, *end, start.type);
        if (e.utc <= v.start_utc) {
            d_.error(end->where, "end of " + who + not_after(s, v.start_utc, e.utc));
            return false;
        }
        v.end = e.frame;
        v.end_utc = e.utc;
    } else if (length) {
        if (length->days < 0 || length->seconds < 0) {
            d_.error(length->where, "duration of " + who + " is negative");
            return false;
        }
        // Like an end equal to the start: RFC 5545 wants DTEND after DTSTART.
        if (length->days == 0 && length->seconds == 0) {
            d_.error(length->where, "duration of " + who + " must be longer than zero");
            return false;
        }
        // Days are nominal (wall clock), the rest exact.
        if (start.type == when::kind::local)
            v.end_utc = to_utc(s.zone, add_days(v.start, length->days)).utc + length->seconds;
        else
            v.end_utc = v.start_utc + std::int64_t{length->days} * 86400 + length->seconds;
        v.end = start.type == when::kind::utc ? civil_of(v.end_utc) : to_local(s.zone, v.end_utc);
    } else {
        // Written but wrong: config::load said why.
        if (!length_written) d_.error(where, who + " needs 'end' or 'duration'");
        return false;
    }
    s.length = v.end_utc - v.start_utc;
    return end_in_range(v, who, end ? end->where : length->where);
}

bool builder::end_in_range(const vevent& v, const std::string& who, const config::position& where) {
    if (v.end.year <= config::max_year) return true;
    d_.error(where, "end of " + who + " falls after the year " + std::to_string(config::max_year));
    return false;
}

std::optional<civil> builder::to_frame(const series& s, const when& w) {
    if (s.all_day() != (w.type == when::kind::date)) return std::nullopt;
    return resolve(s, w, s.master.kind).frame;
}

namespace {

/// Whether `name` is a tz database name of UTC itself.
bool utc_alias(std::string_view name) {
    for (const std::string_view alias :
         {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"})
        if (name == alias) return true;
    return false;
}

/// The wall clock in a spring gap that names the same instant as `c`
/// (02:30 for 03:30 on the March day in Paris), when there is one: a rule
/// giving 02:30 gives the instance clients show at 03:30, and an exdate or
/// a recurrence_id may name either (RFC 5545 §3.3.5).
std::optional<civil> gap_twin(const series& s, const civil& c) {
    if (s.master.kind != when::kind::local || s.all_day()) return std::nullopt;
    const resolved_time at = to_utc(s.zone, c);
    if (at.kind != fold::none) return std::nullopt;
    for (const std::int64_t shift : {1800, 3600, 7200}) {
        const civil g = civil_of(seconds_of(c) - shift);
        const resolved_time t = to_utc(s.zone, g);
        if (t.kind == fold::gap && t.utc == at.utc) return g;
    }
    return std::nullopt;
}

/// `c`, or its gap twin when the rule gives that instead.
std::optional<civil> given_as(const series& s, generated_starts& starts,
                              const std::optional<civil>& c) {
    if (!c || starts.contains(*c)) return c;
    if (auto g = gap_twin(s, *c); g && starts.contains(*g)) return g;
    return std::nullopt;
}

} // namespace

vevent builder::base(const config::event_def& e, zone_ptr) {
    vevent v;
    v.event_id = e.id;
    v.title = e.title;
    v.category = e.category;
    v.category_name = e.category;
    if (const config::category* c = m_.site.find_category(e.category)) {
        if (!c->name.empty()) v.category_name = c->name;
        v.color = color_name(*c);
    }
    v.location = e.location;
    v.description = e.description;
    v.organizer = e.organizer;
    v.url = e.url.empty() ? m_.site.site.base_url + "/events/" + e.id : e.url;
    v.status = e.status;
    return v;
}

std::string with_price(const std::string& description, const std::string& price,
                       const std::string& locale) {
    if (price.empty()) return description;
    const std::string line = (locale == "en" ? "Price: " : "Tarif : ") + price;
    return description.empty() ? line : description + "\n\n" + line;
}

void builder::add_overrides(series& s, const config::event_def& e, generated_starts& starts) {
    const std::string who = "'" + e.id + "'";
    for (const config::override_def& o : e.overrides) {
        if (!s.rrule) {
            d_.error(o.where, "override of " + who + " needs a recurring event (rrule)");
            continue;
        }
        const std::optional<civil> rid = given_as(s, starts, to_frame(s, o.recurrence_id));
        if (!rid) {
            d_.error(at(o.recurrence_id.where, o.where), "override matches no occurrence of " +
                                                             who + " (recurrence_id " +
                                                             written(o.recurrence_id) + ")");
            continue;
        }
        if (s.override_at(*rid) || s.excluded(*rid)) {
            d_.error(at(o.recurrence_id.where, o.where), "occurrence " + written(o.recurrence_id) +
                                                             " of " + who +
                                                             " is already overridden or excluded");
            continue;
        }
        if (o.status == config::status::cancelled) {
            s.exdates.insert(std::upper_bound(s.exdates.begin(), s.exdates.end(), *rid), *rid);
            continue;
        }
        const vevent original = s.instance(*rid);
        vevent v = original;
        if (o.title) v.title = *o.title;
        if (o.location) v.location = *o.location;
        if (o.description) v.description = with_price(*o.description, e.price, m_.site.site.locale);
        if (o.status) v.status = *o.status;
        if (o.start) {
            if (timed(o.start->type) != timed(s.master.kind)) {
                d_.error(o.start->where,
                         "start of an override of " + who +
                             (s.all_day() ? " must be a date" : " must be a date-time"));
                continue;
            }
            const resolved r = resolve(s, *o.start, o.start->type);
            v.kind = o.start->type;
            v.start = r.frame;
            v.start_utc = r.utc;
        }
        if (o.end) {
            if (timed(o.end->type) != timed(s.master.kind)) {
                d_.error(o.end->where,
                         "end of an override of " + who +
                             (s.all_day() ? " must be a date" : " must be a date-time"));
                continue;
            }
            const resolved r = resolve(s, *o.end, v.kind);
            v.end = s.all_day() ? add_days(r.frame, 1) : r.frame;
            v.end_utc = s.all_day() ? to_utc(s.zone, v.end).utc : r.utc;
        } else if (o.start) {
            if (s.all_day()) {
                v.end = add_days(v.start, static_cast<int>(s.length));
                v.end_utc = to_utc(s.zone, v.end).utc;
            } else {
                v.end_utc = v.start_utc + s.length;
                v.end =
                    v.kind == when::kind::utc ? civil_of(v.end_utc) : to_local(s.zone, v.end_utc);
            }
        }
        if (v.end_utc <= v.start_utc) {
            d_.error(o.end ? o.end->where : o.where,
                     "end of an override of " + who + not_after(s, v.start_utc, v.end_utc));
            continue;
        }
        v.moved = v.start_utc != original.start_utc || v.end_utc != original.end_utc;
        v.recurrence_id = *rid;
        s.overrides.push_back(std::move(v));
    }
    std::sort(s.overrides.begin(), s.overrides.end(),
              [](const vevent& a, const vevent& b) { return a.recurrence_id < b.recurrence_id; });
}

void builder::finish(series& s, generated_starts* starts) {
    std::optional<unix_time> last = s.master.end_utc;
    if (s.rrule) {
        if (!s.rrule->bounded())
            last.reset();
        else if (const std::optional<unix_time> generated = starts->last_end())
            last = std::max(*last, *generated);
    }
    if (last)
        for (const vevent& o : s.overrides)
            last = std::max(*last, o.end_utc);
    s.last_end = last;

    unix_time first = s.master.start_utc;
    // A single event starting in a gap or in the repeated hour is written in
    // UTC (render.cpp), and needs no VTIMEZONE.
    s.uses_zone = s.master.kind == when::kind::local &&
                  (s.rrule || to_utc(s.zone, s.master.start).kind == fold::none);
    for (const vevent& o : s.overrides) {
        first = std::min(first, o.start_utc);
        s.uses_zone = s.uses_zone || o.kind == when::kind::local;
    }
    s.zone_year = civil_of(first).year;
    out_.push_back(std::move(s));
}

void builder::add_event(const config::event_def& e) {
    series proto;
    proto.zone_name = e.timezone.empty() ? m_.site.site.timezone : e.timezone;
    // UTC under one of its names is written as Etc/GMT, like offset
    // date-times (feeds.md): clients that read a feed's UTC times on the wall
    // clock of its X-WR-TIMEZONE read TZID=UTC the same way.
    if (!e.timezone.empty() && e.timezone != m_.site.site.timezone && utc_alias(e.timezone))
        proto.zone_name = gmt_zone;
    proto.zone = e.timezone.empty() ? m_.site_zone : find_zone(proto.zone_name);
    // An unknown zone is an error, and the build yields no calendar; the
    // event is still read in the site's zone (UTC when that one is unknown
    // too, reported once by build) so that its other mistakes show now.
    if (!proto.zone) {
        if (!e.timezone.empty())
            d_.error(at(e.timezone_at, e.where), "unknown time zone '" + e.timezone + "'");
        proto.zone = m_.site_zone ? m_.site_zone : find_zone("UTC");
        if (!proto.zone) return;
    }
    const std::string& domain = m_.site.site.domain;
    const std::string& locale = m_.site.site.locale;

    if (e.programme) {
        int n = 0;
        for (const config::session_def& sd : e.sessions) {
            ++n;
            series s = proto;
            s.master = base(e, s.zone);
            s.master.uid = uid_of(e.id, n, domain);
            s.master.session = n;
            s.master.title = sd.title.empty() ? e.title : e.title + " — " + sd.title;
            s.master.programme_title_size = static_cast<int>(e.title.size());
            if (!sd.location.empty()) s.master.location = sd.location;
            s.master.description = with_price(
                sd.description.empty() ? e.description : sd.description, e.price, locale);
            const std::string who = "session " + std::to_string(n) + " of '" + e.id + "'";
            if (set_times(s, sd.start, sd.end, sd.duration, sd.length_written, who,
                          at(sd.where, e.where)))
                finish(s, nullptr);
        }
        return;
    }

    series s = std::move(proto);
    s.master = base(e, s.zone);
    s.master.uid = uid_of(e.id, 0, domain);
    s.master.description = with_price(e.description, e.price, locale);
    // The rule is checked even when the times were not right: every
    // mistake is reported at once. Without a start (config::load said why:
    // missing, or not a date), those it has whatever the start would be.
    if (!e.start) {
        std::string error, ignored;
        if (!e.rrule.empty() && !parse_rule(e.rrule, when::kind::local, s.zone, &error) &&
            !parse_rule(e.rrule, when::kind::date, s.zone, &ignored) &&
            !parse_rule(e.rrule, when::kind::utc, s.zone, &ignored))
            d_.error(at(e.rrule_at, e.where), error);
        return;
    }
    bool ok = set_times(s, *e.start, e.end, e.duration, e.length_written, "event '" + e.id + "'",
                        e.where);
    if (!e.rrule.empty()) {
        std::string error;
        std::optional<rule> r = parse_rule(e.rrule, s.master.kind, s.zone, &error);
        if (r) {
            // Legal, and every occurrence gets its reminders: most likely a slip.
            if (r->freq == ICAL_SECONDLY_RECURRENCE || r->freq == ICAL_MINUTELY_RECURRENCE)
                d_.warning(at(e.rrule_at, e.where),
                           "'" + e.id + "' repeats more often than hourly (" + e.rrule +
                               "); each occurrence gets its own reminders");
            // Nothing to repeat: clients would still show the start.
            if (ok && r->until && *r->until < s.master.start) {
                d_.error(at(e.rrule_at, e.where), "UNTIL of '" + e.id + "' is before its start (" +
                                                      written(*e.start) +
                                                      "): the rule gives no occurrence");
                ok = false;
            }
            s.rrule = std::make_shared<const rule>(std::move(*r));
        } else {
            d_.error(at(e.rrule_at, e.where), error);
            ok = false;
        }
    }
    if (!ok) return;
    generated_starts starts(s);
    if (s.rrule && !expandable(e.rrule, s, starts)) {
        d_.error(at(e.rrule_at, e.where), cannot_expand(e.rrule, s.master.start.year));
        return;
    }
    // RFC 5545 leaves a series whose rule does not give its start undefined:
    // some clients show that start as an occurrence, casacal does not.
    if (s.rrule && !starts.gives_its_start())
        d_.warning(at(e.rrule_at, e.where),
                   "the start of '" + e.id + "' (" + written(*e.start) +
                       ") is not a date its rule gives, and calendar clients differ on whether it "
                       "is an occurrence: start the event on its first occurrence");
    for (const when& x : e.exdates) {
        const std::optional<civil> c = s.rrule ? given_as(s, starts, to_frame(s, x)) : std::nullopt;
        if (!s.rrule) {
            d_.warning(at(x.where, e.where), "exdate " + written(x) + " of '" + e.id +
                                                 "' has no effect: the event has no rrule");
            continue;
        }
        if (!c) {
            d_.warning(at(x.where, e.where),
                       "exdate " + written(x) + " matches no occurrence of '" + e.id + "'");
            continue;
        }
        s.exdates.push_back(*c);
    }
    std::sort(s.exdates.begin(), s.exdates.end());
    s.exdates.erase(std::unique(s.exdates.begin(), s.exdates.end()), s.exdates.end());
    add_overrides(s, e, starts);
    warn_folded_repeat(s, e, starts);
    finish(s, &starts);
}

/// A repeat at the start's time of day that falls in a gap or in the
/// repeated hour gets the warning a start written there gets: the first one
/// within ten years (a yearly DST change meets a daily or weekly rule every
/// year). The file names no such time, so the warning says which it is.
void builder::warn_folded_repeat(const series& s, const config::event_def& e,
                                 generated_starts& starts) {
    if (!s.rrule || s.master.kind != when::kind::local) return;
    const civil& start = s.master.start;
    auto spans = fold_spans_.find({s.zone, start.year});
    if (spans == fold_spans_.end())
        spans = fold_spans_
                    .emplace(std::make_pair(s.zone, start.year),
                             fold_spans(s.zone, start.year, start.year + 10))
                    .first;
    for (const fold_span& f : spans->second) {
        if (s.rrule->until && f.from > *s.rrule->until) break;
        for (civil c : {date_of(f.from), date_of(f.to)}) {
            c.hour = start.hour;
            c.minute = start.minute;
            c.second = start.second;
            if (c <= start || c < f.from || c >= f.to) continue;
            if (!starts.contains(c) || s.excluded(c) || s.override_at(c)) continue;
            const resolved_time t{to_utc(s.zone, c)};
            d_.warning(at(e.rrule_at, e.where),
                       "a repeat of '" + e.id + "': " + fold_warning(c, s.zone_name, t, s.zone));
            return;
        }
    }
}

bool builder::reuse(const config::event_def& e, const model& previous) {
    if (std::binary_search(previous.noted.begin(), previous.noted.end(), e.id)) return false;
    const std::string& domain = m_.site.site.domain;
    std::vector<const series*> found;
    if (e.programme) {
        for (std::size_t n = 1; n <= e.sessions.size(); ++n)
            found.push_back(previous.find(uid_of(e.id, static_cast<int>(n), domain)));
    } else {
        found.push_back(previous.find(uid_of(e.id, 0, domain)));
    }
    if (found.empty() || std::find(found.begin(), found.end(), nullptr) != found.end())
        return false;
    for (const series* s : found) {
        out_.push_back(*s);
        out_.back().reused = true;
    }
    return true;
}

/// Stable sort by UID that moves each series once (files usually list
/// events in UID order already).
void sort_by_uid(std::vector<series>& all) {
    const auto by_uid = [](const series& a, const series& b) { return a.master.uid < b.master.uid; };
    if (std::is_sorted(all.begin(), all.end(), by_uid)) return;
    std::vector<std::size_t> order(all.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return by_uid(all[a], all[b]);
    });
    std::vector<series> sorted;
    sorted.reserve(all.size());
    for (const std::size_t i : order)
        sorted.push_back(std::move(all[i]));
    all = std::move(sorted);
}

static_assert(std::is_nothrow_move_constructible_v<series>);

} // namespace

build_result build(config::site site_in, unsigned threads, const model* previous) {
    auto m = std::make_shared<model>();
    m->site = std::move(site_in);
    const config::site& site = m->site;
    config::diagnostics problems;
    m->site_zone = find_zone(site.site.timezone);
    // Unknown, it is an error; the events are still read (in UTC) for
    // their own mistakes, and the build yields no calendar.
    if (!m->site_zone)
        problems.error(site.site.timezone_at, "unknown time zone '" + site.site.timezone + "'");
    // Events stand alone: blocks of them are built on `threads` threads and
    // joined in file order, so series and diagnostics come out as a serial
    // build gives.
    constexpr std::size_t block_size = 128;
    const std::size_t blocks = block_count(site.events.size(), block_size);
    // An event config::load copied from `previous`'s load, under the same
    // main file, is the same input: its series can be copied.
    std::vector<bool> copied(site.events.size());
    if (previous && site.main_stamp && site.main_stamp == previous->site.main_stamp &&
        site.main_file == previous->site.main_file) {
        for (const config::events_source& src : site.sources)
            if (src.previous_first)
                for (std::size_t k = 0; k < src.count; ++k)
                    copied[src.first + k] = true;
    }
    std::vector<std::vector<series>> built(blocks);
    std::vector<config::diagnostics> found(blocks);
    std::vector<std::vector<std::string>> noted(blocks);
    parallel_blocks(site.events.size(), block_size, threads,
                    [&](std::size_t b, std::size_t begin, std::size_t end) {
                        builder one(*m, built[b], found[b]);
                        for (std::size_t i = begin; i < end; ++i) {
                            const config::event_def& e = site.events[i];
                            if (copied[i] && one.reuse(e, *previous)) continue;
                            const std::size_t before = found[b].items().size();
                            one.add_event(e);
                            if (found[b].items().size() != before) noted[b].push_back(e.id);
                        }
                    });
    for (const auto& ids : noted)
        m->noted.insert(m->noted.end(), ids.begin(), ids.end());
    std::sort(m->noted.begin(), m->noted.end());
    m->noted.erase(std::unique(m->noted.begin(), m->noted.end()), m->noted.end());
    std::size_t total = 0;
    for (const auto& v : built)
        total += v.size();
    m->all.reserve(total);
    for (std::size_t b = 0; b < blocks; ++b) {
        problems.append(found[b]);
        std::move(built[b].begin(), built[b].end(), std::back_inserter(m->all));
    }
    for (const series& s : m->all) {
        if (s.all_day() && s.zone != m->site_zone) m->listing_shift = 2 * 86400;
        if (s.gmt_frame()) {
            const auto key = std::make_pair(gmt_zone, s.zone_year);
            if (!m->vtimezones.count(key))
                m->vtimezones.emplace(key,
                                      vtimezone_lines(find_zone(gmt_zone), gmt_zone, s.zone_year));
        }
        if (!s.uses_zone) continue;
        const auto key = std::make_pair(s.zone_name, s.zone_year);
        if (!m->vtimezones.count(key))
            m->vtimezones.emplace(key, vtimezone_lines(s.zone, s.zone_name, s.zone_year));
    }
    if (m->site_zone) {
        if (!m->all.empty())
            m->empty_feed_year = std::min_element(m->all.begin(), m->all.end(),
                                                  [](const series& a, const series& b) {
                                                      return a.zone_year < b.zone_year;
                                                  })
                                     ->zone_year;
        const auto key = std::make_pair(m->site.site.timezone, m->empty_feed_year);
        if (!m->vtimezones.count(key))
            m->vtimezones.emplace(key, vtimezone_lines(m->site_zone, key.first, key.second));
    }
    sort_by_uid(m->all);
    if (problems.has_errors()) return {nullptr, std::move(problems)};
    return {std::move(m), std::move(problems)};
}

unix_time site_midnight(const model& m, const config::civil& d) {
    return to_utc(m.site_zone, date_of(d)).utc;
}

unix_time longest_occurrence(const model& m) {
    unix_time longest = 0;
    for (const series& s : m.all) {
        longest = std::max(longest, s.all_day() ? s.length * 86400 + 3600 : s.length);
        for (const vevent& o : s.overrides)
            longest = std::max(longest, o.end_utc - o.start_utc);
    }
    return longest + m.listing_shift;
}

occurrence in_site_zone(occurrence o, const config::site& site) {
    if (o.all_day || o.timezone == site.site.timezone) return o;
    if (zone_ptr zone = find_zone(site.site.timezone)) {
        o.start_local = to_local(zone, o.start, &o.start_offset);
        o.end_local = to_local(zone, o.end, &o.end_offset);
        o.timezone = site.site.timezone;
    }
    return o;
}

unix_time keep_past_cutoff(const model& m, unix_time now) {
    const config::duration& keep = m.site.feeds.keep_past;
    const civil today = date_of(to_local(m.site_zone, now));
    return site_midnight(m, add_days(today, -keep.days)) - keep.seconds;
}

const config::site& site_of(const model& m) {
    return m.site;
}

namespace {

/// What an occurrence takes from its VEVENT and series, times aside.
occurrence described_by(const series& s, const vevent& v) {
    occurrence o;
    o.uid = v.uid;
    o.event_id = v.event_id;
    o.session = v.session;
    o.programme_title_size = v.programme_title_size;
    o.title = v.title;
    o.category = v.category;
    o.location = v.location;
    o.description = v.description;
    o.url = v.url;
    o.status = v.status;
    o.all_day = s.all_day();
    o.timezone = s.zone_name;
    return o;
}

} // namespace

occurrence make_occurrence(const series& s, const vevent& v, const std::optional<civil>& original) {
    occurrence o = described_by(s, v);
    o.start = o.listed = v.start_utc;
    o.end = v.end_utc;
    if (o.all_day) {
        o.start_local = date_of(v.start);
        o.end_local = date_of(v.end);
    } else {
        o.start_local = to_local(s.zone, v.start_utc, &o.start_offset);
        o.end_local = to_local(s.zone, v.end_utc, &o.end_offset);
    }
    if (s.rrule && original) {
        o.original_start = *original;
        if (o.all_day) {
            o.recurrence_id = iso_text(*original, true);
        } else {
            int off = 0;
            const civil shown = to_local(s.zone, s.instant_of(*original), &off);
            o.recurrence_id = rfc3339_text(shown, off);
        }
    }
    o.moved = v.moved;
    return o;
}

occurrence instance_occurrence(const series& s, const civil& original, unix_time start) {
    // make_occurrence(s, s.instance(original), original), without copying
    // the master's strings twice.
    occurrence o = described_by(s, s.master);
    o.start = o.listed = start;
    if (o.all_day) {
        const civil end = add_days(original, static_cast<int>(s.length));
        o.end = to_utc(s.zone, end).utc;
        o.start_local = date_of(original);
        o.end_local = date_of(end);
    } else {
        o.end = start + s.length;
        o.start_local = to_local(s.zone, start, &o.start_offset);
        o.end_local = to_local(s.zone, o.end, &o.end_offset);
    }
    if (s.rrule) {
        o.original_start = original;
        o.recurrence_id =
            o.all_day ? iso_text(original, true) : rfc3339_text(o.start_local, o.start_offset);
    }
    return o;
}

} // namespace casacal::calendar
