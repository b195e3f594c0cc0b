#include "daemon/rebuilder.hpp"
#include "daemon/memory.hpp"


#include <boost/asio/post.hpp>

namespace casacal::daemon {

namespace asio = boost::asio;

rebuilder::rebuilder(asio::io_context& io, std::filesystem::path main_file, std::string database,
                     done_handler on_done, clock now)
    : io_(io), main_file_(std::move(main_file)), database_(std::move(database)),
      on_done_(std::move(on_done)), now_(std::move(now)) {}

rebuilder::~rebuilder() {
    worker_.join();
    // The connection belongs to the worker; the worker is gone, so no other
    // thread can be using it.
    worker_db_.reset();
}

void rebuilder::request() {
    if (stopped_) return;
    if (running_) {
        pending_ = true;
        return;
    }
    start();
}

void rebuilder::start() {
    running_ = true;
    pending_ = false;
    const std::uint64_t generation = generation_ + 1;
    const std::int64_t now = now_();
    asio::post(worker_, [this, generation, now, previous = previous_] {
        build_outcome outcome = build_site(main_file_, worker_db_, now, generation,
                                           build_for::serving, {}, previous.get(), {}, database_);
        asio::post(io_,
                   [this, outcome = std::move(outcome)]() mutable { finish(std::move(outcome)); });
    });
}

void rebuilder::dispose(std::shared_ptr<const snapshot> old) {
    if (old) asio::post(worker_, [old = std::move(old)]() mutable { old.reset(); });
}

void rebuilder::finish(build_outcome outcome) {
    running_ = false;
    if (outcome.ok()) {
        generation_ = outcome.built->generation;
        previous_ = outcome.built;
    }
    on_done_(std::move(outcome));
    if (pending_) {
        start();
        return;
    }
    // The build's scratch memory (parse trees, renders) and, once swapped
    // out, the previous snapshot were freed to the allocator, which keeps
    // the pages; hand them back to the system off the io thread.
    asio::post(worker_, [] { release_free_memory(); });
}

} // namespace casacal::daemon
