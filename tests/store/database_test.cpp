#include "store/database.hpp"
#include "store/error.hpp"
#include "store/schema.hpp"
#include "store/transaction.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

using namespace casacal::store;
using casacal::store::testing::read_bytes;
using casacal::store::testing::temp_dir;
using casacal::store::testing::write_bytes;

namespace {

std::int64_t scalar(database& db, const std::string& sql) {
    auto& st = db.prepare(sql);
    REQUIRE(st.step());
    const auto value = st.get_int64(0);
    st.reset();
    return value;
}

std::string text(database& db, const std::string& sql) {
    auto& st = db.prepare(sql);
    REQUIRE(st.step());
    auto value = st.get_text(0);
    st.reset();
    return value;
}

/// A file as casacal left it at schema `version`, with `rows` (SQL) added.
void write_at_schema(const std::string& path, std::size_t version, const std::string& rows) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    std::string sql;
    for (std::size_t i = 0; i < version; ++i)
        sql += std::string(casacal::store::detail::migrations()[i]);
    sql += rows + "PRAGMA application_id=" +
           std::to_string(casacal::store::detail::application_id) +
           ";PRAGMA user_version=" + std::to_string(version) + ";";
    CHECK(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
}

std::string open_error(const std::string& path, open_mode mode = open_mode::read_write) {
    try {
        database::open(path, mode);
    } catch (const error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("a new file is created at the current schema, in WAL mode", "[store]") {
    temp_dir dir;
    auto db = database::open(dir.file("casacal.db"));
    CHECK(db.user_version() == database::schema_version());
    CHECK(database::schema_version() == 7);
    CHECK(text(db, "PRAGMA journal_mode") == "wal");
    CHECK(scalar(db, "PRAGMA synchronous") == 1); // NORMAL
    CHECK(scalar(db, "PRAGMA foreign_keys") == 1);
    CHECK(scalar(db, "PRAGMA busy_timeout") == 5000);
    CHECK(scalar(db, "PRAGMA application_id") == 0x4343414c);
    CHECK(scalar(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                     "('revisions', 'feed_states', 'outbox', 'subscribers', 'unsubscribed', "
                     "'tokens', 'secrets', 'unsubscribe_links', 'subscription_changes')") == 9);
    CHECK(scalar(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
                     "('outbox_by_state', 'outbox_by_occurrence')") == 2);
}

TEST_CASE("reopening keeps the data and does not migrate again", "[store]") {
    temp_dir dir;
    const auto path = dir.file("casacal.db");
    {
        auto db = database::open(path);
        db.exec("INSERT INTO feed_states (path, hash, modified) VALUES ('/calendar.ics', 'h', 42)");
    }
    auto db = database::open(path);
    CHECK(db.user_version() == 7);
    CHECK(scalar(db, "SELECT modified FROM feed_states WHERE path = '/calendar.ics'") == 42);
}

TEST_CASE("a schema 3 file moves to 7 and keeps the links it already sent", "[store]") {
    temp_dir dir;
    const auto path = dir.file("casacal.db");
    // schema 3, with one unsubscribe token
    write_at_schema(path, 3,
                    "INSERT INTO tokens (hash, email, purpose, created) "
                    "VALUES ('old-hash', 'camille@example.org', 'unsubscribe', 1000);");
    auto db = database::open(path);
    CHECK(db.user_version() == 7);
    CHECK(scalar(db, "SELECT count(*) FROM tokens WHERE hash = 'old-hash'") == 1);
    CHECK(scalar(db, "SELECT count(*) FROM unsubscribe_links") == 0);
    CHECK(scalar(db, "SELECT count(*) FROM pragma_table_info('outbox') WHERE name = 'schedule' "
                     "AND dflt_value = \"''\"") == 1);
}

TEST_CASE("a schema 6 outbox moves to 7 with its rows, ids and checks", "[store]") {
    temp_dir dir;
    const auto path = dir.file("casacal.db");
    write_at_schema(
        path, 6,
        "INSERT INTO outbox (id, key, kind, event_id, uid, occurrence, occurrence_start, offset, "
        "recipient, recipient_name, locale, state, due, next_attempt, attempts, message_id, "
        "date_header, sent_at, payload, created, updated, vanished, schedule) "
        "VALUES (41, 'k', 'reminder', 'e', 'u', 'o', 5, 'PT1H', 'Camille@Example.org', 'Camille', "
        "'fr', 'sent', 4, 4, 1, 'm@x', 4, 4, '{}', 1, 2, 3, '1@5;');");
    auto db = database::open(path);
    CHECK(db.user_version() == 7);
    CHECK(text(db, "SELECT id || key || kind || recipient || state || message_id || vanished || "
                   "schedule FROM outbox") == "41kreminderCamille@Example.orgsentm@x31@5;");
    CHECK(scalar(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
                     "('outbox_by_state', 'outbox_by_occurrence', 'outbox_by_recipient')") == 2);
    // The checks still refuse what no casacal writes.
    CHECK_THROWS(db.exec("UPDATE outbox SET state = 'lost'"));
    CHECK_THROWS(db.exec("UPDATE outbox SET kind = 'spam'"));
    CHECK_NOTHROW(db.exec("UPDATE outbox SET state = 'cancelled', kind = 'update'"));
}

TEST_CASE("a database from a newer casacal is refused and left untouched", "[store]") {
    temp_dir dir;
    const auto path = dir.file("casacal.db");
    {
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
        REQUIRE(sqlite3_exec(raw,
                             "PRAGMA application_id=1128481100; PRAGMA user_version=8; "
                             "CREATE TABLE future (x)",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(raw);
    }
    const auto before = read_bytes(path);
    CHECK(open_error(path) == path + ": schema version 8 is newer than this casacal knows (7); "
                                     "run a newer casacal or restore a backup");
    CHECK(open_error(path, open_mode::read_only) == open_error(path));
    CHECK(read_bytes(path) == before);
}

TEST_CASE("a file that is not a database is refused, named and left untouched", "[store]") {
    temp_dir dir;
    const auto path = dir.file("notes.txt");
    const std::string garbage(4096, 'x');
    write_bytes(path, garbage);

    try {
        database::open(path);
        FAIL("opened a garbage file");
    } catch (const error& e) {
        CHECK(std::string(e.what()) == path + ": not an SQLite database (refusing to touch it)");
        CHECK(e.path() == path);
        CHECK(e.code() == make_sqlite_error(SQLITE_NOTADB));
        CHECK(e.code().category().name() == std::string("sqlite"));
        CHECK(e.code().message() == "file is not a database");
    }
    CHECK(read_bytes(path) == garbage);
}

TEST_CASE("an SQLite database of another program is refused", "[store]") {
    temp_dir dir;
    const auto path = dir.file("other.db");
    {
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
        REQUIRE(sqlite3_exec(raw, "CREATE TABLE contacts (name TEXT)", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
        sqlite3_close(raw);
    }
    const auto before = read_bytes(path);
    CHECK(open_error(path) ==
          path + ": an SQLite database that casacal did not create, refusing to touch it");
    CHECK(read_bytes(path) == before);
}

TEST_CASE("a file of another program with a user_version is refused, and a failed upgrade "
          "changes nothing",
          "[store]") {
    temp_dir dir;
    const auto path = dir.file("other.db");
    const auto made = [&](const char* sql) {
        std::filesystem::remove(path);
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
        REQUIRE(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(raw);
        return read_bytes(path);
    };
    // It was half upgraded: user_version 4 and a new table, then stopped.
    auto before = made("CREATE TABLE notes (body TEXT); PRAGMA user_version=3;");
    CHECK(open_error(path) ==
          path + ": an SQLite database that casacal did not create, refusing to touch it");
    CHECK(read_bytes(path) == before);

    // Marked as casacal's, but a step cannot apply: every step is undone.
    before =
        made(("CREATE TABLE notes (body TEXT); PRAGMA application_id=" +
              std::to_string(casacal::store::detail::application_id) + "; PRAGMA user_version=3;")
                 .c_str());
    CHECK_THROWS_AS(database::open(path), error);
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw,
                               "SELECT (SELECT user_version FROM pragma_user_version), "
                               "(SELECT count(*) FROM sqlite_schema)",
                               -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == 3);
    CHECK(sqlite3_column_int(st, 1) == 1);
    sqlite3_finalize(st);
    sqlite3_close(raw);
}

TEST_CASE("a database in a folder that does not exist says so", "[store]") {
    temp_dir dir;
    const auto path = dir.file("missing/casacal.db");
    const auto folder = path.substr(0, path.rfind('/'));
    CHECK(open_error(path) == path +
                                  ": cannot open database: unable to open database file (its "
                                  "folder " +
                                  folder + " does not exist)");
}

TEST_CASE("a database under a file says that it is a file", "[store]") {
    temp_dir dir;
    const auto file = dir.file("notes.txt");
    { std::ofstream(file) << "x"; }
    CHECK(open_error(file + "/casacal.db") ==
          file + "/casacal.db: cannot open database: unable to open database file (" + file +
              " is a file, not a folder)");
}

TEST_CASE("a named pipe or a folder at the database's path is refused at once", "[store]") {
    temp_dir dir;
    const auto pipe = dir.file("casacal.db");
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0); // SQLite would wait for a writer forever
    CHECK(open_error(pipe) == pipe + ": cannot open database: it is a named pipe, not a file");
    CHECK_THROWS_AS(database::open(pipe, open_mode::read_only), error);
    const auto folder = dir.file("folder.db");
    std::filesystem::create_directory(folder);
    CHECK(open_error(folder) == folder + ": cannot open database: it is a folder, not a file");
}

TEST_CASE("read-only opening needs an existing, current database", "[store]") {
    temp_dir dir;
    const auto path = dir.file("casacal.db");

    SECTION("a missing file is an error naming it, and is not created") {
        CHECK(open_error(path, open_mode::read_only) ==
              path + ": cannot open database: unable to open database file");
        CHECK_FALSE(std::filesystem::exists(path));
    }
    SECTION("a current database can be read but not written") {
        database::open(path).exec(
            "INSERT INTO feed_states (path, hash, modified) VALUES ('/a.ics', 'h', 1)");
        auto db = database::open(path, open_mode::read_only);
        CHECK(scalar(db, "SELECT count(*) FROM feed_states") == 1);
        CHECK_THROWS_AS(db.exec("DELETE FROM feed_states"), error);
    }
}

TEST_CASE("a transaction rolls back unless committed", "[store]") {
    auto db = database::open(":memory:");
    const auto count = [&] { return scalar(db, "SELECT count(*) FROM feed_states"); };

    SECTION("destroyed without commit") {
        {
            transaction tx(db);
            db.exec("INSERT INTO feed_states (path, hash, modified) VALUES ('/a.ics', 'h', 1)");
            CHECK(count() == 1);
        }
        CHECK(count() == 0);
    }
    SECTION("an exception unwinds through it") {
        try {
            transaction tx(db);
            db.exec("INSERT INTO feed_states (path, hash, modified) VALUES ('/a.ics', 'h', 1)");
            db.exec("INSERT INTO feed_states (path, hash, modified) VALUES ('/a.ics', 'h', 2)");
            tx.commit();
        } catch (const error& e) {
            CHECK(e.code() == make_sqlite_error(SQLITE_CONSTRAINT_PRIMARYKEY));
        }
        CHECK(count() == 0);
        transaction again(db); // the connection is usable again
        again.commit();
    }
    SECTION("committed") {
        {
            transaction tx(db);
            db.exec("INSERT INTO feed_states (path, hash, modified) VALUES ('/a.ics', 'h', 1)");
            tx.commit();
        }
        CHECK(count() == 1);
    }
}

TEST_CASE("a full-durability transaction commits with synchronous=FULL, then back to NORMAL",
          "[store]") {
    temp_dir dir;
    auto db = database::open(dir.file("casacal.db"));
    {
        transaction tx(db, durability::full);
        CHECK(scalar(db, "PRAGMA synchronous") == 2);
        tx.commit();
    }
    CHECK(scalar(db, "PRAGMA synchronous") == 1);
    { transaction tx(db, durability::full); }
    CHECK(scalar(db, "PRAGMA synchronous") == 1);
}

TEST_CASE("a transaction begun inside another joins it: the outer one commits or rolls back",
          "[store]") {
    temp_dir dir;
    auto db = database::open(dir.file("casacal.db"));
    const auto count = [&] { return scalar(db, "SELECT count(*) FROM feed_states"); };
    const auto insert = [&](const char* path) {
        transaction inner(db);
        db.prepare("INSERT INTO feed_states (path, hash, modified) VALUES (?1, 'h', 1)")
            .bind(1, path)
            .run();
        inner.commit();
    };
    {
        transaction outer(db);
        insert("/a.ics");
        insert("/b.ics");
        CHECK(count() == 2);
    } // not committed: both inner commits go with it
    CHECK(count() == 0);
    {
        transaction outer(db, durability::full);
        insert("/a.ics");
        { transaction full_inner(db, durability::full); } // joins a full one
        outer.commit();
    }
    CHECK(count() == 1);
    CHECK(scalar(db, "PRAGMA synchronous") == 1);
    {
        transaction outer(db);
        CHECK_THROWS_AS(transaction(db, durability::full), std::logic_error);
    }
}

TEST_CASE("statements bind and read integers, text, NULL and optionals", "[store]") {
    auto db = database::open(":memory:");
    auto& st = db.prepare("SELECT ?1, ?2, ?3, ?4, ?5, ?6");
    st.bind(1, std::int64_t{1} << 40)
        .bind(2, "Casapéro")
        .bind(3, std::nullopt)
        .bind(4, std::optional<std::int64_t>{})
        .bind(5, std::optional<std::string>{"x"})
        .bind(6, std::string_view{});
    REQUIRE(st.step());
    CHECK(st.get_int64(0) == std::int64_t{1} << 40);
    CHECK(st.get_text(1) == "Casapéro");
    CHECK(st.is_null(2));
    CHECK(st.get_optional_int64(3) == std::nullopt);
    CHECK(st.get_optional_text(4) == std::optional<std::string>{"x"});
    CHECK(st.get_optional_text(5) == std::optional<std::string>{""});
    CHECK_FALSE(st.step());

    SECTION("prepare returns the cached statement, reset and unbound") {
        auto& again = db.prepare("SELECT ?1, ?2, ?3, ?4, ?5, ?6");
        CHECK(&again == &st);
        REQUIRE(again.step());
        CHECK(again.is_null(0));
    }
}

TEST_CASE("a bad statement throws an error naming SQLite's message and the SQL", "[store]") {
    auto db = database::open(":memory:");
    try {
        db.prepare("SELECT nope FROM outbox");
        FAIL("prepared");
    } catch (const error& e) {
        CHECK(std::string(e.what()) ==
              "(memory database): no such column: nope in: SELECT nope FROM outbox");
    }
}

TEST_CASE("a database can be moved", "[store]") {
    auto a = database::open(":memory:");
    a.exec("INSERT INTO feed_states (path, hash, modified) VALUES ('/a.ics', 'h', 1)");
    a.prepare("SELECT count(*) FROM feed_states");
    database b = std::move(a);
    CHECK(scalar(b, "SELECT count(*) FROM feed_states") == 1);
    CHECK(b.path() == ":memory:");
}

TEST_CASE("checkpoints in the background copy a large commit into the file", "[store]") {
    temp_dir dir;
    const auto path = dir.file("casacal.db");
    auto opened = database::open(path);
    opened.checkpoint_in_background();
    database db = std::move(opened); // the thread follows the connection
    db.exec("CREATE TABLE big (b BLOB)");
    const auto file_size = [&] { return std::filesystem::file_size(path); };
    const auto before = file_size();
    {
        transaction tx(db);
        // 3000 pages of 4 KiB: past the 1000 that wake the thread.
        db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
                "INSERT INTO big SELECT randomblob(4000) FROM n");
        tx.commit();
    }
    // The commit left the pages in the log; the thread copies them.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (file_size() < before + 3000 * 4000 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(file_size() >= before + 3000 * 4000);
    CHECK(scalar(db, "SELECT count(*) FROM big") == 3000);
}
