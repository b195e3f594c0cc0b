#include "calendar/calendar.hpp"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <sys/random.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace casacal::calendar {

namespace {

/// Fetched once: OpenSSL 3 looks an implicit EVP_sha256() up again, under a
/// lock, on every call, which costs more than hashing a VEVENT.
const EVP_MD* sha256_method() {
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!sha256) throw std::runtime_error("SHA-256 is not available");
    return sha256;
}

std::string hex_of(const unsigned char* digest, unsigned int size) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xF];
    }
    return out;
}

} // namespace

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, sha256_method(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    return hex_of(digest, size);
}

std::string random_hex(std::size_t count) {
    std::string bytes(count, '\0');
    for (std::size_t got = 0; got < count;) {
        const auto n = ::getrandom(bytes.data() + got, count - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        got += static_cast<std::size_t>(n);
    }
    return hex_of(reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<unsigned int>(count));
}

std::string hmac_sha256_hex(std::string_view key, std::string_view bytes) {
    // HMAC() looks both HMAC and SHA-256 up again on every call, which costs
    // more than the hash (a reminder's feed link is one call). Each thread
    // keeps the key's HMAC state once set up, and each call starts from a
    // copy of it.
    struct keyed_state {
        std::string key;
        EVP_MAC_CTX* ctx = nullptr;
        ~keyed_state() { EVP_MAC_CTX_free(ctx); }
    };
    thread_local keyed_state state;
    if (!state.ctx || state.key != key) {
        static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        char digest_name[] = "SHA256";
        const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                                     OSSL_PARAM_construct_end()};
        EVP_MAC_CTX* ctx = hmac ? EVP_MAC_CTX_new(hmac) : nullptr;
        const auto* k = reinterpret_cast<const unsigned char*>(key.empty() ? "" : key.data());
        if (!ctx || EVP_MAC_init(ctx, k, key.size(), params) != 1) {
            EVP_MAC_CTX_free(ctx);
            throw std::runtime_error("HMAC-SHA-256 is not available");
        }
        EVP_MAC_CTX_free(state.ctx);
        state.ctx = ctx;
        state.key = key;
    }
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(state.ctx),
                                                                  &EVP_MAC_CTX_free);
    unsigned char digest[EVP_MAX_MD_SIZE];
    std::size_t size = 0;
    if (!ctx ||
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                       bytes.size()) != 1 ||
        EVP_MAC_final(ctx.get(), digest, &size, sizeof digest) != 1)
        throw std::runtime_error("HMAC-SHA-256 failed");
    return hex_of(digest, static_cast<unsigned int>(size));
}

sha256_stream::sha256_stream() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, sha256_method(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx_);
        throw std::runtime_error("SHA-256 failed");
    }
}

sha256_stream::~sha256_stream() {
    EVP_MD_CTX_free(ctx_);
}

void sha256_stream::update(std::string_view bytes) {
    if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1)
        throw std::runtime_error("SHA-256 failed");
}

std::string sha256_stream::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_, digest, &size) != 1)
        throw std::runtime_error("SHA-256 failed");
    return hex_of(digest, size);
}

} // namespace casacal::calendar
