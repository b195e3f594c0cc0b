#pragma once
// Position-aware reading of one TOML table of the site's files.

#include "config/site.hpp"
#include "config/text.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace casacal::config {

/// Where `region` starts in the file `path`.
position position_in(const source_path& path, const toml::source_region& region);

/// "a string", "an integer", "a date-time"... for messages.
std::string_view type_name(const toml::node& node);

/// Reads a TOML date or date-time as a `when`; anything else (including a
/// time of day alone) is reported as not being one. `key` names the value
/// in messages.
std::optional<when> read_when(const toml::node& node, std::string_view key, const source_path& path,
                              diagnostics& out);

/// Reads the values of one table. Every accessor reports a value of the
/// wrong type or form into the diagnostics at the value's position and
/// returns nullopt; an absent key is nullopt without a report.
/// Holds references to the table, path and diagnostics: use it while they live.
class table_reader {
  public:
    /// `context` names the table in messages ("[[event]]"); empty for the
    /// root table of a file.
    table_reader(const toml::table& table, const source_path& path, std::string context,
                 diagnostics& out);
    /// `path` is kept by reference: it must outlive the reader.
    table_reader(const toml::table&, source_path&&, std::string, diagnostics&) = delete;

    table_reader(const table_reader&) = delete;
    table_reader& operator=(const table_reader&) = delete;

    const source_path& path() const { return path_; }
    diagnostics& out() const { return out_; }
    const std::string& context() const { return context_; }

    /// The table's header (or its first key for the root table).
    position at() const;
    position at(const toml::node& node) const;
    /// The value of `key` when present, else the table's header.
    position at(std::string_view key) const;

    const toml::node* find(std::string_view key) const;

    /// Reports `message` at the value of `key`.
    void error(std::string_view key, std::string message) const;
    /// Reports "missing required key 'key' in [context]" at the header.
    void missing(std::string_view key) const;

    std::optional<std::string> text(std::string_view key,
                                    text_rule rule = text_rule::single_line) const;
    /// Like text(), but reports an absent or empty value.
    std::optional<std::string> required_text(std::string_view key) const;
    /// One of `choices`.
    std::optional<std::string> choice(std::string_view key,
                                      std::span<const std::string_view> choices) const;
    std::optional<std::vector<std::string>> texts(std::string_view key) const;
    std::optional<when> when_of(std::string_view key) const;
    std::optional<duration> duration_of(std::string_view key) const;
    std::optional<std::vector<duration>> durations_of(std::string_view key) const;
    std::optional<std::int64_t> positive_integer(std::string_view key) const;

    /// The tables of an array of tables such as [[event.override]];
    /// `header` is how it is written, for the message when it is not one.
    std::vector<const toml::table*> tables(std::string_view key, std::string_view header) const;

    /// Reports each key of the table that is not in `known`, with a hint.
    /// `arrays`: the known keys are arrays of tables ([[event]]), which the
    /// "did you mean" hint then writes with double brackets.
    void reject_unknown(std::initializer_list<std::string_view> known, bool arrays = false) const;

  private:
    std::optional<std::string> string_value(const toml::node& node, std::string_view key,
                                            text_rule rule) const;

    const toml::table& table_;
    const source_path& path_;
    std::string context_;
    diagnostics& out_;
};

} // namespace casacal::config
