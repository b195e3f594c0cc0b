#include "store/error.hpp"

#include <sqlite3.h>

namespace casacal::store {

namespace {

class sqlite_error_category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "sqlite"; }
    std::string message(int code) const override { return sqlite3_errstr(code); }
};

std::string describe(const std::string& path, const std::string& message) {
    return (path.empty() || path == ":memory:" ? std::string("(memory database)") : path) + ": " +
           message;
}

} // namespace

const std::error_category& sqlite_category() noexcept {
    static const sqlite_error_category category;
    return category;
}

std::error_code make_sqlite_error(int code) noexcept {
    return {code, sqlite_category()};
}

// std::system_error's what() appends code.message(), which repeats SQLite's
// own message; what() is overridden to keep the line short.
error::error(std::error_code code, const std::string& message, std::string path)
    : std::system_error(code, message), path_(std::move(path)), line_(describe(path_, message)) {}

bool error::busy() const noexcept {
    return code().category() == sqlite_category() && (code().value() & 0xff) == SQLITE_BUSY;
}

} // namespace casacal::store
