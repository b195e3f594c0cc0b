#pragma once
// SQLite result codes as std::error_code, and the exception the store throws.

#include <string>
#include <system_error>

namespace casacal::store {

/// The category of SQLite result codes (primary or extended, as sqlite3 returns them).
const std::error_category& sqlite_category() noexcept;

/// `code` (an SQLITE_* value) as an error_code of sqlite_category().
std::error_code make_sqlite_error(int code) noexcept;

/// A failure of the database: opening, migrating, or a statement. Carries
/// SQLite's own message and the database file's path; what() reads
/// "PATH: MESSAGE" so that `main` can print it as one line.
class error : public std::system_error {
  public:
    error(std::error_code code, const std::string& message, std::string path);

    /// SQLITE_BUSY: another connection holds the lock this needed.
    bool busy() const noexcept;

    /// The database file ("" or ":memory:" for a memory database).
    const std::string& path() const noexcept { return path_; }

    /// "PATH: MESSAGE", without the category's text appended by std::system_error.
    const char* what() const noexcept override { return line_.c_str(); }

  private:
    std::string path_;
    std::string line_;
};

} // namespace casacal::store
