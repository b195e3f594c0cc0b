#include "config/events_file.hpp"

#include "config/suggest.hpp"
#include "config/table_reader.hpp"
#include "config/text.hpp"
#include "config/values.hpp"

#include <algorithm>
#include <array>
#include <tuple>

namespace casacal::config {
namespace {

constexpr std::array<std::string_view, 3> status_names = {"confirmed", "tentative", "cancelled"};

bool is_date(const when& w) {
    return w.type == when::kind::date;
}

// `end` must be the same sort of value as `start` (date or date-time); when
// both are of the same kind it must not come before `start`. An all-day end
// is inclusive, so it may equal the start; a date-time end may not.
void check_end(const when& start, const when& end, diagnostics& out) {
    if (is_date(start) != is_date(end)) {
        out.error(end.where, std::string("'end' must be ") +
                                 (is_date(start) ? "a date" : "a date-time") +
                                 " like 'start', not " + (is_date(end) ? "a date" : "a date-time"));
        return;
    }
    if (start.type != end.type) return; // local against utc: needs the zone, done later
    if (end.value < start.value) {
        out.error(end.where,
                  "'end' (" + to_string(end) + ") is before 'start' (" + to_string(start) + ")");
    } else if (end.value == start.value && !is_date(start)) {
        out.error(end.where,
                  "'end' (" + to_string(end) + ") is not after 'start' (" + to_string(start) + ")");
    }
}

// Values that name an occurrence (exdates, recurrence_id) must be written
// exactly like the series' start.
bool same_kind(const when& value, const when& start, std::string_view key, diagnostics& out) {
    if (value.type == start.type) return true;
    out.error(value.where, "'" + std::string(key) + "' must be " +
                               std::string(kind_name(start.type)) + " like 'start', not " +
                               std::string(kind_name(value.type)));
    return false;
}

void read_end(const table_reader& r, const std::optional<when>& start, std::optional<when>& end,
              std::optional<duration>& length, bool& written) {
    written = r.find("end") || r.find("duration");
    end = r.when_of("end");
    length = r.duration_of("duration");
    if (r.find("end") && r.find("duration")) {
        r.error("duration", "'end' and 'duration' cannot both be given");
        length.reset();
    }
    if (start && end) check_end(*start, *end, r.out());
}

void read_category(const table_reader& r, const std::vector<category>& categories, event_def& e) {
    auto key = r.required_text("category");
    e.category_at = r.at("category");
    if (!key) return;
    e.category = *key;
    const bool known = std::any_of(categories.begin(), categories.end(),
                                   [&](const category& c) { return c.key == *key; });
    if (known) return;
    std::vector<std::string_view> keys;
    for (const category& c : categories)
        keys.push_back(c.key);
    r.error("category", "unknown category " + in_quotes(*key) + did_you_mean(*key, keys));
}

// The fields events and programmes share.
void read_common(const table_reader& r, const std::vector<category>& categories, event_def& e) {
    e.where = r.at();
    if (auto id = r.required_text("id")) {
        if (!is_valid_id(*id))
            r.error("id", "invalid id " + in_quotes(*id) + ": use only a-z, 0-9 and '-'");
        // Kept all the same, so that the event's other messages name it (an
        // error here means no calendar is built from it).
        e.id = *id;
    }
    e.id_at = r.at("id");
    if (auto title = r.required_text("title")) e.title = *title;
    read_category(r, categories, e);
    if (auto v = r.text("location")) e.location = *v;
    if (auto v = r.text("description", text_rule::multi_line)) e.description = *v;
    if (auto v = r.text("organizer")) {
        if (auto problem = check_mailbox(*v, nullptr, nullptr); problem.empty()) {
            e.organizer = *v;
        } else {
            r.error("organizer", "invalid email address " + in_quotes(*v) + ": " + problem);
        }
    }
    if (auto v = r.text("url")) {
        if (auto problem = http_url_problem(*v); problem.empty()) {
            e.url = with_lower_scheme(*v);
        } else {
            r.error("url", "invalid url " + in_quotes(*v) + ": " + problem);
        }
    }
    if (auto v = r.text("price")) e.price = *v;
    if (auto v = r.choice("status", status_names)) {
        e.status = static_cast<config::status>(
            std::find(status_names.begin(), status_names.end(), *v) - status_names.begin());
    }
    e.offsets = r.durations_of("offsets");
    if (auto v = r.text("timezone")) {
        if (is_time_zone_name(*v)) {
            e.timezone = *v;
        } else {
            r.error("timezone", "invalid time zone " + in_quotes(*v) +
                                    ": expected an IANA name like \"Europe/Paris\"");
        }
    }
    e.timezone_at = r.at("timezone");
}

void read_exdates(const table_reader& r, const std::optional<when>& start, event_def& e) {
    const toml::node* node = r.find("exdates");
    if (!node) return;
    const auto* array = node->as_array();
    if (!array) {
        r.error("exdates", "'exdates' must be an array of dates or date-times");
        return;
    }
    for (const toml::node& element : *array) {
        auto w = read_when(element, "exdates", r.path(), r.out());
        if (w && (!start || same_kind(*w, *start, "exdates", r.out()))) e.exdates.push_back(*w);
    }
}

/// The override, or nullopt when it names no occurrence it could match
/// (its recurrence_id missing or wrong: said already, and only that).
std::optional<override_def> read_override(const table_reader& r,
                                          const std::optional<when>& master_start) {
    r.reject_unknown(
        {"recurrence_id", "start", "end", "title", "location", "description", "status"});
    override_def o;
    o.where = r.at();
    bool has_id = false;
    if (auto id = r.when_of("recurrence_id")) {
        o.recurrence_id = *id;
        has_id = !master_start || same_kind(*id, *master_start, "recurrence_id", r.out());
    } else if (!r.find("recurrence_id")) {
        r.missing("recurrence_id");
    }
    o.start = r.when_of("start");
    if (o.start && master_start && is_date(*o.start) != is_date(*master_start)) {
        r.out().error(o.start->where, std::string("'start' must be ") +
                                          (is_date(*master_start) ? "a date" : "a date-time") +
                                          " like the event's 'start', not " +
                                          (is_date(*o.start) ? "a date" : "a date-time"));
        o.start.reset();
    }
    o.end = r.when_of("end");
    // Without its own start, the occurrence begins at its original start.
    if (o.end && (o.start || has_id))
        check_end(o.start ? *o.start : o.recurrence_id, *o.end, r.out());
    o.title = r.text("title");
    if (o.title && blank(*o.title)) {
        r.error("title",
                o.title->empty() ? "'title' must not be empty" : "'title' must not be only spaces");
        o.title.reset();
    }
    o.location = r.text("location");
    o.description = r.text("description", text_rule::multi_line);
    if (auto v = r.choice("status", status_names)) {
        o.status = static_cast<config::status>(
            std::find(status_names.begin(), status_names.end(), *v) - status_names.begin());
    }
    if (!has_id) return std::nullopt;
    return o;
}

event_def read_event(const table_reader& r, const std::vector<category>& categories) {
    r.reject_unknown({"id", "title", "category", "start", "end", "duration", "rrule", "exdates",
                      "location", "description", "organizer", "url", "price", "status", "offsets",
                      "timezone", "override"});
    event_def e;
    read_common(r, categories, e);
    e.start = r.when_of("start");
    if (!r.find("start")) r.missing("start");
    read_end(r, e.start, e.end, e.duration, e.length_written);
    if (auto v = r.text("rrule")) {
        e.rrule = *v;
        if (v->empty())
            r.error("rrule", "'rrule' must not be empty: leave it out for an event "
                             "that does not repeat");
    }
    e.rrule_at = r.at("rrule");
    read_exdates(r, e.start, e);
    for (const toml::table* t : r.tables("override", "[[event.override]]")) {
        table_reader o(*t, r.path(), "[[event.override]]", r.out());
        if (!r.find("rrule")) {
            r.out().error(
                o.at(),
                "[[event.override]] needs a recurring event, but this [[event]] has no 'rrule'");
        }
        if (auto over = read_override(o, e.start)) e.overrides.push_back(std::move(*over));
    }
    return e;
}

session_def read_session(const table_reader& r, const event_def& programme) {
    r.reject_unknown({"title", "start", "end", "duration", "location", "description"});
    session_def s;
    s.where = r.at();
    if (auto v = r.required_text("title")) s.title = *v;
    auto start = r.when_of("start");
    if (start) s.start = *start;
    if (!r.find("start")) r.missing("start");
    read_end(r, start, s.end, s.duration, s.length_written);
    s.location = r.text("location").value_or(programme.location);
    s.description = r.text("description", text_rule::multi_line).value_or(programme.description);
    return s;
}

event_def read_programme(const table_reader& r, const std::vector<category>& categories) {
    r.reject_unknown({"id", "title", "category", "location", "description", "organizer", "url",
                      "price", "status", "offsets", "timezone", "session", "start", "end",
                      "duration", "rrule", "exdates", "override"});
    for (std::string_view key : {"start", "end", "duration"}) {
        if (r.find(key)) {
            r.error(key, "'" + std::string(key) +
                             "' belongs in each [[programme.session]], not in [[programme]]");
        }
    }
    for (std::string_view key : {"rrule", "exdates", "override"}) {
        if (r.find(key))
            r.error(key, "'" + std::string(key) + "' is not supported in [[programme]]");
    }
    event_def e;
    e.programme = true;
    read_common(r, categories, e);
    const auto sessions = r.tables("session", "[[programme.session]]");
    if (sessions.empty() && !r.find("session")) {
        r.out().error(r.at(), "missing [[programme.session]] in [[programme]]");
    }
    for (const toml::table* t : sessions) {
        e.sessions.push_back(
            read_session(table_reader(*t, r.path(), "[[programme.session]]", r.out()), e));
    }
    return e;
}

} // namespace

void read_events_file(const toml::table& root, const source_path& path,
                      const std::vector<category>& categories, std::vector<event_def>& events,
                      diagnostics& out) {
    const table_reader file(root, path, "", out);
    file.reject_unknown({"event", "programme"}, true);
    const auto event_tables = file.tables("event", "[[event]]");
    const auto programme_tables = file.tables("programme", "[[programme]]");
    // Read straight into `events`: an event_def is large (768 bytes), and a
    // vector of the file's own moved each one twice more.
    const auto first = static_cast<std::ptrdiff_t>(events.size());
    events.reserve(events.size() + event_tables.size() + programme_tables.size());
    for (const toml::table* t : event_tables)
        events.push_back(read_event(table_reader(*t, path, "[[event]]", out), categories));
    for (const toml::table* t : programme_tables)
        events.push_back(read_programme(table_reader(*t, path, "[[programme]]", out), categories));
    // In file order, when a file mixes the two.
    if (!event_tables.empty() && !programme_tables.empty()) {
        std::stable_sort(events.begin() + first, events.end(),
                         [](const event_def& a, const event_def& b) {
                             return std::tie(a.where.line, a.where.column) <
                                    std::tie(b.where.line, b.where.column);
                         });
    }
}

} // namespace casacal::config
