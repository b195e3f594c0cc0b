#include "config/main_file.hpp"

#include "config/source_file.hpp"
#include "config/table_reader.hpp"
#include "config/text.hpp"
#include "config/values.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdlib>

namespace casacal::config {
namespace {

/// Links are made by appending paths to base_url, and it is published in
/// every feed and email: no query, fragment, user or password.
std::string base_url_problem(std::string_view url) {
    if (auto problem = http_url_problem(url); !problem.empty()) return problem;
    // Reminders carry it in their List-Unsubscribe header, a line that
    // cannot be folded and must stay under 998 characters (RFC 5322).
    if (url.size() > 500) return "it is longer than 500 characters";
    if (url.find_first_of("?#") != std::string_view::npos)
        return "it cannot have a query or a fragment (links are made by adding paths to it)";
    const std::string_view rest = url.substr(url.find("://") + 3);
    if (rest.substr(0, rest.find('/')).find('@') != std::string_view::npos)
        return "it cannot hold a user or a password (it is published in every feed)";
    return {};
}

/// Whether the URL (valid, `scheme_size` characters of scheme and "://")
/// names a host other than this machine.
bool remote_host(std::string_view url, std::size_t scheme_size) {
    const std::string_view rest = url.substr(scheme_size);
    std::string host;
    split_host_port(rest.substr(0, rest.find('/')), true, &host, nullptr);
    host = ascii_lower(host);
    in_addr v4{};
    const bool loopback_v4 =
        ::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
    return host != "localhost" && !loopback_v4 && host != "::1";
}

/// Whether base_url (valid) is plain http to a host other than this machine:
/// the unsubscribe links of its reminders would not be offered as one-click.
bool public_http(std::string_view url) {
    return lower_scheme(url) == "http://" && remote_host(url, 7);
}

constexpr std::array<std::string_view, 2> locale_names = {"fr", "en"};
constexpr std::array<std::string_view, 3> starttls_names = {"required", "opportunistic", "off"};

// The table `key` of the root, or nullptr when absent or not a table.
const toml::table* section(const table_reader& root, std::string_view key) {
    const toml::node* node = root.find(key);
    if (!node) return nullptr;
    if (!node->is_table()) {
        root.error(key,
                   "'" + std::string(key) + "' must be a table: write [" + std::string(key) + "]");
        return nullptr;
    }
    return node->as_table();
}

std::optional<std::filesystem::path> path_value(const table_reader& r, std::string_view key,
                                                const std::filesystem::path& base) {
    auto value = r.text(key);
    if (!value) return std::nullopt;
    if (value->empty()) {
        r.error(key, "'" + std::string(key) + "' must not be empty");
        return std::nullopt;
    }
    return resolve(base, *value);
}

file_references read_site(const table_reader& root, const position& top, site& s) {
    file_references refs{top, top, false};
    const toml::table* table = section(root, "site");
    if (!table) {
        if (!root.find("site")) root.out().error(top, "missing required table [site]");
        return refs;
    }
    const table_reader r(*table, root.path(), "[site]", root.out());
    r.reject_unknown({"name", "base_url", "domain", "timezone", "locale", "events", "members"});
    site_section& out = s.site;
    if (auto v = r.required_text("name")) out.name = *v;
    if (auto v = r.required_text("base_url")) {
        if (auto problem = base_url_problem(*v); !problem.empty()) {
            r.error("base_url",
                    "invalid base_url " + in_quotes(without_secrets(*v)) + ": " + problem);
        } else {
            if (public_http(*v))
                r.out().warning(r.at("base_url"),
                                "base_url " + in_quotes(*v) +
                                    " is not https: the unsubscribe links of reminders will be "
                                    "http, and mail providers offer one-click unsubscribing only "
                                    "over https (RFC 8058)");
            out.base_url = with_lower_scheme(*v);
            while (out.base_url.ends_with('/'))
                out.base_url.pop_back();
        }
    }
    out.domain_at = r.at("domain");
    if (auto v = r.required_text("domain")) {
        if (is_host_name(*v, false)) {
            out.domain = *v;
        } else {
            r.error("domain", "invalid domain " + in_quotes(*v) +
                                  ": expected a host name like \"casaco.example\"");
        }
    }
    out.timezone_at = r.at("timezone");
    if (auto v = r.text("timezone")) {
        if (is_time_zone_name(*v)) {
            out.timezone = *v;
        } else {
            r.error("timezone", "invalid time zone " + in_quotes(*v) +
                                    ": expected an IANA name like \"Europe/Paris\"");
        }
    }
    if (auto v = r.choice("locale", locale_names)) out.locale = *v;
    if (auto p = path_value(r, "events", s.base_dir)) out.events_dir = *p;
    if (auto p = path_value(r, "members", s.base_dir)) out.members_file = *p;
    refs.events_at = r.at("events");
    refs.members_at = r.at("members");
    refs.members_given = r.find("members") != nullptr;
    return refs;
}

bool is_ip_address(const std::string& host) {
    unsigned char bytes[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), bytes) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), bytes) == 1;
}

