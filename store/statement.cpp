#include "store/statement.hpp"

#include "store/error.hpp"

#include <sqlite3.h>

#include <utility>

namespace casacal::store {

namespace {

std::string path_of(sqlite3* db) {
    const char* name = sqlite3_db_filename(db, "main");
    return name ? name : "";
}

} // namespace

statement::statement(sqlite3* db, std::string_view sql) {
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt_);
        stmt_ = nullptr;
        throw error(make_sqlite_error(sqlite3_extended_errcode(db)),
                    std::string(sqlite3_errmsg(db)) + " in: " + std::string(sql), path_of(db));
    }
}

statement::~statement() {
    sqlite3_finalize(stmt_);
}

statement::statement(statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

statement& statement::operator=(statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(stmt_);
        stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
}

statement& statement::bind(int index, std::int64_t value) {
    if (const int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) fail(rc);
    return *this;
}

statement& statement::bind(int index, std::string_view value) {
    // A non-null pointer even for "" so that an empty string stays TEXT, not NULL.
    const char* data = value.data() ? value.data() : "";
    if (const int rc =
            sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        rc != SQLITE_OK)
        fail(rc);
    return *this;
}

statement& statement::bind(int index, std::nullopt_t) {
    if (const int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) fail(rc);
    return *this;
}

bool statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(rc);
}

void statement::run() {
    while (step()) {
    }
}

void statement::reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

bool statement::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t statement::get_int64(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

std::int64_t statement::get_int64(int column, std::int64_t low, std::int64_t high) const {
    // The type first: it means nothing once a conversion has happened.
    if (sqlite3_column_type(stmt_, column) == SQLITE_INTEGER) {
        const std::int64_t value = sqlite3_column_int64(stmt_, column);
        if (value >= low && value <= high) return value;
    }
    sqlite3* db = sqlite3_db_handle(stmt_);
    const char* name = sqlite3_column_name(stmt_, column);
    std::string found = "NULL";
    if (!is_null(column)) {
        found = "'";
        for (const char c : get_text_view(column).substr(0, 32))
            found += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
        found += get_text_view(column).size() > 32 ? "...'" : "'";
    }
    std::string message = std::string("column '") + (name ? name : "?") + "' holds " + found +
                          ", not an integer from " + std::to_string(low) + " to " +
                          std::to_string(high);
    if (const char* sql = sqlite3_sql(stmt_)) message += std::string(" in: ") + sql;
    sqlite3_reset(stmt_);
    throw error(make_sqlite_error(SQLITE_MISMATCH), message, path_of(db));
}

std::string statement::get_text(int column) const { return std::string(get_text_view(column)); }

std::string_view statement::get_text_view(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (!text) return {};
    return std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::int64_t> statement::get_optional_int64(int column) const {
    if (is_null(column)) return std::nullopt;
    return get_int64(column);
}

std::optional<std::string> statement::get_optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return get_text(column);
}

void statement::fail(int code) const {
    sqlite3* db = sqlite3_db_handle(stmt_);
    // The connection's message describes the failure only while the
    // statement is not reset; take it first.
    std::string message = sqlite3_errmsg(db);
    const int extended = sqlite3_extended_errcode(db);
    const char* sql = sqlite3_sql(stmt_);
    if (sql) message += std::string(" in: ") + sql;
    sqlite3_reset(stmt_);
    throw error(make_sqlite_error(extended ? extended : code), message, path_of(db));
}

} // namespace casacal::store
