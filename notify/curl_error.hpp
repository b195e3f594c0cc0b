#pragma once
// libcurl's result codes as std::error_code values, so curl failures travel
// through the same channels as Asio's and ours.

#include <curl/curl.h>

#include <system_error>

namespace casacal::notify {

/// The category of CURLcode values (easy interface); messages come from
/// curl_easy_strerror. Thread-safe, lives for the whole program.
const std::error_category& curl_easy_category() noexcept;

/// The category of CURLMcode values (multi interface); messages come from
/// curl_multi_strerror.
const std::error_category& curl_multi_category() noexcept;

/// `CURLE_OK` maps to a default (false) error_code.
std::error_code make_error_code(CURLcode code) noexcept;

/// `CURLM_OK` maps to a default (false) error_code.
std::error_code make_error_code(CURLMcode code) noexcept;

} // namespace casacal::notify