void read_http(const table_reader& r, http_section& out) {
    r.reject_unknown({"listen"});
    auto v = r.text("listen");
    if (!v) return;
    std::string host;
    std::optional<std::uint16_t> port;
    switch (split_host_port(*v, false, &host, &port)) {
    case host_port_form::ok:
        if (!is_ip_address(host)) {
            r.error("listen", "invalid listen address " + in_quotes(*v) +
                                  ": the host must be an IP address like 127.0.0.1 or [::1] "
                                  "(names are not resolved)");
            break;
        }
        out.listen = *v;
        out.address = host;
        out.port = *port;
        break;
    case host_port_form::bad_port:
        r.error("listen", "invalid listen address " + in_quotes(*v) +
                              ": the port must be between 1 and 65535");
        break;
    case host_port_form::malformed:
        r.error("listen", "invalid listen address " + in_quotes(*v) +
                              ": expected \"host:port\" like \"127.0.0.1:8080\" or \"[::1]:8080\"");
        break;
    }
}

/// serve reads the password at start and stops when it cannot: check says
/// so first. systemd's credentials are only visible inside the service, so
/// there it is a warning when check runs from a shell.
void check_password_file(const table_reader& r, const std::filesystem::path& file) {
    std::string reason;
    const std::string shown = file.string();
    if (const auto content = read_source(file, &reason)) {
        const std::string_view password = password_in(*content);
        // A second line would be sent as part of the password.
        if (password.find_first_of("\r\n") != std::string_view::npos)
            r.error("password_file", "[smtp] password_file '" + shown +
                                         "' holds more than one line: it must hold the password "
                                         "alone");
        else if (password.empty())
            r.out().warning(r.at("password_file"),
                            "[smtp] password_file '" + shown +
                                "' is empty: casacal logs in (SMTP AUTH) only with a password");
        return;
    }
    const std::string message = "cannot read [smtp] password_file '" + shown + "': " + reason;
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    if (shown.starts_with("/run/credentials/") ||
        (credentials && *credentials && shown.starts_with(credentials)))
        r.out().warning(r.at("password_file"),
                        message + " (systemd credentials are only visible to the service)");
    else
        r.error("password_file", message);
}

void read_smtp(const table_reader& r, const std::filesystem::path& base, smtp_section& out) {
    r.reject_unknown(
        {"url", "starttls", "username", "password_file", "from", "max_per_minute", "pickup_dir"});
    if (auto v = r.text("url"); v && !v->empty()) {
        if (auto problem = smtp_url_problem(*v); problem.empty()) {
            out.url = with_lower_scheme(*v);
        } else {
            // A password written into the URL stays out of the message.
            r.error("url", "invalid smtp url " + in_quotes(without_secrets(*v)) + ": " + problem);
        }
    }
    if (auto v = r.choice("starttls", starttls_names)) {
        out.starttls = *v;
        if (out.url.starts_with("smtps://"))
            r.out().warning(r.at("starttls"), "'starttls' applies to smtp:// only: smtps:// is "
                                              "TLS from the start, with certificate checks");
    }
    const auto username = r.text("username");
    if (username) out.username = *username;
    if (auto p = path_value(r, "password_file", base)) {
        out.password_file = *p;
        if (!out.url.empty()) check_password_file(r, *p);
        // A username written wrong was said so: not also missing.
        if (out.username.empty() && (username || !r.find("username")))
            r.out().warning(r.at("password_file"),
                            "[smtp] password_file is not used without a username: casacal "
                            "logs in (SMTP AUTH) only with both");
    }
    if (!out.username.empty() && out.password_file.empty() && !out.url.empty())
        r.out().warning(r.at("username"), "[smtp] username is not used without a password_file: "
                                          "casacal logs in (SMTP AUTH) only with both");
    if (!out.username.empty() && out.starttls != "required" && out.url.starts_with("smtp://") &&
        remote_host(out.url, 7))
        r.out().warning(r.at("starttls"),
                        "starttls = \"" + out.starttls +
                            "\" with a username: the password crosses the network in clear to " +
                            in_quotes(without_secrets(out.url)) +
                            (out.starttls == "off"
                                 ? ""
                                 : " when the server offers no STARTTLS, or someone between "
                                   "takes the offer out") +
                            "; use starttls = \"required\" or an smtps:// url");
    if (auto v = r.text("from")) {
        if (auto problem = check_mailbox(*v, nullptr, nullptr); problem.empty()) {
            out.from = *v;
        } else {
            r.error("from", "invalid email address " + in_quotes(*v) + ": " + problem);
        }
    }
    if (auto v = r.positive_integer("max_per_minute")) out.max_per_minute = static_cast<int>(*v);
    if (auto p = path_value(r, "pickup_dir", base)) out.pickup_dir = *p;
}

