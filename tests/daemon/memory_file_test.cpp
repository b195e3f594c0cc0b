#include "daemon/memory_file.hpp"
#include "daemon/snapshot.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <unistd.h>

using namespace casacal::daemon;

namespace {
std::string read_all(int fd, std::size_t size) {
    std::string out(size + 1, '\0');
    const ssize_t n = ::pread(fd, out.data(), out.size(), 0);
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}
} // namespace

TEST_CASE("a memory file holds its bytes, mapped and by descriptor, and cannot change",
          "[daemon]") {
    const std::string bytes = "BEGIN:VCALENDAR\r\nX-NAME:Casapéro 🎉\r\nEND:VCALENDAR\r\n";
    auto file = memory_file::make(bytes);
    REQUIRE(file);
    CHECK(file->bytes() == bytes);
    CHECK(read_all(file->fd(), bytes.size()) == bytes);
    // Sealed: neither written, nor grown, nor shrunk.
    CHECK(::pwrite(file->fd(), "X", 1, 0) == -1);
    CHECK(::ftruncate(file->fd(), 1) == -1);
    CHECK(::fcntl(file->fd(), F_GET_SEALS) & F_SEAL_WRITE);
    CHECK(read_all(file->fd(), bytes.size()) == bytes);

    const int fd = file->fd();
    memory_file moved = std::move(*file);
    file.reset();
    CHECK(moved.fd() == fd);
    CHECK(moved.bytes() == bytes);
    CHECK_FALSE(memory_file::make(""));
}

TEST_CASE("a feed from k_file_from bytes on is kept in a memory file", "[daemon]") {
    const std::string large(feed_bytes::k_file_from, 'x');
    const std::string small(feed_bytes::k_file_from - 1, 'x');

    const feed_bytes given(large);
    CHECK(given.get() == large);
    REQUIRE(given.file() >= 0);
    CHECK(read_all(given.file(), large.size()) == large);

    CHECK(feed_bytes(small).file() == -1);
    CHECK(feed_bytes(small).get() == small);
    // Export builds write their feeds once: no file.
    CHECK(feed_bytes(large, false).file() == -1);

    // Produced on first use, then in a file; moved, it keeps it.
    int made = 0;
    feed_bytes later(large.size(), [&] {
        ++made;
        return large;
    });
    CHECK_FALSE(later.ready());
    CHECK(later.size() == large.size());
    const int fd = later.file();
    CHECK(fd >= 0);
    CHECK(made == 1);
    feed_bytes moved = std::move(later);
    CHECK(moved.file() == fd);
    CHECK(moved.get() == large);
    CHECK(made == 1);
}
