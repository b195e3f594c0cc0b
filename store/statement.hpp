#pragma once
// One prepared SQLite statement.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace casacal::store {

/// Owns an sqlite3_stmt; finalized on destruction. Indexes are 1-based for
/// bind (as in SQL's `?1`) and 0-based for columns (as in sqlite3_column_*).
/// Throws store::error on any SQLite failure. Same thread as its database.
class statement {
  public:
    /// Compiles `sql` (one statement) on `db`.
    statement(sqlite3* db, std::string_view sql);
    ~statement();

    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    statement(statement&& other) noexcept;
    statement& operator=(statement&& other) noexcept;

    statement& bind(int index, std::int64_t value);
    statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
    statement& bind(int index, std::string_view value); ///< copied by SQLite
    statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    statement& bind(int index, const std::string& value) {
        return bind(index, std::string_view(value));
    }
    statement& bind(int index, std::nullopt_t);
    template <class T> statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind(index, std::nullopt);
    }

    /// Runs to the next row: true when a row is available, false when done.
    /// On failure the statement is reset and store::error is thrown.
    bool step();

    /// Runs a statement that returns no rows to completion.
    void run();

    /// Makes the statement ready to run again and clears every binding.
    void reset() noexcept;

    bool is_null(int column) const;
    std::int64_t get_int64(int column) const; ///< 0 for NULL
    /// An integer from `low` to `high`; store::error naming the column and
    /// the value found otherwise (text, NULL, out of range: a file edited by
    /// hand or damaged).
    std::int64_t get_int64(int column, std::int64_t low, std::int64_t high) const;
    std::string get_text(int column) const;   ///< "" for NULL
    /// The text in SQLite's own buffer: valid until the next step or reset.
    std::string_view get_text_view(int column) const;
    std::optional<std::int64_t> get_optional_int64(int column) const;
    std::optional<std::string> get_optional_text(int column) const;

    sqlite3_stmt* handle() const noexcept { return stmt_; }

  private:
    [[noreturn]] void fail(int code) const;

    sqlite3_stmt* stmt_ = nullptr;
};

} // namespace casacal::store
