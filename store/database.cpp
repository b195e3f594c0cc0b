#include "store/database.hpp"

#include "store/error.hpp"
#include "store/schema.hpp"
#include "store/transaction.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace casacal::store {

int database::schema_version() noexcept {
    return static_cast<int>(detail::migrations().size());
}

namespace {

/// Why SQLite could not open or write `path`, when its folder is the cause:
/// SQLite says "unable to open database file" for a folder that does not
/// exist and "attempt to write a readonly database" for one it cannot make
/// the write-ahead log in.
std::string folder_problem(const std::string& path, open_mode mode) {
    if (path.empty() || path == ":memory:") return {};
    const auto slash = path.rfind('/');
    const std::string folder = slash == std::string::npos ? "."
                               : slash == 0               ? "/"
                                                          : path.substr(0, slash);
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0) return " (its folder " + folder + " does not exist)";
    if (!S_ISDIR(st.st_mode)) return " (" + folder + " is a file, not a folder)";
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        return mode == open_mode::read_write
                   ? " (its folder " + folder +
                         " is not writable: the database, and its -wal and -shm files beside it, "
                         "are made there)"
                   : " (its folder " + folder +
                         " is not writable: reading a database in WAL mode takes its -shm file "
                         "there; read it as the user casacal serve runs as)";
    return {};
}

/// What a path that exists is when it is no regular file, for an error;
/// empty for a regular file or no file at all. SQLite would wait forever
/// opening a named pipe, and reads a device as it comes.
std::string not_a_file(const std::string& path) {
    struct stat st {};
    if (path.empty() || path == ":memory:" || ::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode))
        return {};
    if (S_ISDIR(st.st_mode)) return "it is a folder, not a file";
    if (S_ISFIFO(st.st_mode)) return "it is a named pipe, not a file";
    if (S_ISSOCK(st.st_mode)) return "it is a socket, not a file";
    return "it is a device, not a file";
}

} // namespace

database database::open(const std::string& path, open_mode mode) {
    const int flags = (mode == open_mode::read_only ? SQLITE_OPEN_READONLY
                                                    : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (const std::string why = not_a_file(path); !why.empty())
        throw error(make_sqlite_error(SQLITE_CANTOPEN), "cannot open database: " + why, path);
    sqlite3* handle = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
        sqlite3_close(handle);
        throw error(make_sqlite_error(rc),
                    "cannot open database: " + message + folder_problem(path, mode), path);
    }
    database db(handle, path);
    sqlite3_extended_result_codes(handle, 1);
    sqlite3_busy_timeout(handle, static_cast<int>(database::default_busy_timeout.count()));
    try {
        db.check_and_migrate(mode);
    } catch (const error& e) {
        const int primary = e.code().value() & 0xff;
        if (primary != SQLITE_READONLY && primary != SQLITE_CANTOPEN) throw;
        const std::string why = folder_problem(path, mode);
        if (why.empty()) throw;
        // e.what() is "PATH: MESSAGE" with the path the failing statement
        // saw (SQLite's absolute name of the file), not always `path`.
        const std::string text = e.what();
        throw error(e.code(), text.substr(std::min(text.size(), e.path().size() + 2)) + why, path);
    }
    return db;
}

database::database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

database::~database() {
    close();
}

database::database(database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)),
      durability_(other.durability_), busy_timeout_(other.busy_timeout_),
      cache_(std::move(other.cache_)), checkpoints_(std::move(other.checkpoints_)) {}

database& database::operator=(database&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        path_ = std::move(other.path_);
        durability_ = other.durability_;
        busy_timeout_ = other.busy_timeout_;
        cache_ = std::move(other.cache_);
        checkpoints_ = std::move(other.checkpoints_);
    }
    return *this;
}

void database::close() noexcept {
    checkpoints_.reset();
    cache_.clear(); // statements are finalized before their connection is closed
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
}

void database::fail(int code, const std::string& context) const {
    std::string message = sqlite3_errmsg(db_);
    if (!context.empty()) message += " in: " + context;
    throw error(make_sqlite_error(code), message, path_);
}

void database::exec(std::string_view sql) {
    const std::string text(sql);
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string what = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw error(make_sqlite_error(sqlite3_extended_errcode(db_)), what + " in: " + text, path_);
    }
}

