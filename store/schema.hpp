#pragma once
// The schema migrations, in order. Internal to the store.

#include <span>
#include <string_view>

namespace casacal::store::detail {

/// migrations()[i] takes a database from user_version i to i + 1. Never edit
/// one that has been released: append a new one.
std::span<const std::string_view> migrations() noexcept;

/// PRAGMA application_id of a casacal database ("CCAL").
inline constexpr int application_id = 0x4343414c;

} // namespace casacal::store::detail
