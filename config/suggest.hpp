#pragma once
// "Did you mean" hints for misspelt keys, categories and choices.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace casacal::config {

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and swaps of two neighbouring bytes each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is close enough to be a likely
/// typo (at most 2 edits, and fewer edits than `word` has bytes); empty
/// otherwise. Ties go to the earliest candidate.
std::string closest(std::string_view word, std::span<const std::string_view> candidates);

/// "; did you mean 'title'?" or empty, ready to append to a message.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

} // namespace casacal::config
