#include "notify/curl_error.hpp"

#include <string>

namespace casacal::notify {
namespace {

class easy_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "curl"; }
    std::string message(int value) const override {
        return curl_easy_strerror(static_cast<CURLcode>(value));
    }
    std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<CURLcode>(value)) {
        case CURLE_OPERATION_TIMEDOUT:
            return std::errc::timed_out;
        case CURLE_COULDNT_CONNECT:
            return std::errc::connection_refused;
        case CURLE_OUT_OF_MEMORY:
            return std::errc::not_enough_memory;
        default:
            return {value, *this};
        }
    }
};

class multi_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "curl-multi"; }
    std::string message(int value) const override {
        return curl_multi_strerror(static_cast<CURLMcode>(value));
    }
    std::error_condition default_error_condition(int value) const noexcept override {
        if (static_cast<CURLMcode>(value) == CURLM_OUT_OF_MEMORY)
            return std::errc::not_enough_memory;
        return {value, *this};
    }
};

} // namespace

const std::error_category& curl_easy_category() noexcept {
    static const easy_category instance;
    return instance;
}

const std::error_category& curl_multi_category() noexcept {
    static const multi_category instance;
    return instance;
}

std::error_code make_error_code(CURLcode code) noexcept {
    if (code == CURLE_OK)
        return {};
    return {static_cast<int>(code), curl_easy_category()};
}

std::error_code make_error_code(CURLMcode code) noexcept {
    if (code == CURLM_OK)
        return {};
    return {static_cast<int>(code), curl_multi_category()};
}

} // namespace casacal::notify
