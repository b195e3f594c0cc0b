#include "daemon/html_page.hpp"

#include "notify/wording.hpp"

namespace casacal::daemon {

namespace {

// Small enough to inline in every page; colours only where they carry
// meaning (a category's colour, a cancelled occurrence).
constexpr const char* k_style =
    "body{font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em;line-height:1.5;"
    "overflow-wrap:anywhere}"
    "button{font-size:1.1em;padding:.4em 1em}"
    "header a{color:inherit;font-weight:bold;text-decoration:none}"
    "h2{font-size:1.15em;margin:1.5em 0 .3em;border-bottom:1px solid "
    "#ccc}h2::first-letter{text-transform:uppercase}"
    "ul.events{list-style:none;padding:0;margin:0}"
    "ul.events li{border-left:.3em solid #999;padding:.2em .6em;margin:.4em 0}"
    ".when{font-variant-numeric:tabular-nums;margin-right:.4em}"
    ".meta{color:#555;font-size:.9em}"
    ".cancelled .title{text-decoration:line-through}"
    ".status{color:#b00;font-weight:bold;font-size:.9em}"
    "nav a{display:inline-block;margin:0 .6em .3em 0}"
    "nav a[aria-current]{font-weight:bold;text-decoration:none}"
    ".feed{margin:.6em 0}"
    ".feed a{display:inline-block;margin:.2em .6em .2em 0}"
    ".feed input{width:100%;box-sizing:border-box;font-family:monospace}"
    "fieldset{border:1px solid #ccc}label{display:block}"
    "input[type=email],input[type=text]{font-size:1em;padding:.3em;max-width:100%}"
    "dt{font-weight:bold}dd{margin:0 0 .5em}";

} // namespace

bool english(const config::site& site) {
    return site.site.locale == "en";
}

std::string site_path(const config::site& site) {
    const std::string& url = site.site.base_url;
    const auto authority = url.find("://");
    const auto slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
    return slash == std::string::npos ? std::string() : url.substr(slash);
}

std::string html_page(const config::site& site, const std::string& title, const std::string& body) {
    using notify::html_escape;
    return "<!DOCTYPE html>\n<html lang=\"" + std::string(english(site) ? "en" : "fr") +
           "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
           "content=\"width=device-width,initial-scale=1\"><title>" +
           html_escape(title + " — " + site.site.name) + "</title><style>" + k_style +
           "</style></head>\n<body>\n<header><a href=\"" + html_escape(site_path(site)) + "/\">" +
           html_escape(site.site.name) + "</a></header>\n<h1>" + html_escape(title) + "</h1>\n" +
           body + "</body></html>\n";
}

} // namespace casacal::daemon
