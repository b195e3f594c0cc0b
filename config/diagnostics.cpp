#include "config/diagnostics.hpp"

#include <algorithm>
#include <tuple>

namespace casacal::config {

std::string position::text() const {
    std::string out = path;
    if (line > 0) out += ':' + std::to_string(line) + ':' + std::to_string(column);
    return out;
}

std::string diagnostic::format() const {
    std::string out = where.text();
    out += level == severity::error ? ": error: " : ": warning: ";
    out += message;
    return out;
}

void diagnostics::error(const position& where, std::string message) {
    items_.push_back({where, severity::error, std::move(message)});
}

void diagnostics::warning(const position& where, std::string message) {
    items_.push_back({where, severity::warning, std::move(message)});
}

void diagnostics::append(const diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool diagnostics::has_errors() const {
    return std::any_of(items_.begin(), items_.end(),
                       [](const diagnostic& d) { return d.level == severity::error; });
}

std::vector<diagnostic> diagnostics::sorted() const {
    std::vector<diagnostic> out = items_;
    std::stable_sort(out.begin(), out.end(), [](const diagnostic& a, const diagnostic& b) {
        return std::tie(a.where.path, a.where.line, a.where.column) <
               std::tie(b.where.path, b.where.line, b.where.column);
    });
    return out;
}

} // namespace casacal::config
