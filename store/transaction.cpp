#include "store/transaction.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace casacal::store {

transaction::transaction(database& db, durability d) : db_(db), durability_(d) {
    if (!sqlite3_get_autocommit(db_.handle())) {
        if (d == durability::full && db_.current_durability() != durability::full)
            throw std::logic_error("a full-durability transaction cannot join a normal one");
        joined_ = true;
        return;
    }
    // synchronous cannot be relied on to change inside a transaction: set it first.
    if (durability_ == durability::full) db_.set_durability(durability::full);
    try {
        db_.exec("BEGIN IMMEDIATE");
    } catch (...) {
        if (durability_ == durability::full) db_.set_durability(durability::normal);
        throw;
    }
}

transaction::~transaction() {
    if (joined_) return;
    if (!done_) {
        // A failed COMMIT may already have ended the transaction.
        if (!sqlite3_get_autocommit(db_.handle())) {
            sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        }
    }
    if (durability_ == durability::full) {
        try {
            db_.set_durability(durability::normal);
        } catch (...) { // a destructor does not throw; the next full commit sets it again
        }
    }
}

void transaction::commit() {
    if (joined_) {
        done_ = true;
        return;
    }
    db_.exec("COMMIT");
    done_ = true;
}

} // namespace casacal::store