statement& database::prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        it = cache_.emplace(std::string(sql), std::make_unique<statement>(db_, sql)).first;
    } else {
        it->second->reset();
    }
    return *it->second;
}

void database::checkpoint_in_background() {
    if (checkpoints_ || path_ == ":memory:" || path_.empty()) return;
    checkpoints_ = std::make_unique<checkpointer>(db_, path_);
}

void database::set_durability(durability d) {
    exec(d == durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    durability_ = d;
}

void database::set_busy_timeout(std::chrono::milliseconds wait) noexcept {
    busy_timeout_ = wait;
    sqlite3_busy_timeout(db_, static_cast<int>(wait.count()));
}

int database::user_version() {
    statement st(db_, "PRAGMA user_version");
    return st.step() ? static_cast<int>(st.get_int64(0)) : 0;
}

std::int64_t database::changes() const noexcept {
    return sqlite3_changes64(db_);
}

std::int64_t database::last_insert_rowid() const noexcept {
    return sqlite3_last_insert_rowid(db_);
}

// Order matters: nothing that writes (journal_mode=WAL rewrites the header)
// runs before the file is known to be ours and not from a newer version.
void database::check_and_migrate(open_mode mode) {
    int version = 0;
    int app_id = 0;
    bool has_tables = false;
    bool has_our_tables = false;
    try {
        version = user_version();
        statement id(db_, "PRAGMA application_id");
        app_id = id.step() ? static_cast<int>(id.get_int64(0)) : 0;
        statement tables(db_, "SELECT count(*) FROM sqlite_schema");
        has_tables = tables.step() && tables.get_int64(0) > 0;
        statement ours(db_, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                            "name IN ('revisions', 'outbox')");
        has_our_tables = ours.step() && ours.get_int64(0) == 2;
    } catch (const error& e) {
        if ((e.code().value() & 0xff) == SQLITE_NOTADB) {
            throw error(e.code(), "not an SQLite database (refusing to touch it)", path_);
        }
        throw;
    }
    const int known = schema_version();
    if (app_id != 0 && app_id != detail::application_id) {
        throw error(make_sqlite_error(SQLITE_MISMATCH),
                    "an SQLite database of another program (application_id " +
                        std::to_string(app_id) + "), refusing to touch it",
                    path_);
    }
    // casacal marks its files with its application_id from the first
    // version on; a file without it is taken for ours only when empty, or
    // when it holds casacal's first tables.
    if (app_id == 0 && has_tables && (version == 0 || !has_our_tables)) {
        throw error(make_sqlite_error(SQLITE_MISMATCH),
                    "an SQLite database that casacal did not create, refusing to touch it", path_);
    }
    if (version > known) {
        throw error(make_sqlite_error(SQLITE_MISMATCH),
                    "schema version " + std::to_string(version) +
                        " is newer than this casacal knows (" + std::to_string(known) +
                        "); run a newer casacal or restore a backup",
                    path_);
    }

    exec("PRAGMA foreign_keys=ON");
    // A daemon keeps its connections open: 512 KiB of page cache each
    // instead of SQLite's 2 MiB. The pages stay in the kernel's cache, and
    // no statement here reads more than the revisions index at once.
    exec("PRAGMA cache_size=-512");
    if (mode == open_mode::read_only) {
        if (version < known) {
            throw error(make_sqlite_error(SQLITE_MISMATCH),
                        "schema version " + std::to_string(version) + " is older than " +
                            std::to_string(known) + "; start `casacal serve` once to upgrade it",
                        path_);
        }
        return;
    }

    if (path_ != ":memory:" && !path_.empty()) exec("PRAGMA journal_mode=WAL");
    set_durability(durability::normal);

    if (version >= known) return;
    // Every step in one transaction: a step that fails (a file that is not
    // casacal's after all) leaves the file as it was.
    const auto steps = detail::migrations();
    transaction tx(*this);
    // Another process may have migrated between our read and BEGIN IMMEDIATE.
    version = user_version();
    if (version >= known) return;
    for (; version < known; ++version)
        exec(steps[static_cast<std::size_t>(version)]);
    exec("PRAGMA application_id=" + std::to_string(detail::application_id));
    exec("PRAGMA user_version=" + std::to_string(known));
    tx.commit();
}

} // namespace casacal::store
