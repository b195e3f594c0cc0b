#pragma once
// Reading one TOML file of the site, with its I/O and syntax errors reported.

#include "config/diagnostics.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace casacal::config {

/// The bytes of `file`, or nullopt with the system's reason ("No such file
/// or directory") in `error`.
std::optional<std::string> read_source(const std::filesystem::path& file, std::string* error);

/// The root table of `content`, or nullopt after reporting the syntax error
/// at toml++'s position. `shown` is the path as diagnostics print it.
std::optional<toml::table> parse_source(std::string_view content, const std::string& shown,
                                        diagnostics& out);

/// read_source() then parse_source(); an unreadable file is reported at
/// `shown`:1:1.
std::optional<toml::table> load_source(const std::filesystem::path& file, const std::string& shown,
                                       diagnostics& out);

} // namespace casacal::config
