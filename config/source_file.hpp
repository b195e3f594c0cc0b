#pragma once
// Reading one TOML file of the site, with its I/O and syntax errors reported.

#include "config/diagnostics.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace casacal::config {

/// The largest file of the site read: far more than any site needs (10,000
/// events take 4.6 MB), far less than a mistake could fill memory with.
constexpr std::uintmax_t max_source_bytes = std::uintmax_t{64} << 20;

/// The bytes of the regular file `file`, or nullopt with the reason in
/// `error`: the system's ("No such file or directory"), "not a regular file
/// (a named pipe)", or "file too large (…)".
std::optional<std::string> read_source(const std::filesystem::path& file, std::string* error);

/// The password a [smtp] password_file holding `content` gives: the file
/// without its final line breaks.
std::string_view password_in(std::string_view content);

/// The most dots a line of a site's file may hold (see parse_source).
constexpr long max_dots_per_line = 1000;

/// The root table of `content`, or nullopt after reporting the syntax error
/// at toml++'s position, or a line with more than max_dots_per_line dots.
/// `shown` is the path as diagnostics print it.
std::optional<toml::table> parse_source(std::string_view content, const std::string& shown,
                                        diagnostics& out);

/// read_source() then parse_source(); an unreadable file is reported at
/// `shown`:1:1.
std::optional<toml::table> load_source(const std::filesystem::path& file, const std::string& shown,
                                       diagnostics& out);

} // namespace casacal::config
