#include "calendar/calendar.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace casacal::calendar {

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    // Fetched once: OpenSSL 3 looks an implicit EVP_sha256() up again, under
    // a lock, on every call, which costs more than hashing a VEVENT.
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!sha256 || EVP_Digest(bytes.data(), bytes.size(), digest, &size, sha256, nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xF];
    }
    return out;
}

} // namespace casacal::calendar
