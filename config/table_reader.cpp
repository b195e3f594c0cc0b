#include "config/table_reader.hpp"

#include "config/suggest.hpp"
#include "config/text.hpp"

#include <algorithm>

#include <chrono>
#include <vector>

namespace casacal::config {
namespace {

std::string key_text(std::string_view key) {
    return "'" + std::string(key) + "'";
}

civil to_civil(const toml::date& d, const toml::time& t) {
    // Fractional seconds are dropped: iCalendar has none.
    return {d.year, d.month, d.day, t.hour, t.minute, t.second};
}

civil shift_to_utc(const civil& local, int offset_minutes) {
    using namespace std::chrono;
    const sys_days day{year{local.year} / month{static_cast<unsigned>(local.month)} /
                       std::chrono::day{static_cast<unsigned>(local.day)}};
    const sys_seconds instant = day + hours{local.hour} + minutes{local.minute} +
                                seconds{local.second} - minutes{offset_minutes};
    const sys_days utc_day = floor<days>(instant);
    const year_month_day ymd{utc_day};
    const hh_mm_ss<seconds> hms{instant - utc_day};
    return {static_cast<int>(ymd.year()),
            static_cast<int>(static_cast<unsigned>(ymd.month())),
            static_cast<int>(static_cast<unsigned>(ymd.day())),
            static_cast<int>(hms.hours().count()),
            static_cast<int>(hms.minutes().count()),
            static_cast<int>(hms.seconds().count())};
}

} // namespace

position position_in(const source_path& path, const toml::source_region& region) {
    return {path, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a floating-point number";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time of day";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::table:
        return "a table";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

std::optional<when> read_when(const toml::node& node, std::string_view key, const source_path& path,
                              diagnostics& out) {
    when w;
    w.where = position_in(path, node.source());
    if (const auto* d = node.as_date()) {
        w.type = when::kind::date;
        w.value = to_civil(d->get(), toml::time{});
    } else if (const auto* dt = node.as_date_time()) {
        const toml::date_time& v = dt->get();
        w.value = to_civil(v.date, v.time);
        if (v.offset) {
            w.type = when::kind::utc;
            w.value = shift_to_utc(w.value, v.offset->minutes);
        } else {
            w.type = when::kind::local;
        }
    } else {
        out.error(w.where, key_text(key) + " must be a date or date-time, not " +
                               std::string(type_name(node)));
        return std::nullopt;
    }
    // Unix time starts in 1970; RFC 5545 writes four-digit years.
    if (w.value.year < min_year || w.value.year > max_year) {
        out.error(w.where, key_text(key) + " is out of range: years " + std::to_string(min_year) +
                               " to " + std::to_string(max_year) + " only");
        return std::nullopt;
    }
    return w;
}

table_reader::table_reader(const toml::table& table, const source_path& path, std::string context,
                           diagnostics& out)
    : table_(table), path_(path), context_(std::move(context)), out_(out) {}

position table_reader::at() const {
    return position_in(path_, table_.source());
}

position table_reader::at(const toml::node& node) const {
    return position_in(path_, node.source());
}

position table_reader::at(std::string_view key) const {
    const toml::node* node = find(key);
    return node ? at(*node) : at();
}

const toml::node* table_reader::find(std::string_view key) const {
    return table_.get(key);
}

void table_reader::error(std::string_view key, std::string message) const {
    out_.error(at(key), std::move(message));
}

void table_reader::missing(std::string_view key) const {
    out_.error(at(), "missing required key " + key_text(key) + " in " + context_);
}

std::optional<std::string> table_reader::string_value(const toml::node& node, std::string_view key,
                                                      text_rule rule) const {
    const auto* s = node.as_string();
    if (!s) {
        out_.error(at(node),
                   key_text(key) + " must be a string, not " + std::string(type_name(node)));
        return std::nullopt;
    }
    if (auto problem = text_problem(key, s->get(), rule); !problem.empty()) {
        out_.error(at(node), std::move(problem));
        return std::nullopt;
    }
    return s->get();
}

std::optional<std::string> table_reader::text(std::string_view key, text_rule rule) const {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    return string_value(*node, key, rule);
}

std::optional<std::string> table_reader::required_text(std::string_view key) const {
    const toml::node* node = find(key);
    if (!node) {
        missing(key);
        return std::nullopt;
    }
    auto value = string_value(*node, key, text_rule::single_line);
    if (value && blank(*value)) {
        out_.error(at(*node), key_text(key) + (value->empty() ? " must not be empty"
                                                              : " must not be only spaces"));
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> table_reader::choice(std::string_view key,
                                                std::span<const std::string_view> choices) const {
    auto value = text(key);
    if (!value) return std::nullopt;
    for (std::string_view c : choices) {
        if (*value == c) return value;
    }
    std::string expected;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (i > 0) expected += i + 1 == choices.size() ? " or " : ", ";
        expected += '"' + std::string(choices[i]) + '"';
    }
    error(key, key_text(key) + " must be " + expected + ", not " + in_quotes(*value));
    return std::nullopt;
}

std::optional<std::vector<std::string>> table_reader::texts(std::string_view key) const {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    const std::string message = key_text(key) + " must be an array of strings";
    const auto* array = node->as_array();
    if (!array) {
        out_.error(at(*node), message);
        return std::nullopt;
    }
    std::vector<std::string> values;
    bool ok = true;
    for (const toml::node& element : *array) {
        if (!element.is_string()) {
            out_.error(at(element), message);
            ok = false;
        } else if (auto v = string_value(element, key, text_rule::single_line)) {
            values.push_back(std::move(*v));
        } else {
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return values;
}

std::optional<when> table_reader::when_of(std::string_view key) const {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    return read_when(*node, key, path_, out_);
}

namespace {

std::optional<duration> read_duration(const toml::node& node, const source_path& path,
                                      diagnostics& out) {
    const std::string text = node.value_or(std::string());
    auto d = parse_duration(text);
    if (!d) {
        out.error(position_in(path, node.source()),
                  "invalid duration " + in_quotes(text) +
                      ": expected ISO 8601 like \"PT2H\" or \"P1D\"");
        return std::nullopt;
    }
    d->where = position_in(path, node.source());
    return d;
}

} // namespace

std::optional<duration> table_reader::duration_of(std::string_view key) const {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    if (!node->is_string()) {
        out_.error(at(*node), key_text(key) + " must be a duration like \"PT2H\", not " +
                                  std::string(type_name(*node)));
        return std::nullopt;
    }
    return read_duration(*node, path_, out_);
}

std::optional<std::vector<duration>> table_reader::durations_of(std::string_view key) const {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    const std::string message = key_text(key) + " must be an array of durations like \"PT2H\"";
    const auto* array = node->as_array();
    if (!array) {
        out_.error(at(*node), message);
        return std::nullopt;
    }
    std::vector<duration> values;
    bool ok = true;
    for (const toml::node& element : *array) {
        std::optional<duration> d;
        if (!element.is_string()) {
            out_.error(at(element), message);
        } else {
            d = read_duration(element, path_, out_);
            // A reminder due at the start itself always finds the event begun.
            if (d && d->days == 0 && d->seconds == 0) {
                out_.error(at(element), key_text(key) + " must be longer than zero (a reminder "
                                                        "due at the start would never be sent)");
                d.reset();
            }
            // Planning looks this far ahead for the events they remind of.
            if (d && std::int64_t{d->days} * 86400 + d->seconds > max_offset_days * 86400) {
                out_.error(at(element), key_text(key) + " must be at most P" +
                                            std::to_string(max_offset_days) + "D, not " +
                                            in_quotes(d->text));
                d.reset();
            }
        }
        if (!d) {
            ok = false;
        } else if (auto same = std::find(values.begin(), values.end(), *d); same != values.end()) {
            // The same instant before the start: one reminder, kept once.
            out_.warning(at(element), in_quotes(d->text) + " in " + key_text(key) + " is " +
                                          in_quotes(same->text) +
                                          " again: one reminder is sent for both");
        } else {
            values.push_back(std::move(*d));
        }
    }
    if (!ok) return std::nullopt;
    return values;
}

std::optional<std::int64_t> table_reader::positive_integer(std::string_view key) const {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    const auto* integer = node->as_integer();
    if (!integer || integer->get() <= 0 || integer->get() > 1'000'000'000) {
        out_.error(at(*node), key_text(key) + " must be a positive integer (at most 1000000000)");
        return std::nullopt;
    }
    return integer->get();
}

std::vector<const toml::table*> table_reader::tables(std::string_view key,
                                                     std::string_view header) const {
    std::vector<const toml::table*> out;
    const toml::node* node = find(key);
    if (!node) return out;
    if (!node->is_array_of_tables()) {
        out_.error(at(*node),
                   key_text(key) + " must be an array of tables: write " + std::string(header));
        return out;
    }
    for (const toml::node& element : *node->as_array())
        out.push_back(element.as_table());
    return out;
}

void table_reader::reject_unknown(std::initializer_list<std::string_view> known, bool arrays) const {
    const std::vector<std::string_view> candidates(known);
    for (auto&& [key, node] : table_) {
        const std::string_view name = key.str();
        bool found = false;
        for (std::string_view k : candidates)
            found = found || k == name;
        if (found) continue;
        const position where = position_in(path_, key.source());
        const std::string hint = closest(name, candidates);
        if (!context_.empty()) {
            out_.error(where, "unknown key " + in_quotes(name) + " in " + context_ +
                                  (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
        } else if (node.is_table() || node.is_array_of_tables()) {
            const auto bracket = [](std::string_view s, bool array) {
                return (array ? "[[" : "[") + std::string(s) + (array ? "]]" : "]");
            };
            out_.error(where, "unknown table " + bracket(name, !node.is_table()) +
                                  (hint.empty() ? "" : "; did you mean " + bracket(hint, arrays) + "?"));
        } else {
            out_.error(where, "unknown key " + in_quotes(name) + " at top level" +
                                  (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
        }
    }
}

} // namespace casacal::config
