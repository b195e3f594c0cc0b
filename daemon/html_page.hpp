#pragma once
// The frame of every HTML page the daemon serves (agenda, event pages,
// subscription pages): one small inline style sheet, nothing fetched from
// anywhere (see html_response's Content-Security-Policy).

#include "config/site.hpp"

#include <string>

namespace casacal::daemon {

/// Whether the site's pages are in English (else French).
bool english(const config::site& site);

/// The path of the site's base_url ("/agenda" for
/// "https://example.org/agenda", "" at the root). The pages' links to each
/// other start with it, as their links to the feeds do: behind a proxy that
/// serves casacal under that path, they stay under it.
std::string site_path(const config::site& site);

/// A whole document in the site's language: viewport for phones, the style
/// sheet, a link home to the agenda, `title` as <title> (with the site's
/// name) and <h1>. `title` is text (escaped here); `body` is HTML.
std::string html_page(const config::site& site, const std::string& title, const std::string& body);

} // namespace casacal::daemon
