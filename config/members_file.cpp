#include "config/members_file.hpp"

#include "config/suggest.hpp"
#include "config/table_reader.hpp"
#include "config/text.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace casacal::config {
namespace {

constexpr std::array<std::string_view, 2> locale_names = {"fr", "en"};


void read_categories(const table_reader& r, const std::vector<category>& categories, member& m) {
    const auto values = r.texts("categories");
    if (!values) return;
    std::vector<std::string_view> keys;
    for (const category& c : categories)
        keys.push_back(c.key);
    const toml::array& array = *r.find("categories")->as_array();
    for (std::size_t i = 0; i < values->size(); ++i) {
        const std::string& key = (*values)[i];
        if (key == "*" || std::find(keys.begin(), keys.end(), key) != keys.end()) {
            m.categories.push_back(key);
        } else {
            r.out().error(r.at(*array.get(i)),
                          "unknown category " + in_quotes(key) + did_you_mean(key, keys));
        }
    }
}

member read_member(const table_reader& r, const std::vector<category>& categories) {
    r.reject_unknown({"email", "name", "categories", "offsets", "locale"});
    member m;
    m.where = r.at();
    std::string display;
    if (auto email = r.required_text("email")) {
        if (auto problem = check_mailbox(*email, &display, &m.email); !problem.empty()) {
            r.error("email", "invalid email address " + in_quotes(*email) + ": " + problem);
        }
    }
    m.name = r.text("name").value_or(display);
    read_categories(r, categories, m);
    if (const toml::node* c = r.find("categories"); !c) {
        r.out().warning(r.at(), "this [[member]] has no 'categories': they will get no reminders");
    } else if (c->is_array() && c->as_array()->empty()) {
        r.out().warning(r.at("categories"),
                        "'categories' is empty: this member will get no reminders (\"*\" follows "
                        "every category)");
    }
    m.offsets = r.durations_of("offsets");
    if (auto v = r.choice("locale", locale_names)) m.locale = *v;
    return m;
}

} // namespace

void read_members_file(const toml::table& root, const source_path& path,
                       const std::vector<category>& categories, std::vector<member>& members,
                       diagnostics& out) {
    const table_reader file(root, path, "", out);
    file.reject_unknown({"member"}, true);
    std::map<std::string, position> seen; // lowercased address -> where first given
    for (const toml::table* t : file.tables("member", "[[member]]")) {
        const table_reader r(*t, path, "[[member]]", out);
        member m = read_member(r, categories);
        if (!m.email.empty()) {
            const position at = r.at("email");
            const auto [first, inserted] = seen.emplace(ascii_lower(m.email), at);
            if (!inserted) {
                const position& p = first->second;
                out.error(at, "duplicate member " + in_quotes(m.email) + " (first defined at " +
                                  p.text() + ")");
                continue;
            }
        }
        members.push_back(std::move(m));
    }
}

} // namespace casacal::config
