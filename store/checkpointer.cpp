#include "store/checkpointer.hpp"

#include "store/error.hpp"

#include <sqlite3.h>

namespace casacal::store {

checkpointer::checkpointer(sqlite3* main, const std::string& path) : main_(main) {
    const auto fail = [&](int rc) {
        std::string message = own_ ? sqlite3_errmsg(own_) : sqlite3_errstr(rc);
        sqlite3_close(own_);
        throw error(make_sqlite_error(rc), "cannot open database for checkpoints: " + message,
                    path);
    };
    if (const int rc = sqlite3_open_v2(path.c_str(), &own_,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
        rc != SQLITE_OK)
        fail(rc);
    // A connection finds the log when it first reads; until then a
    // checkpoint through it does nothing.
    if (const int rc = sqlite3_exec(own_, "PRAGMA schema_version", nullptr, nullptr, nullptr);
        rc != SQLITE_OK)
        fail(rc);
    thread_ = std::thread([this] { run(); });
    sqlite3_wal_hook(main_, &checkpointer::on_commit, this); // also turns the automatic one off
}

checkpointer::~checkpointer() {
    sqlite3_wal_autocheckpoint(main_, wake_at_pages); // takes the hook back
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    sqlite3_close(own_);
}

int checkpointer::on_commit(void* self, sqlite3*, const char*, int pages) {
    if (pages >= wake_at_pages) {
        auto* c = static_cast<checkpointer*>(self);
        {
            std::lock_guard lock(c->mutex_);
            c->due_ = true;
        }
        c->wake_.notify_one();
    }
    return SQLITE_OK;
}

void checkpointer::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return due_ || stopping_; });
        if (stopping_) return;
        due_ = false;
        lock.unlock();
        // A failure (another checkpoint under way, a full disk) leaves the
        // frames in the log; the next commit past the mark tries again.
        sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        lock.lock();
    }
}

} // namespace casacal::store
