#pragma once
// Bytes in an anonymous memory file (memfd), sealed and mapped read-only:
// read like a string, and sent with sendfile(2), which gives the socket the
// file's pages instead of copying them from memory (docs/performance.md).

#include <cstddef>
#include <optional>
#include <string_view>

namespace casacal::daemon {

class memory_file {
  public:
    /// A sealed memory file holding `bytes`, or nullopt when the system
    /// gives none (no memfd, out of file descriptors): keep the bytes in
    /// memory then.
    static std::optional<memory_file> make(std::string_view bytes) noexcept;

    memory_file(memory_file&& other) noexcept;
    memory_file& operator=(memory_file&& other) noexcept;
    memory_file(const memory_file&) = delete;
    memory_file& operator=(const memory_file&) = delete;
    ~memory_file();

    std::string_view bytes() const { return {data_, size_}; }
    /// For sendfile: read-only, the same bytes for as long as this lives.
    int fd() const { return fd_; }

  private:
    memory_file(int fd, const char* data, std::size_t size) : fd_(fd), data_(data), size_(size) {}
    void release() noexcept;

    int fd_ = -1;
    const char* data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace casacal::daemon
