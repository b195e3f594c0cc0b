#pragma once
// A write transaction that rolls back unless committed.

#include "store/database.hpp"

namespace casacal::store {

/// BEGIN IMMEDIATE on construction (the write lock is taken at once, so
/// busy_timeout applies here rather than at the first write); ROLLBACK on
/// destruction unless commit() ran. With durability::full, the commit is made
/// with PRAGMA synchronous=FULL and the database goes back to NORMAL after.
/// Begun while another is open on the same database, it joins that one: no
/// BEGIN and no COMMIT of its own, the outer transaction decides (so several
/// store operations can share one commit). A joined transaction that asks
/// for durability::full needs an outer one that is full too.
/// Scoped to one thread, like its database.
class transaction {
  public:
    explicit transaction(database& db, durability d = durability::normal);
    ~transaction();

    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    transaction(transaction&&) = delete;
    transaction& operator=(transaction&&) = delete;

    /// COMMIT. Throws store::error on failure; the destructor then rolls back.
    void commit();

  private:
    database& db_;
    durability durability_;
    bool done_ = false;
    bool joined_ = false; ///< part of an outer transaction
};

} // namespace casacal::store
