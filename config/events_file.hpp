#pragma once
// Reading the [[event]] and [[programme]] tables of one events file.

#include "config/site.hpp"

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace casacal::config {

/// Appends the events and programmes of `root` (one file of the events
/// folder, shown as `path`) to `events` in file order, reporting every
/// problem found within the file. Categories are checked against
/// `categories`; ids across files are checked by the caller.
void read_events_file(const toml::table& root, const source_path& path,
                      const std::vector<category>& categories, std::vector<event_def>& events,
                      diagnostics& out);

} // namespace casacal::config
