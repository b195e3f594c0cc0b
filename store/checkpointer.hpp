#pragma once
// Copies the write-ahead log back into the database file on a thread of its
// own, so that the connection that commits never waits for it.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace casacal::store {

/// Takes over the checkpoints of one connection (`main`, in WAL mode):
/// SQLite's automatic checkpoint, which runs inside the commit that grows
/// the log past 1000 pages, is turned off, and that commit only wakes a
/// thread that checkpoints through a connection of its own (PASSIVE: it
/// never blocks readers or the writer). A commit of 100,000 planned
/// reminders returns half a second sooner, and the io thread goes on
/// serving meanwhile (docs/performance.md, "Midday").
///
/// Destroy it before closing `main`; the destructor waits for a checkpoint
/// under way and gives `main` its automatic checkpoint back.
class checkpointer {
  public:
    /// Throws store::error when the second connection cannot be opened.
    checkpointer(sqlite3* main, const std::string& path);
    ~checkpointer();
    checkpointer(const checkpointer&) = delete;
    checkpointer& operator=(const checkpointer&) = delete;

    /// The log size, in pages, from which a commit wakes the thread.
    static constexpr int wake_at_pages = 1000;

  private:
    static int on_commit(void* self, sqlite3* db, const char* name, int pages);
    void run();

    sqlite3* main_;
    sqlite3* own_ = nullptr;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool due_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace casacal::store
