#pragma once
// Reading the [[member]] tables of the members file.

#include "config/site.hpp"

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace casacal::config {

/// Appends the members of `root` (the members file, shown as `path`) to
/// `members` in file order, reporting every problem, unknown categories and
/// duplicate addresses included.
void read_members_file(const toml::table& root, const source_path& path,
                       const std::vector<category>& categories, std::vector<member>& members,
                       diagnostics& out);

} // namespace casacal::config