void read_category(const table_reader& root, const toml::key& key, const toml::node& node,
                   std::vector<category>& out) {
    const std::string name(key.str());
    const position at = position_in(root.path(), key.source());
    if (!node.is_table()) {
        root.out().error(at, in_quotes(name) +
                                 " in [categories] must be a table: write [categories." + name +
                                 "]");
        return;
    }
    // A bad key does not hide the mistakes in its table.
    const bool valid = is_valid_id(name);
    if (!valid)
        root.out().error(at,
                         "invalid category key " + in_quotes(name) + ": use only a-z, 0-9 and '-'");
    const table_reader r(*node.as_table(), root.path(), "[categories." + name + "]", root.out());
    r.reject_unknown({"name", "color", "offsets"});
    category c;
    c.key = name;
    c.where = r.at();
    c.name = r.text("name").value_or(name);
    if (auto v = r.text("color")) {
        if (is_color(*v)) {
            c.color = *v;
            std::transform(c.color.begin(), c.color.end(), c.color.begin(), [](char ch) {
                return ch >= 'A' && ch <= 'F' ? static_cast<char>(ch - 'A' + 'a') : ch;
            });
        } else {
            r.error("color", "invalid color " + in_quotes(*v) + ": expected \"#rrggbb\"");
        }
    }
    c.offsets = r.durations_of("offsets");
    if (valid) out.push_back(std::move(c));
}

} // namespace

std::filesystem::path resolve(const std::filesystem::path& base,
                              const std::filesystem::path& path) {
    return (path.is_absolute() ? path : base / path).lexically_normal();
}

file_references read_main_file(const toml::table& root, site& s, diagnostics& out) {
    const source_path path = s.main_file.string();
    const table_reader r(root, path, "", out);
    r.reject_unknown({"site", "http", "storage", "smtp", "reminders", "feeds", "categories"});
    const file_references refs = read_site(r, {path, 1, 1}, s);

    if (const toml::table* t = section(r, "http"))
        read_http(table_reader(*t, path, "[http]", out), s.http);
    if (const toml::table* t = section(r, "storage")) {
        const table_reader storage(*t, path, "[storage]", out);
        storage.reject_unknown({"database"});
        if (auto p = path_value(storage, "database", s.base_dir)) s.storage.database = *p;
    }
    if (const toml::table* t = section(r, "smtp"))
        read_smtp(table_reader(*t, path, "[smtp]", out), s.base_dir, s.smtp);
    if (const toml::table* t = section(r, "reminders")) {
        const table_reader reminders(*t, path, "[reminders]", out);
        reminders.reject_unknown({"offsets", "grace"});
        if (auto v = reminders.durations_of("offsets")) s.reminders.offsets = std::move(*v);
        if (auto v = reminders.duration_of("grace")) s.reminders.grace = std::move(*v);
    }
    if (const toml::table* t = section(r, "feeds")) {
        const table_reader feeds(*t, path, "[feeds]", out);
        feeds.reject_unknown({"keep_past"});
        if (auto v = feeds.duration_of("keep_past")) s.feeds.keep_past = std::move(*v);
    }
    if (const toml::table* t = section(r, "categories")) {
        for (auto&& [key, node] : *t)
            read_category(r, key, node, s.categories);
    }
    std::sort(s.categories.begin(), s.categories.end(),
              [](const category& a, const category& b) { return a.key < b.key; });
    if (s.smtp.from.empty() && !s.site.domain.empty()) {
        s.smtp.from = "agenda@" + s.site.domain;
        if (s.site.domain.find('.') == std::string::npos)
            out.warning(s.site.domain_at,
                        "the sender the domain gives, " + s.smtp.from +
                            ", has no '.' after its '@': mail servers refuse it; write [smtp] "
                            "from, or a domain like \"casaco.example\"");
    }
    return refs;
}

} // namespace casacal::config
