#pragma once
// The SQLite connection of casacal: opening, schema migrations, a cache of
// prepared statements.

#include "store/checkpointer.hpp"
#include "store/statement.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

struct sqlite3;

namespace casacal::store {

enum class open_mode {
    read_write, ///< create the file if missing and migrate it (the daemon)
    read_only,  ///< an existing database at the current schema (CLI listings)
};

/// How hard a commit waits for the disk.
enum class durability {
    normal, ///< PRAGMA synchronous=NORMAL: survives a crash; a power loss may undo the last commits
    full,   ///< PRAGMA synchronous=FULL: a commit that returned survives a power loss
};

/// One connection to the database file. Non-copyable, movable; a moved-from
/// database may only be destroyed or assigned to.
///
/// Thread affinity: the thread that opened it, and only that one (the
/// daemon's io thread, or the CLI's main thread). Statements returned by
/// prepare() live as long as the database.
///
/// Every failure throws store::error.
class database {
  public:
    /// Opens `path` and brings its schema up to date (read_write), or checks
    /// that it is current (read_only). Sets WAL, synchronous=NORMAL,
    /// foreign_keys=ON and a 5000 ms busy timeout. Refuses, without writing a
    /// byte, a file that is not an SQLite database, an SQLite database of
    /// another program, and a database whose schema is newer than this
    /// program knows. ":memory:" opens a private memory database.
    static database open(const std::string& path, open_mode mode = open_mode::read_write);

    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;
    database(database&& other) noexcept;
    database& operator=(database&& other) noexcept;

    /// Runs one or more statements that return no rows.
    void exec(std::string_view sql);

    /// A compiled statement for `sql` from the cache, reset and with no
    /// bindings. The reference stays valid as long as the database; a second
    /// prepare() of the same text returns the same statement, so finish with
    /// one before preparing its text again.
    statement& prepare(std::string_view sql);

    /// Sets PRAGMA synchronous for the following commits (not inside a transaction).
    void set_durability(durability d);
    /// What the last set_durability set.
    durability current_durability() const noexcept { return durability_; }

    /// How long a statement waits for another connection's write lock
    /// before failing with "database is locked": 5 s unless changed.
    void set_busy_timeout(std::chrono::milliseconds wait) noexcept;
    /// What the last set_busy_timeout set.
    std::chrono::milliseconds busy_timeout() const noexcept { return busy_timeout_; }
    static constexpr std::chrono::milliseconds default_busy_timeout{5000};

    /// Hands the checkpoints of this connection to a thread of its own
    /// (store::checkpointer), for the daemon's connection; once is enough.
    /// Nothing for a memory database.
    void checkpoint_in_background();

    /// The schema version stored in the file (PRAGMA user_version).
    int user_version();

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    std::int64_t changes() const noexcept;

    /// The rowid of the last row inserted on this connection.
    std::int64_t last_insert_rowid() const noexcept;

    const std::string& path() const noexcept { return path_; }
    sqlite3* handle() const noexcept { return db_; }

    /// The schema version this program writes and reads.
    static int schema_version() noexcept;

  private:
    database(sqlite3* db, std::string path);
    [[noreturn]] void fail(int code, const std::string& context) const;
    void check_and_migrate(open_mode mode);
    void close() noexcept;

    sqlite3* db_ = nullptr;
    std::string path_;
    durability durability_ = durability::normal;
    std::chrono::milliseconds busy_timeout_ = default_busy_timeout;
    std::map<std::string, std::unique_ptr<statement>, std::less<>> cache_;
    std::unique_ptr<checkpointer> checkpoints_; ///< destroyed before the connection closes
};

} // namespace casacal::store
