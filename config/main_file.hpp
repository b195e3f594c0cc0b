#pragma once
// Reading the main file (casacal.toml): every section but the files it names.

#include "config/site.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <string>

namespace casacal::config {

/// Where the main file names the other files, for their errors.
struct file_references {
    position events_at;  ///< the 'events' value, else [site], else 1:1
    position members_at; ///< the 'members' value, else [site], else 1:1
    bool members_given = false;
};

/// `path` relative to `base` unless absolute, lexically normalised.
std::filesystem::path resolve(const std::filesystem::path& base, const std::filesystem::path& path);

/// Fills every section of `s` but events and members from `root`, the
/// parsed main file; `s.main_file` and `s.base_dir` must be set and the
/// defaults applied beforehand.
file_references read_main_file(const toml::table& root, site& s, diagnostics& out);

} // namespace casacal::config
