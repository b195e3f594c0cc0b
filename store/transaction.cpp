#include "store/transaction.hpp"

#include <sqlite3.h>

namespace casacal::store {

transaction::transaction(database& db, durability d) : db_(db), durability_(d) {
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
    db_.exec("COMMIT");
    done_ = true;
}

} // namespace casacal::store
