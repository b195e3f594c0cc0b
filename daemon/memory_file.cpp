#include "daemon/memory_file.hpp"

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace casacal::daemon {

std::optional<memory_file> memory_file::make(std::string_view bytes) noexcept {
    if (bytes.empty()) return std::nullopt; // nothing to map
    const int fd = ::memfd_create("casacal-feed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return std::nullopt;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            return std::nullopt;
        }
        done += static_cast<std::size_t>(n);
    }
    // Sealed: nobody, this process included, can change what a response
    // in progress is sending.
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    void* data = ::mmap(nullptr, bytes.size(), PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
        ::close(fd);
        return std::nullopt;
    }
    return memory_file(fd, static_cast<const char*>(data), bytes.size());
}

memory_file::memory_file(memory_file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

memory_file& memory_file::operator=(memory_file&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::exchange(other.fd_, -1);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

memory_file::~memory_file() {
    release();
}

void memory_file::release() noexcept {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    data_ = nullptr;
    size_ = 0;
}

} // namespace casacal::daemon
