#pragma once
// Syntax checks for the small string values of the configuration: ids,
// host names, URLs, listen addresses, colours, zone names.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace casacal::config {

/// [a-z0-9-]+: event, programme and category ids, used in URLs and UIDs.
bool is_valid_id(std::string_view id);

/// Dot-separated labels of letters, digits and '-' (not at either end of a
/// label). With `need_dot`, at least two labels.
bool is_host_name(std::string_view text, bool need_dot);

/// "#rrggbb".
bool is_color(std::string_view text);

/// An IANA-style zone name ("Europe/Paris", "Etc/GMT+1"). Only the form is
/// checked here; whether the zone exists is the calendar module's business.
bool is_time_zone_name(std::string_view text);

enum class host_port_form { ok, malformed, bad_port };

/// Splits "host:port" or "[v6]:port" (the port may be left out when
/// `port_optional`). `host` comes back without brackets.
host_port_form split_host_port(std::string_view text, bool port_optional, std::string* host,
                               std::optional<std::uint16_t>* port);

/// Checks an http:// or https:// URL with a host (the scheme in any case,
/// RFC 3986 §3.1). Empty when fine, otherwise the reason.
std::string http_url_problem(std::string_view text);

/// `url` as an error message may show it: what could hold a password (a
/// user part, up to the last '@', and a query or fragment) written "***".
std::string without_secrets(std::string_view url);

/// The scheme of `url` with its "://", in lower case ("HTTPS://a" gives
/// "https://"); "" when it has none.
std::string lower_scheme(std::string_view url);

/// `url` with its scheme in lower case, the form RFC 3986 §6.2.2.1 calls
/// normal: "HTTPS://a.example/x" gives "https://a.example/x".
std::string with_lower_scheme(std::string_view url);

/// Checks smtp://host[:port] or smtps://host[:port]. Empty when fine.
std::string smtp_url_problem(std::string_view text);

} // namespace casacal::config
